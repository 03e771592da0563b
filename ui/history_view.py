"""The History view: every kept session, a person's trends over weeks, delete, CSV export.

:class:`HistoryControls` puts two things in the window's toolbar: **keep history** (the
setting ``history`` of the config file; on by default) and **History…**, which opens
:class:`HistoryDialog`. While the box is ticked the session is kept by an
:class:`app.history.sink.HistorySink` added to the engine; unticking it ends that
session's recording (what was kept so far stays, and can be deleted in the view).

The view shows one person at a time: weekly bars (the mean of the week's sessions) with
each session as a dot, for the measure chosen (time in the window, RMSSD, heart rate,
coherence while paced, dyad synchrony), and below it the table of sessions.
"""

import dataclasses
import datetime as dt
import logging
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.config import AppConfig, ConfigError, load_config, save_config
from app.history import limits, start_session
from app.history.store import HistoryError, HistoryStore, SessionEntry
from app.history.summary import trend_rows
from app.profiles import ProfileStore
from app.recording.recorder import RecordingError
from app.runtime import EngineThread
from ui.plots import BLUE, ORANGE

log = logging.getLogger(__name__)

#: Measures a person can follow over weeks: trend-row key -> axis label.
MEASURES = {
    "window_percent": "time in the window (% of known time)",
    "window_min": "time in the window (min)",
    "rmssd_ms": "RMSSD over the session (ms)",
    "mean_hr_bpm": "mean heart rate (beats/min)",
    "rest_rmssd_ms": "resting RMSSD, calibrations (ms)",
    "rest_hr_bpm": "resting heart rate, calibrations (beats/min)",
    "coherence_ratio": "coherence while paced (ratio)",
    "breathing_rate_per_min": "breathing rate while paced (breaths/min)",
    "sync_r": "dyad synchrony (session r)",
}
COLUMNS = ("session", "started", "min", "people", "in window", "HR", "RMSSD", "coherence", "sync")
WEEK_S = 7 * 86400.0


def _num(value: object, fmt: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format(value, fmt)
    return "–"


def weekly_means(t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean per calendar week (Monday 00:00 local time); returns week starts (s) and means."""
    keep = np.isfinite(values)
    t_s, values = t_s[keep], values[keep]
    if not t_s.size:
        return np.array([]), np.array([])
    starts = []
    for t in t_s:
        day = dt.datetime.fromtimestamp(t).date()
        monday = day - dt.timedelta(days=day.weekday())
        starts.append(dt.datetime.combine(monday, dt.time()).timestamp())
    starts = np.array(starts)
    weeks = np.unique(starts)
    return weeks, np.array([values[starts == w].mean() for w in weeks])


class HistoryDialog(QDialog):
    """Sessions kept in the history, a person's trends, delete and CSV export.

    Parameters
    ----------
    store : HistoryStore
        The history.
    config_path : Path or None
        Settings file with the disk bound (the user's by default).
    """

    def __init__(
        self, store: HistoryStore, config_path: Path | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("History")
        self.resize(900, 700)
        self.store = store
        self.config_path = config_path
        self.sessions: list[SessionEntry] = []
        self.offered: list[SessionEntry] = []
        self.person = QComboBox()
        self.measure = QComboBox()
        for key, label in MEASURES.items():
            self.measure.addItem(label, key)
        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": pg.DateAxisItem()})
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setMouseEnabled(x=True, y=False)
        self.bars = pg.BarGraphItem(x0=[], height=[], width=WEEK_S, brush="#cfe3f2", pen=None)
        item.addItem(self.bars)
        self.dots = item.plot(
            pen=pg.mkPen(BLUE, width=1), symbol="o", symbolSize=8, symbolBrush=BLUE
        )
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("people"), QHeaderView.ResizeMode.Stretch)
        self.disk = QLabel("")
        self.disk.setWordWrap(True)
        self.delete_button = QPushButton("Delete session…")
        self.offered_button = QPushButton("Delete offered…")
        self.recover_button = QPushButton("Recover interrupted")
        self.export_button = QPushButton("Export CSV…")
        choose = QHBoxLayout()
        choose.addWidget(QLabel("Person"))
        choose.addWidget(self.person)
        choose.addWidget(QLabel("Measure"))
        choose.addWidget(self.measure, stretch=1)
        buttons = QHBoxLayout()
        for b in (self.delete_button, self.offered_button, self.recover_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.plot, stretch=3)
        layout.addWidget(self.table, stretch=2)
        layout.addWidget(self.disk)
        layout.addLayout(buttons)
        self.person.currentIndexChanged.connect(self.draw)
        self.measure.currentIndexChanged.connect(self.draw)
        self.delete_button.clicked.connect(self.delete_selected)
        self.offered_button.clicked.connect(self.delete_offered)
        self.recover_button.clicked.connect(self.recover)
        self.export_button.clicked.connect(self.choose_csv)
        self.reload()

    # -- data --------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the history again and redraw everything."""
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.warning("%s", exc)
            config = AppConfig()
        self.sessions = self.store.sessions()
        self.offered = self.store.over_limits(limits(config), sessions=self.sessions)
        self.rows = trend_rows([e.summary for e in self.sessions if e.summary is not None])
        people = sorted({r["person"] for r in self.rows})
        current = self.person.currentText()
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItems(people)
        if current in people:
            self.person.setCurrentText(current)
        self.person.blockSignals(False)
        self._fill_table()
        total = self.store.disk_bytes(self.sessions)
        text = (
            f"{len(self.sessions)} sessions, {total / 1e6:.1f} MB in {self.store.folder} "
            f"(bound: {config.history_keep_days:g} days, {config.history_max_gb:g} GB)."
        )
        if self.offered:
            size = sum(e.bytes for e in self.offered) / 1e6
            text += (
                f" {len(self.offered)} older or beyond the bound ({size:.1f} MB) are offered "
                "for deletion; nothing is deleted without asking."
            )
        self.disk.setText(text)
        self.offered_button.setEnabled(bool(self.offered))
        self.recover_button.setEnabled(any(e.state == "interrupted" for e in self.sessions))
        self.draw()

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.sessions))
        for i, entry in enumerate(reversed(self.sessions)):  # newest first
            s = entry.summary or {}
            people, window, hr, rmssd, coherence = [], [], [], [], []
            for subject, p in s.get("people", {}).items():
                people.append(p.get("profile") or subject)
                window.append(_num((p.get("zones") or {}).get("window_min"), ".1f"))
                hr.append(_num((p.get("time_domain") or {}).get("mean_hr_bpm"), ".0f"))
                rmssd.append(_num((p.get("time_domain") or {}).get("rmssd_ms"), ".0f"))
                coherence.append(
                    _num((p.get("coherence") or {}).get("mean_coherence_ratio"), ".2f")
                )
            sync = ((s.get("synchrony") or {}).get("session") or {}).get("r")
            state = "" if entry.state == "complete" else f" ({entry.state})"
            cells = (
                entry.id,
                entry.started.strftime("%Y-%m-%d %H:%M") + state,
                _num(s.get("duration_min"), ".1f"),
                ", ".join(people),
                " / ".join(window),
                " / ".join(hr),
                " / ".join(rmssd),
                " / ".join(coherence),
                _num(sync, ".2f"),
            )
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))

    def series(self, person: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
        """Session start times (epoch s) and values of one person's measure."""
        t, v = [], []
        for row in self.rows:
            if row["person"] != person:
                continue
            value = row.get(measure)
            t.append(dt.datetime.fromisoformat(row["started"]).timestamp())
            v.append(float(value) if isinstance(value, int | float) else math.nan)
        return np.array(t, float), np.array(v, float)

    def draw(self) -> None:
        """Weekly bars and session dots of the chosen person and measure."""
        measure = self.measure.currentData()
        t, v = self.series(self.person.currentText(), measure)
        keep = np.isfinite(v)
        self.dots.setData(t[keep], v[keep])
        weeks, means = weekly_means(t, v)
        self.bars.setOpts(x0=weeks, height=means, width=WEEK_S * 0.9)
        item = self.plot.getPlotItem()
        item.setLabel("left", MEASURES[measure])
        item.setTitle(
            f"{self.person.currentText()}: weekly mean (bars) and each session (dots)"
            if keep.any()
            else "no sessions with this measure yet",
            color=ORANGE if not keep.any() else "#333",
        )
        if keep.any():
            item.setXRange(t[keep].min() - WEEK_S, t[keep].max() + WEEK_S / 2)

    # -- actions -------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        """Ids of the sessions selected in the table."""
        rows = {index.row() for index in self.table.selectedIndexes()}
        return [self.table.item(r, 0).text() for r in sorted(rows)]

    def confirm(self, text: str) -> bool:
        """Ask before deleting (a session cannot be brought back)."""
        answer = QMessageBox.question(self, "Delete sessions", text)
        return answer == QMessageBox.StandardButton.Yes

    def delete(self, ids: list[str]) -> None:
        """Delete sessions (recording and summary together), then reload."""
        for session_id in ids:
            try:
                self.store.delete(session_id)
            except HistoryError as exc:
                QMessageBox.warning(self, "Delete session", str(exc))
        self.reload()

    def delete_selected(self) -> None:
        """Delete the selected sessions after asking."""
        ids = self.selected_ids()
        if ids and self.confirm(f"Delete {len(ids)} session(s) with their recordings?"):
            self.delete(ids)

    def delete_offered(self) -> None:
        """Delete the sessions offered by the disk bound, after asking."""
        ids = [e.id for e in self.offered]
        if ids and self.confirm(
            f"Delete the {len(ids)} oldest session(s) (older than the bound or beyond the "
            "disk use set) with their recordings?"
        ):
            self.delete(ids)

    def recover(self) -> None:
        """Repair and summarise the interrupted sessions."""
        for entry in self.sessions:
            if entry.state == "interrupted":
                try:
                    self.store.recover(entry.id)
                except (HistoryError, RecordingError) as exc:
                    QMessageBox.warning(self, "Recover session", str(exc))
        self.reload()

    def choose_csv(self) -> None:
        """Ask where, then export the trends as CSV."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Export trends", "heartsync-trends.csv", "CSV (*.csv)"
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> int:
        """Write the trend rows (the same as ``heartsync history --csv``)."""
        from app.history.cli import write_csv

        return write_csv(path, self.sessions)


class HistoryControls:
    """The toolbar's **keep history** box and **History…** action; keeps the session.

    Parameters
    ----------
    window : QWidget
        The main window (parent of the dialog).
    toolbar : QToolBar
        Where the box and the action go.
    runner : EngineThread
        The session's engine.
    profiles : ProfileStore
        Names the baselines used.
    config_path : Path or None
        Settings file (the user's by default).
    store : HistoryStore or None
        The history (the user's by default).
    """

    def __init__(
        self,
        window: QWidget,
        toolbar: QToolBar,
        runner: EngineThread,
        profiles: ProfileStore,
        config_path: Path | None = None,
        store: HistoryStore | None = None,
    ) -> None:
        self.window, self.runner, self.profiles = window, runner, profiles
        self.config_path = config_path
        self.store = store or HistoryStore()
        self.sink = None
        self.dialog: HistoryDialog | None = None
        self._save = True
        try:
            enabled = load_config(config_path).history
        except ConfigError:
            enabled = True
        self.keep = QCheckBox("keep history")
        self.keep.setToolTip(
            "Keep this session (recording and summary) in your private history; "
            "untick to keep nothing"
        )
        self.keep.setChecked(enabled)
        self.keep.toggled.connect(self._toggled)
        toolbar.addWidget(self.keep)
        self.action = toolbar.addAction("History…", self.open)
        self.action.setToolTip("Your sessions over weeks: trends, delete, export")
        if enabled:
            self.start()

    def start(self) -> None:
        """Keep the session from now on (a new history session)."""
        if self.sink is not None:
            return
        engine = self.runner.engine
        self.sink = start_session(engine.sources, self.profiles, folder=self.store.folder)
        if self.sink is not None:
            self.runner.submit(engine.add_sink(self.sink))

    def stop(self) -> None:
        """Stop keeping the session (what was recorded so far is kept, summarised)."""
        sink, self.sink = self.sink, None
        if sink is None:
            return
        # queued after the add_sink even when the engine has not started yet (run_gui with
        # --no-history): a sink that saw no beat deletes its folder when closed
        remove = self.runner.engine.remove_sink(sink)
        try:
            self.runner.submit(remove)
        except RuntimeError:  # the engine has ended: it closed its sinks itself
            remove.close()

    def set_enabled(self, on: bool, save: bool = True) -> None:
        """Tick or untick the box; ``save`` writes the setting to the config file."""
        self._save = save
        try:
            self.keep.setChecked(on)  # toggled -> _toggled when it changes
        finally:
            self._save = True

    def _toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()
        if self._save:
            try:
                config = load_config(self.config_path)
                save_config(dataclasses.replace(config, history=on), self.config_path)
            except ConfigError as exc:
                log.warning("%s", exc)

    def open(self) -> HistoryDialog:
        """Open the History view."""
        self.dialog = HistoryDialog(self.store, self.config_path, self.window)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.show()
        return self.dialog
