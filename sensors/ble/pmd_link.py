"""The Polar Measurement Data control point through bleak: features, settings, start, stop.

:class:`PmdLink` subscribes to the control point (indications) and the data
characteristic of a connected strap, reads the offered measurements, and sends one
request at a time, waiting for its response (joining *more* packets). An error status
raises :class:`PmdRefusedError`; the strap's own stop notice (``01`` + types) goes to
``on_stop``. On BlueZ a read of the control point also arrives as a value change, which
is recognised (``0F``) and ignored.
"""

import asyncio
import logging
from collections.abc import Callable

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from sensors.base import MalformedPayloadError
from sensors.pmd import (
    FEATURE_CODE,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    Op,
    Request,
    Response,
    Settings,
    parse_features,
    parse_response,
    parse_settings,
    parse_stop_notice,
)

log = logging.getLogger(__name__)

#: Seconds a control point request may take before it counts as refused.
REQUEST_TIMEOUT_S = 5.0


class PmdRefusedError(Exception):
    """The strap answered a request with an error status (or not at all)."""

    def __init__(self, request: Request, status: int, text: str) -> None:
        super().__init__(text)
        self.request = request
        self.status = status


class PmdLink:
    """The PMD service of one connected strap.

    Parameters
    ----------
    client : bleak.BleakClient
        The connected client.
    on_data : callable
        bleak notification callback for the data characteristic.
    on_stop : callable or None
        Called with the measurement types the strap stopped by itself.
    name : str
        For the log.

    Attributes
    ----------
    features : frozenset of int
        Measurement types offered (after :meth:`open`).
    """

    def __init__(
        self,
        client: BleakClient,
        on_data: Callable[[BleakGATTCharacteristic, bytearray], None],
        on_stop: Callable[[frozenset[int]], None] | None = None,
        name: str = "pmd",
    ) -> None:
        self.client = client
        self.on_data = on_data
        self.on_stop = on_stop
        self.name = name
        self.features: frozenset[int] = frozenset()
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[Response] | None = None
        self._parts: list[Response] = []

    async def open(self) -> frozenset[int]:
        """Subscribe to the control point and the data, read the features.

        Returns the measurement types offered; empty when the strap has no PMD service.
        """
        services = self.client.services
        control = services.get_characteristic(PMD_CONTROL_UUID)
        data = services.get_characteristic(PMD_DATA_UUID)
        if control is None or data is None:
            return frozenset()
        await self.client.start_notify(control, self._on_control)
        await self.client.start_notify(data, self.on_data)
        self.features = parse_features(bytes(await self.client.read_gatt_char(control)))
        return self.features

    def _on_control(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        if raw[:1] == bytes([FEATURE_CODE]):  # BlueZ echoes our feature read
            return
        stopped = parse_stop_notice(raw)
        if stopped is not None:
            log.warning("%s: the strap stopped measurements %s", self.name, sorted(stopped))
            if self.on_stop is not None:
                self.on_stop(stopped)
            return
        try:
            response = parse_response(raw)
        except MalformedPayloadError as exc:
            log.warning("%s: ignored control point message: %s", self.name, exc)
            return
        waiter = self._waiter
        if waiter is None or waiter.done():
            log.info("%s: unexpected control point response %s", self.name, raw.hex(" "))
            return
        self._parts.append(response)
        if not response.more:
            first = self._parts[0]
            params = b"".join(p.params for p in self._parts)
            waiter.set_result(Response(first.op, first.measurement, first.status, False, params))

    async def request(self, req: Request, timeout_s: float = REQUEST_TIMEOUT_S) -> Response:
        """Write a request and wait for its response; raise :class:`PmdRefusedError` on error."""
        control = self.client.services.get_characteristic(PMD_CONTROL_UUID)
        if control is None:
            raise PmdRefusedError(req, -3, "the strap has no PMD control point")
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            self._parts = []
            try:
                await self.client.write_gatt_char(control, req.encode(), response=True)
                response = await asyncio.wait_for(self._waiter, timeout_s)
            except TimeoutError:
                raise PmdRefusedError(req, -1, "no answer from the PMD control point") from None
            finally:
                self._waiter = None
        if response.op != req.op or response.measurement != req.measurement:
            raise PmdRefusedError(req, -2, f"answer to another request: {response}")
        if not response.ok:
            raise PmdRefusedError(req, response.status, response.status_text)
        return response

    async def settings(self, measurement: int) -> Settings:
        """What the strap offers for ``measurement``."""
        response = await self.request(Request(Op.GET_SETTINGS, measurement, {}))
        return parse_settings(response.params)

    async def start(self, measurement: int, chosen: Settings) -> Settings:
        """Start ``measurement``; returns the start response's settings (e.g. the factor)."""
        response = await self.request(Request(Op.START, measurement, chosen))
        return parse_settings(response.params)

    async def stop(self, measurement: int) -> None:
        """Stop ``measurement``."""
        await self.request(Request(Op.STOP, measurement, {}))
