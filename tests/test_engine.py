"""The engine: sources -> pipeline -> sinks, snapshots, deadline, errors, its thread."""

import asyncio
import logging
import math
import threading
import time

import numpy as np
import pytest

from app.engine import Engine
from app.runtime import EngineThread
from dsp.pipeline import process
from sensors.base import BaseSource, Beat, DeviceNotFoundError, SourceState
from sensors.clock import now
from sensors.simulated import SimSettings, SimulatedSource, simulate
from tests.helpers import CollectSink


def wait_for(condition, what, timeout=60.0):
    """Poll ``condition()`` until true; fail naming ``what`` after ``timeout`` s (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.02)


class FailingSource(BaseSource):
    """Sends a few beats, then fails the way a strap that vanished does."""

    async def beats(self):
        start = now()
        for i in range(5):
            yield Beat(self.subject, start + i, 1000.0, 60, True, self.name)
            await asyncio.sleep(0)
        raise DeviceNotFoundError("strap 'X' not found; is it worn?")


def test_live_equals_offline_and_deadline_is_stream_time():
    settings = SimSettings(seed=11, artifact_rate=0.03)
    sink = CollectSink()
    engine = Engine([SimulatedSource(settings, speed=0, start_s=5000.0)], [sink])
    asyncio.run(engine.run(duration_s=600))  # 10 minutes of stream time at full speed
    assert sink.closed and not engine.snapshot.running
    offline_in = simulate(settings, 700, start_s=5000.0)
    # --duration counts from the first beat: the engine saw every raw beat before that
    keep = offline_in["t_s"] < offline_in["t_s"][0] + 600
    assert engine.snapshot.subjects[0].beats_received == keep.sum()
    offline = process(offline_in["t_s"][keep], offline_in["rr_ms"][keep])
    assert len(offline) == len(sink.results)
    for a, b in zip(offline, sink.results, strict=True):
        assert a.beat == b.beat
        np.testing.assert_equal(
            [a.hrv.hr_bpm, a.hrv.rmssd_ms, a.hrv.sdnn_ms],
            [b.hrv.hr_bpm, b.hrv.rmssd_ms, b.hrv.sdnn_ms],
        )
    assert any(r.beat.artifact for r in sink.results)


def test_two_subjects_snapshot_and_a_failing_source():
    sink = CollectSink()
    sim = SimulatedSource(SimSettings(seed=1, subject="therapist"), speed=0)
    failing = FailingSource("ble:X", "client")
    engine = Engine([sim, failing], [sink])
    asyncio.run(engine.run(duration_s=120))
    snap = engine.snapshot
    assert [s.subject for s in snap.subjects] == ["therapist", "client"]
    therapist, client = snap.subjects
    assert therapist.simulated and not client.simulated
    assert therapist.beats_received > 100 and client.beats_received == 5
    assert therapist.t_s.size > 100 and not therapist.t_s.flags.writeable
    assert therapist.t_s[-1] - therapist.t_s[0] <= engine.settings.history_s
    assert client.status.state is SourceState.FAILED
    assert engine.errors == ["ble:X: strap 'X' not found; is it worn?"]
    assert ("client", SourceState.FAILED) in sink.statuses
    assert {r.subject for r in sink.results} == {"therapist", "client"}


def test_subjects_must_differ():
    with pytest.raises(ValueError, match="own subject"):
        Engine([SimulatedSource(SimSettings()), SimulatedSource(SimSettings(seed=2))])


def test_engine_thread_stops_promptly_and_snapshots_update():
    engine = Engine([SimulatedSource(SimSettings(), speed=4)])
    runner = EngineThread(engine)
    runner.start()
    wait_for(
        lambda: engine.snapshot.subjects and engine.snapshot.subjects[0].beats_received >= 3,
        "three beats",
    )
    assert math.isfinite(engine.snapshot.t_s)
    assert runner.stop(timeout_s=60)  # how fast it stops is measured in bench/, not here
    assert runner.error is None and not runner.alive


def test_set_source_replaces_and_disconnects_while_running():
    first = SimulatedSource(SimSettings(seed=1), speed=8)
    engine = Engine([first])
    runner = EngineThread(engine, keep_alive=True)
    runner.start()

    def received():
        subjects = engine.snapshot.subjects
        return subjects[0].beats_received if subjects else 0

    wait_for(lambda: received() > 5, "beats")
    second = SimulatedSource(SimSettings(seed=2), speed=8)
    runner.submit(engine.set_source("self", second)).result(timeout=60)
    wait_for(lambda: engine.snapshot.subjects[0].source == second.name, "second source")
    before = received()
    wait_for(lambda: received() > before + 5, "beats from the second source")
    assert first.status.state is SourceState.STOPPED
    runner.submit(engine.set_source("self", None)).result(timeout=60)
    wait_for(lambda: engine.snapshot.subjects[0].source == second.name, "the snapshot")
    assert runner.alive  # the disconnect is done and the engine waits for the user
    assert runner.stop(timeout_s=60)


class StallingSource(BaseSource):
    """Two beats in real time, then silence (a strap out of radio range)."""

    async def beats(self):
        for _ in range(2):
            await asyncio.sleep(0.5)
            yield Beat(self.subject, now(), 500.0, 120, True, self.name)
        await asyncio.sleep(3600)


def test_silence_shows_in_the_snapshot():
    engine = Engine([StallingSource("ble:Y", "self")])
    runner = EngineThread(engine, keep_alive=True)
    runner.start()
    wait_for(
        lambda: engine.snapshot.subjects and engine.snapshot.subjects[0].beats_received == 2,
        "two beats",
    )
    wait_for(lambda: engine.snapshot.subjects[0].silent_s >= 5.0, "five silent seconds")
    silent = engine.snapshot.subjects[0].silent_s
    assert silent == math.floor(silent)  # whole seconds: the snapshot changes once a second
    assert engine.snapshot.subjects[0].beats_received == 2
    assert runner.stop(timeout_s=60)


class ScriptedSource(BaseSource):
    """Yields the given beats, in order, as a source would (stream time)."""

    def __init__(self, name, subject, beats):
        super().__init__(name, subject)
        self.script = beats

    async def beats(self):
        for t, rr in self.script:
            yield Beat(self.subject, t, rr, None, True, self.name)
            await asyncio.sleep(0)


def test_bad_beats_are_dropped_counted_and_logged_once(caplog):
    """A duplicate, beats stamped 7 s in the past, a time that is not a number and an RR
    no strap can send: each dropped and counted, one log line per kind, never fatal."""
    good = [(1000.0 + 0.8 * k, 800.0) for k in range(200)]
    bad = [
        good[50],  # duplicated
        (good[60][0] - 7.0, 800.0),  # from an LSL stream 7 s behind: raised in dsp before
        (good[61][0] - 7.0, 800.0),
        (math.nan, 800.0),
        (good[70][0] + 0.1, math.inf),
    ]
    script = good[:51] + bad[:1] + good[51:61] + bad[1:3] + good[61:70] + bad[3:] + good[70:]
    sink = CollectSink()
    engine = Engine([ScriptedSource("lsl:x", "therapist", script)], [sink])
    with caplog.at_level(logging.WARNING, "app.beat_gate"):
        asyncio.run(engine.run())
    assert engine.errors == [] and engine.beats_dropped == len(bad)
    assert [b.t for b in sink.raw] == [t for t, _ in good]
    assert len(sink.results) == len(good)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4  # duplicate, out of order (twice, logged once), NaN, RR
    assert sum("out of order" in line for line in lines) == 1


class ExplodingSink(CollectSink):
    """A sink whose 10th beat raises (a closed pipe, a dead outlet), as does its close."""

    def write(self, result):
        super().write(result)
        if len(self.results) == 10:
            raise BrokenPipeError(32, "Broken pipe")

    def close(self):
        super().close()
        raise OSError(5, "Input/output error")


def test_a_failing_sink_is_closed_and_the_others_go_on(tmp_path):
    from app.recording.recorder import XdfRecorder
    from sensors.xdf import read_xdf

    source = SimulatedSource(SimSettings(seed=2), speed=0)
    exploding, collect = ExplodingSink(), CollectSink()
    recorder = XdfRecorder(tmp_path / "kept.xdf", [source])
    engine = Engine([source], [exploding, collect, recorder])
    asyncio.run(engine.run(duration_s=300))
    assert exploding.closed and len(exploding.results) == 10  # closed, never called again
    assert collect.closed and len(collect.results) > 200
    (failure,) = engine.sink_failures
    assert "ExplodingSink" in failure and "Broken pipe" in failure
    assert engine.errors == []
    rec = read_xdf(recorder.path)  # the recording was closed with its footers
    assert rec.closed
    raw = next(s for s in rec.streams if s.type == "RawRR")
    assert len(raw.time_stamps) == len(collect.raw)


def test_a_calibration_pending_when_the_session_ends_is_refused_not_hung():
    from dsp.tolerance.baseline import CalibrationError, CalibrationSettings

    source = SimulatedSource(SimSettings(seed=1), speed=0)
    engine = Engine([source])

    async def session():
        run = asyncio.create_task(engine.run(duration_s=120))  # ends before the rest does
        try:
            with pytest.raises(CalibrationError, match="ended before"):
                await engine.calibrate("self", CalibrationSettings(duration_s=600))
        finally:
            await run

    asyncio.run(session())
