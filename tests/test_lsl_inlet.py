"""The LSL inlet source: third-party streams, vanishing and returning, two heartsync processes."""

import secrets
import subprocess
import sys
import time

import numpy as np
import pylsl
import pytest

from app.engine import Engine
from app.runtime import EngineThread
from sensors.base import SensorError, SourceState
from sensors.lsl_inlet import BeatConverter, ChannelPlan, LslInletSource, plan_channels
from sensors.xdf import read_xdf

CLI = [sys.executable, "-m", "ui"]


class Raw:
    def __init__(self):
        self.raw, self.statuses = [], []

    def write(self, result):
        pass

    def write_raw(self, beat):
        self.raw.append(beat)

    def status(self, subject, source, status):
        self.statuses.append(status.state)

    def close(self):
        pass


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def outlet(source_id, kind="IBI", label="IBI", unit="s"):
    info = pylsl.StreamInfo("Bridge " + source_id, kind, 1, 0, pylsl.cf_double64, source_id)
    channel = info.desc().append_child("channels").append_child("channel")
    channel.append_child_value("label", label)
    channel.append_child_value("unit", unit)
    return pylsl.StreamOutlet(info)


def test_channel_plans():
    plan = plan_channels("RawRR", ["RR", "HR_strap", "contact", "order"], ["ms"] * 4, "double64")
    assert (plan.rr, plan.rr_scale, plan.hr, plan.contact) == (0, 1.0, 1, 2)
    assert plan_channels("IBI", ["IBI"], ["seconds"], "float32").rr_scale == 1000.0
    assert plan_channels("RR", [], [], "double64").rr_scale is None  # guessed from values
    hr_only = plan_channels("HeartRate", ["BPM"], [""], "float32")
    assert hr_only.rr is None and hr_only.hr == 0
    assert plan_channels("HR", [], [], "int16").hr == 0
    with pytest.raises(SensorError, match="no RR or heart-rate channel"):
        plan_channels("EEG", ["Fz", "Cz"], ["uV", "uV"], "float32")
    with pytest.raises(SensorError, match="text"):
        plan_channels("Markers", ["m"], [""], "string")


def test_third_party_stream_vanishes_and_returns():
    source_id = f"bridge-{secrets.token_hex(4)}"
    out = outlet(source_id)
    source = LslInletSource(source_id, "client", silence_s=0.5, resolve_timeout_s=10)
    sink = Raw()
    runner = EngineThread(Engine([source], [sink]), keep_alive=True)
    runner.start()
    try:
        wait_for(lambda: source.status.state is SourceState.CONNECTED, what="connected")
        assert out.wait_for_consumers(5)
        t0 = pylsl.local_clock()
        stamps = t0 + np.cumsum([0.8, 0.81, 0.79, 0.8])
        for k, stamp in enumerate(stamps):
            out.push_sample([0.8 + k / 100], stamp)
        wait_for(lambda: len(sink.raw) == 4, what="4 beats")
        assert [b.rr_ms for b in sink.raw] == pytest.approx([800.0, 810.0, 820.0, 830.0])
        # same machine: time_correction is ~0, so beat times are the pushed stamps (1 ms)
        np.testing.assert_allclose([b.t for b in sink.raw], stamps, atol=1e-3)
        assert abs(source.time_correction_s) < 1e-3
        assert {b.source for b in sink.raw} == {f"lsl:{source_id}"}

        del out  # the bridge goes away
        wait_for(
            lambda: source.status.state is SourceState.RECONNECTING, what="reconnecting status"
        )
        out = outlet(source_id)  # ... and comes back
        assert out.wait_for_consumers(15), "the inlet did not come back"
        # stamped after the last beat (those were stamped ahead): an earlier one is dropped
        out.push_sample([0.9], max(pylsl.local_clock(), stamps[-1] + 0.9))
        wait_for(lambda: len(sink.raw) == 5, timeout=15, what="a beat after the return")
        assert sink.raw[-1].rr_ms == pytest.approx(900.0)
        wait_for(lambda: source.status.state is SourceState.CONNECTED, what="connected again")
        assert source.reconnections >= 1
    finally:
        runner.stop()


def test_heart_rate_only_streams_give_beats_at_that_rate():
    source_id = f"watch-{secrets.token_hex(4)}"
    out = outlet(source_id, kind="HeartRate", label="BPM", unit="bpm")
    source = LslInletSource(source_id, resolve_timeout_s=10)
    sink = Raw()
    runner = EngineThread(Engine([source], [sink]), keep_alive=True)
    runner.start()
    try:
        wait_for(lambda: source.status.state is SourceState.CONNECTED, what="connected")
        assert out.wait_for_consumers(5)
        t0 = pylsl.local_clock()
        for k in range(4):
            out.push_sample([75.0], t0 + k)
        wait_for(lambda: len(sink.raw) >= 4, what="beats")
        assert all(b.rr_ms == pytest.approx(800.0) and b.hr_bpm == 75.0 for b in sink.raw)
        np.testing.assert_allclose(np.diff([b.t for b in sink.raw]), 0.8)
    finally:
        runner.stop()


def test_a_stream_that_never_appears_fails_clearly():
    source = LslInletSource(f"nobody-{secrets.token_hex(4)}", resolve_timeout_s=1.0)
    runner = EngineThread(Engine([source]))
    runner.start()
    wait_for(lambda: not runner.alive, timeout=120, what="the engine to give up")
    (error,) = runner.engine.errors
    assert "no LSL stream named" in error and "heartsync --lsl" in error
    assert source.status.state is SourceState.FAILED


def test_two_heartsync_processes(tmp_path):
    """One publishes a simulated client with --lsl; the other ingests it beside a local strap."""
    subject = f"client{secrets.token_hex(3)}"
    a_file, b_file = tmp_path / "a.xdf", tmp_path / "b.xdf"
    publisher = subprocess.Popen(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            f"sim:seed=5,subject={subject}",
            "--lsl",
            "--duration",
            "7.5",
            "--record",
            str(a_file),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    raw_id = f"heartsync:sim:{subject}:5:{subject}:raw"
    ingest = subprocess.run(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            f"lsl:{raw_id},subject={subject}",
            "--source",
            "sim:seed=6,subject=therapist",
            "--duration",
            "4.5",
            "--record",
            str(b_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    _, a_err = publisher.communicate(timeout=60)
    assert publisher.returncode == 0, a_err
    assert ingest.returncode == 0, ingest.stderr
    a = read_xdf(a_file)
    b = read_xdf(b_file)
    sent = next(s for s in a.streams if s.type == "RawRR")
    got = next(
        s for s in b.streams if s.type == "RawRR" and s.text("desc/subject/alias") == subject
    )
    local = next(
        s for s in b.streams if s.type == "RawRR" and s.text("desc/subject/alias") == "therapist"
    )
    n = len(got.time_stamps)
    assert n >= 3 and len(local.time_stamps) >= 3
    first = int(np.argmin(np.abs(sent.time_stamps - got.time_stamps[0])))
    # a contiguous run of the publisher's beats: exact RR, beat times within 1 ms
    np.testing.assert_array_equal(got.time_series[:, 0], sent.time_series[first : first + n, 0])
    np.testing.assert_allclose(got.time_stamps, sent.time_stamps[first : first + n], atol=1e-3)
    assert got.text("desc/acquisition/source") == f"lsl:{raw_id}"


class _Counter:
    subject = "s"
    bad_samples = 0


@pytest.mark.parametrize("bpm", [1e6, 1e16, 0.5, -60.0, float("inf"), float("nan")])
def test_an_implausible_heart_rate_is_counted_not_turned_into_beats(bpm):
    """Any host on the network can publish a heart-rate stream: one sample of 1e6 bpm
    used to become 16,667 beats, 1e16 an endless loop. Outside 20-300 bpm: one bad sample."""
    holder = _Counter()
    converter = BeatConverter(holder, ChannelPlan(None, None, 0, None), "lsl:x")
    assert len(converter.convert([[60.0]], [100.0])) == 1
    assert converter.convert([[bpm]], [101.0]) == []
    assert holder.bad_samples == 1
    assert 1 <= len(converter.convert([[60.0]], [102.0])) <= 2  # and the stream goes on


@pytest.mark.parametrize(
    ("rr", "stamp", "kept"),
    [(0.8, 10.0, True), (0.15, 10.0, False), (3.5, 10.0, False), (0.8, float("nan"), False)],
)
def test_rr_outside_200_3000_ms_or_a_broken_stamp_is_counted(rr, stamp, kept):
    holder = _Counter()
    converter = BeatConverter(holder, ChannelPlan(0, 1000.0, None, None), "lsl:x")
    beats = converter.convert([[rr]], [stamp])
    assert (len(beats) == 1) == kept and holder.bad_samples == (0 if kept else 1)
    assert converter.convert([[0.8]], [1e9], not_after=100.0) == []  # stamped in the future
