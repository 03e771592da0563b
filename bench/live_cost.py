"""Live cost of the window: the GUI on simulated straps in real time, offscreen or on Xvfb.

Runs the real window for ``SECONDS`` (default 60) in a child process, one person and
then two, and reports CPU seconds per wall second in the steady state (the child's own
CPU time after a warm-up, all threads: window, engine, recorder), peak RSS, how often
the window refreshed and repainted, and the worst refresh and paint times. With
``--xvfb`` the same runs go to a virtual X display (``xvfb-run``), which adds the X
server's share of drawing; the X server's own CPU is counted too.
Run: ``python -m bench.live_cost [SECONDS] [--xvfb]``. Targets: one person < 2 % of a
core, two < 3 %, RSS < 130 MB; Xvfb <= 1.5x offscreen. Reference (issue 16, same
machine): OpenHRV 1.1 13.9 % and 74 MB; heartsync before this work 4.9 % / 186 MB (one
person), 10.5 % / 199 MB (two). OpenHRV is not installed here, so it is not re-measured.
"""

import os
import shlex
import shutil
import subprocess
import sys

from bench.common import table

CHILD = """
import sys, time
from bench.common import peak_rss_mb, rss_mb
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource
from ui.main_window import MainWindow

seconds, people, warm = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
stats = {"paints": 0, "paint_max": 0.0, "draws": 0, "refresh_max": 0.0, "on": False}
paint = pg.GraphicsView.paintEvent
def timed_paint(self, event):
    t = time.perf_counter()
    paint(self, event)
    if stats["on"]:
        stats["paints"] += 1
        stats["paint_max"] = max(stats["paint_max"], time.perf_counter() - t)
pg.GraphicsView.paintEvent = timed_paint
refresh = MainWindow.refresh
def timed_refresh(self):
    before = self._shown
    t = time.perf_counter()
    refresh(self)
    if stats["on"] and self._shown is not before:
        stats["draws"] += 1
        stats["refresh_max"] = max(stats["refresh_max"], time.perf_counter() - t)
MainWindow.refresh = timed_refresh

app = QApplication([])
subjects = ["self"] if people == 1 else ["client", "therapist"]
sources = [
    SimulatedSource(SimSettings(seed=i + 1, subject=s, artifact_rate=0.02), speed=1)
    for i, s in enumerate(subjects)
]
runner = EngineThread(Engine(sources))
window = MainWindow(runner)
runner.start(); window.show()
marks = {}
def start():
    marks["cpu"], marks["wall"] = time.process_time(), time.perf_counter()
    marks["frames"] = window.frames
    stats["on"] = True
QTimer.singleShot(int(warm * 1000), start)
QTimer.singleShot(int((warm + seconds) * 1000), window.close)
app.exec()
cpu, wall = time.process_time() - marks["cpu"], time.perf_counter() - marks["wall"]
print(cpu, wall, window.frames - marks["frames"], stats["draws"], stats["paints"],
      stats["refresh_max"], stats["paint_max"], peak_rss_mb(), rss_mb())
"""

WARM_S = 8.0  # imports, first layout and the first beats are not the steady state


def run(seconds: float, people: int, xvfb: bool) -> tuple:
    """One child run; its figures (see CHILD) plus the X server's CPU seconds."""
    command = [sys.executable, "-c", CHILD, str(seconds), str(people), str(WARM_S)]
    env = dict(os.environ)
    if xvfb:
        env["QT_QPA_PLATFORM"] = "xcb"
        # xvfb-run waits for the child; the X server's CPU is read from /proc at the end
        script = (
            f"{shlex.join(command)} & child=$!; sleep {WARM_S}; "
            "x0=$(cat /proc/$(pgrep -n Xvfb)/stat | awk '{print $14+$15}'); wait $child; "
            "x1=$(cat /proc/$(pgrep -n Xvfb)/stat | awk '{print $14+$15}'); "
            "echo XCPU $x0 $x1"
        )
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "bash", "-c", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    lines = out.split("\n")
    figures = [float(v) for v in next(ln for ln in lines if ln and ln[0].isdigit()).split()]
    x_cpu = 0.0
    for line in lines:
        if line.startswith("XCPU"):
            _, x0, x1 = line.split()
            x_cpu = (float(x1) - float(x0)) / os.sysconf("SC_CLK_TCK")
    return (*figures, x_cpu)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seconds = float(args[0]) if args else 60.0
    displays = ["offscreen"]
    if "--xvfb" in sys.argv:
        if shutil.which("xvfb-run") is None:
            print("xvfb-run is not installed (apt-get install xvfb): Xvfb skipped")
        else:
            displays.append("Xvfb")
    rows = []
    for display in displays:
        for people in (1, 2):
            cpu, wall, frames, draws, paints, r_max, p_max, peak, _rss, x_cpu = run(
                seconds, people, display == "Xvfb"
            )
            share = 100 * (cpu + x_cpu) / wall
            rows.append(
                (
                    display,
                    people,
                    f"{share:.2f} %",
                    f"{100 * x_cpu / wall:.2f} %" if display == "Xvfb" else "",
                    f"{peak:.0f}",
                    f"{frames / wall:.1f}",
                    f"{draws / wall:.2f}",
                    f"{paints / wall:.2f}",
                    f"{1000 * r_max:.1f}",
                    f"{1000 * p_max:.1f}",
                )
            )
    print(f"GUI on simulated straps, real time, {seconds:g} s after {WARM_S:g} s of warm-up")
    head = (
        "display",
        "people",
        "CPU of one core",
        "of which X server",
        "peak RSS MB",
        "refreshes/s",
        "redraws/s",
        "paints/s",
        "worst redraw ms",
        "worst paint ms",
    )
    print(table(rows, head))
    print(
        "targets: one person < 2 %, two < 3 %, RSS < 130 MB, Xvfb <= 1.5x offscreen; "
        "before this work (issue 16): 4.9 % / 186 MB and 10.5 % / 199 MB; OpenHRV 1.1 "
        "13.9 % / 74 MB (not installed here, not re-measured)"
    )


if __name__ == "__main__":
    main()
