"""Session history and PDF report: listing 1,000 sessions, a session's cost, writing the PDF.

Run: ``python -m bench.history [SESSIONS]`` (default 1,000). Each figure is printed with
the reference measured in the same run:

- listing: ``HistoryStore.sessions()`` + trend rows + the disk bound over SESSIONS kept
  sessions (real summaries of a 20-min dyad, dummy 200 kB recordings), against reading
  the same summary files with ``json.load`` alone; and ``heartsync history`` in a fresh
  process against ``heartsync --help`` (Python start-up and imports);
- keeping a session: a simulated 1-hour dyad through the engine at full speed with the
  history sink (recording with fsync + statistics + summary) against the same engine
  with no sink;
- PDF: :func:`app.report.pdf.write_pdf` of that hour's report against writing the HTML
  report (``analyze``) of the same recording.
"""

import asyncio
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.engine import Engine
from app.history.sink import HistorySink
from app.history.store import HistoryLimits, HistoryStore
from app.history.summary import trend_rows
from bench.common import table
from sensors.simulated import SimSettings, SimulatedSource

CLI = [sys.executable, "-m", "ui"]


def _dyad() -> list[SimulatedSource]:
    return [
        SimulatedSource(SimSettings(seed=1, subject="client"), speed=0),
        SimulatedSource(SimSettings(seed=2, subject="therapist"), speed=0),
    ]


class Clock:
    """Wall and CPU seconds (all threads of this process) of a block."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} / {self.cpu:.2f}"


def keep_session(folder: Path, hours: float) -> tuple[Clock, Clock, HistorySink]:
    """Wall and CPU seconds of an hour's dyad without and with the history sink."""
    with Clock() as bare:
        asyncio.run(Engine(_dyad()).run(duration_s=hours * 3600))
    sources = _dyad()
    sink = HistorySink(HistoryStore(folder), sources)
    with Clock() as kept:
        asyncio.run(Engine(sources, [sink]).run(duration_s=hours * 3600))
    return bare, kept, sink


def fill(store: HistoryStore, summary: dict, n: int) -> None:
    """N sessions with real summaries, one a day going back, 200 kB recordings each."""
    now = dt.datetime.now().astimezone()
    blob = b"\0" * 200_000
    for k in range(n):
        when = now - dt.timedelta(days=k, minutes=k)
        session_id = store.new_session(when)
        (store.path(session_id) / "session.xdf").write_bytes(blob)
        store.write_summary(session_id, {**summary, "id": session_id, "started": when.isoformat()})


def wall(args: list[str]) -> float:
    """Wall seconds of a fresh ``heartsync`` process."""
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Print the three tables."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    root = Path(tempfile.mkdtemp(prefix="heartsync-bench-history-"))
    try:
        bare, kept, sink = keep_session(root / "one", 1.0)
        print(
            table(
                [
                    ("engine, no sink (reference)", str(bare)),
                    ("engine + history sink (XDF with fsync, statistics, summary)", str(kept)),
                ],
                ("1-hour dyad at full speed", "wall / CPU s"),
            )
        )
        recording = sink.recorder.path
        print(
            f"recording {recording.stat().st_size / 1e6:.2f} MB, summary "
            f"{(sink.folder / 'summary.json').stat().st_size / 1e3:.1f} kB\n"
        )

        store = HistoryStore(root / "many")
        fill(store, sink.summary, n)
        files = sorted(store.folder.glob("*/summary.json"))
        with Clock() as raw:
            for f in files:
                json.loads(f.read_text(encoding="utf-8"))
        with Clock() as listing:
            sessions = store.sessions()
            rows = trend_rows([e.summary for e in sessions])
            offered = store.over_limits(HistoryLimits(365, 5.0), sessions=sessions)
        env_args = [*CLI, "history", "--folder", str(store.folder)]
        cli = wall(env_args)
        help_s = wall([*CLI, "--help"])
        print(
            table(
                [
                    ("json.load of every summary.json (reference)", str(raw)),
                    (
                        f"sessions() + {len(rows)} trend rows + disk bound "
                        f"({len(offered)} offered)",
                        str(listing),
                    ),
                    ("heartsync --help, fresh process (reference)", f"{help_s:.2f}"),
                    ("heartsync history, fresh process", f"{cli:.2f}"),
                ],
                (f"{n} sessions", "wall / CPU s"),
            )
        )
        print()
        from app.analysis.analyze import analyze
        from app.report.pdf import write_pdf

        with Clock() as html_s:
            analysis = analyze(recording, root / "report")
        with Clock() as pdf_s:
            pdf = write_pdf(analysis.files["report"], root / "report" / "report.pdf", page="a4")
        print(
            table(
                [
                    ("analyze: replay + statistics + HTML (reference)", str(html_s), ""),
                    (
                        "write_pdf (QTextDocument + QPdfWriter, A4)",
                        str(pdf_s),
                        f"{pdf.stat().st_size / 1e6:.2f}",
                    ),
                ],
                ("1-hour dyad report", "wall / CPU s", "PDF MB"),
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
