"""The Bluetooth LE heart-rate source: connection, beats, reconnection.

Data path (DESIGN.md, "Threads and time"): bleak calls :meth:`_on_notification` on the
engine loop; it only stamps the arrival on the LSL clock and enqueues the bytes.
:meth:`BleHeartRateSource.beats` drains that queue on the same loop, parses the
payloads (:mod:`sensors.hr_measurement`), times the beats with
:class:`sensors.beat_clock.BeatClock` and yields :class:`dsp.types.Beat` objects.
A dropped link is an item in the same queue, after every notification received
before it, so no beat before a drop is lost; the source then reconnects by itself
with capped exponential backoff and reports the gap.

Each source connects with the ``BLEDevice`` its scan returned, as in bleak's
``two_devices`` example, under :func:`sensors.ble.discovery.adapter_lock`.
"""

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice

from dsp.types import Beat
from sensors.base import (
    BaseSource,
    ConnectionLostError,
    DeviceNotFoundError,
    MalformedPayloadError,
    SensorError,
    SourceState,
    SourceStatus,
)
from sensors.beat_clock import BeatClock
from sensors.ble.discovery import (
    BATTERY_LEVEL_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    MANUFACTURER_NAME_UUID,
    MODEL_NUMBER_UUID,
    SCAN_SLICE_S,
    adapter_lock,
    find_strap,
)
from sensors.ble.errors import (
    FIX_NOT_FOUND,
    FIX_TIMEOUT,
    SETUP_ERRORS,
    adapter_problem,
    describe_ble_error,
)
from sensors.ble.pmd_streams import DEFAULT_ACC_RATE_HZ, PmdStreams
from sensors.clock import now
from sensors.hr_measurement import parse
from sensors.samples import SampleBlock

log = logging.getLogger(__name__)

__all__ = ["CONTACT_SETTLE_S", "HR_ONLY_WARNING_COUNT", "QUEUE_LIMIT", "BleHeartRateSource"]

#: Notifications kept while the engine is busy; beyond this the oldest are dropped
#: (and counted). At 1 notification/s this is hours of backlog.
QUEUE_LIMIT = 10_000

#: Consecutive notifications without RR after which the log warns that the sensor may
#: not send RR intervals at all (about 30 s at one notification per second).
HR_ONLY_WARNING_COUNT = 30

#: Seconds after a (re)connection during which contact=false is expected (straps
#: report no contact for their first notifications) and only logged at INFO.
CONTACT_SETTLE_S = 10.0


@dataclass(frozen=True, slots=True)
class _Dropped:
    """Queue item: the link of connection ``generation`` went down at ``t``."""

    generation: int
    t: float


@dataclass(frozen=True, slots=True)
class _PmdData:
    """Queue item: a PMD data notification that arrived at ``t``."""

    t: float
    payload: bytes


class BleHeartRateSource(BaseSource):
    """Beats from one Bluetooth LE heart-rate strap.

    Parameters
    ----------
    target : str
        Strap name (or the device ID at its end, e.g. ``"0A1B2C3D"`` for
        ``"Polar H10 0A1B2C3D"``) or address, case-insensitive.
    subject : str
        Subject alias or role stamped on every beat.
    scan_timeout_s : float
        How long the first connection may take (scans and attempts), seconds;
        then :class:`DeviceNotFoundError`.
    reconnect : bool
        Reconnect by itself after the link drops (forever, with capped backoff);
        if False a drop raises :class:`ConnectionLostError`.
    connect_timeout_s : float
        Timeout of one connection attempt, seconds.
    reconnect_scan_s : float
        Listening time of one reconnection scan, seconds.
    backoff_initial_s, backoff_max_s : float
        Pause after the first failed reconnection attempt, seconds, doubling up to
        ``backoff_max_s``.
    pmd : sequence of str
        Raw signals to stream when the strap offers Polar Measurement Data (``ecg``,
        ``acc``); :meth:`beats` then also yields :class:`sensors.samples.SampleBlock`.
        A strap without PMD gives beats only, as with ``pmd=()``.
    acc_rate_hz : float
        Accelerometer rate to ask for, Hz (nearest offered).

    Attributes
    ----------
    address : str or None
        The strap's address once found.
    payloads : int
        Well-formed notifications received.
    bad_payloads : int
        Malformed notifications (counted, logged, skipped).
    duplicate_payloads : int
        Notifications dropped as duplicates of the one before.
    overflowed_payloads : int
        Notifications dropped because the engine did not keep up (queue full).
    reconnections : int
        Successful reconnections after a drop.
    gaps : collections.deque of tuple of float
        ``(lost_at_s, back_at_s)`` of the latest reconnections, LSL clock.
    battery_pct : int or None
        Battery level read at the last connection.
    last_arrival_s : float
        Arrival time (LSL clock) of the notification behind the latest beat.
    pmd : sensors.ble.pmd_streams.PmdStreams
        The PMD side: what streams, what was refused, frame counters.
    """

    simulated = False

    def __init__(
        self,
        target: str,
        subject: str = "self",
        *,
        scan_timeout_s: float = 10.0,
        reconnect: bool = True,
        connect_timeout_s: float = 10.0,
        reconnect_scan_s: float = 5.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        pmd: Sequence[str] = (),
        acc_rate_hz: float = DEFAULT_ACC_RATE_HZ,
    ) -> None:
        target = target.strip()
        if not target:
            raise ValueError("BleHeartRateSource needs a strap name or address")
        super().__init__(f"ble:{target}", subject)
        self.target = target
        self.scan_timeout_s = scan_timeout_s
        self.reconnect = reconnect
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_scan_s = reconnect_scan_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.address: str | None = None
        self.payloads = 0
        self.bad_payloads = 0
        self.duplicate_payloads = 0
        self.overflowed_payloads = 0
        self.reconnections = 0
        self.gaps: deque[tuple[float, float]] = deque(maxlen=100)
        self.battery_pct: int | None = None
        self.manufacturer = ""  # from Device Information, once connected
        self.model = ""
        self.last_arrival_s = math.nan
        self.last_hr_bpm: int | None = None
        self._device_text = ""
        self._clock = BeatClock()
        self._client: BleakClient | None = None
        self._generation = 0
        self._queue: deque[tuple[float, bytes] | _Dropped | _PmdData] = deque()
        self._wakeup = asyncio.Event()
        self._connected_at_s = math.nan
        self._last_payload = b""
        self._last_payload_s = -math.inf
        self._running = False
        self._hr_only_run = 0
        self._warned_hr_only = False
        self.pmd = PmdStreams(pmd, self.name, subject, acc_rate_hz)

    # ------------------------------------------------------------------ bleak callbacks

    def _on_notification(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        """Heart Rate Measurement arrived: stamp and enqueue, nothing else."""
        self._push((now(), bytes(data)))

    def _on_pmd_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        """A PMD data frame arrived: stamp and enqueue."""
        self._push(_PmdData(now(), bytes(data)))

    def _push(self, item: tuple[float, bytes] | _Dropped | _PmdData) -> None:
        queue = self._queue
        if len(queue) >= QUEUE_LIMIT:  # the engine stalls: drop the oldest payload
            oldest = queue.popleft()
            if isinstance(oldest, _Dropped):  # never a drop marker
                queue.popleft()
                queue.appendleft(oldest)
            self.overflowed_payloads += 1
        queue.append(item)
        self._wakeup.set()

    # ------------------------------------------------------------------ the stream

    async def beats(self) -> AsyncIterator[Beat | SampleBlock]:
        """Connect, then yield beats (and PMD sample blocks) until cancelled; reconnects.

        Raises
        ------
        DeviceNotFoundError
            When the strap is not found or not connectable within ``scan_timeout_s``.
        SensorError
            When Bluetooth itself cannot be used (off, no adapter, denied).
        ConnectionLostError
            After a drop when ``reconnect`` is False.
        """
        if self._running:
            raise RuntimeError(f"{self.name}: beats() is already running")
        self._running = True
        self._queue.clear()
        self._wakeup = asyncio.Event()  # bound to this loop (a source may be reused)
        try:
            await self._open()
            queue = self._queue
            while True:
                if not queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                item = queue.popleft()
                if isinstance(item, _Dropped):
                    if item.generation == self._generation:
                        await self._on_drop(item.t)
                    continue
                if isinstance(item, _PmdData):
                    for block in self.pmd.handle(item.t, item.payload):
                        yield block
                    continue
                for beat in self._handle(*item):
                    yield beat
        finally:
            self._running = False
            await self._close()

    def _handle(self, arrival_s: float, payload: bytes) -> list[Beat]:
        """Parse one notification into beats (empty for HR-only, bad or duplicate)."""
        try:
            m = parse(payload)
        except MalformedPayloadError as exc:
            self.bad_payloads += 1
            if self.bad_payloads <= 10 or self.bad_payloads % 100 == 0:  # no log flood
                log.warning(
                    "%s: ignored bad payload (%d so far): %s", self.name, self.bad_payloads, exc
                )
            return []
        self.payloads += 1
        self.last_hr_bpm = m.hr_bpm
        self._track_contact(m.contact, arrival_s)
        if not m.rr_1024:
            self._hr_only_run += 1
            if self._hr_only_run == HR_ONLY_WARNING_COUNT and not self._warned_hr_only:
                self._warned_hr_only = True
                log.warning(
                    "%s: %d notifications with heart rate (%d bpm) but no RR intervals; "
                    "this sensor may not send RR, which HRV needs (use a chest strap)",
                    self.name,
                    self._hr_only_run,
                    m.hr_bpm,
                )
            return []
        self._hr_only_run = 0
        rr_ms = m.rr_ms
        if payload == self._last_payload and arrival_s - self._last_payload_s < 0.5e-3 * sum(rr_ms):
            # The same bytes again sooner than half their own RR span: a repeat of
            # the notification, not new beats (the strap cannot have measured them yet).
            self.duplicate_payloads += 1
            log.info("%s: duplicate payload %s dropped", self.name, payload.hex())
            return []
        self._last_payload, self._last_payload_s = payload, arrival_s
        self.last_arrival_s = arrival_s
        hr_bpm = float(m.hr_bpm) if m.hr_bpm else None  # 0: the strap has no estimate
        times = self._clock.stamp(arrival_s, rr_ms)
        subject, source, contact = self.subject, self.name, m.contact
        return [
            Beat(subject, t, rr, hr_bpm, contact, source)
            for t, rr in zip(times, rr_ms, strict=True)
        ]

    def _track_contact(self, contact: bool | None, t: float) -> None:
        state = self._status.state
        if contact is False and state == SourceState.CONNECTED:
            settling = t - self._connected_at_s < CONTACT_SETTLE_S
            (log.info if settling else log.warning)(
                "%s: no skin contact%s",
                self.name,
                " (normal right after connecting)" if settling else "; moisten the electrodes",
            )
            self._status_now(SourceState.NO_CONTACT, "no skin contact: moisten the electrodes")
        elif contact is not False and state == SourceState.NO_CONTACT:
            log.info("%s: skin contact", self.name)
            self._status_now(SourceState.CONNECTED, f"connected to {self._device_text}")

    def _status_now(self, state: SourceState, message: str) -> None:
        self._set_status(
            SourceStatus(
                state=state,
                message=message,
                t=now(),
                battery_pct=self.battery_pct,
                device=self._device_text,
            )
        )

    # ------------------------------------------------------------------ connecting

    async def _open(self) -> None:
        """First connection: scan slices and attempts until ``scan_timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.scan_timeout_s
        self._status_now(SourceState.CONNECTING, f"looking for {self.target}")
        seen: BLEDevice | None = None
        last_exc: BaseException | None = None
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with adapter_lock():
                    device = await find_strap(self.target, min(remaining, SCAN_SLICE_S))
                    if device is not None:
                        seen = device
                        self._status_now(
                            SourceState.CONNECTING,
                            f"connecting to {device.name or self.target} ({device.address})",
                        )
                        await self._connect(device)
                        self._status_connected()
                        return
            except SensorError as exc:  # e.g. a device without 0x2A37
                self._status_now(SourceState.FAILED, str(exc))
                raise
            except Exception as exc:  # bleak, D-Bus, OS: judged by describe_ble_error
                if adapter_problem(exc):
                    message = describe_ble_error(exc)
                    self._status_now(SourceState.FAILED, message)
                    raise SensorError(message) from exc
                last_exc = exc
                log.info("%s: attempt failed: %s", self.name, describe_ble_error(exc))
                await asyncio.sleep(min(0.5, max(0.0, deadline - loop.time())))
        if seen is None:
            message = (
                f"No heart-rate strap matching {self.target!r} was found within "
                f"{self.scan_timeout_s:g} s. {FIX_NOT_FOUND}"
            )
        else:
            why = describe_ble_error(last_exc) if last_exc is not None else FIX_TIMEOUT
            message = (
                f"Found {seen.name or self.target} ({seen.address}) but could not connect "
                f"within {self.scan_timeout_s:g} s. {why}"
            )
        self._status_now(SourceState.FAILED, message)
        raise DeviceNotFoundError(message)

    async def _connect(self, device: BLEDevice) -> None:
        """Connect to ``device``, read its details and subscribe to 0x2A37."""
        self._generation += 1
        generation = self._generation

        def on_disconnect(_client: BleakClient) -> None:
            self._push(_Dropped(generation, now()))

        client = BleakClient(
            device, disconnected_callback=on_disconnect, timeout=self.connect_timeout_s
        )
        await client.connect()
        try:
            hr_char = client.services.get_characteristic(HEART_RATE_MEASUREMENT_UUID)
            if hr_char is None:
                raise SensorError(
                    f"{device.name or device.address} has no Heart Rate Measurement "
                    "characteristic (0x2A37); is it a heart-rate strap?"
                )
            await self._read_details(client, device)
            self._clock.reset()
            self._last_payload, self._last_payload_s = b"", -math.inf
            await client.start_notify(hr_char, self._on_notification)
        except BaseException:
            self._generation += 1  # the disconnection we cause here is not a drop
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        self._client = client
        self.address = device.address
        self.name = self.pmd.name = f"ble:{device.address}"
        self._connected_at_s = now()
        log.info("%s: connected to %s", self.name, self._device_text)
        await self._start_pmd(client)

    async def _start_pmd(self, client: BleakClient) -> None:
        """Start the wanted PMD signals; trouble there never costs the beats."""
        try:
            await self.pmd.start(client, self._on_pmd_data)
        except Exception as exc:  # bleak/D-Bus while asking: beats go on without PMD
            log.warning("%s: PMD not started: %s", self.name, describe_ble_error(exc))

    async def _read_details(self, client: BleakClient, device: BLEDevice) -> None:
        """Read battery and Device Information when the strap offers them."""
        values: dict[str, bytes] = {}
        for uuid in (BATTERY_LEVEL_UUID, MANUFACTURER_NAME_UUID, MODEL_NUMBER_UUID):
            char = client.services.get_characteristic(uuid)
            if char is None or "read" not in char.properties:
                continue
            try:
                values[uuid] = bytes(await client.read_gatt_char(char))
            except SETUP_ERRORS as exc:
                log.debug("%s: could not read %s: %s", self.name, uuid, exc)
        battery = values.get(BATTERY_LEVEL_UUID)
        self.battery_pct = battery[0] if battery else None
        text = {
            u: values[u].decode("utf-8", "replace").strip("\x00 ").strip()
            for u in (MANUFACTURER_NAME_UUID, MODEL_NUMBER_UUID)
            if u in values
        }
        self.manufacturer = text.get(MANUFACTURER_NAME_UUID, "")  # metadata of LSL/XDF streams
        self.model = text.get(MODEL_NUMBER_UUID, "")
        model = " ".join(d for d in (self.manufacturer, self.model) if d)
        if device.name and model and model != device.name:
            self._device_text = f"{device.name} ({model}, {device.address})"
        else:
            self._device_text = f"{device.name or model or 'heart-rate strap'} ({device.address})"

    async def _on_drop(self, lost_at_s: float) -> None:
        """Reconnect with backoff after the link dropped (or give up if asked to)."""
        old, self._client = self._client, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.disconnect()
        log.warning("%s: link to %s lost", self.name, self._device_text)
        if not self.reconnect:
            message = f"lost the link to {self._device_text}"
            self._status_now(SourceState.FAILED, message)
            raise ConnectionLostError(message)
        assert self.address is not None
        attempt = 0
        while True:
            gap_s = now() - lost_at_s
            self._status_now(
                SourceState.RECONNECTING,
                f"link lost; reconnecting (attempt {attempt + 1}, gap {gap_s:.1f} s so far)",
            )
            try:
                async with adapter_lock():
                    device = await find_strap(self.address, self.reconnect_scan_s)
                    if device is not None:
                        await self._connect(device)
                        break
                reason = "strap not advertising (out of range, asleep or connected elsewhere)"
            except Exception as exc:  # never let a failed attempt end the session
                reason = describe_ble_error(exc)
                if not isinstance(exc, (*SETUP_ERRORS, SensorError)):
                    log.warning("%s: unexpected error while reconnecting", self.name, exc_info=exc)
            delay_s = min(self.backoff_initial_s * 2.0**attempt, self.backoff_max_s)
            attempt += 1
            log.info(
                "%s: reconnection attempt %d failed (%s); next in %.1f s",
                self.name,
                attempt,
                reason,
                delay_s,
            )
            self._status_now(
                SourceState.RECONNECTING,
                f"link lost {now() - lost_at_s:.1f} s ago; {reason}; retrying in {delay_s:.1f} s",
            )
            await asyncio.sleep(delay_s)
        back_at_s = now()
        self.reconnections += 1
        self.gaps.append((lost_at_s, back_at_s))
        message = f"reconnected to {self._device_text} after a {back_at_s - lost_at_s:.1f} s gap"
        log.info("%s: %s", self.name, message)
        self._status_now(SourceState.CONNECTED, message)

    async def _close(self) -> None:
        """Disconnect (engine stop, cancellation or error)."""
        client, self._client = self._client, None
        self._generation += 1  # the disconnection we cause is not a drop
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pmd.stop(), 2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5.0)
        if self._status.state != SourceState.FAILED:
            self._status_now(SourceState.STOPPED, "disconnected")

    # ------------------------------------------------------------------ reporting

    def _status_connected(self) -> None:
        self._status_now(SourceState.CONNECTED, f"connected to {self._device_text}")

    def __repr__(self) -> str:
        return f"BleHeartRateSource({self.target!r}, subject={self.subject!r})"

    def stats(self) -> dict[str, Any]:
        """Counters for logs and reports."""
        return {
            "payloads": self.payloads,
            "bad_payloads": self.bad_payloads,
            "duplicate_payloads": self.duplicate_payloads,
            "overflowed_payloads": self.overflowed_payloads,
            "reconnections": self.reconnections,
            "battery_pct": self.battery_pct,
            **(self.pmd.stats() if self.pmd.wanted else {}),
        }
