"""Cost of regulated-breathing feedback and of the pacer widget.

Run: ``python -m bench.breathing [HOURS]``. Measures

- one live update step (coherence over 64 s + breathing rate over 60 s, every 5 s),
- the :class:`dsp.breathing.BreathingMonitor` over an hour of beats (per beat and per
  hour), and the resonance estimates of one 2-min stage,
- the pacer widget's CPU time per second while visible (60 fps) and while hidden,
  offscreen (software rendering; a real screen's compositor adds its own share).
"""

import os
import sys
import time

import bench.common  # noqa: F401 - first: loopback LSL, offscreen Qt
from bench.common import table
from dsp.breathing import breathing_rate, coherence, monitor_series, rate_estimates
from dsp.breathing.pacer import Pacer, PacerSettings, volumes
from sensors.simulated import SimSettings, simulate


def _dsp(hours: float) -> list[tuple]:
    pacer = Pacer(PacerSettings(rate_per_min=6.0), t0=0.0)

    def follow(t):
        s = pacer.state(t)
        return s.rate_per_min, s.volume

    run = simulate(SimSettings(seed=3), hours * 3600.0, follow=follow)
    t, rr = run["t_s"], run["rr_ms"]
    window = t > t[-1] - 70.0
    n = 200
    started = time.perf_counter()
    for _ in range(n):
        coherence(t[window], rr[window])
        breathing_rate(t[window], rr[window])
    step_ms = 1e3 * (time.perf_counter() - started) / n
    started = time.perf_counter()
    updates = monitor_series(t, rr)
    total_s = time.perf_counter() - started
    stage = (t > 600.0) & (t < 720.0)
    started = time.perf_counter()
    for _ in range(20):
        rate_estimates(t[stage], rr[stage], 6.0, lambda x: volumes(pacer, x))
    stage_ms = 1e3 * (time.perf_counter() - started) / 20
    steps = sum(u.updated for u in updates)
    return [
        ("live step: coherence 64 s + rate 60 s", f"{step_ms:.2f} ms", "every 5 s"),
        ("monitor per beat (incl. steps)", f"{1e6 * total_s / t.size:.1f} us", f"{t.size} beats"),
        ("monitor per hour of beats", f"{total_s / hours:.2f} s", f"{steps} steps"),
        ("resonance estimates, one 2-min stage", f"{stage_ms:.2f} ms", "least squares"),
    ]


def _widget(seconds: float) -> list[tuple]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ui.pacer import PacerWidget

    app = QApplication.instance() or QApplication([])
    clock0 = time.perf_counter()
    widget = PacerWidget(lambda: time.perf_counter() - clock0)
    widget.resize(400, 400)
    widget.set_pacer(Pacer(PacerSettings(rate_per_min=6.0), t0=0.0))
    rows = []
    for label, visible in (("pacer widget visible (60 fps)", True), ("pacer widget hidden", False)):
        widget.setVisible(visible)
        frames0 = widget.frames
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - wall0 < seconds:
            app.processEvents()
            time.sleep(0.002)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        fps = (widget.frames - frames0) / wall
        rows.append((label, f"{100 * cpu / wall:.1f} % CPU", f"{fps:.0f} frames/s"))
    return rows


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rows = _dsp(hours) + _widget(3.0)
    print(table(rows, ("what", "cost", "note")))
    print("(the widget loop polls events every 2 ms, which costs a little by itself)")


if __name__ == "__main__":
    main()
