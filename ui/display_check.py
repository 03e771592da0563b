"""Can a window open here? One plain line instead of Qt's abort when it cannot.

Qt aborts the process (SIGABRT, exit code 134) when there is no display, and when a
system library its X11 (xcb) platform plugin links against is missing it prints a
paragraph and aborts too. These checks run before Qt is imported; they need no Qt.
"""

import ctypes
import os
import sys
from collections.abc import Mapping

# What PySide6's Qt libraries and its xcb plugin (plugins/platforms/libqxcb.so) load
# from the system, with the Debian/Ubuntu package that ships each one;
# tests/test_display_check.py checks this table against their ELF dependencies.
QT_SYSTEM_LIBRARIES: Mapping[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libdbus-1.so.3": "libdbus-1-3",
}

NO_DISPLAY = (
    "heartsync: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
    "run without a window: heartsync run --headless --json"
)


def missing_libraries(libraries: Mapping[str, str] = QT_SYSTEM_LIBRARIES) -> dict[str, str]:
    """The libraries (soname -> package) that the dynamic loader cannot find."""
    missing = {}
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing[soname] = package
    return missing


def missing_libraries_line(missing: Mapping[str, str]) -> str:
    """One line naming the missing libraries and the apt command that installs them."""
    names = ", ".join(missing)
    packages = " ".join(dict.fromkeys(missing.values()))
    return (
        f"heartsync: the window needs system libraries that are missing ({names}); "
        f"on Debian/Ubuntu: sudo apt install {packages}"
    )


def import_error_line(error: ImportError) -> str:
    """One line for Qt failing to import because a system library is missing."""
    text = str(error)
    for soname, package in QT_SYSTEM_LIBRARIES.items():
        if soname in text:
            return missing_libraries_line({soname: package})
    return f"heartsync: the window cannot start: {text}"


def _uses_xcb(env: Mapping[str, str]) -> bool:
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.startswith("xcb")
    wayland = bool(env.get("WAYLAND_DISPLAY")) and env.get("XDG_SESSION_TYPE") == "wayland"
    return bool(env.get("DISPLAY")) and not wayland


def window_problem(env: Mapping[str, str] | None = None, platform: str = sys.platform) -> str:
    """Why the window cannot open here, in one line; "" when nothing is known to be wrong.

    Parameters
    ----------
    env : mapping or None
        Environment variables (``os.environ`` by default).
    platform : str
        ``sys.platform``; only Linux has these failure modes.
    """
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return ""
    chosen = env.get("QT_QPA_PLATFORM", "")
    if not chosen and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return NO_DISPLAY
    if chosen.startswith("xcb") and not env.get("DISPLAY"):
        return NO_DISPLAY
    if _uses_xcb(env):
        missing = missing_libraries()  # Qt would abort on the first one it lacks
        if missing:
            return missing_libraries_line(missing)
    return ""
