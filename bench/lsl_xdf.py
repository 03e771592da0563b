"""LSL and XDF: beat-to-outlet latency, recorder throughput and loop cost, replay speed.

Run: ``python -m bench.lsl_xdf [HOURS]`` (HOURS of dyad for the recorder and replay
figures, default 1). Targets (issue 8): latency p99 < 5 ms on loopback; recorder
writes never block the engine loop; replay of a 1-hour dyad > 1,000x real time.
"""

# ruff: noqa: I001  (bench.common first: it points liblsl at the loopback config)
from bench.common import peak_rss_mb, table

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pylsl

from app.engine import Engine
from app.streams.lsl_outlet import LslOutletSink
from app.recording.recorder import XdfRecorder
from sensors.xdf import read_xdf
from dsp.types import Beat
from sensors.base import BaseSource, SourceState, SourceStatus
from sensors.clock import now
from sensors.replay import replay_sources
from sensors.simulated import SimSettings, SimulatedSource


class Ticker(BaseSource):
    """Yields ``n`` beats stamped with the clock at the moment they are yielded."""

    def __init__(self, n: int, interval_s: float, gate: threading.Event) -> None:
        super().__init__("bench:ticker", "self")
        self.n, self.interval_s, self.gate = n, interval_s, gate

    async def beats(self):
        self._set_status(SourceStatus(SourceState.CONNECTED, "bench", now(), None, "ticker"))
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        for _ in range(self.n):
            await asyncio.sleep(self.interval_s)
            yield Beat("self", now(), 800.0, 75.0, True, self.name)


def receive(source_id: str, n: int) -> None:
    """Receiver process: pull ``n`` samples, print their delays (s) as JSON."""
    found = pylsl.resolve_bypred(f"source_id='{source_id}'", 1, 20)
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(10)
    print("ready", flush=True)
    delays = []
    while len(delays) < n:
        _, t = inlet.pull_sample(timeout=5)
        if t is None:
            break
        delays.append(now() - t)
    print(json.dumps(delays), flush=True)


def latency(n: int = 2000) -> tuple[np.ndarray, float]:
    """Beat yielded by a source -> engine -> outlet -> a pylsl inlet in another process, ms.

    Also returns the cost of one outlet push on the engine loop, us.
    """
    gate = threading.Event()
    source = Ticker(n, 0.004, gate)
    sink = LslOutletSink([source], prefix=f"bench{time.time_ns()}")
    engine = Engine([source], [sink])
    source_id = f"{sink.prefix}:bench:ticker:self:raw"
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.lsl_xdf", "--receive", source_id, str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )

    def wait_ready() -> None:
        assert receiver.stdout.readline().strip() == "ready"
        gate.set()

    thread = threading.Thread(target=wait_ready)
    thread.start()
    asyncio.run(engine.run())
    thread.join(30)
    delays = json.loads(receiver.communicate(timeout=60)[0])
    # the cost of one outlet push on the loop, measured apart
    beat = Beat("self", now(), 800.0, 75.0, True, "bench:ticker")
    quiet = LslOutletSink(prefix=f"quiet{time.time_ns()}")
    quiet.write_raw(beat)
    started = time.perf_counter()
    for _ in range(20_000):
        quiet.write_raw(beat)
    push_us = (time.perf_counter() - started) / 20_000 * 1e6
    quiet.close()
    return np.array(delays) * 1000.0, push_us


def recorder_throughput(samples: int = 500_000) -> tuple[float, float, float]:
    """Engine-side cost per sample (us) and writer throughput (samples/s, MB/s)."""
    with tempfile.TemporaryDirectory() as folder:
        rec = XdfRecorder(Path(folder) / "t.xdf")
        beat = Beat("self", 1000.0, 800.0, 75.0, True, "bench")
        started = time.perf_counter()
        for _ in range(samples):
            rec.write_raw(beat)
        push_s = time.perf_counter() - started
        rec.close()
        total_s = time.perf_counter() - started
        return push_s / samples * 1e6, samples / total_s, rec.bytes_written / total_s / 1e6


class TimedRecorder(XdfRecorder):
    """The recorder, timing what its sink methods cost the engine loop."""

    spent_s = 0.0

    def write(self, result) -> None:
        started = time.perf_counter()
        super().write(result)
        self.spent_s += time.perf_counter() - started

    def write_raw(self, beat) -> None:
        started = time.perf_counter()
        super().write_raw(beat)
        self.spent_s += time.perf_counter() - started


def dyad_session(hours: float, path: Path | None) -> tuple[float, int, float]:
    """Wall seconds of a simulated dyad at --speed 0 (recorded when ``path``), beats, and
    seconds the recorder's sink calls took on the loop."""
    sources = [
        SimulatedSource(SimSettings(seed=1, subject="client", artifact_rate=0.02), speed=0),
        SimulatedSource(SimSettings(seed=2, subject="therapist"), speed=0),
    ]
    sinks = [TimedRecorder(path, sources)] if path is not None else []
    engine = Engine(sources, sinks)
    started = time.perf_counter()
    asyncio.run(engine.run(hours * 3600))
    wall = time.perf_counter() - started
    spent = sinks[0].spent_s if sinks else 0.0
    return wall, sum(s.beats_received for s in engine.snapshot.subjects), spent


def replay_speed(path: Path) -> tuple[float, float, int]:
    """Load time and replay time (s) of a recording through the pipeline; beats replayed."""
    started = time.perf_counter()
    read_xdf(path)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    sources = replay_sources(path, speed=0)
    engine = Engine(sources)
    asyncio.run(engine.run())
    return (
        load_s,
        time.perf_counter() - started,
        sum(s.beats_received for s in engine.snapshot.subjects),
    )


def main() -> None:
    if sys.argv[1:2] == ["--receive"]:
        receive(sys.argv[2], int(sys.argv[3]))
        return
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    delays, push_us = latency()
    print("beat -> engine -> LSL outlet -> pylsl inlet in another process (loopback, 250 beats/s)")
    print(
        table(
            [
                ("p50", f"{np.percentile(delays, 50):.3f}"),
                ("p99", f"{np.percentile(delays, 99):.3f}"),
                ("max", f"{delays.max():.3f}"),
                ("one outlet push on the engine loop (us)", f"{push_us:.1f}"),
            ],
            ("latency", "ms"),
        )
    )
    push_us, rate, mb_s = recorder_throughput()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dyad.xdf"
        bare_s, beats, _ = dyad_session(hours, None)
        rec_s, _, spent_s = dyad_session(hours, path)
        size_mb = path.stat().st_size / 1e6
        load_s, replay_s, replayed = replay_speed(path)
    print(f"\nXDF recorder ({hours:g} h dyad, {beats} raw beats, {size_mb:.2f} MB file)")
    print(
        table(
            [
                ("cost of one sample on the engine loop (us)", f"{push_us:.2f}"),
                ("writer thread throughput (samples/s)", f"{rate:,.0f}"),
                ("writer thread throughput (MB/s)", f"{mb_s:.1f}"),
                ("dyad at --speed 0 without recorder (s)", f"{bare_s:.2f}"),
                ("dyad at --speed 0 with recorder (s)", f"{rec_s:.2f}"),
                ("recorder calls on the loop per raw beat (us)", f"{spent_s / beats * 1e6:.1f}"),
                ("... share of the loop's time", f"{spent_s / rec_s:.1%}"),
            ],
            ("recorder", "value"),
        )
    )
    print(f"\nreplay of the {hours:g} h dyad through the pipeline, --speed 0")
    print(
        table(
            [
                ("read the file (s)", f"{load_s:.3f}"),
                ("replay through engine + pipeline (s)", f"{replay_s:.2f}"),
                ("beats replayed", replayed),
                ("x real time", f"{hours * 3600 / replay_s:,.0f}x"),
            ],
            ("replay", "value"),
        )
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
