"""Headless ``--speed 0`` throughput: beats per second through engine, pipeline and JSON sink.

Run: ``python -m bench.headless_throughput [HOURS]``. The reference beside it is what real
time needs (about 1.2 beats/s per person at 70 bpm).
"""

import asyncio
import io
import sys
import time

from app.engine import Engine
from app.sinks import JsonLinesSink
from bench.common import peak_rss_mb, table
from sensors.simulated import SimSettings, SimulatedSource


def measure(hours: float, json_sink: bool) -> tuple[int, float]:
    source = SimulatedSource(SimSettings(seed=1, artifact_rate=0.02), speed=0)
    sinks = [JsonLinesSink(io.StringIO())] if json_sink else []
    engine = Engine([source], sinks)
    started = time.perf_counter()
    asyncio.run(engine.run(hours * 3600))
    return engine.snapshot.subjects[0].beats_received, time.perf_counter() - started


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rows = []
    for label, json_sink in (
        ("engine + pipeline", False),
        ("engine + pipeline + JSON lines", True),
    ):
        beats, wall = measure(hours, json_sink)
        rows.append(
            (label, beats, f"{wall:.2f}", f"{beats / wall:,.0f}", f"{hours * 3600 / wall:,.0f}x")
        )
    rows.append(("real time needs (70 bpm)", "", "", "1.2", "1x"))
    print(f"headless --speed 0, {hours:g} h of simulated strap, 2 % artifacts")
    print(table(rows, ("path", "beats", "wall s", "beats/s", "faster than real time")))
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
