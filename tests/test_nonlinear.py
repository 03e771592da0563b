"""Poincaré SD1/SD2 and DFA α1 (dsp.hrv.nonlinear) against NeuroKit2 on real RR series."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from dsp.hrv.nonlinear import PoincareSums, dfa_alpha1, poincare

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
SERIES = sorted(REAL.glob("*.csv")) if REAL.is_dir() else []


def _rr(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", comments="#", skiprows=2, usecols=1)


def _neurokit(rr: np.ndarray, alpha1_scales: tuple[int, int]) -> dict:
    """NeuroKit2's SD1, SD2 and DFA α1: the very steps of ``nk.hrv_nonlinear``.

    ``hrv_nonlinear`` itself also computes entropies and multifractal DFA (a minute per
    series on a busy machine), so its Poincaré step and the ``fractal_dfa`` call of its
    ``_hrv_dfa`` step are made directly.
    """
    nk = pytest.importorskip("neurokit2")
    from neurokit2.hrv.hrv_nonlinear import _hrv_nonlinear_poincare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _hrv_nonlinear_poincare(rr, out={})
        alpha1, _ = nk.fractal_dfa(
            rr, scale=np.arange(alpha1_scales[0], alpha1_scales[1] + 1), multifractal=False
        )
    return {"SD1": float(out["SD1"]), "SD2": float(out["SD2"]), "DFA_alpha1": float(alpha1)}


@pytest.mark.skipif(not SERIES, reason=f"no real RR series in {REAL}")
@pytest.mark.parametrize("path", SERIES, ids=[p.stem for p in SERIES])
def test_equals_neurokit2_on_real_series(path: Path) -> None:
    rr = _rr(path)
    assert rr.size > 300
    ref = _neurokit(rr, (4, 16))
    sd1, sd2 = poincare(rr)
    assert sd1 == pytest.approx(ref["SD1"], rel=1e-9)
    assert sd2 == pytest.approx(ref["SD2"], rel=1e-9)
    assert dfa_alpha1(rr) == pytest.approx(ref["DFA_alpha1"], rel=1e-9)
    # NeuroKit2's own default short range (4-11 beats) too
    ref_11 = _neurokit(rr, (4, 11))
    assert dfa_alpha1(rr, tuple(range(4, 12))) == pytest.approx(ref_11["DFA_alpha1"], rel=1e-9)


@pytest.mark.skipif(not SERIES, reason=f"no real RR series in {REAL}")
def test_running_sums_equal_the_batch_with_gaps_left_out() -> None:
    rr = _rr(SERIES[0])
    valid = np.ones(rr.size - 1, bool)
    valid[::17] = False  # pairs across a gap or an artifact do not count
    sums = PoincareSums()
    for i in np.flatnonzero(valid):
        sums.add(rr[i], rr[i + 1])
    assert sums.result() == pytest.approx(poincare(rr, valid), rel=1e-9)
    assert sums.result() != pytest.approx(poincare(rr), rel=1e-6)


def test_known_structures() -> None:
    rng = np.random.default_rng(1)
    white = 800.0 + 40.0 * rng.standard_normal(4000)
    brown = 800.0 + np.cumsum(rng.standard_normal(4000))
    assert dfa_alpha1(white) == pytest.approx(0.5, abs=0.1)
    assert dfa_alpha1(brown) == pytest.approx(1.5, abs=0.15)
    # white noise: SD1 = SD2 = the standard deviation of the series
    sd1, sd2 = poincare(white)
    assert sd1 == pytest.approx(40.0, rel=0.05)
    assert sd2 == pytest.approx(40.0, rel=0.05)


def test_too_little_data_is_nan_not_an_error() -> None:
    assert all(math.isnan(v) for v in poincare(np.array([800.0, 810.0, 790.0])))
    assert math.isnan(dfa_alpha1(np.full(63, 800.0)))
    assert math.isnan(dfa_alpha1(np.full(200, 800.0)))  # no variability
    assert all(math.isnan(v) for v in PoincareSums().result())
