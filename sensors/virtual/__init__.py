"""Virtual Bluetooth for tests, benchmarks and demos: bleak runs unchanged against it.

A private ``dbus-daemon`` serves a minimal ``org.bluez`` (written with dbus-fast)
whose adapter is a bumble central on an in-process ``LocalLink``; the straps are bumble
devices with the Heart Rate, Battery and Device Information services. See
``docs/bluetooth.md`` and :class:`VirtualBluetooth`.
"""

from sensors.virtual.harness import SYSTEM_BUS_ENV, VirtualBluetooth
from sensors.virtual.strap import VirtualStrap, rr_ms_to_1024

__all__ = ["SYSTEM_BUS_ENV", "VirtualBluetooth", "VirtualStrap", "rr_ms_to_1024"]
