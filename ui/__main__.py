"""The ``heartsync`` command: the app's command line, with the window plugged in.

The command line lives in :mod:`app.cli`; only the window is the ui's. It is passed down
as a function and imported when a command opens it, so ``heartsync --help`` and the
headless commands never load Qt.
"""

import sys
from collections.abc import Sequence

from app.cli import main as cli_main


def open_window(*args, **kwargs) -> int:
    """Run the window (see :func:`ui.app.run_gui`); Qt is imported only here."""
    from ui.app import run_gui

    return run_gui(*args, **kwargs)


def breath_tone(volume_now):
    """The pacer's breath tone (see :class:`ui.tone.BreathTone`), for headless resonance."""
    from ui.tone import BreathTone

    return BreathTone(volume_now)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``heartsync``; returns the exit code."""
    return cli_main(argv, open_window=open_window, breath_tone=breath_tone)


if __name__ == "__main__":
    sys.exit(main())
