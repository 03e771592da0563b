"""The Polar Measurement Data service of a virtual strap (bumble GATT server side).

Answers the control point as the PMD specification says (feature read; get settings,
start, stop with indicated responses; refusals with the spec's error codes) and sends
ECG and ACC data frames built with :func:`sensors.pmd.encode_frame` while a central has
started them. A test drives the frames (``send_ecg``, ``send_acc``, ``send_raw``), so
what goes out is known exactly.
"""

import asyncio
import logging
from collections.abc import Mapping

import numpy as np
from bumble import gatt
from bumble.core import UUID
from bumble.device import Connection, Device

from sensors.base import MalformedPayloadError
from sensors.pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    Measurement,
    Op,
    Response,
    Setting,
    Settings,
    encode_features,
    encode_frame,
    encode_settings,
    parse_request,
)

log = logging.getLogger(__name__)

#: What a Polar H10 offers (its get-settings answers).
H10_SETTINGS: dict[int, Settings] = {
    Measurement.ECG: {Setting.SAMPLE_RATE: (130,), Setting.RESOLUTION: (14,)},
    Measurement.ACC: {
        Setting.SAMPLE_RATE: (25, 50, 100, 200),
        Setting.RESOLUTION: (16,),
        Setting.RANGE: (2, 4, 8),
    },
}

#: Status codes (PMD specification / SDK).
INVALID_MEASUREMENT = 2
NOT_SUPPORTED = 3
INVALID_PARAMETER = 5
ALREADY_IN_STATE = 6
INVALID_SAMPLE_RATE = 8
INVALID_OPCODE = 1


class VirtualPmd:
    """PMD service of one virtual strap.

    Attributes
    ----------
    offered : dict
        Measurement -> the settings the strap offers.
    active : dict
        Measurement -> settings chosen by the central's start request.
    refuse : dict
        Measurement -> status code with which the next start requests are refused.
    requests : list of bytes
        Every control point write, in order.
    acc_compressed : bool
        Send ACC as delta-compressed frames (type 1 | 0x80) instead of raw type 1.
    split_responses : bool
        Send answers with parameters as two packets, the first flagged *more* (as sensors
        with long settings lists do).
    """

    def __init__(self, device: Device, offered: Mapping[int, Settings] | None = None) -> None:
        self.device = device
        self.offered: dict[int, Settings] = dict(H10_SETTINGS if offered is None else offered)
        self.active: dict[int, Settings] = {}
        self.refuse: dict[int, int] = {}
        self.requests: list[bytes] = []
        self.acc_compressed = False
        self.split_responses = False
        self.frames_sent = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._radio = asyncio.Lock()
        self.control = gatt.Characteristic(
            UUID(PMD_CONTROL_UUID),
            gatt.Characteristic.Properties.READ
            | gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=self._read_features, write=self._on_write),
        )
        self.data = gatt.Characteristic(
            UUID(PMD_DATA_UUID),
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            b"",
        )
        self.service = gatt.Service(UUID(PMD_SERVICE_UUID), [self.control, self.data])
        self.data.on(gatt.Characteristic.EVENT_SUBSCRIPTION, self._on_data_subscription)
        self._data_subscribed = False

    # ------------------------------------------------------------------ GATT callbacks

    def _read_features(self, _connection: Connection) -> bytes:
        """The control point's read value: the offered measurement types."""
        return encode_features(self.offered)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        """A request: answer it by an indication once the write is acknowledged."""
        value = bytes(value)
        self.requests.append(value)
        packets = [self._answer(value)]
        head, params = packets[0][:4], packets[0][5:]
        if self.split_responses and len(params) > 1:
            half = len(params) // 2
            packets = [head + b"\x01" + params[:half], head + b"\x00" + params[half:]]
        # indicate after the write response has gone out, as a strap does
        task = asyncio.get_running_loop().create_task(self._indicate(connection, packets))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_data_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self._data_subscribed = notify
        if not notify:
            self.active.clear()

    def on_disconnection(self) -> None:  # the strap calls it
        """A dropped link ends every measurement (the strap forgets them)."""
        self.active.clear()
        self._data_subscribed = False

    async def _indicate(self, connection: Connection, packets: list[bytes]) -> None:
        try:
            for payload in packets:
                await self.device.indicate_subscriber(connection, self.control, payload)
        except Exception as exc:  # link gone meanwhile
            log.debug("PMD indication not delivered: %r", exc)

    def _answer(self, value: bytes) -> bytes:
        """The response to a request, as the specification's status codes say."""
        if len(value) < 2:
            op = value[0] if value else 0
            return Response(op, 0, 4).encode()  # invalid length
        op, meas = value[0], value[1]
        try:
            req = parse_request(value)
        except MalformedPayloadError:
            return Response(op, meas, INVALID_PARAMETER).encode()
        if op not in (Op.GET_SETTINGS, Op.START, Op.STOP):
            return Response(op, meas, INVALID_OPCODE).encode()
        if meas not in self.offered:
            return Response(op, meas, NOT_SUPPORTED).encode()
        if op == Op.GET_SETTINGS:
            return Response(op, meas, 0, False, encode_settings(self.offered[meas])).encode()
        if op == Op.STOP:
            if meas not in self.active:
                return Response(op, meas, ALREADY_IN_STATE).encode()
            del self.active[meas]
            return Response(op, meas, 0).encode()
        if meas in self.refuse:
            return Response(op, meas, self.refuse[meas]).encode()
        if meas in self.active:
            return Response(op, meas, ALREADY_IN_STATE).encode()
        for kind, values in req.settings.items():
            allowed = self.offered[meas].get(kind)
            if allowed is None or values[0] not in allowed:
                code = INVALID_SAMPLE_RATE if kind == Setting.SAMPLE_RATE else INVALID_PARAMETER
                return Response(op, meas, code).encode()
        self.active[meas] = req.settings
        factor = encode_settings({Setting.FACTOR: (1.0,)})
        return Response(op, meas, 0, False, factor).encode()

    # ------------------------------------------------------------------ data

    def rate_hz(self, measurement: int) -> float:
        """Sample rate the central chose (0 when not started)."""
        chosen = self.active.get(measurement, {})
        return float(chosen.get(Setting.SAMPLE_RATE, (0,))[0])

    async def send_raw(self, payload: bytes) -> bool:
        """Notify arbitrary bytes on the data characteristic (malformed frames)."""
        async with self._radio:
            if not self._data_subscribed:
                return False
            await self.device.notify_subscribers(self.data, payload)
            self.frames_sent += 1
            return True

    async def send_ecg(self, timestamp_ns: int, uv: np.ndarray) -> bool:
        """One ECG frame (type 0, 24-bit uV) whose last sample is at ``timestamp_ns``."""
        if Measurement.ECG not in self.active:
            return False
        frame = encode_frame(Measurement.ECG, timestamp_ns, np.round(uv).astype(np.int64), 0)
        return await self.send_raw(frame)

    async def send_acc(self, timestamp_ns: int, mg: np.ndarray) -> bool:
        """One ACC frame (type 1, 16-bit mG; delta-compressed if ``acc_compressed``)."""
        if Measurement.ACC not in self.active:
            return False
        samples = np.clip(np.round(mg), -32768, 32767).astype(np.int64)
        frame = encode_frame(
            Measurement.ACC, timestamp_ns, samples, 1, compressed=self.acc_compressed
        )
        return await self.send_raw(frame)

    async def stop_by_strap(self, *measurements: int) -> None:
        """The strap ends measurements itself and says so (``01`` + types)."""
        for m in measurements:
            self.active.pop(m, None)
        async with self._radio:
            await self.device.indicate_subscribers(self.control, bytes([1, *measurements]))
