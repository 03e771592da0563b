"""The ``heartsync`` command line (``python -m app.cli`` runs it without the window).

:mod:`app.cli.parser` (options, checked values), :mod:`app.cli.main` (dispatch and the
one error convention), :mod:`app.cli.errors`, :mod:`app.cli.interrupt` (Ctrl-C),
:mod:`app.cli.files` (repair, analyze, profiles, scan), :mod:`app.cli.session` (run,
calibrate), :mod:`app.cli.progress` (what a terminal shows).
"""

from app.cli.main import main
from app.cli.parser import build_parser

__all__ = ["build_parser", "main"]
