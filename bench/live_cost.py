"""Live cost of the window: the GUI on the simulated strap in real time, offscreen.

Runs the real window for ``SECONDS`` (default 60) in a child process and reports CPU
seconds per wall second and peak RSS. Target: under 5 % of one core.
Run: ``python -m bench.live_cost [SECONDS]``. Offscreen rendering skips the compositor,
so a real desktop adds the display server's share on top.
"""

import resource
import subprocess
import sys
import time

from bench.common import table

CHILD = """
import sys
from bench.common import peak_rss_mb
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource
from ui.main_window import MainWindow
app = QApplication([])
runner = EngineThread(Engine([SimulatedSource(SimSettings(artifact_rate=0.02), speed=1)]))
window = MainWindow(runner)
runner.start(); window.show()
QTimer.singleShot(int(float(sys.argv[1]) * 1000), window.close)
app.exec()
print(window.frames, peak_rss_mb())
"""


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(seconds)], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    frames, peak = out.stdout.split()
    # subtract start-up (imports, first window) measured on its own
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", CHILD, "0.001"], capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    startup_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    startup_wall = time.perf_counter() - started
    steady = (cpu - startup_cpu) / max(wall - startup_wall, 1e-9)
    print(f"GUI on the simulated strap, real time, offscreen, {seconds:g} s")
    print(
        table(
            [
                ("whole run", f"{cpu:.2f}", f"{wall:.1f}", f"{100 * cpu / wall:.1f} %"),
                ("start-up only", f"{startup_cpu:.2f}", f"{startup_wall:.1f}", ""),
                ("steady state", "", "", f"{100 * steady:.1f} %"),
            ],
            ("", "CPU s", "wall s", "of one core"),
        )
    )
    print(f"{frames} refreshes; peak RSS {float(peak):.0f} MB (target: < 5 % of one core)")


if __name__ == "__main__":
    main()
