"""HRV metrics: golden values, spectra of known signals, live windows == batch."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsp.artifacts import correct_batch
from dsp.artifacts.kinds import ARTIFACT_KINDS
from dsp.hrv import frequency_domain, time_domain
from dsp.hrv.settings import HrvSettings
from dsp.hrv.window import HrvMetrics, HrvWindow, windowed_metrics
from dsp.types import CorrectedBeat
from tests.reference_data import (
    MissingReference,
    hrv_analysis_nn,
    inject_artifacts,
    neurokit2_frozen,
    pyhrv_nni,
    synthetic_rr,
)

REL = 1e-6


# --------------------------------------------------------------------------- golden values
def test_hrv_analysis_golden_values():
    try:
        nn = hrv_analysis_nn()
    except MissingReference as exc:
        pytest.skip(str(exc))
    td = time_domain(nn)
    assert nn.size == 1000
    assert td["sdnn"] == pytest.approx(43.113074968427306, rel=1e-12)
    assert td["rmssd"] == pytest.approx(19.519400785039664, rel=1e-12)
    assert td["pnn50"] == pytest.approx(2.4024024024024024, rel=1e-12)


@pytest.mark.parametrize(
    ("which", "mean_nn", "sdnn", "rmssd"),
    [("Short", 888.955, 95.690, 101.301), ("Long", 768.438, 85.357, 60.523)],
)
def test_pyhrv_series_match_neurokit2(which, mean_nn, sdnn, rmssd):
    try:
        nn = pyhrv_nni(which)
    except MissingReference as exc:
        pytest.skip(str(exc))
    td = time_domain(nn)
    # the published NeuroKit2 values (3 decimals)
    assert td["mean_nn"] == pytest.approx(mean_nn, abs=5e-4)
    assert td["sdnn"] == pytest.approx(sdnn, abs=5e-4)
    assert td["rmssd"] == pytest.approx(rmssd, abs=5e-4)
    # and NeuroKit2 itself (frozen outputs), to 1e-6 relative where the conventions agree
    ref = neurokit2_frozen()["hrv_time"][which]
    assert td["mean_nn"] == pytest.approx(ref["HRV_MeanNN"], rel=REL)
    assert td["sdnn"] == pytest.approx(ref["HRV_SDNN"], rel=REL)
    assert td["rmssd"] == pytest.approx(ref["HRV_RMSSD"], rel=REL)
    # NeuroKit2 divides pNN50 by N intervals, we by the N - 1 differences (DESIGN.md)
    n = nn.size
    assert td["pnn50"] * (n - 1) / n == pytest.approx(ref["HRV_pNN50"], rel=REL)


def test_time_domain_conventions_and_small_inputs():
    td = time_domain([800.0, 860.0, 800.0, 900.0])
    d = np.diff([800.0, 860.0, 800.0, 900.0])
    assert td["rmssd"] == pytest.approx(math.sqrt(np.sum(d**2) / 3))
    assert td["pnn50"] == pytest.approx(100 * 3 / 3)
    assert td["sdnn"] == pytest.approx(np.std([800, 860, 800, 900], ddof=1))
    assert td["mean_hr"] == pytest.approx(60000 / 840)
    empty = time_domain([])
    assert all(math.isnan(v) for v in empty.values())
    one = time_domain([750.0])
    assert one["mean_nn"] == 750.0 and one["mean_hr"] == 80.0
    assert math.isnan(one["sdnn"]) and math.isnan(one["rmssd"]) and math.isnan(one["pnn50"])
    for bad in ([800.0, math.nan], [800.0, 0.0], [800.0, -5.0], [[800.0]]):
        with pytest.raises(ValueError):
            time_domain(bad)


# --------------------------------------------------------------------------- spectra
def tachogram(freq_hz, amp_ms, seconds=300.0, mean_ms=800.0):
    """Beats whose RR follows mean + amp * sin(2 pi f t)."""
    t, rr = [], []
    now = 0.0
    while now < seconds:
        value = mean_ms + amp_ms * math.sin(2 * math.pi * freq_hz * now)
        now += value / 1000.0
        t.append(now)
        rr.append(value)
    return np.array(t), np.array(rr)


@pytest.mark.parametrize(("freq", "band"), [(0.25, "hf"), (0.1, "lf"), (0.02, "vlf")])
def test_sinusoid_power_lands_in_its_band(freq, band):
    amp = 30.0
    t, rr = tachogram(freq, amp, seconds=600.0)
    fd = frequency_domain(rr, t)
    assert fd["method"] == "welch"
    assert fd[band] == pytest.approx(amp**2 / 2, rel=0.1)
    for other in {"vlf", "lf", "hf"} - {band}:
        assert fd[other] < 0.05 * fd[band]
    if band == "hf":
        assert fd["hf_peak_hz"] == pytest.approx(freq, abs=0.005)
        assert fd["lf_hf"] < 0.05


def test_lomb_scargle_with_gaps_agrees_with_welch():
    amp = 25.0
    t, rr = tachogram(0.22, amp, seconds=400.0)
    welch = frequency_domain(rr, t)
    keep = np.ones(t.size, dtype=bool)
    keep[150:170] = False  # a 16 s dropout
    lomb = frequency_domain(rr[keep], t[keep])
    assert lomb["method"] == "lomb"
    assert lomb["hf"] == pytest.approx(welch["hf"], rel=0.15)
    assert lomb["hf_peak_hz"] == pytest.approx(0.22, abs=0.01)


@pytest.mark.parametrize("n", [1200, 1201, 5000, 316_001])
def test_detrend_and_welch_equal_scipy(n):
    from scipy.signal import detrend, welch

    from dsp.hrv import _detrend_linear, _welch_hann

    rng = np.random.default_rng(n)
    x = 800.0 + 0.01 * np.arange(n) + np.cumsum(rng.standard_normal(n))
    ours = _detrend_linear(x)
    np.testing.assert_allclose(ours, detrend(x, type="linear"), rtol=0, atol=1e-9)
    nper = min(n, 1200)
    f_ref, p_ref = welch(ours, fs=4.0, window="hann", nperseg=nper, noverlap=nper // 2, nfft=2048)
    f, p = _welch_hann(ours, 4.0, nper, 2048)
    np.testing.assert_array_equal(f, f_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-9, atol=1e-12 * p_ref.max())


def test_lomb_scargle_equals_scipy():
    from scipy.signal import lombscargle

    from dsp.hrv import _lombscargle

    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0.0, 120.0, 140))
    y = 30.0 * rng.standard_normal(140)
    y -= y.mean()
    omega = 2.0 * np.pi * np.linspace(0.01, 0.4, 48)
    ref = lombscargle(t, y, omega)
    np.testing.assert_allclose(_lombscargle(t, y, omega), ref, rtol=0, atol=1e-12 * ref.max())


def test_frequency_domain_small_inputs_give_nan():
    fd = frequency_domain([800.0] * 5)
    assert math.isnan(fd["lf"]) and math.isnan(fd["hf"]) and fd["method"] == "none"
    short = frequency_domain(tachogram(0.25, 20, seconds=60)[1])
    assert math.isnan(short["vlf"]) and math.isnan(short["lf"]) is False
    with pytest.raises(ValueError):
        frequency_domain([800.0, math.nan] * 10)


# --------------------------------------------------------------------------- live windows
def beats_with_artifacts(seed, n):
    _t, rr = synthetic_rr(seed, n)
    inj = inject_artifacts(rr, seed=seed + 7)
    t_out, rr_out, raw_out, code_out, _ = correct_batch(inj.rr_ms, t_s=inj.peaks_s[1:])
    return t_out, rr_out, raw_out, code_out


def push_all(t, rr, raw, code, gap, settings=None):
    window = HrvWindow(settings)
    return [
        window.push(CorrectedBeat(ti, ri, wi, ARTIFACT_KINDS[ci]), gap_before=bool(gi))
        for ti, ri, wi, ci, gi in zip(
            t.tolist(), rr.tolist(), raw.tolist(), code.tolist(), gap.tolist(), strict=True
        )
    ]


def assert_equal_rows(batch, rows):
    assert len(rows) == batch["t"].size
    for name in HrvMetrics.__slots__:
        online = np.array([getattr(r, name) for r in rows], dtype=batch[name].dtype)
        if online.dtype.kind in "fi":
            assert np.array_equal(batch[name], online, equal_nan=True), name
        else:
            assert batch[name].tolist() == online.tolist(), name


def test_windowed_metrics_equal_pushing_beat_by_beat():
    t, rr, raw, code = beats_with_artifacts(3, 1800)
    gap = np.zeros(t.size, dtype=bool)
    gap[[700, 701, 1200]] = True
    t = t.copy()
    t[700:] += 20.0  # a real 20 s hole before beat 700
    batch = windowed_metrics(t, rr, code > 0, gap)
    assert_equal_rows(batch, push_all(t, rr, raw, code, gap))
    # and the windows really were estimated most of the time
    assert np.mean(np.isfinite(batch["rmssd_ms"])) > 0.9
    assert np.mean(np.isfinite(batch["hf_ms2"])) > 0.8


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(250.0, 1600.0),
            st.sampled_from([None, None, None, None, None, "ectopic", "missed", "invalid"]),
            st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]),
        ),
        min_size=0,
        max_size=400,
    )
)
def test_windowed_equals_online_on_arbitrary_beats(items):
    rr = np.array([i[0] for i in items], dtype=float)
    code = np.array([ARTIFACT_KINDS.index(i[1]) for i in items], dtype=np.int8)
    hole = np.array([i[2] for i in items], dtype=float)
    gap = hole > 0
    t = np.cumsum(rr / 1000.0 + hole)
    batch = windowed_metrics(t, rr, code > 0, gap)
    assert_equal_rows(batch, push_all(t, rr, rr, code, gap))


def test_live_values_match_the_batch_definitions_on_the_window():
    t, rr = synthetic_rr(9, 600)
    batch = windowed_metrics(t, rr, np.zeros(rr.size, dtype=bool))
    for i in (150, 333, 599):
        in60 = rr[(t > t[i] - 60.0) & (t <= t[i])]
        td = time_domain(in60)
        assert batch["rmssd_ms"][i] == pytest.approx(td["rmssd"], rel=1e-5)
        assert batch["sdnn_ms"][i] == pytest.approx(td["sdnn"], rel=1e-5)
        assert batch["ln_rmssd"][i] == pytest.approx(math.log(td["rmssd"]), rel=1e-5)
        in30 = rr[(t > t[i] - 30.0) & (t <= t[i])]
        assert batch["hr_bpm"][i] == pytest.approx(60000.0 / np.mean(in30), rel=1e-6)
        assert batch["reason"][i] == ""


def test_no_difference_across_an_artifact_or_a_gap():
    rr = np.full(200, 800.0)
    rr[1::2] = 820.0  # every successive difference is 20 ms
    rr[150:] += 100.0  # a jump that only a difference across the gap would see
    t = np.cumsum(rr) / 1000.0
    t[150:] += 8.0
    code = np.zeros(rr.size, dtype=np.int8)
    gap = np.zeros(rr.size, dtype=bool)
    rr_dirty = rr.copy()
    rr_dirty[100] = 1500.0  # still marked as an artifact after correction
    code[100] = ARTIFACT_KINDS.index("long")
    gap[150] = True
    rows = push_all(t, rr_dirty, rr_dirty, code, gap)
    for r in rows[60:]:
        assert r.rmssd_ms == pytest.approx(20.0)
    # the artifact removes two differences, the gap one
    assert rows[101].n_diffs == rows[99].n_diffs - 1 or rows[101].n_diffs < rows[99].n_diffs


def test_seeded_random_streams_online_equals_batch():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        n = 900
        rr = rng.uniform(400.0, 1300.0, n) * 0.3 + 600.0
        rr[rng.random(n) < 0.01] = math.nan
        code = np.where(rng.random(n) < 0.05, 1, 0).astype(np.int8)
        hole = np.where(rng.random(n) < 0.01, rng.uniform(1.0, 30.0, n), 0.0)
        t = np.cumsum(np.nan_to_num(rr, nan=700.0) / 1000.0 + hole)
        gap = hole > 0
        batch = windowed_metrics(t, rr, code > 0, gap)
        assert_equal_rows(batch, push_all(t, rr, rr, code, gap))
        assert np.isfinite(batch["hf_ms2"]).sum() > 100


def test_rmssd_needs_40_differences_and_says_why():
    window = HrvWindow()
    t = 0.0
    rows = []
    for k in range(60):
        t += 0.8
        rows.append(window.push(CorrectedBeat(t, 800.0 + 10 * (k % 2), 800.0, None)))
    assert math.isnan(rows[30].rmssd_ms) and "RMSSD" in rows[30].reason
    assert math.isnan(rows[30].ln_rmssd) and math.isnan(rows[30].sdnn_ms)
    assert rows[41].n_diffs == 41 and rows[41].rmssd_ms == pytest.approx(10.0)
    assert rows[5].reason.startswith("HR") and not math.isnan(rows[20].hr_bpm)
    assert "spectrum" in rows[-1].reason  # 48 s of data: no 120 s spectrum yet


def test_spectra_every_5_s_held_in_between():
    t, rr = synthetic_rr(5, 400)
    rows = push_all(t, rr, rr, np.zeros(rr.size, dtype=np.int8), np.zeros(rr.size, dtype=bool))
    st_ = np.array([r.spectrum_t for r in rows])
    ok = np.isfinite(st_)
    assert ok[-1]
    assert np.all(np.mod(st_[ok], 5.0) == 0)
    assert np.all(np.diff(st_[ok]) >= 0)
    assert np.all(st_[ok] < t[ok])
    changes = np.flatnonzero(np.diff(st_[ok]) > 0)
    assert 0 < changes.size <= (t[-1] - t[0]) / 5.0 + 1
    last = rows[-1]
    assert last.lf_ms2 > 0 and last.hf_ms2 > 0 and 0.15 <= last.hf_peak_hz < 0.4


def test_hrv_window_memory_is_fixed_and_time_cannot_go_back():
    window = HrvWindow()
    t, rr = synthetic_rr(1, 5000)
    for ti, ri in zip(t.tolist(), rr.tolist(), strict=True):
        window.push(CorrectedBeat(ti, ri, ri, None))
    assert len(window._nn_t) == window._cap and window._b_t.size == window._bcap
    assert window._nn_tail - window._nn_head60 < window._cap
    with pytest.raises(ValueError, match="goes back"):
        window.push(CorrectedBeat(t[-1] - 10.0, 800.0, 800.0, None))


def test_settings_are_validated():
    with pytest.raises(ValueError):
        HrvSettings(spectrum_window_s=120.5)
    with pytest.raises(ValueError):
        HrvSettings(nn_range_ms=(900.0, 300.0))
    with pytest.raises(ValueError):
        windowed_metrics([0.0, 1.0], [800.0], [False, False])
    with pytest.raises(ValueError):
        windowed_metrics([1.0, 0.5], [800.0, 800.0], [False, False])
