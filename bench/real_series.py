"""heartsync on real bodies (issue 14), NeuroKit2 and pyhrv beside it.

Run as ``python -m bench.real_series [SEEDS]`` (about a minute). On the real beat series
of ``shared/data/real`` (MIT-BIH 100 with reference labels, systole Task1 ECG and PPG,
heartpy data3 PPG):

1. Ground truth: every labelled ectopic beat of MIT-BIH 100 flagged, flags on normal
   beats and on clean sinus rhythm, RMSSD against the normal-to-normal gold standard.
2. Agreement of the HRV figures: heartsync's correction and metrics; NeuroKit2 kubios
   correction with ``hrv_time`` / ``hrv_frequency(normalize=False)``, and NeuroKit2 and
   pyhrv on *our* corrected NN (so implementation and correction differences separate).
3. Resting false entries: calibrate on each 5-min block, count HYPER/HYPO entries in the
   rest of the record, per hour.
4. The posture scenario on the simulator (stand up: HR +15 bpm, RMSSD x0.5; lie back down
   over 20 s): flags in the 2 min after vs NeuroKit2's, beats without an estimate, time
   to WINDOW and to HYPER, over SEEDS seeds (default 10).
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
import types
import warnings

import numpy as np

from bench.common import table
from dsp.arousal import classify
from dsp.artifacts import correct_batch
from dsp.hrv import frequency_domain, time_domain
from dsp.pipeline import process
from dsp.tolerance.baseline import Calibration, CalibrationError
from dsp.tolerance.estimator import ArousalEstimator
from dsp.tolerance.state import Zone
from sensors.simulated import SimSettings, simulate
from tests.real_series import SERIES, load_real

ONSET_S, STEP_S, RAMP_S, CAL_S = 600.0, 180.0, 20.0, 300.0


def _nk():
    import neurokit2 as nk

    warnings.filterwarnings("ignore")
    return nk


def _pyhrv():
    """pyhrv's time and frequency modules without its package __init__, which imports
    optional pieces that fail here (peakutils, nolds' datasets); None when absent."""
    spec = importlib.util.find_spec("pyhrv")
    if spec is None or not spec.submodule_search_locations:
        return None
    import matplotlib

    matplotlib.use("Agg")
    sys.modules.setdefault("peakutils", types.ModuleType("peakutils"))
    pkg = types.ModuleType("pyhrv")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["pyhrv"] = pkg
    sys.modules["pyhrv.nonlinear"] = pkg.nonlinear = types.ModuleType("pyhrv.nonlinear")
    for name in ("utils", "time_domain", "frequency_domain", "tools"):
        setattr(pkg, name, importlib.import_module(f"pyhrv.{name}"))
    return pkg


def nk_correct(nk, peaks_ms: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """NeuroKit2 kubios (non-iterative): per-interval flags and the corrected peaks."""
    info, fixed = nk.signal_fixpeaks(peaks_ms, sampling_rate=1000, iterative=False)
    idx = set(info["ectopic"]) | set(info["missed"]) | set(info["extra"]) | set(info["longshort"])
    flags = np.zeros(n, dtype=bool)
    i = np.asarray(sorted(idx), dtype=int) - 1
    flags[i[(i >= 0) & (i < n)]] = True
    return flags, np.asarray(fixed)


def found(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the flags of ``a`` that ``b`` flags within +-1 beat."""
    idx = np.flatnonzero(a)
    return float(np.mean([b[max(0, i - 1) : i + 2].any() for i in idx])) if idx.size else 1.0


def ground_truth(nk) -> None:
    print("\n== Ground truth ==")
    s = load_real("mitbih100_ref")
    ours = correct_batch(s.rr_ms, s.t_s)
    theirs, fixed = nk_correct(nk, s.peaks_ms, s.rr_ms.size)
    ectopic = np.flatnonzero(np.isin(s.labels, ["A", "V"]))
    normal = s.nn_pairs()
    d = np.diff(s.rr_ms)
    pair = normal[1:] & normal[:-1]
    gold = np.sqrt(np.mean(d[pair] ** 2))

    def hit(f):
        return sum(bool(f[j] or f[min(j + 1, f.size - 1)]) for j in ectopic)

    nk_rmssd = np.sqrt(np.mean(np.diff(np.diff(fixed)) ** 2))
    rows = [
        ("MIT-BIH 100: labelled A/V beats flagged", hit(ours[4].any), hit(theirs), "all 34"),
        (
            "MIT-BIH 100: normal beats flagged (%)",
            f"{100 * ours[4].any[normal].mean():.2f}",
            f"{100 * theirs[normal].mean():.2f}",
            "<= 0.5",
        ),
        (
            f"MIT-BIH 100: RMSSD vs gold {gold:.2f} ms (%)",
            f"{100 * (time_domain(ours[1])['rmssd'] / gold - 1):+.1f}",
            f"{100 * (nk_rmssd / gold - 1):+.1f}",
            "",
        ),
    ]
    t1 = load_real("systole_task1")
    rows.append(
        (
            "systole Task1 (clean sinus): beats flagged (%)",
            f"{100 * correct_batch(t1.rr_ms, t1.t_s)[4].any.mean():.2f}",
            f"{100 * nk_correct(nk, t1.peaks_ms, t1.rr_ms.size)[0].mean():.2f}",
            "<= 0.5",
        )
    )
    print(table(rows, ("", "heartsync", "NeuroKit2", "target")))


def agreement(nk) -> None:
    print("\n== Agreement: flags, time and frequency domain ==")
    print("NK = NeuroKit2 on its own kubios correction; NK* and pyhrv on our corrected NN")
    pyhrv = _pyhrv()
    rows = []
    for name in SERIES:
        s = load_real(name)
        _, nn, _, _, flags = correct_batch(s.rr_ms, s.t_s)
        theirs, fixed = nk_correct(nk, s.peaks_ms, s.rr_ms.size)
        ours_td, ours_fd = time_domain(nn), frequency_domain(nn)
        nk_td = nk.hrv_time(fixed, sampling_rate=1000).iloc[0]
        nk_fd = nk.hrv_frequency(fixed, sampling_rate=1000, normalize=False).iloc[0]
        same = np.concatenate(([0], np.cumsum(np.round(nn).astype(np.int64))))
        nk2_td = nk.hrv_time(same, sampling_rate=1000).iloc[0]
        nk2_fd = nk.hrv_frequency(same, sampling_rate=1000, normalize=False).iloc[0]
        if pyhrv is not None:
            p_rmssd = pyhrv.time_domain.rmssd(nni=nn)["rmssd"]
            p_sdnn = pyhrv.time_domain.sdnn(nni=nn)["sdnn"]
            p_abs = pyhrv.frequency_domain.welch_psd(nni=nn, show=False, mode="dev")[0]["fft_abs"]
        else:
            p_rmssd = p_sdnn = np.nan
            p_abs = (np.nan, np.nan, np.nan)
        rows.append(
            (
                name,
                f"{flags.any.sum()}/{theirs.sum()}",
                f"{100 * found(theirs, flags.any):.0f}/{100 * found(flags.any, theirs):.0f}",
                f"{ours_td['rmssd']:.1f}/{nk_td['HRV_RMSSD']:.1f}/{nk2_td['HRV_RMSSD']:.1f}/"
                f"{p_rmssd:.1f}",
                f"{ours_td['sdnn']:.1f}/{nk_td['HRV_SDNN']:.1f}/{nk2_td['HRV_SDNN']:.1f}/"
                f"{p_sdnn:.1f}",
                f"{ours_fd['lf']:.0f}/{nk_fd['HRV_LF']:.0f}/{nk2_fd['HRV_LF']:.0f}/{p_abs[1]:.0f}",
                f"{ours_fd['hf']:.0f}/{nk_fd['HRV_HF']:.0f}/{nk2_fd['HRV_HF']:.0f}/{p_abs[2]:.0f}",
            )
        )
    header = (
        "series",
        "flags ours/NK",
        "NK found/ours found %",
        "RMSSD ours/NK/NK*/pyhrv",
        "SDNN ours/NK/NK*/pyhrv",
        "LF ms2",
        "HF ms2",
    )
    print(table(rows, header))


def resting_false_entries() -> None:
    print("\n== Resting false entries (calibrate on a 5-min block, run the rest) ==")
    rows, total_h, total_n = [], 0.0, 0
    for name in SERIES:
        s = load_real(name)
        if s.t_s[-1] - s.t_s[0] < 600.0:
            continue
        results = process(s.t_s, s.rr_ms)
        for start in np.arange(s.t_s[0], s.t_s[-1] - 600.0, 300.0):
            calibration = Calibration()
            for r in results:
                if start <= r.beat.t < start + 300.0:
                    calibration.push(r)
            try:
                baseline = calibration.finish()
            except CalibrationError:
                continue
            estimator = ArousalEstimator(baseline)
            zones = [estimator.push(r).zone for r in results if r.beat.t >= start + 300.0]
            later = [r.beat.t for r in results if r.beat.t >= start + 300.0]
            n = sum(
                1 for a, b in itertools.pairwise(zones) if b in (Zone.HYPER, Zone.HYPO) and b != a
            )
            hours = (later[-1] - later[0]) / 3600.0
            total_h += hours
            total_n += n
            rows.append((name, f"{start:.0f}", n, f"{60 * hours:.1f}"))
    print(table(rows, ("series", "calibration at (s)", "entries", "minutes after")))
    print(f"total: {total_n} entries in {total_h:.2f} h = {total_n / total_h:.1f} per hour")


def posture(nk, seeds: int) -> None:
    print(f"\n== Posture scenario on the simulator, {seeds} seeds, 2 % artifacts ==")
    rows = []
    for seed in range(seeds):
        settings = SimSettings(
            seed=seed,
            scenario="posture",
            onset_s=ONSET_S,
            step_s=STEP_S,
            artifact_rate=0.02,
            rsa_ms=50.0,
            noise_ms=3.0,
        )
        run = simulate(settings, 1100.0)
        t, rr = run["t_s"], run["rr_ms"]
        cal = t < CAL_S
        trace = classify(t[~cal], rr[~cal], t[cal], rr[cal])
        back = ONSET_S + STEP_S + RAMP_S
        after = (t >= back) & (t < back + 120.0)
        ours = correct_batch(rr, t)[4].any
        peaks = np.round(np.concatenate(([0.0], np.cumsum(rr)))).astype(np.int64)
        theirs = nk_correct(nk, peaks, rr.size)[0]
        beats = (trace.t >= back) & (trace.t < back + 120.0)
        window = np.flatnonzero((trace.t >= back) & (trace.zone == Zone.WINDOW))
        hyper = np.flatnonzero((trace.t >= ONSET_S) & (trace.zone == Zone.HYPER))
        rows.append(
            (
                seed,
                f"{ours[after].sum()}/{theirs[after].sum()}",
                f"{100 * np.mean(trace.zone[beats] == Zone.UNKNOWN):.1f}",
                f"{trace.t[window[0]] - back:.1f}" if window.size else "never",
                f"{trace.t[hyper[0]] - ONSET_S:.1f}" if hyper.size else "never",
            )
        )
    header = (
        "seed",
        "flags ours/NK (2 min after)",
        "no estimate %",
        "WINDOW after (s)",
        "HYPER after onset (s)",
    )
    print(table(rows, header))
    print("targets: flags <= 1.5x NK, no estimate <= 5 %, WINDOW <= 90 s, HYPER <= 75 s")


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if importlib.util.find_spec("neurokit2") is None:  # not in the dev extra (~250 MB)
        print("skipped: bench.real_series compares with NeuroKit2; `pip install neurokit2`")
        return
    nk = _nk()
    try:
        load_real(SERIES[0])
    except FileNotFoundError as exc:
        print(f"real series not found: {exc}")
        return
    ground_truth(nk)
    agreement(nk)
    resting_false_entries()
    posture(nk, seeds)


if __name__ == "__main__":
    main()
