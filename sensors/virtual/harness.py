"""The virtual Bluetooth stack: private bus + virtual BlueZ + virtual straps, one loop.

::

    async with VirtualBluetooth() as bt:
        strap = await bt.add_strap(name="Polar H10 0A1B2C3D")
        source = BleHeartRateSource("Polar H10 0A1B2C3D")   # bleak, unchanged
        ...
        await strap.notify(hr_bpm=62, rr_ms=[968.75])

While the harness runs, ``DBUS_SYSTEM_BUS_ADDRESS`` points at its private bus, so
bleak's BlueZ backend in this process (or in a child process started meanwhile) talks
to the virtual ``org.bluez``. Everything (straps, the BlueZ shim, bleak) must run on
the same asyncio loop; leave the ``async with`` before that loop ends so the bumble
devices are closed.
"""

import asyncio
import contextlib
import logging
import os
from types import TracebackType

from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from sensors.virtual.bluez import BluezShim
from sensors.virtual.dbus_daemon import PrivateBus
from sensors.virtual.strap import VirtualStrap

log = logging.getLogger(__name__)

__all__ = ["SYSTEM_BUS_ENV", "VirtualBluetooth"]

#: The environment variable dbus-fast (hence bleak) reads for the system bus.
SYSTEM_BUS_ENV = "DBUS_SYSTEM_BUS_ADDRESS"


class VirtualBluetooth:
    """A private ``org.bluez`` with virtual heart-rate straps around it.

    Parameters
    ----------
    powered : bool
        Adapter powered (False emulates Bluetooth switched off).
    with_adapter : bool
        Whether there is an adapter at all (False emulates a machine without one).
    set_env : bool
        Point ``DBUS_SYSTEM_BUS_ADDRESS`` at the private bus while running (restored on
        exit). Turn off to hand :attr:`bus_address` to a child process yourself.

    Attributes
    ----------
    bus_address : str
        Address of the private bus, once started.
    bluez : BluezShim
        The virtual BlueZ (``set_powered``, ``connect_timeout_s``, ...), once started.
    straps : list of VirtualStrap
        Straps added so far.
    """

    def __init__(
        self, *, powered: bool = True, with_adapter: bool = True, set_env: bool = True
    ) -> None:
        self.powered = powered
        self.with_adapter = with_adapter
        self.set_env = set_env
        self.bus_address = ""
        self.straps: list[VirtualStrap] = []
        self.link = LocalLink()
        self._daemon = PrivateBus()
        self._bluez: BluezShim | None = None
        self._old_env: str | None = None
        self._phones: list[Device] = []  # other radios: phones, beacons

    @property
    def bluez(self) -> BluezShim:
        """The virtual BlueZ service."""
        if self._bluez is None:
            raise RuntimeError("VirtualBluetooth is not started")
        return self._bluez

    async def __aenter__(self) -> "VirtualBluetooth":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the bus, serve ``org.bluez`` and (optionally) set the environment."""
        self.bus_address = await self._daemon.start()
        try:
            self._bluez = BluezShim(
                self.link, self.bus_address, powered=self.powered, with_adapter=self.with_adapter
            )
            await self._bluez.start()
        except BaseException:
            await self._daemon.stop()
            raise
        if self.set_env:
            self._old_env = os.environ.get(SYSTEM_BUS_ENV)
            os.environ[SYSTEM_BUS_ENV] = self.bus_address

    async def stop(self) -> None:
        """Close bleak's bus to us, the straps, the shim and the daemon; restore env."""
        await _forget_bleak_manager()
        for strap in self.straps:
            with contextlib.suppress(Exception):
                await strap.close()
        for phone in self._phones:
            with contextlib.suppress(Exception):
                await phone.power_off()
        if self._bluez is not None:
            await self._bluez.stop()
            self._bluez = None
        await self._daemon.stop()
        if self.set_env:
            if self._old_env is None:
                os.environ.pop(SYSTEM_BUS_ENV, None)
            else:
                os.environ[SYSTEM_BUS_ENV] = self._old_env

    async def add_strap(
        self,
        name: str | None = None,
        address: str | None = None,
        *,
        manufacturer: str | None = "Polar Electro Oy",
        model: str | None = "H10",
        battery_pct: int | None = 87,
        pmd: bool = False,
        advertise: bool = True,
    ) -> VirtualStrap:
        """Create a strap, power it on and (by default) start advertising.

        Parameters
        ----------
        name : str or None
            Advertised name; default ``"Polar H10 0000000N"``.
        address : str or None
            Random static address; default ``"C4:7A:00:00:00:0N"``.
        manufacturer, model : str or None
            Device Information strings (both None: no Device Information service).
        battery_pct : int or None
            Battery level, percent (None: no Battery Service).
        pmd : bool
            Add the Polar Measurement Data service (ECG, acceleration): ``strap.pmd``.
        advertise : bool
            Start advertising now (else call ``strap.come_back()`` later).
        """
        n = len(self.straps) + 1
        strap = VirtualStrap(
            self.link,
            name=name or f"Polar H10 {n:08d}",
            address=address or f"C4:7A:00:00:00:{n:02X}",
            manufacturer=manufacturer,
            model=model,
            battery_pct=battery_pct,
            pmd=pmd,
        )
        self.straps.append(strap)
        await strap.device.power_on()
        if advertise:
            await strap.come_back()
        return strap

    async def add_beacon(self, name: str, address: str = "C9:00:00:00:00:01") -> Device:
        """Add a device that advertises a name but no Heart Rate Service (a distractor)."""
        controller = Controller(f"beacon-{address}", link=self.link)
        beacon = Device(
            name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
        )
        beacon.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
                    (
                        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID.from_16_bits(0x180F)),
                    ),
                ]
            )
        )
        self._phones.append(beacon)
        await beacon.power_on()
        await beacon.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
        return beacon

    async def connect_phone(self, strap: VirtualStrap) -> Connection:
        """Connect a "phone" (another central) to ``strap``, taking its only link.

        A Polar H10 accepts one connection: while the phone holds it the strap does
        not advertise, so heartsync cannot find it.
        """
        n = len(self._phones) + 1
        controller = Controller(f"phone-{n}", link=self.link)
        phone = Device(
            name=f"phone-{n}",
            address=Address(f"D0:00:00:00:00:{n:02X}"),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._phones.append(phone)
        await phone.power_on()
        return await asyncio.wait_for(phone.connect(Address(strap.address)), 5.0)


async def _forget_bleak_manager() -> None:
    """Close bleak's BlueZ manager for this loop, whose bus is about to go away.

    bleak keeps one manager (and one bus connection) per event loop. Dropping it
    here, before the private bus stops, keeps bleak from logging a lost bus and lets
    the next harness on this loop start from a clean manager.
    """
    with contextlib.suppress(Exception):
        from bleak.backends.bluezdbus import manager as bluez_manager

        instance = bluez_manager._global_instances.pop(asyncio.get_running_loop(), None)
        if instance is None:
            return
        watcher = instance._bus_watcher_task
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
        if instance._bus is not None:
            instance._bus.disconnect()
