"""Take docs/screenshot.png: the two-person window on simulated people, 11 min in (30x).

Run under a virtual display at a laptop's size::

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python docs/screenshot.py

The therapist rests; the client (calibrated) gets stressed 6 min in and follows the
therapist's slow heart-rate changes 2 s later, so zones and synchrony both show.
"""

import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.engine import Engine
from app.profiles import Profile, ProfileStore
from app.runtime import EngineThread
from dsp.arousal import calibrate
from sensors.simulated import SimSettings, SimulatedSource, dyad_settings, simulate
from ui.main_window import MainWindow

SESSION_S = 660.0
OUT = Path(__file__).with_name("screenshot.png")


def main() -> int:
    """Run the session at full speed, then grab the window."""
    app = QApplication(sys.argv[:1])
    profiles = Path(tempfile.mkdtemp())
    store = ProfileStore(profiles)
    for name, seed in (("Sam", 31), ("Alex", 32)):
        rest = simulate(SimSettings(seed=seed), 420)
        store.save(Profile(name).calibrated(calibrate(rest["t_s"], rest["rr_ms"])))
    # the client follows the therapist 2 s later (r = 0.75); stressed from 6 to 12:40 min
    stress = {"scenario": "stress", "onset_s": 360, "step_s": 400, "artifact_rate": 0.01}
    therapist, client = dyad_settings(
        11,
        12,
        r=0.75,
        lag_s=2.0,
        a_opts={"subject": "therapist"},
        b_opts={"subject": "client", **stress},
    )
    sources = [SimulatedSource(therapist, speed=30), SimulatedSource(client, speed=30)]
    runner = EngineThread(Engine(sources), keep_alive=True)
    window = MainWindow(runner, profiles=profiles)
    for subject, name in (("therapist", "Sam"), ("client", "Alex")):
        window.columns[subject].profile.reload(select=name)
        window.columns[subject].profile.use(name)
    window.resize(1280, 800)
    window.show()
    runner.start()
    start = None
    while True:  # until SESSION_S of stream time, the straps still connected
        app.processEvents()
        snapshot = runner.engine.snapshot
        if snapshot.subjects and snapshot.subjects[0].t_s.size:
            start = snapshot.subjects[0].t_s[0] if start is None else start
            if snapshot.t_s - start >= SESSION_S:
                break
    for _ in range(20):  # a few refreshes of the final snapshot
        app.processEvents()
        window.refresh()
    window.grab().save(str(OUT))
    print(f"wrote {OUT} ({window.width()}x{window.height()})")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
