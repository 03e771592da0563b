"""A scriptable virtual heart-rate strap: a bumble ``Device`` on an in-process link.

The strap runs the real GATT server of bumble with the Heart Rate Service (0x180D:
Heart Rate Measurement 0x2A37, Body Sensor Location 0x2A38), the Battery Service
(0x180F: Battery Level 0x2A19) and, optionally, Device Information (0x180A:
manufacturer 0x2A29, model 0x2A24). It advertises 0x180D like a Polar H10, accepts
one connection at a time (advertising stops while connected, as on the H10), and a
test drives it: send measurements, raw payloads, drop the link, leave, come back.

Payloads are built with :func:`sensors.hr_measurement.encode`, so RR values are sent
exactly in 1/1024 s (bumble's own encoder truncates RR seconds to 1/1024 s).
"""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from bumble import gatt
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService
from bumble.profiles.heart_rate_service import HeartRateService
from bumble.transport.common import AsyncPipeSink

from sensors.hr_measurement import RR_UNITS_PER_S, HeartRateMeasurement, encode
from sensors.virtual.pmd_server import VirtualPmd

log = logging.getLogger(__name__)

__all__ = ["POLAR_COMPANY_ID", "VirtualStrap", "rr_ms_to_1024"]

#: Bluetooth SIG company identifier of Polar Electro Oy (manufacturer data).
POLAR_COMPANY_ID = 0x006B

#: Advertising interval of the virtual strap, milliseconds (the H10 uses ~ 100 ms; a
#: shorter one keeps tests fast).
ADVERTISING_INTERVAL_MS = 20.0


def rr_ms_to_1024(rr_ms: Sequence[float]) -> tuple[int, ...]:
    """Convert RR intervals from milliseconds to the strap's 1/1024 s units (rounded)."""
    return tuple(round(rr * RR_UNITS_PER_S / 1000.0) for rr in rr_ms)


class VirtualStrap:
    """One virtual heart-rate strap.

    Create it through :meth:`sensors.virtual.VirtualBluetooth.add_strap`, which powers
    it on and starts advertising.

    Parameters
    ----------
    link : bumble.link.LocalLink
        The in-process radio shared with the virtual adapter.
    name : str
        Advertised complete local name.
    address : str
        Random static address (first byte 0xC0-0xFF), ``XX:XX:XX:XX:XX:XX``.
    manufacturer, model : str or None
        Device Information strings; both None leaves the service out.
    battery_pct : int or None
        Battery level in percent; None leaves the Battery Service out.
    pmd : bool
        Add the Polar Measurement Data service (:class:`VirtualPmd`, ``self.pmd``).
    advertising_interval_ms : float
        Advertising interval, milliseconds.

    Attributes
    ----------
    notifications_sent : int
        Heart Rate Measurement notifications delivered to a subscribed central.
    connections : int
        Connections accepted since power-on.
    """

    def __init__(
        self,
        link: LocalLink,
        *,
        name: str,
        address: str,
        manufacturer: str | None = "Polar Electro Oy",
        model: str | None = "H10",
        battery_pct: int | None = 87,
        pmd: bool = False,
        advertising_interval_ms: float = ADVERTISING_INTERVAL_MS,
    ) -> None:
        self.name = name
        self.address = address.upper()
        self.battery_pct = battery_pct
        self.advertising_interval_ms = advertising_interval_ms
        self.notifications_sent = 0
        self.connections = 0
        self._in_range = False
        self._connection: Connection | None = None
        self._subscribed = asyncio.Event()
        self._connected = asyncio.Event()
        self._last = HeartRateMeasurement(0)
        self._tasks: set[asyncio.Task[None]] = set()
        # A notification and a disconnection never overlap, so a notification either
        # goes out on the live link (and arrives) or is not sent: exact bookkeeping.
        self._radio = asyncio.Lock()

        self._controller = Controller(f"strap-{self.address}", link=link)
        self.device = Device(
            name=name,
            address=Address(self.address),
            host=Host(self._controller, AsyncPipeSink(self._controller)),
        )
        self._hrs = HeartRateService(
            read_heart_rate_measurement=lambda _connection: self._last,
            body_sensor_location=HeartRateService.BodySensorLocation.CHEST,
        )
        services: list[gatt.Service] = [self._hrs]
        if battery_pct is not None:
            services.append(BatteryService(read_battery_level=lambda _c: self.battery_pct or 0))
        if manufacturer is not None or model is not None:
            services.append(
                DeviceInformationService(manufacturer_name=manufacturer, model_number=model)
            )
        #: The Polar Measurement Data service (ECG, acceleration), when the strap has one.
        self.pmd: VirtualPmd | None = VirtualPmd(self.device) if pmd else None
        if self.pmd is not None:
            services.append(self.pmd.service)
        self.device.add_services(services)
        self._hrs.heart_rate_measurement_characteristic.on(
            gatt.Characteristic.EVENT_SUBSCRIPTION, self._on_subscription
        )
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    (
                        AdvertisingData.FLAGS,
                        bytes(
                            [
                                AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG
                                | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG
                            ]
                        ),
                    ),
                    (
                        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID.from_16_bits(0x180D)),
                    ),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
                    (
                        AdvertisingData.MANUFACTURER_SPECIFIC_DATA,
                        POLAR_COMPANY_ID.to_bytes(2, "little") + b"\x00",
                    ),
                ]
            )
        )
        self.device.scan_response_data = b""

    # ------------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        """True while a central is connected."""
        return self._connection is not None

    @property
    def subscribed(self) -> bool:
        """True while the connected central has enabled HR notifications."""
        return self._subscribed.is_set()

    @property
    def advertising(self) -> bool:
        """True while the strap is in range and not connected (it advertises)."""
        return self._in_range and not self.connected

    async def wait_subscribed(self, timeout_s: float = 10.0) -> None:
        """Wait until a central has enabled HR notifications.

        Raises
        ------
        TimeoutError
            When nobody subscribes within ``timeout_s``.
        """
        await asyncio.wait_for(self._subscribed.wait(), timeout_s)

    async def wait_disconnected(self, timeout_s: float = 10.0) -> None:
        """Wait until no central is connected."""
        async with asyncio.timeout(timeout_s):
            while self.connected:
                await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ life

    async def power_on(self) -> None:
        """Power the radio on and start advertising."""
        await self.device.power_on()
        await self.come_back()

    async def close(self) -> None:
        """Drop any link, stop advertising and power off (before the loop ends)."""
        self._in_range = False
        async with self._radio:
            await self._disconnect()
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        with contextlib.suppress(Exception):
            await self.device.power_off()
        for task in list(self._tasks):
            task.cancel()

    async def come_back(self) -> None:
        """Come into range: advertise again (and keep advertising after each link)."""
        self._in_range = True
        if not self.connected:
            await self._advertise()

    async def go_away(self) -> None:
        """Leave range: drop the link (if any) and stop advertising."""
        async with self._radio:
            self._in_range = False
            await self.device.stop_advertising()
            await self._disconnect()

    async def drop_link(self, down_s: float = 0.0) -> None:
        """Drop the link as a strap that loses the radio does, then come back.

        Parameters
        ----------
        down_s : float
            Seconds out of range (not advertising) before advertising again.
        """
        await self.go_away()
        if down_s > 0:
            await asyncio.sleep(down_s)
        await self.come_back()

    # ------------------------------------------------------------------ data

    async def notify(
        self,
        hr_bpm: int = 60,
        rr_ms: Sequence[float] = (),
        *,
        rr_1024: Sequence[int] | None = None,
        contact: bool | None = True,
        energy_kj: int | None = None,
    ) -> bytes:
        """Notify one Heart Rate Measurement built from fields.

        Parameters
        ----------
        hr_bpm : int
            Heart rate field, bpm.
        rr_ms : sequence of float
            RR intervals, milliseconds (rounded to 1/1024 s); empty for HR only.
        rr_1024 : sequence of int or None
            RR intervals in 1/1024 s (exact); overrides ``rr_ms``.
        contact : bool or None
            Skin contact; None for a strap that does not report contact.
        energy_kj : int or None
            Energy expended, kJ.

        Returns
        -------
        bytes
            The payload sent.
        """
        rr = tuple(rr_1024) if rr_1024 is not None else rr_ms_to_1024(rr_ms)
        measurement = HeartRateMeasurement(hr_bpm, contact, energy_kj, rr)
        self._last = measurement
        payload = encode(measurement)
        await self.notify_raw(payload)
        return payload

    async def notify_raw(self, payload: bytes) -> bool:
        """Notify arbitrary bytes on 0x2A37 (malformed payloads, duplicates, ...).

        Returns
        -------
        bool
            True when it went out on a live link to a subscribed central (it then
            arrives); False when nobody was subscribed (it was not sent).
        """
        async with self._radio:
            if not self.subscribed:
                log.debug("%s: nobody subscribed, %s not sent", self.name, payload.hex())
                return False
            await self.device.notify_subscribers(
                self._hrs.heart_rate_measurement_characteristic, payload
            )
            self.notifications_sent += 1
            return True

    # ------------------------------------------------------------------ internals

    async def _advertise(self) -> None:
        await self.device.start_advertising(
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    async def _disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.disconnect()
        await self.wait_disconnected()

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.connections += 1
        self._connected.set()
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        log.debug("%s: connected (%s)", self.name, connection.peer_address)

    def _on_disconnection(self, reason: int) -> None:
        if self.pmd is not None:
            self.pmd.on_disconnection()
        log.debug("%s: disconnected (reason 0x%02x)", self.name, reason)
        self._connection = None
        self._connected.clear()
        self._subscribed.clear()
        if self._in_range:  # a real strap advertises again as soon as it is free
            self._spawn(self._advertise())

    def _on_subscription(self, _bearer: object, notify_enabled: bool, _indicate: bool) -> None:
        if notify_enabled:
            self._subscribed.set()
        else:
            self._subscribed.clear()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in a task held until it ends; log its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("%s: background task failed: %r", self.name, t.exception())

        task.add_done_callback(done)
