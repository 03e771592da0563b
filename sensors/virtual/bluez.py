"""A minimal ``org.bluez`` on a private bus, backed by a bumble central on a LocalLink.

Just enough of BlueZ's D-Bus API for bleak's Linux backend to scan, connect, read,
subscribe and see disconnections, unchanged (DESIGN.md, "What bleak's BlueZ backend
needs from org.bluez"):

- ``/org/bluez/hci0`` ``org.bluez.Adapter1``: discovery (with the UUID filter) drives
  the bumble central's scanner; every advertisement it reports becomes a
  ``Device1`` object (``InterfacesAdded``) or a ``PropertiesChanged`` of it.
- ``Device1.Connect`` connects the bumble central, sets ``Connected``, discovers the
  GATT database, exports ``GattService1`` / ``GattCharacteristic1`` /
  ``GattDescriptor1`` objects and then sets ``ServicesResolved``.
- ``StartNotify`` subscribes through bumble; each notification becomes a
  ``PropertiesChanged`` of the characteristic's ``Value``.
- A disconnection (asked for, or the strap dropping the link) unexports the GATT
  objects, then clears ``ServicesResolved`` and ``Connected``.

The D-Bus objects live in :mod:`sensors.virtual.bluez_adapter` (``Adapter1``,
``Device1``) and :mod:`sensors.virtual.bluez_gatt` (services, characteristics,
descriptors); :class:`BluezShim` here owns the bus name and the bumble central and
drives them.
"""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from dbus_fast import BusType, DBusError, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface

from sensors.virtual.bluez_adapter import (
    ADAPTER_PATH,
    BLUEZ_SERVICE,
    ERR_DOES_NOT_EXIST,
    ERR_FAILED,
    ERR_IN_PROGRESS,
    ERR_NOT_READY,
    Adapter1,
    Device1,
    RemoteDevice,
    device_path,
    uuid128,
)
from sensors.virtual.bluez_gatt import GattCharacteristic1, GattDescriptor1, GattService1

log = logging.getLogger(__name__)

__all__ = ["ADAPTER_PATH", "BLUEZ_SERVICE", "BluezShim", "uuid128"]

#: The virtual controller's own LE address on the link (bumble's LocalLink routes by
#: random address).
CENTRAL_LINK_ADDRESS = "C0:0D:00:00:00:01"

#: Services BlueZ keeps to itself instead of exporting (GAP, GATT).
_HIDDEN_SERVICES = {UUID.from_16_bits(0x1800), UUID.from_16_bits(0x1801)}

#: ATT MTU the central asks for after connecting, as BlueZ does.
_MTU_REQUEST = 247

#: Seconds a Connect waits for the device to advertise before failing (bleak's own
#: timeout usually ends the attempt first, by calling Disconnect).
CONNECT_TIMEOUT_S = 30.0


class BluezShim:
    """Serve ``org.bluez`` on a D-Bus bus, driven by a bumble central on ``link``.

    Parameters
    ----------
    link : bumble.link.LocalLink
        The in-process radio the virtual straps advertise on.
    bus_address : str
        D-Bus address of the (private) bus to serve on.
    powered : bool
        Initial ``Powered`` state of the adapter (False emulates Bluetooth off).
    with_adapter : bool
        Export ``hci0`` at all (False emulates a machine with no adapter).

    Attributes
    ----------
    filter_uuids : set of str
        UUID discovery filter set by the client (lower-case 128-bit).
    """

    def __init__(
        self,
        link: LocalLink,
        bus_address: str,
        *,
        powered: bool = True,
        with_adapter: bool = True,
    ) -> None:
        self.link = link
        self.bus_address = bus_address
        self.powered = powered
        self.with_adapter = with_adapter
        self.discovering = False
        self.roles = ("central", "peripheral")
        self.filter_uuids: set[str] = set()
        self.connect_timeout_s = CONNECT_TIMEOUT_S
        self._remotes: dict[str, RemoteDevice] = {}
        self._bus: MessageBus | None = None
        self._adapter = Adapter1(self)
        self._connect_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        controller = Controller("hci0", link=link)
        self.central = Device(
            name="hci0",
            address=Address(CENTRAL_LINK_ADDRESS),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Power the central on, connect to the bus and own ``org.bluez``."""
        await self.central.power_on()
        self._bus = await MessageBus(
            bus_address=self.bus_address, bus_type=BusType.SYSTEM
        ).connect()
        if self.with_adapter:
            self._bus.export(ADAPTER_PATH, self._adapter)
        await self._bus.request_name(BLUEZ_SERVICE)
        log.debug("virtual org.bluez serving on %s", self.bus_address)

    async def stop(self) -> None:
        """Disconnect every device, stop scanning, leave the bus, power off."""
        for remote in list(self._remotes.values()):
            with contextlib.suppress(Exception):
                await self.disconnect(remote)
        if self.discovering:
            with contextlib.suppress(Exception):
                await self.stop_discovery()
        if self._bus is not None:
            self._bus.disconnect()
            with contextlib.suppress(Exception):
                await self._bus.wait_for_disconnect()
            self._bus = None
        with contextlib.suppress(Exception):
            await self.central.power_off()

    def device_path(self, address: str) -> str:
        """D-Bus object path of the device with ``address``."""
        return device_path(address)

    async def set_powered(self, powered: bool) -> None:
        """Turn the virtual radio on or off (off drops every link and stops discovery)."""
        if not powered:
            for remote in list(self._remotes.values()):
                await self.disconnect(remote)
            if self.discovering:
                await self.stop_discovery()
        self.powered = powered
        self._adapter.emit_properties_changed({"Powered": powered})

    # ------------------------------------------------------------------ discovery

    async def start_discovery(self) -> None:
        """Start the central's scanner (``Adapter1.StartDiscovery``)."""
        if not self.powered:
            raise DBusError(ERR_NOT_READY, "Resource Not Ready")
        if self.discovering:
            raise DBusError(ERR_IN_PROGRESS, "Operation already in progress")
        self.discovering = True
        await self.central.start_scanning(filter_duplicates=False)
        self._adapter.emit_properties_changed({"Discovering": True})

    async def stop_discovery(self) -> None:
        """Stop the scanner and invalidate RSSI (``Adapter1.StopDiscovery``)."""
        if not self.discovering:
            raise DBusError(ERR_FAILED, "No discovery started")
        self.discovering = False
        with contextlib.suppress(Exception):
            await self.central.stop_scanning()
        self._adapter.emit_properties_changed({"Discovering": False})
        for remote in self._remotes.values():  # BlueZ forgets RSSI when discovery ends
            if remote.rssi_valid and remote.iface is not None:
                remote.rssi_valid = False
                remote.iface.emit_properties_changed({}, ["RSSI"])

    def _on_advertisement(self, adv: Advertisement) -> None:
        if not self.discovering or self._bus is None:
            return
        data = adv.data
        uuids: list[str] = []
        for ad_type in (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            for uuid_list in data.get_all(ad_type):
                for uuid in uuid_list:  # type: ignore[union-attr]
                    text = uuid128(uuid)
                    if text not in uuids:
                        uuids.append(text)
        if self.filter_uuids and not self.filter_uuids.intersection(uuids):
            return
        names = data.get_all(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get_all(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        name = str(names[0]) if names else None
        manufacturer = {
            int(cid): bytes(payload)
            for cid, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
        }  # type: ignore[misc]
        address = adv.address.to_string(with_type_qualifier=False).upper()
        rssi = int(adv.rssi)

        remote = self._remotes.get(address)
        if remote is None or remote.iface is None:
            remote = remote or RemoteDevice(address)
            remote.name, remote.rssi, remote.rssi_valid = name, rssi, True
            remote.uuids, remote.manufacturer_data = uuids, manufacturer
            remote.iface = Device1(self, remote)
            self._remotes[address] = remote
            self._bus.export(remote.path, remote.iface)
            log.debug("virtual BlueZ: new device %s (%s)", address, name)
            return
        changed: dict[str, Any] = {}
        if rssi != remote.rssi or not remote.rssi_valid:
            remote.rssi, remote.rssi_valid = rssi, True
            changed["RSSI"] = rssi
        if name is not None and name != remote.name:
            remote.name = name
            changed["Name"] = name
            changed["Alias"] = remote.alias
        if any(u not in remote.uuids for u in uuids):
            remote.uuids = remote.uuids + [u for u in uuids if u not in remote.uuids]
            changed["UUIDs"] = list(remote.uuids)
        if manufacturer and manufacturer != remote.manufacturer_data:
            remote.manufacturer_data = manufacturer
            changed["ManufacturerData"] = {k: Variant("ay", v) for k, v in manufacturer.items()}
        if changed:
            remote.iface.emit_properties_changed(changed)

    def remove_device(self, path: str) -> None:
        """Forget the device at ``path`` (``Adapter1.RemoveDevice``)."""
        remote = next((r for r in self._remotes.values() if r.path == path), None)
        if remote is None or remote.iface is None:
            raise DBusError(ERR_DOES_NOT_EXIST, "Does Not Exist")
        if remote.connection is not None:
            self._spawn_disconnect(remote)
        assert self._bus is not None
        self._bus.unexport(remote.path)
        remote.iface = None
        del self._remotes[remote.address]

    def _spawn_disconnect(self, remote: RemoteDevice) -> None:
        if remote.connection is not None:
            self._spawn(remote.connection.disconnect())

    def _drop_late_connection(self, attempt: "asyncio.Future[Connection]") -> None:
        """Disconnect a connection that completed after its Connect was abandoned."""
        if not attempt.cancelled() and attempt.exception() is None:
            self._spawn(attempt.result().disconnect())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ connections

    async def connect(self, remote: RemoteDevice) -> None:
        """Connect ``remote``, resolve its services and export the GATT objects.

        Like a controller's LE connection, the attempt waits until the device
        advertises; bleak ends it on its own timeout by calling Disconnect.
        """
        if not self.powered:
            raise DBusError(ERR_NOT_READY, "Resource Not Ready")
        if remote.connection is not None:
            if remote.services_resolved:
                return
            raise DBusError(ERR_IN_PROGRESS, "In Progress")
        if remote.connect_task is not None:
            raise DBusError(ERR_IN_PROGRESS, "In Progress")
        task = asyncio.ensure_future(self._connect_when_advertising(remote))
        remote.connect_task = task
        try:
            connection = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                task.cancel()
                raise
            raise DBusError(ERR_FAILED, "Operation was cancelled") from None
        except TimeoutError:
            raise DBusError(ERR_FAILED, "le-connection-abort-by-local") from None
        finally:
            remote.connect_task = None
        remote.connection = connection
        remote.peer = Peer(connection)
        connection.on(
            Connection.EVENT_DISCONNECTION,
            lambda _reason: self._on_disconnection(remote, connection),
        )
        assert remote.iface is not None
        remote.iface.emit_properties_changed({"Connected": True})
        try:
            await self._resolve_services(remote)
        except Exception as exc:
            if remote.connection is connection:
                with contextlib.suppress(Exception):
                    await connection.disconnect()
            raise DBusError(ERR_FAILED, f"Service discovery failed: {exc}") from exc

    async def _connect_when_advertising(self, remote: RemoteDevice) -> Connection:
        """Wait until ``remote`` advertises on the link, then connect (one at a time).

        bumble's controller cannot cancel a pending LE connection, so the central is
        only asked to connect once the device is seen advertising on the link.
        """
        address = Address(remote.address)
        async with asyncio.timeout(self.connect_timeout_s):
            while True:
                async with self._connect_lock:  # one LE connection attempt at a time
                    if self._advertising_on_link(address):
                        attempt = asyncio.ensure_future(self.central.connect(address))
                        try:
                            return await asyncio.shield(attempt)
                        except asyncio.CancelledError:
                            # the controller completes the connection anyway: undo it
                            attempt.add_done_callback(self._drop_late_connection)
                            raise
                await asyncio.sleep(0.01)

    def _advertising_on_link(self, address: Address) -> bool:
        """Tell whether a controller on the link advertises as ``address``."""
        for controller in self.link.controllers:
            legacy = getattr(controller, "le_legacy_advertiser", None)
            if legacy is not None and legacy.enabled and legacy.address == address:
                return True
            for adv_set in getattr(controller, "advertising_sets", {}).values():
                if adv_set.enabled and adv_set.address == address:
                    return True
        return False

    async def _resolve_services(self, remote: RemoteDevice) -> None:
        peer = remote.peer
        assert peer is not None and self._bus is not None
        with contextlib.suppress(Exception):
            remote.mtu = await peer.request_mtu(_MTU_REQUEST)
        services = await peer.discover_services()
        exported: list[tuple[str, ServiceInterface]] = []
        for service in services:
            await service.discover_characteristics()
            for char in service.characteristics:
                await char.discover_descriptors()
        if remote.connection is None:
            raise ConnectionError("disconnected during service discovery")
        for service in services:
            if service.uuid in _HIDDEN_SERVICES:
                continue
            service_path = f"{remote.path}/service{service.handle:04x}"
            exported.append((service_path, GattService1(remote.path, service)))
            for char in service.characteristics:
                char_path = f"{service_path}/char{char.handle - 1:04x}"
                exported.append((char_path, GattCharacteristic1(remote, service_path, char)))
                for desc in char.descriptors:
                    desc_path = f"{char_path}/desc{desc.handle:04x}"
                    exported.append((desc_path, GattDescriptor1(remote, char_path, desc)))
        for path, iface in exported:
            self._bus.export(path, iface)
        remote.gatt_objects = exported
        service_uuids = [uuid128(s.uuid) for s in services if s.uuid not in _HIDDEN_SERVICES]
        remote.uuids = remote.uuids + [u for u in service_uuids if u not in remote.uuids]
        remote.services_resolved = True
        assert remote.iface is not None
        remote.iface.emit_properties_changed({"UUIDs": list(remote.uuids)})
        remote.iface.emit_properties_changed({"ServicesResolved": True})

    async def disconnect(self, remote: RemoteDevice) -> None:
        """Disconnect ``remote`` or cancel its pending connection."""
        task = remote.connect_task
        if task is not None and not task.done():
            remote.connect_task = None
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return
        connection = remote.connection
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.disconnect()
        # the disconnection event runs the cleanup; wait for it so the reply comes after
        for _ in range(200):
            if remote.connection is not connection:
                break
            await asyncio.sleep(0.005)
        if remote.connection is connection:
            self._on_disconnection(remote, connection)

    def _on_disconnection(self, remote: RemoteDevice, connection: Connection) -> None:
        if remote.connection is not connection:
            return
        log.debug("virtual BlueZ: %s disconnected", remote.address)
        if self._bus is not None:
            for path, iface in reversed(remote.gatt_objects):
                self._bus.unexport(path, iface)
        remote.gatt_objects = []
        remote.connection = None
        remote.peer = None
        remote.mtu = 23
        iface = remote.iface
        if iface is not None:
            if remote.services_resolved:
                remote.services_resolved = False
                iface.emit_properties_changed({"ServicesResolved": False})
            iface.emit_properties_changed({"Connected": False})
        remote.services_resolved = False
