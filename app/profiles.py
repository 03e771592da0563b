"""Per-person profiles: name, baseline and band settings, as readable JSON.

One file per person in the user's data folder (``heartsync profiles`` prints where),
readable by its owner only (health data). Several people can share a computer.
A file that cannot be read is reported and left exactly as it is.
"""

import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from app.config import APP_NAME
from dsp.arousal_estimator import ArousalSettings as ArousalSettings  # a profile's band settings
from dsp.baseline import Baseline
from dsp.baseline import CalibrationSettings as CalibrationSettings

FORMAT_VERSION = 1
#: A baseline older than this many days is worth taking again (resting HR and HRV drift
#: with fitness, season and medication), days.
RECALIBRATE_AFTER_DAYS = 30.0
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ProfileError(ValueError):
    """A profile that cannot be found, read or written; the message says which and why."""


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
        Clinician's adjustment of the window: thresholds move out by this much.
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
        )

    @classmethod
    def from_json(cls, text: str, origin: str) -> "Profile":
        """Parse a profile file; raises ProfileError naming ``origin`` and the problem."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
                raise ValueError(f"not a heartsync profile (format {FORMAT_VERSION})")
            name = data["name"]
            if not isinstance(name, str) or not name:
                raise ValueError(f"bad name {name!r}")
            band = data.get("band_widen", 0.0)
            if isinstance(band, bool) or not isinstance(band, int | float):
                raise ValueError(f"band_widen {band!r} is not a number")
            baseline = data.get("baseline")
            extra = data.get("extra", {})
            if not isinstance(extra, dict):
                raise ValueError("extra must be an object")
            return cls(
                name=name,
                baseline=None if baseline is None else Baseline.from_dict(baseline),
                calibrated_at=str(data.get("calibrated_at", "")),
                band_widen=float(band),
                extra=extra,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileError(
                f"profile {origin} cannot be read ({exc}); it was left untouched — "
                "fix or delete it, or calibrate under another name"
            ) from None

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
        """File of the profile called ``name``."""
        stem = _SAFE.sub("_", name.strip()).strip("._")
        if not stem:
            raise ProfileError(f"profile name {name!r} has no usable characters")
        return self.folder / f"{stem}.json"

    def names(self) -> list[str]:
        """Names of the stored profiles (files that cannot be read are skipped)."""
        names = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                names.append(self._read(path).name)
            except ProfileError:
                names.append(path.stem)
        return sorted(names, key=str.casefold)  # as saved, not as the file names sort

    def load(self, name: str) -> Profile:
        """Read one profile; ProfileError when missing or unreadable."""
        path = self.path(name)
        if not path.exists():
            known = ", ".join(self.names()) or "none yet"
            raise ProfileError(f"no profile named {name!r} (known: {known}); calibrate first")
        return self._read(path)

    def _read(self, path: Path) -> Profile:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"profile {path} cannot be read ({exc})") from None
        return Profile.from_json(text, str(path))

    def save(self, profile: Profile) -> Path:
        """Write a profile atomically, owner read/write only.

        An existing file that cannot be read is not overwritten: ProfileError.
        """
        path = self.path(profile.name)
        if path.exists():
            self._read(path)  # raises for a corrupt file: never overwrite it silently
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(profile.to_json())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as exc:
            raise ProfileError(f"cannot save profile to {path}: {exc.strerror or exc}") from None
        return path

    def delete(self, name: str) -> None:
        """Remove a profile (also an unreadable one)."""
        path = self.path(name)
        if not path.exists():
            raise ProfileError(f"no profile named {name!r}")
        path.unlink()
