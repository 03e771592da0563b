"""The adapter and device objects of the virtual ``org.bluez``: ``Adapter1``, ``Device1``.

The D-Bus face of :class:`sensors.virtual.bluez.BluezShim`: ``/org/bluez/hci0``
``Adapter1`` (discovery, with the UUID filter) and one ``Device1`` per remote device
seen advertising (:class:`RemoteDevice`, what the shim knows about it). The methods
hand the work to the shim (:class:`ShimControls`); the properties read its state.

The interface classes declare their D-Bus signatures in annotations, which dbus-fast
reads at class creation: this module must not use ``from __future__ import annotations``.
"""

import asyncio
from typing import Annotated, Protocol

from bumble.core import UUID
from bumble.device import Connection, Peer
from dbus_fast import PropertyAccess, Variant
from dbus_fast.annotations import (
    DBusBool,
    DBusDict,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
)
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

__all__ = [
    "ADAPTER_ADDRESS",
    "ADAPTER_PATH",
    "BLUEZ_SERVICE",
    "Adapter1",
    "Device1",
    "RemoteDevice",
    "ShimControls",
    "device_path",
    "uuid128",
]

BLUEZ_SERVICE = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"
ADAPTER_ADDRESS = "F0:0D:00:00:00:01"

DBusStrList = Annotated[list[str], DBusSignature("as")]
DBusManufacturerData = Annotated[dict[int, Variant], DBusSignature("a{qv}")]

#: BlueZ's D-Bus error names the shim and the GATT objects answer with.
ERR_FAILED = "org.bluez.Error.Failed"
ERR_IN_PROGRESS = "org.bluez.Error.InProgress"
ERR_NOT_READY = "org.bluez.Error.NotReady"
ERR_NOT_CONNECTED = "org.bluez.Error.NotConnected"
ERR_DOES_NOT_EXIST = "org.bluez.Error.DoesNotExist"


def uuid128(uuid: UUID) -> str:
    """Return a bumble UUID as BlueZ writes it: lower-case 128-bit with dashes."""
    h = bytes(reversed(uuid.to_bytes(force_128=True))).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def device_path(address: str) -> str:
    """D-Bus object path of the device with ``address`` under ``hci0``."""
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


class RemoteDevice:
    """What the shim knows about one remote device."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.address_type = "random" if int(address[:2], 16) >= 0xC0 else "public"
        self.path = device_path(address)
        self.name: str | None = None
        self.rssi = -127
        self.rssi_valid = False
        self.uuids: list[str] = []
        self.manufacturer_data: dict[int, bytes] = {}
        self.service_data: dict[str, bytes] = {}
        self.connection: Connection | None = None
        self.peer: Peer | None = None
        self.services_resolved = False
        self.mtu = 23
        self.iface: Device1 | None = None
        self.gatt_objects: list[tuple[str, ServiceInterface]] = []
        self.connect_task: asyncio.Task[Connection] | None = None

    @property
    def alias(self) -> str:
        """Name, or the address with dashes when there is none (BlueZ's rule)."""
        return self.name or self.address.replace(":", "-")


class ShimControls(Protocol):
    """What ``Adapter1`` and ``Device1`` ask of :class:`sensors.virtual.bluez.BluezShim`."""

    powered: bool
    discovering: bool
    roles: tuple[str, ...]
    filter_uuids: set[str]

    async def start_discovery(self) -> None:
        """Start the central's scanner."""

    async def stop_discovery(self) -> None:
        """Stop the scanner."""

    def remove_device(self, path: str) -> None:
        """Forget the device at ``path``."""

    async def connect(self, remote: RemoteDevice) -> None:
        """Connect ``remote`` and export its GATT objects."""

    async def disconnect(self, remote: RemoteDevice) -> None:
        """Disconnect ``remote`` or cancel its pending connection."""


# ---------------------------------------------------------------------------- Adapter1


class Adapter1(ServiceInterface):
    """``org.bluez.Adapter1`` of the virtual controller ``hci0``."""

    def __init__(self, shim: ShimControls) -> None:
        super().__init__("org.bluez.Adapter1")
        self._shim = shim

    @dbus_method()
    async def StartDiscovery(self):
        """Start scanning (one discovery session, as BlueZ allows per client)."""
        await self._shim.start_discovery()

    @dbus_method()
    async def StopDiscovery(self):
        """Stop scanning and invalidate RSSI of the known devices."""
        await self._shim.stop_discovery()

    @dbus_method()
    def SetDiscoveryFilter(self, filters: DBusDict):
        """Keep the UUID filter; other keys (Transport, DuplicateData, ...) are accepted."""
        uuids = filters.get("UUIDs")
        self._shim.filter_uuids = {u.lower() for u in uuids.value} if uuids else set()

    @dbus_method()
    def GetDiscoveryFilters(self) -> DBusStrList:
        """Return the discovery filter keys understood."""
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData", "Discoverable"]

    @dbus_method()
    def RemoveDevice(self, device: DBusObjectPath):
        """Forget a device (disconnecting it first)."""
        self._shim.remove_device(device)

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        """Return the controller address."""
        return ADAPTER_ADDRESS

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:
        """Return the controller address type."""
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        """System name."""
        return "heartsync-virtual"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:
        """Friendly name."""
        return "heartsync-virtual"

    @dbus_property(access=PropertyAccess.READ)
    def Powered(self) -> DBusBool:
        """Radio on."""
        return self._shim.powered

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> DBusBool:
        """Discovery running."""
        return self._shim.discovering

    @dbus_property(access=PropertyAccess.READ)
    def Roles(self) -> DBusStrList:
        """Supported LE roles."""
        return list(self._shim.roles)

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> DBusStrList:
        """Local services."""
        return []


# ---------------------------------------------------------------------------- Device1


class Device1(ServiceInterface):
    """``org.bluez.Device1`` of one remote device seen while discovering."""

    def __init__(self, shim: ShimControls, remote: RemoteDevice) -> None:
        super().__init__("org.bluez.Device1")
        self._shim = shim
        self._remote = remote
        self.trusted = False
        self.blocked = False

    @dbus_method()
    async def Connect(self):
        """Connect and resolve services; returns when ServicesResolved is set."""
        await self._shim.connect(self._remote)

    @dbus_method()
    async def Disconnect(self):
        """Disconnect (or cancel a pending Connect)."""
        await self._shim.disconnect(self._remote)

    @dbus_method()
    async def Pair(self):
        """Heart-rate straps need no pairing: connect, and report success."""
        await self._shim.connect(self._remote)

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        """Device address."""
        return self._remote.address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:
        """``public`` or ``random``."""
        return self._remote.address_type

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        """Advertised name."""
        return self._remote.name or ""

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:
        """Name, or the address with dashes when there is none (BlueZ's rule)."""
        return self._remote.alias

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> DBusObjectPath:
        """Adapter object."""
        return ADAPTER_PATH

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> DBusBool:
        """Never paired."""
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> DBusBool:
        """Never bonded."""
        return False

    @dbus_property()
    def Trusted(self) -> DBusBool:
        """Trusted flag (read/write)."""
        return self.trusted

    @Trusted.setter
    def Trusted(self, value: DBusBool):
        self.trusted = value

    @dbus_property()
    def Blocked(self) -> DBusBool:
        """Blocked flag (read/write)."""
        return self.blocked

    @Blocked.setter
    def Blocked(self, value: DBusBool):
        self.blocked = value

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> DBusBool:
        """LE devices: false."""
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> DBusBool:
        """Link up."""
        return self._remote.connection is not None

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> DBusBool:
        """GATT objects exported."""
        return self._remote.services_resolved

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> DBusInt16:
        """Signal strength of the last advertisement, dBm."""
        return self._remote.rssi

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> DBusStrList:
        """Advertised (and, once resolved, discovered) service UUIDs."""
        return list(self._remote.uuids)

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> DBusManufacturerData:
        """Manufacturer-specific advertising data by company id."""
        return {k: Variant("ay", v) for k, v in self._remote.manufacturer_data.items()}

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> DBusDict:
        """Service data by UUID."""
        return {k: Variant("ay", v) for k, v in self._remote.service_data.items()}
