"""PMD sample times on the LSL clock (sensors/sample_clock.py) line up with beat times."""

import numpy as np
import pytest

from sensors.beat_clock import BeatClock
from sensors.pmd import sample_times_ns
from sensors.sample_clock import SampleClock
from sensors.virtual.pmd_player import ECG_RATE_HZ, STRAP_T0_NS, strap_session


@pytest.mark.parametrize("seed", range(5))
def test_ecg_r_peaks_line_up_with_beats_despite_radio_latency(seed):
    rng = np.random.default_rng(seed)
    rr = [k * 1000.0 / 1024.0 for k in rng.integers(700, 1100, 120)]
    events = strap_session(rr, seed=seed)
    host_start = 5000.0  # the LSL clock when the strap clock read STRAP_T0_NS
    beat_clock, sample_clock = BeatClock(), SampleClock()
    beats, ecg_t, ecg_x = [], [], []
    previous = None
    for e in events:
        # BLE delays every notification by 7.5-150 ms, never less
        arrival = host_start + e.t + 0.0075 + rng.exponential(0.03)
        if e.kind == "hr":
            beats += beat_clock.stamp(arrival, [e.data])
        elif e.kind == "ecg":
            ts, x = e.data
            ns = sample_times_ns(ts, len(x), previous, ECG_RATE_HZ)
            previous = ts
            ecg_t.append(sample_clock.stamp(arrival, ts, ns))
            ecg_x.append(x[:, 0])
    t, x = np.concatenate(ecg_t), np.concatenate(ecg_x)
    assert np.all(np.diff(t) > 0)
    lags = []
    for b in beats[30:-2]:  # after the first half minute both envelopes have settled
        near = np.flatnonzero(np.abs(t - b) < 0.25)
        lags.append(t[near[np.argmax(x[near])]] - b)
    # the true offset: strap time 0 is host_start; both clocks land within a few ms
    assert np.max(np.abs(lags)) < 0.012, np.max(np.abs(lags))
    assert sample_clock.offset_s + STRAP_T0_NS * 1e-9 == pytest.approx(host_start, abs=0.012)


def test_a_reset_strap_clock_re_anchors():
    clock = SampleClock()
    first = clock.stamp(100.0, 10**18, np.array([10**18 - 10**7, 10**18]))
    assert first[-1] == pytest.approx(100.0)
    # the strap clock restarts near zero: re-anchor instead of mapping into the past
    later = clock.stamp(101.0, 5 * 10**9, np.array([5 * 10**9]))
    assert later[0] == pytest.approx(101.0)
