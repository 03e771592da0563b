"""Per-person profiles: name, baseline and band settings, as readable JSON.

One file per person in the user's data folder (``heartsync profiles`` prints where),
readable by its owner only (health data). Several people can share a computer, under any
name in any script: the file name is a readable slug of the name plus a short hash of
the exact (NFC-normalised) name, so ``Zoë`` and ``Zoé`` get two files and ``Анна`` one of
her own; the name itself is kept inside the file. Loading checks every field (a wrong
value is named, never used); saving is atomic and leaves nothing behind when it fails.
A file that cannot be read is reported and left exactly as it is.
"""

import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from app.config import APP_NAME
from app.profile_names import MAX_NAME as MAX_NAME
from app.profile_names import ProfileError as ProfileError
from app.profile_names import check_name, file_stem
from dsp.tolerance.baseline import Baseline
from dsp.tolerance.baseline import CalibrationSettings as CalibrationSettings
from dsp.tolerance.estimator import ArousalSettings as ArousalSettings  # a profile's band settings

FORMAT_VERSION = 1
#: Largest profile file read, bytes (a profile is about 1 kB).
MAX_FILE_BYTES = 256 * 1024
#: Plausible ranges of the baseline's fields (closed intervals), units as in Baseline.
BASELINE_RANGES = {
    "hr_bpm": (20.0, 300.0),
    "hr_scale_bpm": (1e-3, 100.0),
    "ln_rmssd": (-3.0, 8.0),
    "ln_rmssd_scale": (1e-3, 10.0),
    "samples": (1, 10**7),
    "clean_fraction": (0.0, 1.0),
    "duration_s": (1.0, 86_400.0),
}
#: A baseline older than this many days is worth taking again (resting HR and HRV drift
#: with fitness, season and medication), days.
RECALIBRATE_AFTER_DAYS = 30.0


@dataclass(frozen=True)
class Profile:
    """One person's settings.

    Attributes
    ----------
    name : str
        Name or alias shown in the app.
    baseline : Baseline or None
        The resting baseline (None until calibrated).
    calibrated_at : str
        ISO 8601 time of the calibration ("" if none).
    band_widen : float
        Clinician's adjustment of the window: thresholds move out by this much
        (:class:`ArousalSettings` bounds it).
    extra : dict
        Settings added by other features (e.g. a resonance breathing rate), kept as is.
    """

    name: str
    baseline: Baseline | None = None
    calibrated_at: str = ""
    band_widen: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """The file's text."""
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "name": self.name,
                "calibrated_at": self.calibrated_at,
                "band_widen": self.band_widen,
                "baseline": None if self.baseline is None else self.baseline.to_dict(),
                "extra": self.extra,
            },
            indent=2,
            ensure_ascii=False,
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, text: str, origin: str) -> "Profile":
        """Parse and check a profile file; ProfileError naming ``origin`` and the problem."""
        try:
            data = json.loads(text, parse_constant=_no_constant)
            return _checked(cls, data)
        except RecursionError:
            problem = "nested too deeply"
        except (ValueError, KeyError, TypeError) as exc:
            problem = str(exc)
        raise ProfileError(
            f"profile {origin} cannot be read ({problem}); it was left untouched — "
            "fix or delete it, or calibrate under another name"
        )

    def calibration_age_days(self, now: dt.datetime | None = None) -> float | None:
        """Days since the baseline was taken (None when never, or the date is unreadable)."""
        if self.baseline is None or not self.calibrated_at:
            return None
        try:
            when = dt.datetime.fromisoformat(self.calibrated_at)
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.astimezone()
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, (now - when).total_seconds() / 86400.0)

    def calibration_text(self, now: dt.datetime | None = None) -> str:
        """``calibrated 2026-11-02 (30 days ago)`` plus a suggestion once it is old."""
        age = self.calibration_age_days(now)
        if age is None:
            return "not calibrated" if self.baseline is None else "calibrated (date unknown)"
        when = dt.datetime.fromisoformat(self.calibrated_at)
        days = int(age)
        ago = "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"
        text = f"calibrated {when.astimezone().strftime('%Y-%m-%d')} ({ago})"
        if self.needs_recalibration(now):
            text += "; consider calibrating again"
        return text

    def needs_recalibration(self, now: dt.datetime | None = None) -> bool:
        """True when the baseline is older than :data:`RECALIBRATE_AFTER_DAYS`."""
        age = self.calibration_age_days(now)
        return age is not None and age > RECALIBRATE_AFTER_DAYS

    def calibrated(self, baseline: Baseline, when: dt.datetime | None = None) -> "Profile":
        """A copy with a new baseline taken now (or ``when``)."""
        when = when or dt.datetime.now(dt.UTC)
        return dataclasses.replace(self, baseline=baseline, calibrated_at=when.isoformat())


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a profile can hold")


def _checked(cls: type[Profile], data: object) -> Profile:
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise ValueError(f"not a heartsync profile (format {FORMAT_VERSION})")
    name = data.get("name")
    try:
        name = check_name(name)
    except ProfileError as exc:
        raise ValueError(str(exc)) from None
    band = _number(data.get("band_widen", 0.0), "band_widen")
    ArousalSettings(band_widen=band)  # raises ValueError naming the allowed range
    calibrated_at = data.get("calibrated_at", "")
    if not isinstance(calibrated_at, str) or len(calibrated_at) > 64:
        raise ValueError(f"calibrated_at {str(calibrated_at)[:30]!r} is not a time")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError("extra must be an object")
    raw = data.get("baseline")
    return cls(name, _baseline(raw), calibrated_at, band, extra)


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} {value!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return float(value)


def _baseline(raw: object) -> Baseline | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("baseline must be an object")
    for key, (low, high) in BASELINE_RANGES.items():
        if key not in raw:
            raise ValueError(f"baseline lacks {key!r}")
        value = _number(raw[key], f"baseline {key}")
        if not low <= value <= high:
            raise ValueError(f"baseline {key}={value!r} is outside {low:g}..{high:g}")
    return Baseline.from_dict(raw)


class ProfileStore:
    """The folder of profiles.

    Parameters
    ----------
    folder : Path or None
        Where profiles live; the user's data folder by default.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or platformdirs.user_data_path(APP_NAME) / "profiles"

    def path(self, name: str) -> Path:
        """File of the profile called ``name`` (ProfileError for an unusable name)."""
        return self.folder / f"{file_stem(name)}.json"

    def names(self) -> list[str]:
        """Names of the stored profiles, sorted (unreadable files by their file name)."""
        return sorted(self._index(), key=str.casefold)

    def _find(self, name: str) -> Path | None:
        """The file of ``name``: its own (even unreadable), else an old-scheme file holding it."""
        path = self.path(name)
        if path.exists():
            return path
        return self._index().get(check_name(name))

    def exists(self, name: str) -> bool:
        """True when a profile of this name is stored."""
        return self._find(name) is not None

    def load(self, name: str) -> Profile:
        """Read one profile; ProfileError when missing or unreadable."""
        clean = check_name(name)
        path = self._find(clean)
        if path is None:
            known = ", ".join(self.names()) or "none yet"
            raise ProfileError(f"no profile named {clean!r} (known: {known}); calibrate first")
        return self._read(path)

    def _index(self) -> dict[str, Path]:
        """Name -> file of every profile file (a file named by the old scheme too)."""
        index: dict[str, Path] = {}
        if not self.folder.is_dir():
            return index
        for path in sorted(self.folder.glob("*.json")):
            try:
                name = self._read(path).name
            except ProfileError:
                name = path.stem
            # the current scheme's file wins over an old one holding the same name
            if name not in index or path.stem == _stem_or_none(name):
                index[name] = path
        return index

    def _read(self, path: Path) -> Profile:
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                raise ProfileError(f"profile {path} is larger than {MAX_FILE_BYTES:,} bytes")
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"profile {path} cannot be read ({exc})") from None
        return Profile.from_json(text, str(path))

    def save(self, profile: Profile) -> Path:
        """Write a profile atomically, owner read/write only; nothing is left on failure.

        An existing file that cannot be read is not overwritten: ProfileError.
        """
        clean = check_name(profile.name)
        profile = dataclasses.replace(profile, name=clean)
        path = self.path(clean)
        old = self._index().get(clean)
        if path.exists():
            self._read(path)  # raises for a corrupt file: never overwrite it silently
        text = profile.to_json()
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            raise ProfileError(f"cannot save profile to {path}: {exc.strerror or exc}") from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        if old is not None and old != path:  # a file of the old naming scheme: moved
            with contextlib.suppress(OSError):
                old.unlink()
        return path

    def check_writable(self) -> None:
        """ProfileError now when the folder cannot take a profile (before a long calibration)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, probe = tempfile.mkstemp(prefix=".probe.", suffix=".tmp", dir=self.folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ProfileError(
                f"cannot save profiles in {self.folder}: {exc.strerror or exc}"
            ) from None

    def delete(self, name: str) -> None:
        """Remove a profile (also an unreadable one, by its file name)."""
        clean = check_name(name)
        path = self._find(clean)
        if path is None:
            raise ProfileError(f"no profile named {clean!r}")
        path.unlink()


def _stem_or_none(name: str) -> str | None:
    try:
        return file_stem(name)
    except ProfileError:
        return None
