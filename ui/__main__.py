"""The ``heartsync`` command: the app's command line, with the window plugged in.

The command line lives in :mod:`app.cli`; only the window is the ui's. It is passed down
as a function and imported when a command opens it, so ``heartsync --help`` and the
headless commands never load Qt.
"""

import sys
from collections.abc import Sequence

from app.cli import main as cli_main
from ui.display_check import import_error_line, window_problem


def open_window(*args, **kwargs) -> int:
    """Run the window (see :func:`ui.app.run_gui`); Qt is imported only here.

    Without a display, or with a system library missing, says so in one line and
    returns 1 (Qt itself would abort the process).
    """
    problem = window_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        from ui.app import run_gui
    except ImportError as exc:
        print(import_error_line(exc), file=sys.stderr)
        return 1
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
