"""Start-up: no display or a missing system library is one line, not Qt's core dump."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main as cli_main
from ui.display_check import (
    NO_DISPLAY,
    QT_SYSTEM_LIBRARIES,
    import_error_line,
    missing_libraries,
    missing_libraries_line,
    window_problem,
)

ROOT = Path(__file__).resolve().parents[1]
TOOLCHAIN = {
    "libc.so.6",
    "libm.so.6",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
}


def test_no_display_is_one_line_suggesting_headless_not_a_core_dump():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "ui", "run", "--source", "sim", "--duration", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == NO_DISPLAY
    assert "run --headless" in NO_DISPLAY and "\n" not in NO_DISPLAY


def test_window_problem_reads_the_environment():
    assert window_problem({}, "linux") == NO_DISPLAY
    assert window_problem({"QT_QPA_PLATFORM": "xcb"}, "linux") == NO_DISPLAY
    assert window_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert (
        window_problem({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux")
        == ""
    )
    assert window_problem({}, "darwin") == "" and window_problem({}, "win32") == ""


def test_a_missing_library_is_named_with_its_package():
    missing = missing_libraries({"libc.so.6": "libc6", "libheartsync-absent.so.9": "absent9"})
    assert missing == {"libheartsync-absent.so.9": "absent9"}
    line = missing_libraries_line(
        {"libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1"}
    )
    assert "\n" not in line and "libxcb-icccm.so.4" in line
    assert line.endswith("sudo apt install libxcb-icccm4 libxcb-keysyms1")
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    assert import_error_line(error).endswith("sudo apt install libegl1")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("readelf") is None,
    reason="reads Linux ELF dependencies with readelf",
)
def test_the_table_covers_every_system_library_qt_links():
    qt = Path(pytest.importorskip("PySide6").__file__).parent / "Qt"
    files = [
        qt / "plugins" / "platforms" / "libqxcb.so",
        *(
            qt / "lib" / f"libQt6{m}.so.6"
            for m in ("Core", "Gui", "Widgets", "DBus", "OpenGL", "XcbQpa")
        ),
    ]
    bundled = {p.name for p in (qt / "lib").iterdir()}
    needed = set()
    for f in files:
        out = subprocess.run(
            ["readelf", "-d", str(f)], capture_output=True, text=True, check=True
        ).stdout
        needed |= {
            line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line
        }
    system = needed - bundled - TOOLCHAIN
    assert {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"} <= system
    assert system <= set(QT_SYSTEM_LIBRARIES), system - set(QT_SYSTEM_LIBRARIES)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("heartsync ") and len(out.split()) == 2
