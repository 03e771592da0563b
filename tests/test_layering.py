"""dsp/ is pure: importing all of it loads no Qt, bleak, pylsl or clock-reading I/O stack."""

import pkgutil
import subprocess
import sys

import dsp

FORBIDDEN = ("PySide6", "pyqtgraph", "bleak", "pylsl", "app", "sensors", "ui")


def test_dsp_imports_nothing_from_io_layers():
    modules = [f"dsp.{m.name}" for m in pkgutil.iter_modules(dsp.__path__)]
    assert "dsp.pipeline" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
