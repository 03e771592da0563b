"""The engine: sources -> pipeline -> sinks, snapshots, deadline, errors, its thread."""

import asyncio
import math
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
    started = time.monotonic()
    asyncio.run(engine.run(duration_s=600))
    assert time.monotonic() - started < 20  # 10 simulated minutes, not 10 wall minutes
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
    deadline = time.monotonic() + 5
    while engine.snapshot.subjects == () or engine.snapshot.subjects[0].beats_received < 3:
        assert time.monotonic() < deadline, "no beats within 5 s"
        time.sleep(0.05)
    assert math.isfinite(engine.snapshot.t_s)
    started = time.monotonic()
    assert runner.stop(timeout_s=3)
    assert time.monotonic() - started < 1.0
    assert runner.error is None and not runner.alive


def test_set_source_replaces_and_disconnects_while_running():
    first = SimulatedSource(SimSettings(seed=1), speed=8)
    engine = Engine([first])
    runner = EngineThread(engine, keep_alive=True)
    runner.start()

    def wait_for(condition, what):
        deadline = time.monotonic() + 5
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    def received():
        subjects = engine.snapshot.subjects
        return subjects[0].beats_received if subjects else 0

    wait_for(lambda: received() > 5, "beats")
    second = SimulatedSource(SimSettings(seed=2), speed=8)
    runner.submit(engine.set_source("self", second)).result(timeout=2)
    wait_for(lambda: engine.snapshot.subjects[0].source == second.name, "second source")
    before = received()
    wait_for(lambda: received() > before + 5, "beats from the second source")
    assert first.status.state is SourceState.STOPPED
    runner.submit(engine.set_source("self", None)).result(timeout=2)
    time.sleep(0.5)
    assert runner.alive  # kept alive with no source, waiting for the user
    assert runner.stop(timeout_s=3)


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
    time.sleep(2.0)
    assert engine.snapshot.subjects[0].beats_received == 2
    time.sleep(5.5)
    silent = engine.snapshot.subjects[0].silent_s
    assert 5.0 <= silent < 8.0
    assert runner.stop(timeout_s=3)
