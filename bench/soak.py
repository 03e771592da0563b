"""Soak: 8 hours of simulated time at full speed through the engine and the snapshot path.

A reader thread polls ``engine.snapshot`` at 30 Hz the way the window does and touches
its arrays. RSS is sampled every 10 simulated minutes. Any warning is an error.
Run: ``python -m bench.soak [HOURS]``. Target: growth after the first 10 minutes < 10 MB.
"""

import asyncio
import sys
import threading
import time
import warnings

from app.engine import Engine
from bench.common import peak_rss_mb, rss_mb, table
from sensors.simulated import SimSettings, SimulatedSource


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


def main() -> None:
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
    engine = Engine(sources, [sampler])
    stop = threading.Event()
    reads = [0]

    def ui_reader() -> None:  # what the window's 30 Hz timer does
        while not stop.is_set():
            snap = engine.snapshot
            for s in snap.subjects:
                float(s.rr_ms.sum()) if s.rr_ms.size else 0.0
            reads[0] += 1
            time.sleep(1 / 30)

    reader = threading.Thread(target=ui_reader)
    reader.start()
    started = time.perf_counter()
    try:
        asyncio.run(engine.run(hours * 3600))
    finally:
        stop.set()
        reader.join()
    wall = time.perf_counter() - started
    beats = sum(s.beats_received for s in engine.snapshot.subjects)
    base = next((mb for minute, mb in sampler.samples if minute >= 10), sampler.samples[-1][1])
    growth = max(mb for _, mb in sampler.samples) - base
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
        f"growth after the first 10 min {growth:.2f} MB (target < 10 MB)"
    )


if __name__ == "__main__":
    main()
