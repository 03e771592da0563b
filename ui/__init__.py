"""PySide6 + pyqtgraph widgets: they read engine snapshots and send commands, nothing more."""
