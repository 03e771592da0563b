"""The window keeps the session, the History view shows trends, profiles show their age."""

import csv
import datetime as dt
import math

import numpy as np
import pytest

from app.config import load_config
from app.history.store import HistoryStore
from app.history.summary import trend_rows
from app.profiles import Profile, ProfileStore
from dsp.tolerance.baseline import Baseline
from tests.helpers import open_window


def test_the_window_keeps_its_session_and_the_box_turns_it_off(qtbot, tmp_path):
    window, _runner = open_window(qtbot, tmp_path, speed=20)
    controls = window.history
    assert controls.keep.isChecked() and controls.sink is not None
    sink = controls.sink
    panel = next(iter(window.panels.values()))
    qtbot.waitUntil(
        lambda: "self" in sink.stats.subjects and sink.stats.subjects["self"].beats > 60,
        timeout=20000,
    )
    config = tmp_path / "config.toml"
    controls.config_path = config
    controls.keep.setChecked(False)  # the user unticks: this session ends, kept so far
    assert controls.sink is None
    qtbot.waitUntil(lambda: sink.summary is not None, timeout=20000)
    assert load_config(config).history is False
    entry = controls.store.entry(sink.session_id)
    assert entry.state == "complete"
    assert entry.summary["people"]["self"]["beats"] >= 60
    assert panel.hr.value.text() != "–"
    window.close()


def test_closing_the_window_writes_the_summary(qtbot, tmp_path):
    window, runner = open_window(qtbot, tmp_path, speed=20)
    sink = window.history.sink
    qtbot.waitUntil(
        lambda: "self" in sink.stats.subjects and sink.stats.subjects["self"].beats > 30,
        timeout=20000,
    )
    window.close()
    qtbot.waitUntil(lambda: not runner.alive, timeout=20000)
    assert sink.summary is not None
    assert HistoryStore(sink.store.folder).entry(sink.session_id).state == "complete"


def _summary(session_id: str, started: dt.datetime, window_min: float, rmssd: float) -> dict:
    person = {
        "duration_min": 20.0,
        "profile": "anna",
        "paced_min": 5.0,
        "rest": None,
        "zones": {"window_min": window_min, "hyper_min": 2.0, "hypo_min": 0.0, "unknown_min": 1.0},
        "time_domain": {"mean_hr_bpm": 70.0, "rmssd_ms": rmssd},
        "coherence": {
            "mean_coherence_ratio": 1.5,
            "mean_peak_fraction": 0.6,
            "mean_breathing_rate_per_min": 6.0,
        },
    }
    return {
        "format": 1,
        "id": session_id,
        "started": started.isoformat(timespec="seconds"),
        "duration_min": 20.0,
        "replayed": False,
        "synchrony": None,
        "people": {"client": person},
    }


@pytest.fixture
def store(tmp_path):
    store = HistoryStore(tmp_path / "history")
    start = dt.datetime(2026, 10, 5, 9, 0).astimezone()  # a Monday
    for k in range(9):  # three sessions a week for three weeks
        when = start + dt.timedelta(days=(k // 3) * 7 + (k % 3) * 2)
        session_id = store.new_session(when)
        store.write_summary(session_id, _summary(session_id, when, 10.0 + k, 30.0 + 2 * k))
    return store


def test_history_view_plots_weekly_trends_exports_and_deletes(qtbot, tmp_path, store):
    from ui.history_view import HistoryDialog, weekly_means

    config = tmp_path / "config.toml"
    config.write_text("history_max_gb = 1.0\n")
    dialog = HistoryDialog(store, config)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 9
    assert dialog.person.currentText() == "anna"
    dialog.measure.setCurrentIndex(dialog.measure.findData("window_min"))
    _x, y = dialog.dots.getData()
    assert list(y) == [10.0 + k for k in range(9)]
    weeks = dialog.bars.opts["x0"]
    assert len(weeks) == 3 and list(dialog.bars.opts["height"]) == [11.0, 14.0, 17.0]
    assert np.all(np.diff(weeks) == pytest.approx(7 * 86400, abs=3600))
    w, m = weekly_means(np.array([0.0]), np.array([math.nan]))
    assert w.size == m.size == 0
    # the CSV is the trend rows of the summaries
    out = tmp_path / "trends.csv"
    assert dialog.export_csv(out) == 9
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = trend_rows([e.summary for e in store.sessions()])
    assert rows == [{k: "" if v is None else str(v) for k, v in r.items()} for r in expected]
    assert not dialog.offered_button.isEnabled()
    # the newest first; delete it
    newest = dialog.table.item(0, 0).text()
    assert newest == store.sessions()[-1].id
    dialog.table.selectRow(0)
    assert dialog.selected_ids() == [newest]
    dialog.delete(dialog.selected_ids())
    assert dialog.table.rowCount() == 8 and newest not in [e.id for e in store.sessions()]
    # a tight disk bound: offered (button on), not deleted
    config.write_text("history_max_gb = 0.0000001\n")
    dialog.reload()
    assert dialog.offered_button.isEnabled() and "offered for deletion" in dialog.disk.text()
    assert len(store.sessions()) == 8


def test_profiles_show_their_calibration_age_and_suggest_recalibrating(qtbot, tmp_path):
    from ui.calibration import ProfileControls

    now = dt.datetime.now(dt.UTC)
    baseline = Baseline(70.0, 3.0, 3.5, 0.2, 48, 0.95, 280.0)
    fresh = Profile("fresh", baseline, (now - dt.timedelta(days=3)).isoformat())
    old = Profile("old", baseline, (now - dt.timedelta(days=40, hours=1)).isoformat())
    assert fresh.calibration_text(now).endswith("(3 days ago)")
    assert not fresh.needs_recalibration(now)
    assert old.needs_recalibration(now) and "(40 days ago)" in old.calibration_text(now)
    assert "consider calibrating again" in old.calibration_text(now)
    assert Profile("new").calibration_text() == "not calibrated"
    profiles = ProfileStore(tmp_path)
    profiles.save(fresh)
    profiles.save(old)
    window, _runner = open_window(qtbot, tmp_path, speed=1)
    controls: ProfileControls = next(iter(window.columns.values())).profile
    messages = []
    controls.message.connect(messages.append)
    controls.reload(select="fresh")
    controls.use("fresh")
    assert "3 days ago" in controls.age.text() and "D55E00" not in controls.age.styleSheet()
    controls.use("old")
    assert "40 days ago" in controls.age.text() and "D55E00" in controls.age.styleSheet()
    assert any("consider calibrating again" in m for m in messages)
    window.close()


def test_no_history_before_the_engine_starts_keeps_nothing(qtbot, tmp_path):
    """``heartsync run --no-history`` in the window: unticked before the engine runs."""
    from app.engine import Engine
    from app.runtime import EngineThread
    from sensors.simulated import SimSettings, SimulatedSource
    from ui.main_window import MainWindow

    runner = EngineThread(Engine([SimulatedSource(SimSettings(), speed=20)]), keep_alive=True)
    window = MainWindow(runner, profiles=tmp_path)
    qtbot.addWidget(window)
    sink = window.history.sink
    window.history.set_enabled(False, save=False)  # as run_gui does for --no-history
    assert window.history.sink is None and not window.history.keep.isChecked()
    runner.start()
    snapshot = lambda: runner.engine.snapshot  # noqa: E731
    qtbot.waitUntil(
        lambda: bool(snapshot().subjects) and snapshot().subjects[0].beats_received > 20,
        timeout=20000,
    )
    qtbot.waitUntil(lambda: not sink.folder.exists(), timeout=20000)  # nothing kept
    assert sink not in runner.engine.sinks and sink.closed and not sink.stats.subjects
    window.close()
