"""Bluetooth failures as messages that say what happened and what to do.

bleak, D-Bus and the OS report trouble with their own exception types and texts;
:func:`describe_ble_error` turns each into one or two sentences for the window and the
command line, and :func:`adapter_problem` tells the ones retrying cannot cure (the
source then raises :class:`sensors.base.SensorError` instead of retrying).
"""

import errno

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from sensors.base import SensorError

__all__ = ["FIX_NOT_FOUND", "FIX_TIMEOUT", "SETUP_ERRORS", "adapter_problem", "describe_ble_error"]

#: Errors a scan, connection or read may raise that are judged by :func:`describe_ble_error`.
SETUP_ERRORS = (BleakError, OSError, EOFError, TimeoutError)

_FIX_OFF = (
    "Bluetooth is turned off. Turn it on (Linux: `bluetoothctl power on` or the system "
    "settings; macOS and Windows: the Bluetooth switch in the settings) and try again."
)
_FIX_NO_ADAPTER = (
    "No Bluetooth adapter was found. Enable the built-in adapter or plug in a Bluetooth "
    "4.0+ (LE) dongle; on Linux check `rfkill list` and `systemctl status bluetooth`."
)
_FIX_NO_LE = (
    "The Bluetooth adapter cannot act as a Bluetooth LE central. Use a Bluetooth 4.0+ (LE) adapter."
)
_FIX_PERMISSION = (
    "Permission to use Bluetooth was denied. On macOS open System Settings > Privacy & "
    "Security > Bluetooth, allow the terminal or app that runs heartsync, then restart it. "
    "On Linux make sure your user may talk to BlueZ (the 'bluetooth' group or the D-Bus policy)."
)
_FIX_NO_BLUEZ = (
    "The Bluetooth service (BlueZ) is not running or the system D-Bus is unreachable. "
    "Start it with `sudo systemctl start bluetooth` and try again."
)
_FIX_BUSY_STRAP = (
    "The strap did not accept the connection. A Polar H10 (like most straps) allows only "
    "one connection: close the Polar Beat/Flow or other fitness app, or switch off "
    "Bluetooth on the phone or watch it is connected to, then try again."
)
FIX_TIMEOUT = (
    "The strap did not answer in time. It may be connected to a phone or another app "
    "(a Polar H10 allows only one connection), asleep (put it on and moisten the "
    "electrodes) or out of range (come closer)."
)
FIX_NOT_FOUND = (
    "The strap is not visible. Put it on and moisten the electrodes so it wakes up, make "
    "sure it is not connected to a phone or another app (a Polar H10 allows only one "
    "connection), and run `heartsync scan` to list the straps in range."
)


def describe_ble_error(exc: BaseException) -> str:
    """Turn a bleak or OS error into a message that says what happened and what to do.

    Parameters
    ----------
    exc : BaseException
        The error raised by bleak, the OS Bluetooth stack or this module.

    Returns
    -------
    str
        One or two sentences for the UI and the command line.
    """
    if isinstance(exc, SensorError):
        return str(exc)
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = exc.reason
        if reason == BleakBluetoothNotAvailableReason.POWERED_OFF:
            return _FIX_OFF
        if reason == BleakBluetoothNotAvailableReason.NO_BLUETOOTH:
            return _FIX_NO_ADAPTER
        if reason == BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE:
            return _FIX_NO_LE
        if reason in (
            BleakBluetoothNotAvailableReason.DENIED_BY_USER,
            BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM,
            BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN,
        ):
            return _FIX_PERMISSION
        return f"Bluetooth is not available ({exc.args[0]}). {_FIX_OFF}"
    if isinstance(exc, BleakDBusError):
        name = exc.dbus_error
        if name in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
            "org.freedesktop.DBus.Error.NoServer",
        ):
            return _FIX_NO_BLUEZ
        if name in ("org.freedesktop.DBus.Error.AccessDenied", "org.bluez.Error.NotAuthorized"):
            return _FIX_PERMISSION
        if name == "org.bluez.Error.NotReady":
            return _FIX_OFF
        if name == "org.bluez.Error.InProgress":
            return (
                "Bluetooth is busy with another scan or connection (another app?). "
                "Close other Bluetooth apps and try again."
            )
        if name in ("org.bluez.Error.Failed", "org.bluez.Error.NotAvailable"):
            return f"{_FIX_BUSY_STRAP} ({exc.dbus_error_details or name})"
        return f"Bluetooth error {exc}. {FIX_TIMEOUT}"
    if isinstance(exc, BleakDeviceNotFoundError):
        return f"Strap {exc.identifier} was not found. {FIX_NOT_FOUND}"
    if isinstance(exc, TimeoutError):
        return FIX_TIMEOUT
    if isinstance(exc, PermissionError):
        return _FIX_PERMISSION
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return _FIX_NO_BLUEZ
    text = str(exc)
    lowered = text.lower()
    if "unauthorized" in lowered or "not authorized" in lowered or "denied" in lowered:
        return _FIX_PERMISSION
    if "turned off" in lowered or "powered off" in lowered or "not ready" in lowered:
        return _FIX_OFF  # macOS "Bluetooth device is turned off", Windows "not ready"
    if "no bluetooth adapters" in lowered or ("adapter" in lowered and "not found" in lowered):
        return _FIX_NO_ADAPTER
    if "unreachable" in lowered or "connection refused" in lowered or "abort" in lowered:
        return _FIX_BUSY_STRAP
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTDOWN, errno.EHOSTUNREACH):
        return FIX_TIMEOUT
    return f"Bluetooth error: {text or type(exc).__name__}. {FIX_TIMEOUT}"


def adapter_problem(exc: BaseException) -> bool:
    """Tell whether retrying cannot help until the user acts (off, no adapter, denied)."""
    message = describe_ble_error(exc)
    return message in (_FIX_OFF, _FIX_NO_ADAPTER, _FIX_NO_LE, _FIX_PERMISSION, _FIX_NO_BLUEZ)
