"""The client view: each person's zone as a large shape and word, read across a room.

Full screen, nothing else: the therapist's controls and charts stay on the laptop's
normal view, one key away (F11, or Esc to leave). For two people, the synchrony state
in words below them.
"""

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.snapshot import Snapshot, SynchronyView
from ui.arousal_view import ZoneIndicator, subject_zone
from ui.synchrony_view import SIGNIFICANT

#: The key that switches between the normal window and the client view.
CLIENT_VIEW_KEY = Qt.Key.Key_F11


def synchrony_state(view: SynchronyView | None) -> str:
    """The synchrony state in two or three words (details stay on the normal view)."""
    latest = None if view is None else view.latest
    if latest is None or not latest.estimated:
        return "Synchrony: no estimate"
    return "In synchrony" if latest.index >= SIGNIFICANT else "Not in synchrony"


class ClientView(QWidget):
    """One large zone indicator per subject, and the dyad's synchrony state.

    Parameters
    ----------
    subjects : list of str
        The subjects, in the window's column order.
    silent_limit_s : float
        Seconds without beats after which a zone is unknown (as on the normal view).
    """

    def __init__(self, subjects: list[str], silent_limit_s: float, parent=None) -> None:
        super().__init__(parent)
        self.silent_limit_s = silent_limit_s
        self.setStyleSheet("background: #FFFFFF;")
        self.zones: dict[str, ZoneIndicator] = {}
        people = QHBoxLayout()
        for subject in subjects:
            name = QLabel(subject)
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            font = QFont(name.font())
            font.setPointSizeF(28)
            name.setFont(font)
            zone = ZoneIndicator(large=True)
            column = QVBoxLayout()
            column.addWidget(name)
            column.addWidget(zone, stretch=1)
            people.addLayout(column, stretch=1)
            self.zones[subject] = zone
        self.synchrony = QLabel("")
        self.synchrony.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.synchrony.font())
        font.setPointSizeF(36)
        font.setBold(True)
        self.synchrony.setFont(font)
        self.synchrony.setVisible(len(subjects) == 2)
        hint = QLabel("F11 or Esc: back to the full view")
        hint.setStyleSheet("color: #777;")
        hint.setAlignment(Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 20)
        layout.addLayout(people, stretch=3)
        layout.addWidget(self.synchrony, stretch=1)
        layout.addWidget(hint)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Show every subject's zone (and the synchrony state) from one snapshot."""
        for s in snapshot.subjects:
            zone = self.zones.get(s.subject)
            if zone is not None:
                zone.show_zone(*subject_zone(s, self.silent_limit_s))
        if self.synchrony.isVisible():
            self.synchrony.setText(synchrony_state(snapshot.synchrony))
