"""Session analysis speed and memory: a 24-hour recording of one person and a 1-hour dyad.

Run: ``python -m bench.analyze [HOURS]`` (HOURS of the single-person recording, default 24).
The recordings are made here, by heartsync's own recorder from simulated straps at
``--speed 0`` (with a baseline, so the arousal stage runs too); each analysis then runs in
a fresh process (``heartsync analyze``) whose wall time and peak resident memory are
measured. Targets: 24 h in < 10 s and < 500 MB.
"""

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from dsp.arousal import calibrate
from sensors.simulated import SimSettings, SimulatedSource, simulate


def record(path: Path, hours: float, subjects: list[SimSettings]) -> float:
    """Record a simulated session (every subject calibrated); returns wall seconds."""
    rest = simulate(SimSettings(seed=21), 420)
    baseline = calibrate(rest["t_s"], rest["rr_ms"])
    sources = [SimulatedSource(s, speed=0) for s in subjects]
    settings = RecorderSettings(flush_interval_s=0.5, fsync=False)
    engine = Engine(sources, [XdfRecorder(path, sources, settings)])
    for s in subjects:
        engine.set_baseline(s.subject, baseline)
    started = time.perf_counter()
    asyncio.run(engine.run(duration_s=hours * 3600))
    return time.perf_counter() - started


def analyse(path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``heartsync analyze`` in a fresh process."""
    code = (
        "import resource, sys, time\n"
        "from app.analysis.analyze import analyze\n"
        "t = time.perf_counter()\n"
        "analyze(sys.argv[1], sys.argv[2])\n"
        "w = time.perf_counter() - t\n"
        "print(w, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(path.with_suffix(""))],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, rss = out.stdout.split()
    return float(wall), float(rss)


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 24.0
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cases = (
            (f"{hours:g} h, one person", hours, [SimSettings(seed=3, artifact_rate=0.01)]),
            (
                "1 h dyad",
                1.0,
                [
                    SimSettings(seed=1, subject="client", artifact_rate=0.02),
                    SimSettings(seed=2, subject="therapist"),
                ],
            ),
        )
        for name, h, subjects in cases:
            path = Path(folder) / f"{name.replace(' ', '_').replace(',', '')}.xdf"
            made_s = record(path, h, subjects)
            wall, rss = analyse(path)
            mb = path.stat().st_size / 1e6
            rows.append((name, f"{mb:.1f}", f"{made_s:.1f}", f"{wall:.2f}", f"{rss:.0f}"))
    head = ("recording", "file MB", "recorded in s", "analysis s", "peak RSS MB")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    for row in (head, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"(2-core machine; peak RSS includes Python, numpy and scipy: {_baseline_mb():.0f} MB)")


def _baseline_mb() -> float:
    """Peak RSS of a process that only imports the analysis, MB."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, app.analysis.analyze, app.report.html;"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


if __name__ == "__main__":
    main()
