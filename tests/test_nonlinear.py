"""Poincaré SD1/SD2 and DFA α1 (dsp.hrv.nonlinear) against NeuroKit2 on real RR series.

NeuroKit2 is not in the dev setup (it pulls ~250 MB); its outputs on these series are
frozen in ``tests/data/neurokit2_reference.json`` by ``python -m tests.neurokit2_reference``
(``test_reference_data.py`` re-checks them wherever NeuroKit2 is installed), together with
the SHA-256 of the RR values they belong to.
"""

import hashlib
import math

import numpy as np
import pytest

from dsp.hrv.nonlinear import PoincareSums, dfa_alpha1, poincare
from tests.neurokit2_reference import real_series
from tests.reference_data import neurokit2_frozen

SERIES = real_series()


@pytest.mark.skipif(not SERIES, reason="no real RR series in shared/data/real")
@pytest.mark.parametrize("name", sorted(SERIES))
def test_equals_neurokit2_on_real_series(name: str) -> None:
    rr = SERIES[name]
    assert rr.size > 300
    ref = neurokit2_frozen()["nonlinear"][name]
    assert hashlib.sha256(rr.tobytes()).hexdigest() == ref["rr_sha256"], "series changed"
    sd1, sd2 = poincare(rr)
    assert sd1 == pytest.approx(ref["SD1"], rel=1e-9)
    assert sd2 == pytest.approx(ref["SD2"], rel=1e-9)
    assert dfa_alpha1(rr) == pytest.approx(ref["DFA_alpha1_4_16"], rel=1e-9)
    # NeuroKit2's own default short range (4-11 beats) too
    assert dfa_alpha1(rr, tuple(range(4, 12))) == pytest.approx(ref["DFA_alpha1_4_11"], rel=1e-9)


@pytest.mark.skipif(not SERIES, reason="no real RR series in shared/data/real")
def test_running_sums_equal_the_batch_with_gaps_left_out() -> None:
    rr = SERIES[sorted(SERIES)[0]]
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
