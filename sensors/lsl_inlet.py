"""Beats from a Lab Streaming Layer stream: another heartsync, or any RR/HR bridge.

``lsl:NAME_OR_SOURCE_ID`` resolves a stream whose name or ``source_id`` equals the
target. The stream's metadata (``desc/channels``) say which channel holds what:

- an RR channel (label ``RR``, ``IBI``, ``RRI``, ...; unit ``ms`` or ``s``, guessed from
  the values when missing) gives one beat per sample, stamped with the sample's
  timestamp: heartsync's own ``raw RR`` stream also brings the strap's HR and contact;
- a stream with only a heart-rate channel (type ``HR``, label ``HR``/``BPM``) gives
  beats spaced at the reported rate: heart rate works, beat-to-beat HRV does not (a
  warning says so).

Timestamps are mapped onto this machine's LSL clock with the inlet's
``time_correction()`` (refreshed every ``correction_interval_s``), so two people on two
computers share one time base. When the stream goes quiet the status turns to
RECONNECTING; liblsl reconnects by ``source_id`` when it comes back (a stream without
one is resolved again by name), and the status returns to CONNECTED.

All blocking liblsl calls run on one reader thread; beats reach the engine loop through
``call_soon_threadsafe``.
"""

import asyncio
import contextlib
import logging
import math
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from dsp.types import Beat
from sensors.base import BaseSource, DeviceNotFoundError, SensorError, SourceState, SourceStatus
from sensors.plausible import plausible_hr, plausible_rr

log = logging.getLogger(__name__)

RR_LABELS = ("rr", "rr_ms", "rri", "ibi", "rr interval", "rr_interval", "interbeat interval")
HR_LABELS = ("hr", "hr_bpm", "heart rate", "heartrate", "heart_rate", "bpm", "hr_strap", "pulse")
RR_TYPES = ("rr", "rawrr", "ibi", "rri", "nn")
HR_TYPES = ("hr", "heartrate", "heart rate", "pulse")
#: A sample stamped more than this after now (s) is from a broken clock: dropped, since
#: every later beat would look out of order for that long. Bridges that send beats in
#: batches stamp some a little ahead, hence the slack.
FUTURE_S = 30.0
_UNITS_MS = {"ms": 1.0, "msec": 1.0, "milliseconds": 1.0, "millisecond": 1.0}
_UNITS_MS |= {"s": 1000.0, "sec": 1000.0, "seconds": 1000.0, "second": 1000.0}
_UNITS_MS |= {"1/1024 s": 1000.0 / 1024.0, "1/1024s": 1000.0 / 1024.0}


@dataclass(frozen=True)
class ChannelPlan:
    """Which channels of a stream carry what.

    Attributes
    ----------
    rr : int or None
        Index of the RR channel (None: heart rate only).
    rr_scale : float or None
        Factor to milliseconds; None: guess from the first value (< 10 means seconds).
    hr : int or None
        Index of a heart-rate channel, beats/min.
    contact : int or None
        Index of a skin-contact channel (1/0, NaN unknown).
    """

    rr: int | None
    rr_scale: float | None
    hr: int | None
    contact: int | None


def plan_channels(
    stream_type: str, labels: list[str], units: list[str], channel_format: str
) -> ChannelPlan:
    """Decide which channels hold RR, HR and contact.

    Raises
    ------
    SensorError
        When the stream carries neither RR nor heart rate.
    """
    if channel_format == "string":
        raise SensorError(f"the stream carries text ({stream_type or 'no type'}), not RR or HR")
    low = [label.strip().lower() for label in labels]
    kind = stream_type.strip().lower()

    def find(names: tuple[str, ...]) -> int | None:
        return next((i for i, label in enumerate(low) if label in names), None)

    rr, hr, contact = find(RR_LABELS), find(HR_LABELS), find(("contact",))
    if rr is None and hr is None:
        if kind in RR_TYPES:
            rr = 0
        elif kind in HR_TYPES:
            hr = 0
        else:
            raise SensorError(
                f"the stream (type {stream_type!r}, channels {labels or 'unlabelled'}) has no "
                "RR or heart-rate channel; expected a channel labelled RR/IBI or HR, or type RR/HR"
            )
    scale = None
    if rr is not None and rr < len(units):
        scale = _UNITS_MS.get(units[rr].strip().lower())
    return ChannelPlan(rr, scale, hr, contact)


def _xpath_literal(text: str) -> str:
    """``text`` as an XPath 1.0 string literal (XPath has no escapes: concat() joins parts)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    pieces = []
    for i, part in enumerate(text.split("'")):
        if i:
            pieces.append('"\'"')  # the single quote itself, in double quotes
        if part:
            pieces.append(f"'{part}'")
    return "concat(" + ", ".join(pieces) + ")"


def _predicate(target: str) -> str:
    literal = _xpath_literal(target)  # parenthesised: liblsl prepends "session_id=... and"
    return f"(source_id={literal} or name={literal})"


class LslInletSource(BaseSource):
    """Beats from an LSL stream found by name or ``source_id``.

    Parameters
    ----------
    target : str
        Stream name or ``source_id``.
    subject : str
        Subject alias stamped on the beats.
    resolve_timeout_s : float
        How long to look for the stream at first, seconds; then
        :class:`DeviceNotFoundError`.
    silence_s : float
        No sample for this long means the stream is gone (status RECONNECTING), s.
    correction_interval_s : float
        Seconds between ``time_correction()`` updates.
    """

    simulated = False

    def __init__(
        self,
        target: str,
        subject: str = "self",
        *,
        resolve_timeout_s: float = 30.0,
        silence_s: float = 5.0,
        correction_interval_s: float = 5.0,
    ) -> None:
        target = target.strip()
        if not target:
            raise ValueError("LslInletSource needs a stream name or source_id")
        super().__init__(f"lsl:{target}", subject)
        self.target = target
        self.resolve_timeout_s = resolve_timeout_s
        self.silence_s = silence_s
        self.correction_interval_s = correction_interval_s
        self.time_correction_s = math.nan
        self.bad_samples = 0
        self.reconnections = 0

    async def beats(self) -> AsyncIterator[Beat]:
        """Resolve the stream, then yield its beats until cancelled.

        Raises
        ------
        DeviceNotFoundError
            When no such stream appears within ``resolve_timeout_s``.
        SensorError
            When the stream carries neither RR nor heart rate.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def post(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(queue.put_nowait, item)

        self._set_status(SourceStatus(SourceState.CONNECTING, f"looking for {self.target!r}"))
        thread = threading.Thread(
            target=self._read, args=(stop, post), name=f"heartsync-{self.name}", daemon=True
        )
        thread.start()
        try:
            while True:
                item = await queue.get()
                if isinstance(item, SourceStatus):
                    self._set_status(item)
                elif isinstance(item, SensorError):
                    self._set_status(SourceStatus(SourceState.FAILED, str(item)))
                    raise item
                else:
                    for beat in item:
                        yield beat
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, 2.0)
            if self._status.state is not SourceState.FAILED:
                self._set_status(SourceStatus(SourceState.STOPPED, "inlet closed"))

    # -- reader thread ----------------------------------------------------------------
    def _read(self, stop: threading.Event, post: Callable[[object], None]) -> None:
        import pylsl

        deadline = time.monotonic() + self.resolve_timeout_s
        found_once = False
        # a continuous resolver answers at once; resolve_bypred can block for seconds
        resolver = pylsl.ContinuousResolver(pred=_predicate(self.target), forget_after=2.0)
        while not stop.is_set():
            infos = resolver.results()
            if not infos:
                stop.wait(0.05)
                if not found_once and time.monotonic() > deadline:
                    post(
                        DeviceNotFoundError(
                            f"no LSL stream named {self.target!r} (or with that source_id) "
                            f"found in {self.resolve_timeout_s:g} s; is the other computer "
                            "publishing (heartsync --lsl) and on this network?"
                        )
                    )
                    return
                continue
            try:
                self._stream(infos[0], stop, post, found_once)
            except SensorError as exc:
                post(exc)
                return
            except Exception as exc:  # liblsl errors: try again
                log.warning("%s: stream lost (%s); looking for it again", self.name, exc)
            if not stop.is_set():
                found_once = True
                post(SourceStatus(SourceState.RECONNECTING, "stream lost; looking for it again"))

    def _stream(
        self,
        info: object,
        stop: threading.Event,
        post: Callable[[object], None],
        again: bool,
    ) -> None:
        import pylsl

        inlet = pylsl.StreamInlet(info, max_buflen=360, recover=True)
        try:
            full = inlet.info(timeout=5.0)
            root = ET.fromstring(full.as_xml())
            labels = [(c.findtext("label") or "") for c in root.findall("desc/channels/channel")]
            units = [(c.findtext("unit") or "") for c in root.findall("desc/channels/channel")]
            if len(labels) != full.channel_count():
                labels, units = [], []
            fmt = root.findtext("channel_format") or ""
            plan = plan_channels(full.type(), labels, units, fmt)
            if plan.rr is None:
                log.warning(
                    "%s: %r carries heart rate only; beats are spaced at that rate, so "
                    "beat-to-beat HRV is not available",
                    self.name,
                    full.name(),
                )
            inlet.open_stream(timeout=5.0)
            self.time_correction_s = inlet.time_correction(timeout=5.0)
            host = full.hostname()
            device = f"{full.name()} ({full.type()}) from {host}"
            source = f"lsl:{full.source_id() or full.name()}"
            if again:
                self.reconnections += 1
            post(
                SourceStatus(
                    SourceState.CONNECTED, f"receiving {full.name()!r}", math.nan, None, device
                )
            )
            log.info(
                "%s: receiving %r from %s (time correction %.6f s)",
                self.name,
                full.name(),
                host,
                self.time_correction_s,
            )
            converter = BeatConverter(self, plan, source)
            last_data = last_correction = time.monotonic()
            silent = False
            while not stop.is_set():
                samples, stamps = inlet.pull_chunk(timeout=0.2, max_samples=256)
                wall = time.monotonic()
                if samples:
                    last_data = wall
                    if silent:
                        silent = False
                        self.reconnections += 1
                        post(
                            SourceStatus(
                                SourceState.CONNECTED,
                                f"receiving {full.name()!r} again",
                                math.nan,
                                None,
                                device,
                            )
                        )
                    beats = converter.convert(
                        samples, stamps, self.time_correction_s, pylsl.local_clock() + FUTURE_S
                    )
                    if beats:
                        post(beats)
                elif not silent and wall - last_data > self.silence_s:
                    silent = True
                    post(
                        SourceStatus(
                            SourceState.RECONNECTING,
                            f"no data from {full.name()!r} for {self.silence_s:g} s",
                            math.nan,
                            None,
                            device,
                        )
                    )
                if wall - last_correction > self.correction_interval_s and not silent:
                    last_correction = wall
                    try:
                        self.time_correction_s = inlet.time_correction(timeout=0.5)
                    except pylsl.util.TimeoutError:
                        pass
        finally:
            with contextlib.suppress(Exception):
                inlet.close_stream()
            del inlet


class BeatConverter:
    """Turn stream samples into beats (one per RR sample, or paced from heart rate).

    Parameters
    ----------
    source : object
        Has ``subject`` (stamped on beats) and ``bad_samples`` (counted here).
    plan : ChannelPlan
        Which channels hold what.
    source_name : str
        ``Beat.source`` of the beats.
    """

    def __init__(self, source: BaseSource, plan: ChannelPlan, source_name: str) -> None:
        self.source = source
        self.plan = plan
        self.name = source_name
        self.scale = plan.rr_scale
        self.last_hr_beat = math.nan

    def convert(
        self, samples: list, stamps: list, correction_s: float = 0.0, not_after: float = math.inf
    ) -> list[Beat]:
        """Beats of ``samples`` (rows) stamped ``stamps + correction_s`` (seconds).

        A sample is counted in ``source.bad_samples`` and dropped when its time is not a
        number or later than ``not_after`` (a stream's clock in the future), its RR is
        outside :data:`~sensors.plausible.RR_RANGE_MS` or (heart-rate streams) its rate
        outside :data:`~sensors.plausible.HR_RANGE_BPM`; an implausible strap HR beside a
        good RR is dropped alone.
        """
        plan, subject = self.plan, self.source.subject
        beats = []
        for row, stamp in zip(samples, stamps, strict=True):
            t = stamp + correction_s
            hr = _value(row, plan.hr)
            hr = hr if plausible_hr(hr) else None
            contact_v = _value(row, plan.contact)
            contact = None if contact_v is None else bool(contact_v)
            if not (math.isfinite(t) and t <= not_after):
                self._bad("time", t)
                continue
            if plan.rr is not None:
                rr = _value(row, plan.rr)
                if rr is None or rr <= 0:
                    self._bad("RR", rr)
                    continue
                if self.scale is None:
                    self.scale = 1000.0 if rr < 10 else 1.0
                rr_ms = rr * self.scale
                if not plausible_rr(rr_ms):
                    self._bad("RR (ms)", rr_ms)
                    continue
                beats.append(Beat(subject, t, rr_ms, hr, contact, self.name))
            elif hr is not None:
                beats.extend(self._paced(t, hr, contact))
            else:
                self._bad("heart rate", _value(row, plan.hr))
        return beats

    def _bad(self, what: str, value: float | None) -> None:
        self.source.bad_samples += 1
        if self.source.bad_samples == 1:
            log.warning(
                "%s: dropped a sample with %s %r (implausible); later ones are counted",
                self.name,
                what,
                value,
            )

    def _paced(self, t: float, hr: float, contact: bool | None) -> list[Beat]:
        rr_s = 60.0 / hr
        if not math.isfinite(self.last_hr_beat) or t - self.last_hr_beat > 5.0:
            self.last_hr_beat = t
            return [Beat(self.source.subject, t, rr_s * 1000.0, hr, contact, self.name)]
        out = []
        while self.last_hr_beat + rr_s <= t:
            self.last_hr_beat += rr_s
            out.append(
                Beat(self.source.subject, self.last_hr_beat, rr_s * 1000.0, hr, contact, self.name)
            )
        return out


def _value(row: list, index: int | None) -> float | None:
    if index is None or index >= len(row):
        return None
    try:
        value = float(row[index])
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
