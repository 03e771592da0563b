"""Pick a Bluetooth strap: scan, choose, connect, disconnect; the choice is remembered."""

import concurrent.futures
import dataclasses
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from app.config import ConfigError, load_config, save_config
from app.runtime import EngineThread
from app.sources import describe_strap_error, scan_straps, strap_source

log = logging.getLogger(__name__)

SCAN_S = 5.0


class DevicePicker(QDialog):
    """Scan for heart-rate straps and connect one to a subject.

    Parameters
    ----------
    runner : EngineThread
        The running engine; commands go to its loop.
    subject : str
        The subject whose source is replaced.
    config_path : Path or None
        Where the last strap is remembered (the user's config file by default).
    """

    def __init__(
        self, runner: EngineThread, subject: str, config_path: Path | None = None, parent=None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.subject = subject
        self.config_path = config_path
        self.setWindowTitle(f"Strap for {subject}")
        self.list = QListWidget()
        self.message = QLabel("Put the strap on (moisten the electrodes) and press Scan.")
        self.message.setWordWrap(True)
        self.scan_button = QPushButton("Scan")
        self.connect_button = QPushButton("Connect")
        self.disconnect_button = QPushButton("Disconnect")
        self.connect_button.setEnabled(False)
        buttons = QHBoxLayout()
        for button in (self.scan_button, self.connect_button, self.disconnect_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.scan_button.clicked.connect(self.scan)
        self.connect_button.clicked.connect(self.connect_selected)
        self.disconnect_button.clicked.connect(self.disconnect)
        self.list.itemSelectionChanged.connect(
            lambda: self.connect_button.setEnabled(bool(self.list.selectedItems()))
        )
        self._pending: concurrent.futures.Future | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._check_scan)

    def scan(self) -> None:
        """Start a scan on the engine loop; results appear when it finishes."""
        self.list.clear()
        self.scan_button.setEnabled(False)
        self.message.setText(f"Scanning for {SCAN_S:g} s…")
        self._pending = self.runner.submit(scan_straps(SCAN_S))
        self._poll.start()

    def _check_scan(self) -> None:
        if self._pending is None or not self._pending.done():
            return
        self._poll.stop()
        self.scan_button.setEnabled(True)
        try:
            straps = self._pending.result()
        except Exception as exc:  # every failure becomes a message the user can act on
            self.message.setText(describe_strap_error(exc))
            return
        finally:
            self._pending = None
        for strap in straps:
            rssi = "" if strap.rssi is None else f"  ({strap.rssi} dBm)"
            item = QListWidgetItem(f"{strap.name or '(no name)'} — {strap.address}{rssi}")
            item.setData(Qt.ItemDataRole.UserRole, strap.address)
            self.list.addItem(item)
        self.message.setText(
            f"{len(straps)} strap(s) found. Choose one and press Connect."
            if straps
            else "No heart-rate strap found. Is it worn and awake, and not connected to a phone?"
        )

    def connect_selected(self) -> None:
        """Connect the chosen strap to the subject and remember it."""
        items = self.list.selectedItems()
        if not items:
            return
        address = items[0].data(Qt.ItemDataRole.UserRole)
        source = strap_source(address, self.subject)
        self.runner.submit(self.runner.engine.set_source(self.subject, source))
        self.message.setText(f"Connecting to {address}…")
        spec = f"ble:{address}" + ("" if self.subject == "self" else f",subject={self.subject}")
        try:
            config = load_config(self.config_path)
            save_config(dataclasses.replace(config, sources=(spec,)), self.config_path)
        except ConfigError as exc:
            log.warning("%s", exc)
            self.message.setText(f"Connecting to {address}; not remembered: {exc}")
        self.accept()

    def disconnect(self) -> None:
        """Disconnect the subject's current source."""
        self.runner.submit(self.runner.engine.set_source(self.subject, None))
        self.message.setText("Disconnected.")
