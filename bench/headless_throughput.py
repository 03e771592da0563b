"""Headless ``--speed 0`` throughput: beats per second through engine, pipeline and sinks.

Run: ``python -m bench.headless_throughput [HOURS] [REPEATS]`` (default 2 h, 3 repeats).
CPU time (user + system of this process, all threads: the recorder writes on its own
thread), so a busy shared machine does not inflate the figures. The rows build up the
path of ``heartsync --headless --source sim --speed 0 --record FILE``: the simulated strap
alone, then engine + pipeline, then with JSON lines, then with the XDF recorder. The
references beside it: what real time needs (about 1.2 beats/s per person at 70 bpm) and
the issue's figure for the code before this work (recording at ``--speed 0``, ~2,700
beats/s). Target: >= 20,000 beats/s with recording on one core.
"""

import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from app.sinks import JsonLinesSink
from bench.common import peak_rss_mb, table
from sensors.simulated import SimSettings, SimulatedSource
from sensors.simulated.strap import SimulatedStrap


def _settings() -> SimSettings:
    return SimSettings(seed=1, artifact_rate=0.02)


def strap_only(hours: float) -> tuple[int, float]:
    """Beats and CPU s of the simulated strap alone (the source's own share)."""
    strap = SimulatedStrap(_settings())
    beats, started = 0, time.process_time()
    for _ in range(int(hours * 3600)):
        note = strap.next_notification()
        beats += len(note.rr_ms) if note is not None else 0
    return beats, time.process_time() - started


def measure(hours: float, sink: str, folder: Path) -> tuple[int, float]:
    """Beats and CPU s of one headless run with the given sink ("", "json", "record")."""
    source = SimulatedSource(_settings(), speed=0)
    sinks: list = []
    if sink == "json":
        sinks = [JsonLinesSink(io.StringIO())]
    elif sink == "record":
        path = folder / f"run{time.perf_counter_ns()}.xdf"
        sinks = [XdfRecorder(path, [source], RecorderSettings(fsync=False))]
    engine = Engine([source], sinks)
    started = time.process_time()
    asyncio.run(engine.run(hours * 3600))
    return engine.snapshot.subjects[0].beats_received, time.process_time() - started


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cases = [("simulated strap alone", None)] + [
            (label, sink)
            for label, sink in (
                ("engine + pipeline", ""),
                ("engine + pipeline + JSON lines", "json"),
                ("engine + pipeline + XDF recorder", "record"),
            )
        ]
        for label, sink in cases:
            runs = [
                strap_only(hours) if sink is None else measure(hours, sink, Path(folder))
                for _ in range(repeats)
            ]
            beats = runs[0][0]
            cpu = [c for _, c in runs]
            rate = [beats / c for c in cpu]
            rows.append(
                (
                    label,
                    beats,
                    f"{min(cpu):.2f}-{max(cpu):.2f}",
                    f"{min(rate):,.0f}-{max(rate):,.0f}",
                    f"{hours * 3600 * len(cpu) / sum(cpu):,.0f}x",
                )
            )
    rows.append(("before this work: recording (issue 16)", "", "", "~2,700", ""))
    rows.append(("real time needs (70 bpm)", "", "", "1.2", "1x"))
    print(f"headless --speed 0, {hours:g} h of simulated strap, 2 % artifacts, {repeats} runs")
    print(table(rows, ("path", "beats", "CPU s", "beats/s (CPU)", "faster than real time")))
    print(f"peak RSS {peak_rss_mb():.0f} MB; target >= 20,000 beats/s with recording")


if __name__ == "__main__":
    main()
