"""Session analysis speed and memory: a 24-hour recording of one person and a 1-hour dyad.

Run: ``python -m bench.analyze [HOURS] [REPEATS]`` (HOURS of the single-person recording,
default 24; REPEATS analyses of each file, default 3). The recordings are made here, by
heartsync's own recorder from simulated straps at ``--speed 0`` (with a baseline, so the
arousal stage runs too); each analysis then runs in a fresh process (``heartsync
analyze``) whose CPU time (user + system, so a busy shared machine does not inflate it)
and peak resident memory are measured. The reference beside it, measured in the same
run: the same analysis with the live HRV windows beat by beat (``batch_hrv=False``, the
code path before the HRV table). Targets: 24 h in < 5 s and < 300 MB; 1-h dyad < 2 s.
"""

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from bench.common import table
from dsp.arousal import calibrate
from sensors.simulated import SimSettings, SimulatedSource, simulate


def record(path: Path, hours: float, subjects: list[SimSettings]) -> float:
    """Record a simulated session (every subject calibrated); returns CPU seconds."""
    rest = simulate(SimSettings(seed=21), 420)
    baseline = calibrate(rest["t_s"], rest["rr_ms"])
    sources = [SimulatedSource(s, speed=0) for s in subjects]
    settings = RecorderSettings(flush_interval_s=0.5, fsync=False)
    engine = Engine(sources, [XdfRecorder(path, sources, settings)])
    for s in subjects:
        engine.set_baseline(s.subject, baseline)
    started = time.process_time()
    asyncio.run(engine.run(duration_s=hours * 3600))
    return time.process_time() - started


def analyse(path: Path, batch_hrv: bool = True) -> tuple[float, float, float]:
    """CPU s, wall s and peak RSS (MB) of ``heartsync analyze`` in a fresh process."""
    code = (
        "import resource, sys, time\n"
        "from app.analysis.analyze import analyze\n"
        "c, w = time.process_time(), time.perf_counter()\n"
        "analyze(sys.argv[1], sys.argv[2], batch_hrv=sys.argv[3] == '1')\n"
        "c, w = time.process_time() - c, time.perf_counter() - w\n"
        "print(c, w, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(path.with_suffix("")), str(int(batch_hrv))],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu, wall, rss = out.stdout.split()
    return float(cpu), float(wall), float(rss)


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 24.0
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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
            for label, batch in (("HRV table (now)", True), ("live HRV windows (before)", False)):
                runs = [analyse(path, batch) for _ in range(repeats)]
                rows.append(
                    (
                        name,
                        label,
                        f"{path.stat().st_size / 1e6:.1f}",
                        f"{made_s:.1f}",
                        _spread([r[0] for r in runs]),
                        _spread([r[1] for r in runs]),
                        f"{max(r[2] for r in runs):.0f}",
                    )
                )
    head = ("recording", "path", "file MB", "recorded CPU s", "CPU s", "wall s", "peak RSS MB")
    print(table(rows, head))
    print(
        f"({repeats} runs each on a shared 2-core machine; peak RSS includes Python, numpy "
        f"and scipy: {_baseline_mb():.0f} MB. Targets: 24 h < 5 s and < 300 MB, 1-h dyad < 2 s)"
    )


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
