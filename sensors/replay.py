"""Replay an XDF recording as live sources, at any speed (0 = as fast as possible).

heartsync's own recordings replay exactly: every subject's ``raw RR`` stream gives the
beats as the engine first received them (times, RR, strap HR, contact), in the original
arrival order over all subjects (the ``order`` channel), and the session events that
change the pipeline (a baseline set, paced breathing on/off) are re-applied before the
same beat they preceded live. So a replay through the pipeline gives the live session's
corrected beats, HRV, zones (and, with two people, synchrony) exactly.

Other recordings (LabRecorder files with an RR, IBI or heart-rate stream from any
bridge) replay too: each such stream becomes one subject, beats merged in time order.

One :class:`ReplaySession` per file hands beats to its sources in order: at speed 0 the
subjects alternate exactly as recorded; at speed ``x`` beat ``t`` is released at
``wall_start + (t - t_first) / x``.
"""

import asyncio
import json
import logging
import math
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dsp.types import Beat
from sensors.base import BaseSource, SensorError, SourceState, SourceStatus
from sensors.clock import now
from sensors.lsl_inlet import BeatConverter, plan_channels
from sensors.xdf import RecordingError, XdfRecording, XdfStream, read_xdf

log = logging.getLogger(__name__)

#: Session events a replay re-applies to the engine.
CONTROL_EVENTS = ("baseline", "paced")


class ReplayError(RecordingError):
    """A recording cannot be replayed (no RR/HR stream, unknown subject, ...)."""


@dataclass(frozen=True)
class ReplayControl:
    """A recorded session event, re-applied to the engine where it happened live.

    The engine calls :meth:`apply` when a source yields it instead of a beat.

    Attributes
    ----------
    kind : str
        ``baseline`` or ``paced``.
    subject : str or None
        Whom it concerns (None: every subject).
    data : dict
        The event as recorded.
    """

    kind: str
    subject: str | None
    data: dict = field(hash=False)

    def baseline_parts(self) -> tuple[Any, Any]:
        """The recorded ``(Baseline or None, ArousalSettings or None)`` of a baseline event.

        Raises
        ------
        ValueError
            When the event's values do not make a baseline or settings (a damaged file).
        """
        from dsp.tolerance.baseline import Baseline
        from dsp.tolerance.estimator import ArousalSettings

        values = self.data.get("baseline")
        settings = self.data.get("arousal")
        try:
            baseline = None if values is None else Baseline.from_dict(values)
            arousal = None if settings is None else ArousalSettings(**settings)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"baseline event: {exc}") from None
        return baseline, arousal

    def apply(self, engine: Any) -> None:
        """Do to ``engine`` what was done live (``set_baseline`` / ``set_paced``)."""
        if self.kind == "baseline":
            engine.set_baseline(self.subject, *self.baseline_parts())
        elif self.kind == "paced":
            engine.set_paced(bool(self.data.get("paced")), self.subject)


@dataclass
class _Item:
    order: float
    subject: str
    payload: Beat | ReplayControl


class ReplaySession:
    """One file's items in replay order, shared by its sources.

    Parameters
    ----------
    path : Path
        The recording.
    items : list of _Item
        Beats and controls of every replayed subject, in order.
    speed : float
        1 real time, 2 twice as fast, 0 as fast as possible.
    """

    def __init__(self, path: Path, items: list[_Item], speed: float) -> None:
        if not speed >= 0:
            raise ValueError(f"speed must be >= 0, got {speed!r}")
        self.path = path
        self.items = items
        self.speed = speed
        times = [i.payload.t for i in items if isinstance(i.payload, Beat)]
        self.t_first = min(times) if times else math.nan
        self.t_last = max(times) if times else math.nan
        self.cursor = 0
        self.retired: set[str] = set()
        self.fast_until = -math.inf  # seek: as fast as possible up to this stream time
        self._wall_start = math.nan
        self._changed: asyncio.Condition | None = None
        self._waiting = 0  # subjects waiting for their turn

    def count(self, subject: str) -> int:
        """Beats of one subject."""
        return sum(1 for i in self.items if i.subject == subject and isinstance(i.payload, Beat))

    async def next_for(self, subject: str) -> Beat | ReplayControl | None:
        """Wait for this subject's turn; return its next item (None at the end)."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        if math.isnan(self._wall_start):
            self._wall_start = now()
        if self.speed == 0 and not self._waiting:
            # nobody waits for a turn (one subject, or the other is not waiting): take
            # the item without the lock; the same order, a few microseconds less a beat
            self._skip_retired()
            if self.cursor >= len(self.items):
                return None
            item = self.items[self.cursor]
            if item.subject == subject:
                self.cursor += 1
                return item.payload
        async with self._changed:
            while True:
                self._skip_retired()
                if self.cursor >= len(self.items):
                    return None
                item = self.items[self.cursor]
                if item.subject == subject:
                    break
                self._waiting += 1
                try:
                    await self._changed.wait()
                finally:
                    self._waiting -= 1
            payload = item.payload
            if self.speed > 0 and isinstance(payload, Beat):
                if payload.t < self.fast_until:  # seeking: the pace resumes from here
                    self._wall_start = now() - (payload.t - self.t_first) / self.speed
                else:
                    due = self._wall_start + (payload.t - self.t_first) / self.speed
                    delay = due - now()
                    if delay > 0:
                        await asyncio.sleep(delay)
            self.cursor += 1
            self._changed.notify_all()
            return payload

    def seek(self, t: float) -> None:
        """Replay as fast as possible up to stream time ``t``, then at :attr:`speed` again.

        Every beat still goes through the pipeline, so what shows at ``t`` is what the
        session showed. Only forward: an earlier ``t`` changes nothing (replay the file
        again to go back). Safe to call from another thread (one attribute store).
        """
        self.fast_until = t

    def _skip_retired(self) -> None:
        while self.cursor < len(self.items) and self.items[self.cursor].subject in self.retired:
            self.cursor += 1

    async def retire(self, subject: str) -> None:
        """A source stopped early: its items no longer hold up the others."""
        self.retired.add(subject)
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()


class ReplaySource(BaseSource):
    """One subject of a recording, replayed.

    Build them with :func:`replay_sources` (all subjects of a file share a session).

    Parameters
    ----------
    session : ReplaySession
        The file's items.
    recorded_subject : str
        The subject in the file.
    subject : str
        The subject alias used now (usually the same).
    device : str
        The recorded device description.
    """

    simulated = False

    def __init__(
        self, session: ReplaySession, recorded_subject: str, subject: str, device: str = ""
    ) -> None:
        super().__init__(f"replay:{session.path.name}:{recorded_subject}", subject)
        self.session = session
        self.recorded_subject = recorded_subject
        self.device = device or "recording"
        self.bad_samples = 0

    def beat_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (s) and raw RR intervals (ms) of every beat this source will yield."""
        beats = [
            i.payload
            for i in self.session.items
            if i.subject == self.recorded_subject and isinstance(i.payload, Beat)
        ]
        t = np.fromiter((b.t for b in beats), np.float64, len(beats))
        return t, np.fromiter((b.rr_ms for b in beats), np.float64, len(beats))

    async def beats(self) -> AsyncIterator[Beat]:
        """Yield the recorded beats (and session events) of this subject, then end."""
        session = self.session
        beats = session.count(self.recorded_subject)
        minutes = (session.t_last - session.t_first) / 60.0
        speed = "as fast as possible" if session.speed == 0 else f"at {session.speed:g}x"
        self._set_status(
            SourceStatus(
                SourceState.CONNECTED,
                f"replaying {session.path.name} ({beats} beats, {minutes:.1f} min) {speed}",
                now(),
                None,
                f"{self.device} (recording {session.path.name})",
            )
        )
        finished = False
        try:
            while True:
                item = await session.next_for(self.recorded_subject)
                if item is None:
                    finished = True
                    break
                if isinstance(item, Beat) and item.subject != self.subject:
                    item = Beat(
                        self.subject, item.t, item.rr_ms, item.hr_bpm, item.contact, item.source
                    )
                yield item
        finally:
            if not finished:
                await session.retire(self.recorded_subject)
            self._set_status(
                SourceStatus(
                    SourceState.STOPPED,
                    "end of recording" if finished else "replay stopped",
                    math.nan,
                    None,
                    self.device,
                )
            )


def replay_sources(
    path: str | os.PathLike,
    speed: float = 1.0,
    subject: str | None = None,
    stream: str | None = None,
    rename: str | None = None,
) -> list[ReplaySource]:
    """Sources replaying a recording: one per subject (a dyad gives two).

    Parameters
    ----------
    path : str or path
        The XDF file.
    speed : float
        1 real time, 2 twice as fast, 0 as fast as possible.
    subject : str or None
        Replay only this recorded subject.
    stream : str or None
        Third-party files: replay only the stream with this name or source_id.
    rename : str or None
        Subject alias to use instead of the recorded one (needs a single subject).

    Raises
    ------
    RecordingError
        When the file cannot be read (:class:`sensors.xdf.XdfFormatError`) or holds nothing
        to replay (:class:`ReplayError`); the message says which and why.
    """
    path = Path(path)
    recording = read_xdf(path)
    subjects, items, devices = _heartsync_items(recording)
    if not subjects:
        subjects, items, devices = _foreign_items(recording, stream)
    if subject is not None:
        if subject not in subjects:
            raise ReplayError(
                f"{path} has no subject {subject!r}; it holds {', '.join(subjects) or 'none'}"
            )
        subjects = [subject]
    items = [i for i in items if i.subject in subjects]
    if rename is not None and len(subjects) != 1:
        raise ReplayError(f"{path} holds {len(subjects)} subjects; pick one with subject=...")
    if not any(isinstance(i.payload, Beat) for i in items):
        raise ReplayError(f"{path} holds no beats to replay")
    session = ReplaySession(path, items, speed)
    return [
        ReplaySource(session, s, rename if rename is not None else s, devices.get(s, ""))
        for s in subjects
    ]


def in_time_order(stamps: np.ndarray) -> np.ndarray:
    """Mask of the timestamps that keep a stream in time order.

    A timestamp that is not finite, goes back before the last one kept, or jumps past the
    next one (a flipped bit turns 1000.2 s into 2.5e79 s) is left out; the rest stay.
    """
    stamps = np.asarray(stamps, float)
    keep = np.isfinite(stamps)
    later = np.full(len(stamps), math.inf)  # the next finite stamp after each one
    upcoming = math.inf
    for k in range(len(stamps) - 1, -1, -1):
        later[k] = upcoming
        if keep[k]:
            upcoming = stamps[k]
    last = -math.inf
    for k, t in enumerate(stamps):
        if not keep[k]:
            continue
        if t < last or (t > later[k] >= last):
            keep[k] = False
            continue
        last = t
    return keep


def _heartsync_items(
    rec: XdfRecording,
) -> tuple[list[str], list[_Item], dict[str, str]]:
    """Beats of heartsync's raw RR streams and re-applicable events of its markers."""
    raws = [s for s in rec.streams if s.type == "RawRR" and s.text("desc/heartsync/stream")]
    subjects: list[str] = []
    devices: dict[str, str] = {}
    items: list[_Item] = []
    for stream in raws:
        subject = stream.text("desc/subject/alias") or stream.name
        if subject not in subjects:
            subjects.append(subject)
        devices[subject] = stream.text("desc/acquisition/device")
        labels = stream.labels
        if labels[:4] != ["RR", "HR_strap", "contact", "order"]:
            raise ReplayError(f"{rec.path}: raw RR stream {stream.name!r} has channels {labels}")
        values = np.asarray(stream.time_series, float)
        source = f"replay:{rec.path.name}"
        keep = in_time_order(stream.time_stamps) & np.isfinite(values[:, 3])
        if not keep.all():
            log.warning(
                "%s: %d beats of %s dropped (damaged times or order)",
                rec.path.name,
                int((~keep).sum()),
                subject,
            )
        for t, (rr, hr, contact, order) in zip(stream.time_stamps[keep], values[keep], strict=True):
            beat = Beat(
                subject,
                float(t),
                float(rr),
                None if math.isnan(hr) else float(hr),
                None if math.isnan(contact) else bool(contact),
                source,
            )
            items.append(_Item(float(order), subject, beat))
    if not subjects:
        return [], [], {}
    items.sort(key=lambda i: i.order)
    items = _insert_controls(rec, items, subjects)
    return subjects, items, devices


def _insert_controls(rec: XdfRecording, beats: list[_Item], subjects: list[str]) -> list[_Item]:
    """Put each recorded baseline / paced event right before the beat it preceded live."""
    controls: list[tuple[float, ReplayControl]] = []
    for stream in rec.streams:
        if stream.type != "Markers" or stream.text("desc/heartsync/stream") != "markers":
            continue
        for row in stream.time_series:
            text = row[0] if row else ""
            if not text.startswith("{"):
                continue
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if event.get("event") not in CONTROL_EVENTS or "order" not in event:
                continue
            who = event.get("subject")
            if who is not None and who not in subjects:
                continue
            control = ReplayControl(event["event"], who, event)
            try:
                order = float(event["order"])
                if control.kind == "baseline":
                    control.baseline_parts()
            except (TypeError, ValueError) as exc:
                log.warning("%s: a damaged %s event skipped (%s)", rec.path.name, control.kind, exc)
                continue
            controls.append((order, control))
    if not controls:
        return beats
    out: list[_Item] = []
    k = 0
    controls.sort(key=lambda c: c[0])
    for item in beats:
        while k < len(controls) and controls[k][0] <= item.order:
            control = controls[k][1]
            out.append(_Item(item.order - 0.5, control.subject or item.subject, control))
            k += 1
        out.append(item)
    return out


def _foreign_items(
    rec: XdfRecording, wanted: str | None
) -> tuple[list[str], list[_Item], dict[str, str]]:
    """Beats of third-party RR/HR streams: one subject per stream, merged by time."""
    candidates: list[tuple[XdfStream, Any]] = []
    reasons = []
    for stream in rec.streams:
        if wanted is not None and wanted not in (stream.name, stream.source_id):
            continue
        if stream.type in ("RR", "HR", "Arousal") and stream.text("desc/heartsync/stream"):
            continue  # heartsync's derived streams: only the raw one replays
        units = [c.get("unit", "") for c in stream.channels]
        if len(units) != stream.channel_count:
            units = []
        try:
            plan = plan_channels(stream.type, stream.labels, units, stream.channel_format)
        except SensorError as exc:
            reasons.append(f"{stream.name!r}: {exc}")
            continue
        candidates.append((stream, plan))
    if not candidates:
        names = ", ".join(f"{s.name!r} ({s.type})" for s in rec.streams) or "no streams"
        wanted_text = f" named {wanted!r}" if wanted else ""
        raise ReplayError(
            f"{rec.path} has no RR or heart-rate stream{wanted_text} to replay (it holds {names})"
        )
    subjects: list[str] = []
    devices: dict[str, str] = {}
    items: list[_Item] = []
    for stream, plan in candidates:
        subject = _alias(stream.text("desc/subject/alias") or stream.name or f"s{stream.stream_id}")
        while subject in subjects:
            subject += "_"
        subjects.append(subject)
        devices[subject] = stream.name
        holder = _Holder(subject)
        converter = BeatConverter(holder, plan, f"replay:{rec.path.name}")
        keep = in_time_order(stream.time_stamps)
        rows = [list(r) for r in np.asarray(stream.time_series, float)[keep]]
        for beat in converter.convert(rows, list(stream.time_stamps[keep])):
            items.append(_Item(beat.t, subject, beat))
    items.sort(key=lambda i: i.order)
    return subjects, items, devices


@dataclass
class _Holder:
    subject: str
    bad_samples: int = 0


def _alias(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text.strip()) or "self"


def describe(path: str | os.PathLike) -> str:
    """One paragraph about a recording: subjects, beats, length (for the UI and logs)."""
    sources = replay_sources(path, 0)
    session = sources[0].session
    minutes = (session.t_last - session.t_first) / 60.0
    parts = [f"{s.recorded_subject}: {session.count(s.recorded_subject)} beats" for s in sources]
    return f"{Path(path).name}: {minutes:.1f} min; " + ", ".join(parts)


__all__: Sequence[str] = (
    "CONTROL_EVENTS",
    "ReplayControl",
    "ReplayError",
    "ReplaySession",
    "ReplaySource",
    "describe",
    "replay_sources",
)
