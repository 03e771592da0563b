"""ECG and acceleration of a Polar strap, across connections (the source's PMD side).

:class:`PmdStreams` belongs to a :class:`sensors.ble.source.BleHeartRateSource` asked
for ``pmd=("ecg", "acc")``. After every (re)connection :meth:`PmdStreams.start` looks
for the PMD service; a strap without it works exactly as before (beats only). For each
wanted signal it offers, it asks the strap's settings, chooses (ECG at its one rate;
acceleration at the asked rate or the nearest offered, the widest range, the finest
resolution) and starts it; a refused start is logged and remembered, never fatal.
:meth:`PmdStreams.handle` turns a data notification into a
:class:`sensors.samples.SampleBlock` with LSL-clock times (:mod:`sensors.sample_clock`);
bad frames are counted and logged with their bytes, like bad heart-rate payloads.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from sensors.base import MalformedPayloadError
from sensors.ble.pmd_link import PmdLink, PmdRefusedError
from sensors.pmd import (
    LAYOUTS,
    Layout,
    Measurement,
    Setting,
    Settings,
    parse_frame,
    sample_times_ns,
)
from sensors.sample_clock import SampleClock
from sensors.samples import ACC, ECG, SIGNALS, SampleBlock, SignalKind

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_ACC_RATE_HZ", "PMD_SIGNALS", "PmdStreams", "choose_settings"]

#: Signal key -> PMD measurement type.
PMD_SIGNALS: dict[str, int] = {"ecg": Measurement.ECG, "acc": Measurement.ACC}
#: Acceleration rate asked for, Hz (the H10 offers 25, 50, 100, 200; breathing needs little).
DEFAULT_ACC_RATE_HZ = 50
_ALREADY_IN_STATE = 6


def choose_settings(offered: Settings, rate_hz: float | None = None) -> Settings:
    """One value per offered setting: the asked rate (or nearest), else the largest.

    Parameters
    ----------
    offered : dict
        A *get settings* answer.
    rate_hz : float or None
        Wanted sample rate, Hz (None: the highest offered).
    """
    chosen: Settings = {}
    for kind, values in offered.items():
        if not values or kind == Setting.FACTOR:
            continue
        if kind == Setting.SAMPLE_RATE and rate_hz is not None:
            chosen[kind] = (min(values, key=lambda v: (abs(v - rate_hz), -v)),)
        else:
            chosen[kind] = (max(values),)
    return chosen


@dataclass(slots=True)
class _Active:
    kind: SignalKind
    rate_hz: float
    factor: float
    layout_resolution: int
    previous_ns: int | None = None


class PmdStreams:
    """The PMD signals one source streams.

    Parameters
    ----------
    wanted : sequence of str
        Signal keys (``ecg``, ``acc``).
    name : str
        The source's name (log, blocks).
    subject : str
        Stamped on every block.
    acc_rate_hz : float
        Acceleration rate to ask for, Hz.

    Attributes
    ----------
    offered : frozenset of int
        Measurement types the strap offers (empty: no PMD service).
    refused : dict
        Signal key -> why it is not streaming (not offered, refused with a status).
    frames, bad_frames : int
        Data frames decoded, and malformed ones skipped.
    """

    def __init__(
        self,
        wanted: Sequence[str],
        name: str,
        subject: str,
        acc_rate_hz: float = DEFAULT_ACC_RATE_HZ,
    ) -> None:
        unknown = [w for w in wanted if w not in PMD_SIGNALS]
        if unknown:
            raise ValueError(f"unknown PMD signal(s) {unknown}; choose from {sorted(SIGNALS)}")
        self.wanted = tuple(dict.fromkeys(wanted))
        self.name = name
        self.subject = subject
        self.acc_rate_hz = acc_rate_hz
        self.offered: frozenset[int] = frozenset()
        self.refused: dict[str, str] = {}
        self.frames = 0
        self.bad_frames = 0
        self.clock = SampleClock()
        self._active: dict[int, _Active] = {}
        self._link: PmdLink | None = None

    @property
    def streaming(self) -> tuple[str, ...]:
        """Keys of the signals started on the current connection."""
        return tuple(a.kind.key for a in self._active.values())

    async def start(
        self,
        client: BleakClient,
        on_data: Callable[[BleakGATTCharacteristic, bytearray], None],
    ) -> None:
        """Find the PMD service on a new connection and start the wanted signals.

        Never raises for PMD trouble (a refusal, a strap that does not answer): beats
        matter more; the trouble is logged and kept in :attr:`refused`.
        """
        self.clock.reset()
        self._active.clear()
        self.refused.clear()
        if not self.wanted:
            return
        self._link = link = PmdLink(client, on_data, self._on_stop, self.name)
        try:
            self.offered = await link.open()
        except (MalformedPayloadError, PmdRefusedError) as exc:
            self.offered = frozenset()
            log.warning("%s: PMD service unusable: %s", self.name, exc)
        if not self.offered:
            for key in self.wanted:
                self.refused[key] = "the strap has no PMD service"
            log.info("%s: no PMD service; beats only", self.name)
            return
        for key in self.wanted:
            await self._start_one(link, key)

    async def _start_one(self, link: PmdLink, key: str) -> None:
        measurement = PMD_SIGNALS[key]
        if measurement not in self.offered:
            self.refused[key] = "not offered by the strap"
            log.warning("%s: the strap does not offer %s", self.name, key.upper())
            return
        rate = self.acc_rate_hz if key == "acc" else None
        try:
            chosen = choose_settings(await link.settings(measurement), rate)
            try:
                reply = await link.start(measurement, chosen)
            except PmdRefusedError as exc:
                if exc.status != _ALREADY_IN_STATE:
                    raise
                # still running from an earlier connection: restart it with our settings
                await link.stop(measurement)
                reply = await link.start(measurement, chosen)
        except PmdRefusedError as exc:
            self.refused[key] = f"refused: {exc}"
            log.warning("%s: could not start %s: %s", self.name, key.upper(), exc)
            return
        kind = ECG if key == "ecg" else ACC
        rate_hz = float(chosen.get(Setting.SAMPLE_RATE, (130 if key == "ecg" else rate,))[0])
        factor = float(reply.get(Setting.FACTOR, (1.0,))[0])
        resolution = int(chosen.get(Setting.RESOLUTION, (0,))[0])
        self._active[measurement] = _Active(kind, rate_hz, factor, resolution)
        log.info("%s: %s streaming at %g Hz", self.name, key.upper(), rate_hz)

    def _on_stop(self, measurements: frozenset[int]) -> None:
        for m in measurements:
            active = self._active.pop(m, None)
            if active is not None:
                self.refused[active.kind.key] = "stopped by the strap"

    async def stop(self) -> None:
        """Stop what runs (engine stop); errors are ignored (the link may be gone)."""
        link, self._link = self._link, None
        for measurement in list(self._active):
            if link is not None:
                try:
                    await link.stop(measurement)
                except Exception as exc:  # closing: best effort
                    log.debug("%s: PMD stop failed: %r", self.name, exc)
        self._active.clear()

    def handle(self, arrival_s: float, payload: bytes) -> list[SampleBlock]:
        """Decode one data notification (engine loop); empty for bad or unexpected frames."""
        try:
            frame = parse_frame(payload, self._layouts())
        except MalformedPayloadError as exc:
            self.bad_frames += 1
            if self.bad_frames <= 10 or self.bad_frames % 100 == 0:  # no log flood
                log.warning(
                    "%s: ignored bad PMD frame (%d so far): %s", self.name, self.bad_frames, exc
                )
            return []
        active = self._active.get(frame.measurement)
        if active is None:
            log.debug("%s: PMD frame of measurement %d not started", self.name, frame.measurement)
            return []
        self.frames += 1
        n = frame.samples.shape[0]
        previous = active.previous_ns
        sample_ns = sample_times_ns(frame.timestamp_ns, n, previous, active.rate_hz)
        step = 1e9 / active.rate_hz
        gap = previous is None or abs(sample_ns[0] - previous - step) > 0.5 * step
        active.previous_ns = frame.timestamp_ns
        t = self.clock.stamp(arrival_s, frame.timestamp_ns, sample_ns)
        values = frame.samples.astype(np.float64)
        if active.factor != 1.0:
            values *= active.factor
        return [SampleBlock(active.kind, self.subject, self.name, active.rate_hz, t, values, gap)]

    def _layouts(self) -> dict[tuple[int, int], Layout]:
        """Frame layouts with the chosen resolutions (compressed frames need them)."""
        layouts = dict(LAYOUTS)
        for measurement, active in self._active.items():
            for (m, frame_type), layout in LAYOUTS.items():
                if m == measurement and active.layout_resolution and frame_type == 1:
                    layouts[(m, frame_type)] = Layout(
                        layout.channels, layout.size, active.layout_resolution
                    )
        return layouts

    def stats(self) -> dict[str, object]:
        """Counters for logs and reports."""
        return {
            "pmd_streaming": list(self.streaming),
            "pmd_frames": self.frames,
            "pmd_bad_frames": self.bad_frames,
            "pmd_refused": dict(self.refused),
        }
