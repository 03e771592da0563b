"""The GATT objects of the virtual ``org.bluez``: services, characteristics, descriptors.

Exported under a device once :class:`sensors.virtual.bluez.BluezShim` has discovered its
GATT database; reads, writes and notifications go through the bumble central's
``Peer``, and ATT failures come back as BlueZ's D-Bus errors.

The interface classes declare their D-Bus signatures in annotations, which dbus-fast
reads at class creation: this module must not use ``from __future__ import annotations``.
"""

import contextlib
from typing import Annotated, Any

from bumble import gatt
from bumble.device import Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy, ServiceProxy
from dbus_fast import DBusError, PropertyAccess
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
)
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from sensors.virtual.bluez_adapter import ERR_FAILED, DBusStrList, RemoteDevice, uuid128

__all__ = ["GattCharacteristic1", "GattDescriptor1", "GattService1"]

_FLAG_NAMES = [
    (gatt.Characteristic.Properties.BROADCAST, "broadcast"),
    (gatt.Characteristic.Properties.READ, "read"),
    (gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (gatt.Characteristic.Properties.WRITE, "write"),
    (gatt.Characteristic.Properties.NOTIFY, "notify"),
    (gatt.Characteristic.Properties.INDICATE, "indicate"),
    (gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (gatt.Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
]


class GattService1(ServiceInterface):
    """``org.bluez.GattService1`` of a discovered primary service."""

    def __init__(self, device_path: str, service: ServiceProxy) -> None:
        super().__init__("org.bluez.GattService1")
        self._device_path = device_path
        self._service = service

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        """Service UUID."""
        return uuid128(self._service.uuid)

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:
        """Primary service."""
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> DBusObjectPath:
        """Owning device object."""
        return self._device_path

    @dbus_property(access=PropertyAccess.READ)
    def Includes(self) -> Annotated[list[str], DBusSignature("ao")]:
        """Included services (none)."""
        return []

    @dbus_property(access=PropertyAccess.READ)
    def Handle(self) -> DBusUInt16:
        """Attribute handle."""
        return self._service.handle


class GattCharacteristic1(ServiceInterface):
    """``org.bluez.GattCharacteristic1`` of a discovered characteristic."""

    def __init__(self, remote: RemoteDevice, service_path: str, char: CharacteristicProxy) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._remote = remote
        self._service_path = service_path
        self._char = char
        self.value = b""
        self.notifying = False

    def _peer(self) -> Peer:
        peer = self._remote.peer
        if peer is None or self._remote.connection is None:
            raise DBusError(ERR_FAILED, "Not connected")
        return peer

    @dbus_method()
    async def ReadValue(self, options: DBusDict) -> DBusBytes:
        """Read from the device; the value also lands in ``Value`` (as in BlueZ)."""
        value = await _att(self._peer().read_value(self._char))
        self.value = bytes(value)
        self.emit_properties_changed({"Value": self.value})
        return self.value

    @dbus_method()
    async def WriteValue(self, value: DBusBytes, options: DBusDict):
        """Write to the device (with response unless ``type`` is ``command``)."""
        kind = options.get("type")
        with_response = not (kind is not None and kind.value == "command")
        await _att(self._peer().write_value(self._char, bytes(value), with_response))

    @dbus_method()
    async def StartNotify(self):
        """Enable notifications; each one is a PropertiesChanged of ``Value``."""
        peer = self._peer()
        if self.notifying:
            return
        await _att(peer.subscribe(self._char, self._on_value))
        self.notifying = True
        self.emit_properties_changed({"Notifying": True})

    @dbus_method()
    async def StopNotify(self):
        """Disable notifications."""
        if not self.notifying:
            return
        self.notifying = False
        self.emit_properties_changed({"Notifying": False})
        peer = self._remote.peer
        if peer is not None and self._remote.connection is not None:
            with contextlib.suppress(Exception):
                await peer.unsubscribe(self._char, self._on_value)

    def _on_value(self, value: bytes) -> None:
        self.value = bytes(value)
        self.emit_properties_changed({"Value": self.value})

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        """Characteristic UUID."""
        return uuid128(self._char.uuid)

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:
        """Owning service object."""
        return self._service_path

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        """Last value read or notified."""
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:
        """Notifications enabled."""
        return self.notifying

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrList:
        """Properties in BlueZ's lower-case names."""
        return [name for flag, name in _FLAG_NAMES if self._char.properties & flag]

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> DBusUInt16:
        """ATT MTU of the link."""
        return self._remote.mtu

    @dbus_property(access=PropertyAccess.READ)
    def Handle(self) -> DBusUInt16:
        """Attribute handle of the declaration."""
        return self._char.handle - 1


class GattDescriptor1(ServiceInterface):
    """``org.bluez.GattDescriptor1`` of a discovered descriptor."""

    def __init__(self, remote: RemoteDevice, char_path: str, desc: DescriptorProxy) -> None:
        super().__init__("org.bluez.GattDescriptor1")
        self._remote = remote
        self._char_path = char_path
        self._desc = desc
        self.value = b""

    def _peer(self) -> Peer:
        peer = self._remote.peer
        if peer is None or self._remote.connection is None:
            raise DBusError(ERR_FAILED, "Not connected")
        return peer

    @dbus_method()
    async def ReadValue(self, options: DBusDict) -> DBusBytes:
        """Read the descriptor from the device."""
        self.value = bytes(await _att(self._peer().read_value(self._desc)))
        return self.value

    @dbus_method()
    async def WriteValue(self, value: DBusBytes, options: DBusDict):
        """Write the descriptor."""
        await _att(self._peer().write_value(self._desc, bytes(value), True))

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        """Descriptor UUID."""
        return uuid128(self._desc.type)

    @dbus_property(access=PropertyAccess.READ)
    def Characteristic(self) -> DBusObjectPath:
        """Owning characteristic object."""
        return self._char_path

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        """Last value read."""
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrList:
        """Access flags."""
        return ["read", "write"]

    @dbus_property(access=PropertyAccess.READ)
    def Handle(self) -> DBusUInt16:
        """Attribute handle."""
        return self._desc.handle


async def _att(awaitable: Any) -> Any:
    """Await a bumble GATT operation, turning its failures into BlueZ's D-Bus errors."""
    try:
        return await awaitable
    except DBusError:
        raise
    except Exception as exc:
        code = getattr(exc, "error_code", None)
        if isinstance(code, int):
            raise DBusError(ERR_FAILED, f"Operation failed with ATT error: 0x{code:02x}") from exc
        raise DBusError(ERR_FAILED, f"{type(exc).__name__}: {exc}") from exc
