"""Soak: 8 hours of simulated time at full speed through the engine, recording and LSL.

Two simulated people run through the engine with every sink a long session has: the XDF
recorder (the whole soak is recorded) and the LSL outlets, read by a real inlet on this
machine for the whole soak. A reader thread polls ``engine.snapshot`` at 30 Hz the way
the window does. RSS is sampled every 10 simulated minutes. Any warning is an error.

Run: ``python -m bench.soak [HOURS]``. It exits 1 when a target is missed:

- RSS growth after the first 10 simulated minutes < 10 MB;
- no source error, no failed sink, no recording error, nothing dropped by the recorder;
- the recording closes whole (footers; pyxdf-compatible reader) with every raw beat;
- the LSL inlet received every raw beat of the first person.
"""

import asyncio
import math
import secrets
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from app.engine import Engine
from app.recording.recorder import XdfRecorder
from app.streams.lsl_outlet import LslOutletSink
from bench.common import peak_rss_mb, rss_mb, table
from sensors.base import SourceState, SourceStatus
from sensors.simulated import SimSettings, SimulatedSource
from sensors.xdf import read_xdf

GROWTH_TARGET_MB = 10.0


class MemorySampler:
    """A sink that samples RSS every ``every_s`` of stream time."""

    def __init__(self, every_s: float = 600.0) -> None:
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []
        self._next = None

    def write(self, result) -> None:
        t = result.beat.t
        if self._next is None:
            self._start, self._next = t, t
        if t >= self._next:
            self.samples.append(((t - self._start) / 60.0, rss_mb()))
            self._next += self.every_s

    def status(self, subject, source, status) -> None:
        pass

    def close(self) -> None:
        pass


class LslReader:
    """A real LSL inlet on the first person's raw RR stream, pulling for the whole soak."""

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.samples = 0
        self.stop = threading.Event()
        self.found = threading.Event()
        self.thread = threading.Thread(target=self._run, name="soak-lsl-reader")
        self.thread.start()

    def _run(self) -> None:
        import pylsl

        inlet = None
        while not self.stop.is_set() and inlet is None:
            infos = pylsl.resolve_bypred(f"source_id='{self.source_id}'", 1, 1.0)
            if infos:
                inlet = pylsl.StreamInlet(infos[0], max_buflen=3600)
                inlet.open_stream(timeout=10)
                self.found.set()
        while inlet is not None and (not self.stop.is_set() or inlet.samples_available()):
            chunk, _ = inlet.pull_chunk(timeout=0.2, max_samples=4096)
            self.samples += len(chunk)
            if self.stop.is_set() and not chunk:
                break

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)


def main() -> int:
    warnings.simplefilter("error")
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    sampler = MemorySampler()
    sources = [
        SimulatedSource(SimSettings(seed=1, artifact_rate=0.02, subject="a"), speed=0),
        SimulatedSource(
            SimSettings(seed=2, artifact_rate=0.02, subject="b", scenario="stress", onset_s=3600),
            speed=0,
        ),
    ]
    folder = Path(tempfile.mkdtemp(prefix="heartsync-soak-"))
    recorder = XdfRecorder(folder / "soak.xdf", sources)
    prefix = f"soak{secrets.token_hex(3)}"
    outlets = LslOutletSink(sources, prefix=prefix)
    for source in sources:  # announce the outlets now, so the inlet is there from beat one
        connected = SourceStatus(SourceState.CONNECTED, "soak", math.nan)
        outlets.status(source.subject, source.name, connected)
    reader_lsl = LslReader(f"{prefix}:{sources[0].name}:a:raw")
    engine = Engine(sources, [sampler, recorder, outlets])
    stop = threading.Event()
    reads = [0]

    def ui_reader() -> None:  # what the window's 30 Hz timer does
        while not stop.is_set():
            snap = engine.snapshot
            for s in snap.subjects:
                float(s.rr_ms.sum()) if s.rr_ms.size else 0.0
            reads[0] += 1
            stop.wait(1 / 30)

    reader = threading.Thread(target=ui_reader)
    reader.start()
    started = time.perf_counter()
    try:
        asyncio.run(_run(engine, reader_lsl, hours))
    finally:
        stop.set()
        reader.join()
        reader_lsl.close()
    wall = time.perf_counter() - started
    beats = sum(s.beats_received for s in engine.snapshot.subjects)
    base = next((mb for minute, mb in sampler.samples if minute >= 10), sampler.samples[-1][1])
    growth = max(mb for _, mb in sampler.samples) - base
    rec = read_xdf(recorder.path)
    raw = {
        s.text("desc/subject/alias"): len(s.time_stamps) for s in rec.streams if s.type == "RawRR"
    }
    received = {s.subject: s.beats_received for s in engine.snapshot.subjects}
    print(
        f"soak: {hours:g} h simulated, 2 subjects, {beats:,} beats in {wall:.1f} s wall, "
        f"{reads[0]:,} snapshot reads, errors: {engine.errors or 'none'}"
    )
    rows = [
        (f"{m:.0f}", f"{mb:.1f}")
        for m, mb in sampler.samples[:: max(1, len(sampler.samples) // 12)]
    ]
    print(table(rows, ("simulated min", "RSS MB")))
    print(
        f"peak RSS {peak_rss_mb():.1f} MB; "
        f"growth after the first 10 min {growth:.2f} MB (target < {GROWTH_TARGET_MB:g} MB)"
    )
    print(
        f"recording {recorder.path.stat().st_size / 1e6:.1f} MB, closed {rec.closed}, raw beats "
        f"{raw} of {received}; LSL inlet received {reader_lsl.samples:,} of {received['a']:,} "
        f"raw beats of a"
    )
    missed = []
    if growth >= GROWTH_TARGET_MB:
        missed.append(f"RSS grew {growth:.1f} MB")
    if engine.errors or engine.sink_failures or recorder.error or recorder.samples_dropped:
        missed.append(f"errors {engine.errors} {engine.sink_failures} {recorder.error}")
    if not rec.closed or raw != received:
        missed.append("the recording is not whole")
    if reader_lsl.samples != received["a"]:
        missed.append("LSL lost beats")
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    print("soak: " + ("; ".join(missed) + " — FAILED" if missed else "every target met"))
    return 1 if missed else 0


async def _run(engine: Engine, reader: LslReader, hours: float) -> None:
    """Start the engine once the inlet is connected (so it sees every beat), then run."""
    await asyncio.to_thread(reader.found.wait, 60)
    if not reader.found.is_set():
        raise RuntimeError("the LSL inlet found no stream")
    await engine.run(hours * 3600)


if __name__ == "__main__":
    sys.exit(main())
