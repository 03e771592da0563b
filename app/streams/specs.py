"""The streams heartsync publishes (LSL outlets) and records (XDF), declared once.

A stream is a :class:`StreamSpec`: its key (the ``source_id`` suffix), LSL content
type, channels with labels and units, value format and where its values come from.
:class:`StreamSink` is the shared base of :class:`app.streams.lsl_outlet.LslOutletSink` and
:class:`app.recording.recorder.XdfRecorder`: it turns what the engine hands sinks (processed
beats, raw beats, markers, events, samples of other streams) into
``push(spec, owner, t, values)`` calls. Both build their metadata from
:func:`stream_metadata`, so an outlet and its recording carry the same header.

Adding a stream (arousal was added this way; synchrony and pacer phase come next):

1. declare a ``StreamSpec`` here with its channels;
2. per-beat values: give it ``values=`` (a function of the ``BeatResult`` returning a
   tuple, or None when there is nothing to send) and add it to :data:`BEAT_STREAMS`;
   anything else (a dyad's synchrony, a pacer's phase): call
   ``engine.publish(spec, subject, t, values)`` wherever the value is computed.

A stream's outlet and recording start with its first sample: nothing is announced
for data that does not exist.
"""

import json
import logging
import math
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dsp.types import Beat
from sensors.base import BeatSource, SourceStatus
from sensors.xdf.text import xml_safe

if TYPE_CHECKING:
    from dsp.beat_result import BeatResult
    from dsp.dyad.types import SessionSynchrony, SynchronyEstimate

log = logging.getLogger(__name__)

#: Subject name of streams that belong to the whole session (markers, a dyad).
SESSION = "session"
#: ``artifact`` channel codes of the RR stream.
ARTIFACT_CODES = {
    None: 0,
    "ectopic": 1,
    "missed": 2,
    "extra": 3,
    "long": 4,
    "short": 5,
    "invalid": 6,
}
#: ``zone`` channel codes of the arousal stream (NaN: unknown).
ZONE_CODES = {"hypo": -1.0, "window": 0.0, "hyper": 1.0}
VERSION = "0.1.0"


@dataclass(frozen=True)
class Channel:
    """One channel of a stream, per the XDF meta-data conventions.

    Attributes
    ----------
    label : str
        Channel label.
    unit : str
        Unit (``ms``, ``bpm``, ``ms^2``, ``code``, ...).
    type : str
        Channel content type.
    """

    label: str
    unit: str
    type: str


@dataclass(frozen=True)
class StreamSpec:
    """A stream heartsync publishes and records.

    Attributes
    ----------
    key : str
        Short id; the end of the stream's ``source_id`` and name.
    type : str
        LSL content type (``RR``, ``HR``, ``Markers``, ...).
    title : str
        Human part of the stream name: ``heartsync <subject> <title>``.
    channels : tuple of Channel
        Channel descriptions, in sample order.
    channel_format : str
        ``double64`` or ``string``.
    nominal_srate : float
        Hz; 0 for irregular (beat-wise) streams.
    scope : str
        ``subject`` (one stream per person) or ``session`` (one for the session).
    notes : dict of str to str
        Extra ``desc/heartsync`` fields (code tables and such).
    values : callable or None
        For per-beat streams: ``values(result) -> tuple | None``.
    """

    key: str
    type: str
    title: str
    channels: tuple[Channel, ...]
    channel_format: str = "double64"
    nominal_srate: float = 0.0
    scope: str = "subject"
    notes: tuple[tuple[str, str], ...] = ()
    values: Callable[["BeatResult"], Sequence | None] | None = None

    @property
    def channel_count(self) -> int:
        """Values per sample."""
        return len(self.channels)


@dataclass(frozen=True)
class StreamOwner:
    """Whom and what a stream is about (the metadata besides the channels).

    Attributes
    ----------
    subject : str
        Subject alias (or :data:`SESSION`).
    source : str
        Name of the source feeding the subject (strap address, ``sim:...``, ...).
    device : str
        Device description as the source reports it.
    manufacturer, model : str
        When the source knows them.
    role : str
        The subject's role (``client``, ``therapist``, ``self``...), defaults to the alias.
    prefix : str
        First part of every ``source_id`` (tests make it unique).
    """

    subject: str
    source: str = ""
    device: str = ""
    manufacturer: str = ""
    model: str = ""
    role: str = ""
    prefix: str = "heartsync"

    def source_id(self, spec: StreamSpec) -> str:
        """Stable per strap + role + stream, so LabRecorder reconnects after a restart.

        XML-safe (names and host names come from outside and end up in stream infos).
        """
        if spec.scope == SESSION:  # the session's subjects tell two heartsyncs apart
            subjects = f"{self.source}:" if self.source else ""
            return xml_safe(f"{self.prefix}:{socket.gethostname()}:{subjects}{spec.key}")
        return xml_safe(f"{self.prefix}:{self.source}:{self.subject}:{spec.key}")

    def stream_name(self, spec: StreamSpec) -> str:
        """``heartsync <subject> <title>`` (session streams: ``heartsync <title>``), XML-safe."""
        if spec.scope == SESSION:
            return f"heartsync {spec.title}"
        return xml_safe(f"heartsync {self.subject} {spec.title}")


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _bool(value: bool | None) -> float:
    return math.nan if value is None else float(bool(value))


def _rr_values(result: "BeatResult") -> tuple:
    beat = result.beat
    return (
        beat.rr_ms,
        beat.rr_raw_ms,
        float(ARTIFACT_CODES.get(beat.artifact, 6)),
        float(result.gap_before),
    )


def _hr_values(result: "BeatResult") -> tuple:
    hrv, quality = result.hrv, result.quality
    return (
        _num(hrv.hr_bpm),
        _num(hrv.rmssd_ms),
        _num(hrv.sdnn_ms),
        _num(getattr(hrv, "lf_ms2", None)),
        _num(hrv.hf_ms2),
        _num(quality.artifact_rate),
        _bool(quality.ok),
    )


def _arousal_values(result: "BeatResult") -> tuple | None:
    state = getattr(result, "arousal", None)
    if state is None:
        return None
    zone = ZONE_CODES.get(state.zone.value, math.nan)
    return (state.index, state.z_hr, state.z_vagal, zone)


RAW = StreamSpec(
    "raw",
    "RawRR",
    "raw RR",
    (
        Channel("RR", "ms", "RR"),
        Channel("HR_strap", "bpm", "HR"),
        Channel("contact", "bool", "contact"),
        Channel("order", "count", "index"),
    ),
    notes=(
        ("about", "every RR interval as the sensor sent it, stamped at the beat that ends it"),
        ("contact", "1 skin contact, 0 none, NaN the sensor does not say"),
        ("order", "arrival order of raw beats over all subjects (replays keep it)"),
    ),
)
RR = StreamSpec(
    "rr",
    "RR",
    "RR",
    (
        Channel("RR", "ms", "NN"),
        Channel("RR_raw", "ms", "RR"),
        Channel("artifact", "code", "artifact"),
        Channel("gap_before", "bool", "gap"),
    ),
    notes=(
        ("about", "artifact-corrected intervals (Lipponen & Tarvainen 2019), one per beat"),
        ("artifact", ", ".join(f"{v}={k or 'clean'}" for k, v in ARTIFACT_CODES.items())),
        ("RR_raw", "the raw interval ending at this beat; NaN where correction inserted it"),
    ),
    values=_rr_values,
)
HR = StreamSpec(
    "hr",
    "HR",
    "HR",
    (
        Channel("HR", "bpm", "HR"),
        Channel("RMSSD", "ms", "HRV"),
        Channel("SDNN", "ms", "HRV"),
        Channel("LF", "ms^2", "HRV"),
        Channel("HF", "ms^2", "HRV"),
        Channel("artifact_rate", "fraction", "quality"),
        Channel("signal_ok", "bool", "quality"),
    ),
    notes=(("about", "HR over 30 s, RMSSD/SDNN over 60 s, LF/HF over 120 s; NaN: not yet"),),
    values=_hr_values,
)
AROUSAL = StreamSpec(
    "arousal",
    "Arousal",
    "arousal",
    (
        Channel("index", "z", "arousal"),
        Channel("z_HR", "z", "arousal"),
        Channel("z_vagal", "z", "arousal"),
        Channel("zone", "code", "zone"),
    ),
    notes=(
        ("about", "arousal against the subject's window of tolerance (baseline)"),
        ("zone", "-1=hypo (low arousal), 0=window, 1=hyper, NaN=unknown"),
    ),
    values=_arousal_values,
)
MARKERS = StreamSpec(
    "markers",
    "Markers",
    "markers",
    (Channel("marker", "", "Marker"),),
    channel_format="string",
    scope=SESSION,
    notes=(("about", "annotations as typed; session events as JSON objects with an 'event' key"),),
)
SYNCHRONY = StreamSpec(
    "synchrony",
    "Synchrony",
    "synchrony",
    (
        Channel("index", "fraction", "synchrony"),
        Channel("index_raw", "fraction", "synchrony"),
        Channel("r_peak", "r", "synchrony"),
        Channel("lag", "s", "lag"),
        Channel("p", "probability", "synchrony"),
        Channel("session_r", "r", "synchrony"),
        Channel("session_ci_low", "r", "synchrony"),
        Channel("session_ci_high", "r", "synchrony"),
        Channel("session_p", "probability", "synchrony"),
        Channel("session_lag", "s", "lag"),
        Channel("session_segments", "count", "synchrony"),
    ),
    scope=SESSION,
    notes=(
        ("about", "heart-rate synchrony of the dyad, one sample per second (docs/synchrony.md)"),
        ("index", "smoothed surrogate percentile in [0, 1]; >= 0.95 significant; NaN no estimate"),
        ("lag", "s; > 0 means the second subject follows the first"),
        (
            "session",
            "session so far (updated every 30 s): r at the lag found, its 95 % interval, p "
            "against the partner rotated by 60 s - 10 min, lag, 30-s segments; NaN before ~3 min",
        ),
    ),
)


def synchrony_sample(
    estimate: "SynchronyEstimate", session: "SessionSynchrony | None"
) -> tuple[float, ...]:
    """One sample of :data:`SYNCHRONY`: the live estimate and the session so far."""
    s = session
    return (
        estimate.index,
        estimate.index_raw,
        estimate.r_peak,
        estimate.lag_s,
        estimate.p_value,
        *(
            (math.nan,) * 5 + (0.0,)
            if s is None
            else (s.r, s.ci_low, s.ci_high, s.p_value, s.lag_s, float(s.n_segments))
        ),
    )


PACER = StreamSpec(
    "pacer",
    "Pacer",
    "breathing pacer",
    (
        Channel("breaths", "count", "phase"),
        Channel("volume", "fraction", "breath"),
        Channel("rate", "breaths/min", "rate"),
        Channel("stage", "code", "stage"),
    ),
    nominal_srate=10.0,
    scope=SESSION,
    notes=(
        ("about", "the breathing pacer on stream time (app.breathing.session), 10 samples/s"),
        ("breaths", "breaths since the pacer started; the fraction is the phase, 0=inhale onset"),
        ("volume", "target lung volume, 0 empty to 1 full"),
        ("stage", "0=inhale, 1=hold after inhale, 2=exhale, 3=hold after exhale"),
    ),
)
ECG = StreamSpec(
    "ecg",
    "ECG",
    "ECG",
    (Channel("ecg", "microvolts", "ECG"),),
    nominal_srate=130.0,
    notes=(("about", "raw single-lead ECG of a Polar strap (PMD), strap clock onto LSL"),),
)
ACC = StreamSpec(
    "acc",
    "Accelerometer",
    "chest acceleration",
    (
        Channel("x", "milli-g", "Acceleration"),
        Channel("y", "milli-g", "Acceleration"),
        Channel("z", "milli-g", "Acceleration"),
    ),
    nominal_srate=50.0,  # the rate the strap streams at replaces this (25-200 Hz)
    notes=(("about", "3-axis acceleration of a Polar strap on the chest (PMD)"),),
)
RESPIRATION = StreamSpec(
    "respiration",
    "Respiration",
    "breathing from the chest",
    (
        Channel("rate", "breaths/min", "rate"),
        Channel("phase", "fraction", "phase"),
        Channel("lag", "s", "lag"),
        Channel("quality", "code", "quality"),
        Channel("regularity", "fraction", "quality"),
    ),
    nominal_srate=1.0,
    notes=(
        ("about", "breathing measured from chest acceleration (dsp.breathing.respiration), 1/s"),
        ("phase", "0=inhale onset, as the pacer stream's breaths fraction"),
        ("lag", "breath behind the pacer, s (negative: ahead; NaN without a pacer)"),
        ("quality", "0=ok, 1=warming up, 2=movement, 3=posture change, 4=irregular"),
    ),
)
#: Streams with one sample per processed beat, in the order sinks send them.
BEAT_STREAMS: tuple[StreamSpec, ...] = (RR, HR, AROUSAL)
#: Every stream heartsync knows (replay and docs look them up by key).
ALL_STREAMS = {
    s.key: s for s in (RAW, *BEAT_STREAMS, MARKERS, SYNCHRONY, PACER, ECG, ACC, RESPIRATION)
}


def stream_metadata(spec: StreamSpec, owner: StreamOwner) -> list[tuple[str, Any]]:
    """The ``desc`` tree of a stream: channels, acquisition, subject, heartsync.

    Returns a list of ``(tag, text or list)`` pairs; :func:`info_element` renders it as
    XML for the recorder, :mod:`app.streams.lsl_outlet` into the LSL stream info.
    """
    desc: list[tuple[str, Any]] = [
        (
            "channels",
            [
                ("channel", [("label", c.label), ("unit", c.unit), ("type", c.type)])
                for c in spec.channels
            ],
        )
    ]
    if spec.scope != SESSION:
        desc.append(
            (
                "acquisition",
                [
                    ("manufacturer", owner.manufacturer),
                    ("model", owner.model),
                    ("device", owner.device),
                    ("source", owner.source),
                ],
            )
        )
        desc.append(("subject", [("alias", owner.subject), ("role", owner.role or owner.subject)]))
    desc.append(
        (
            "heartsync",
            [("version", VERSION), ("stream", spec.key), *spec.notes],
        )
    )
    return desc


def info_element(spec: StreamSpec, owner: StreamOwner, created_at: float) -> ET.Element:
    """The stream header ``<info>`` element as LSL would describe the outlet."""
    info = ET.Element("info")
    for tag, text in (
        ("name", owner.stream_name(spec)),
        ("type", spec.type),
        ("channel_count", str(spec.channel_count)),
        ("nominal_srate", repr(float(spec.nominal_srate))),
        ("channel_format", spec.channel_format),
        ("source_id", owner.source_id(spec)),
        ("version", "1.1"),
        ("created_at", repr(float(created_at))),
        ("hostname", socket.gethostname()),
    ):
        ET.SubElement(info, tag).text = text
    _append_tree(ET.SubElement(info, "desc"), stream_metadata(spec, owner))
    return info


def _append_tree(parent: ET.Element, tree: list[tuple[str, Any]]) -> None:
    for tag, value in tree:
        child = ET.SubElement(parent, tag)
        if isinstance(value, list):
            _append_tree(child, value)
        else:
            child.text = str(value)


def owner_of(source: BeatSource, prefix: str = "heartsync") -> StreamOwner:
    """Metadata of the streams of one source's subject."""
    simulated = getattr(source, "simulated", False)
    manufacturer = getattr(source, "manufacturer", "") or ("heartsync" if simulated else "")
    model = getattr(source, "model", "") or ("simulated strap" if simulated else "")
    return StreamOwner(
        source.subject,
        source.name,
        source.status.device,
        manufacturer,
        model,
        getattr(source, "role", "") or "",
        prefix,
    )


class StreamSink:
    """Base of the sinks that publish :class:`StreamSpec` streams.

    Subclasses implement :meth:`push` (engine loop: must not block) and :meth:`close`.

    Parameters
    ----------
    sources : sequence of BeatSource
        The sources of the session (their subjects and devices name the streams).
    prefix : str
        First part of every ``source_id``.
    """

    def __init__(self, sources: Sequence[BeatSource] = (), prefix: str = "heartsync") -> None:
        self.prefix = prefix
        self.owners: dict[str, StreamOwner] = {s.subject: owner_of(s, prefix) for s in sources}
        self._session = StreamOwner(SESSION, "+".join(sorted(self.owners)), prefix=prefix)
        self.raw_count = 0

    # -- what the engine calls ------------------------------------------------------
    def write(self, result: "BeatResult") -> None:
        """One processed beat: one sample on each per-beat stream that has a value."""
        owner = self.owner(result.subject)
        for spec in BEAT_STREAMS:
            values = spec.values(result)
            if values is not None:
                self.push(spec, owner, result.beat.t, values)

    def write_raw(self, beat: Beat) -> None:
        """One raw beat as the source sent it."""
        owner = self.owner(beat.subject)
        if beat.source and beat.source != owner.source:  # the subject changed straps
            owner = self._set_owner(replace(owner, source=beat.source))
        values = (beat.rr_ms, _num(beat.hr_bpm), _bool(beat.contact), float(self.raw_count))
        self.raw_count += 1
        self.push(RAW, owner, beat.t, values)

    def write_marker(self, t: float, text: str) -> None:
        """A user annotation."""
        self.push(MARKERS, self._session, t, (text,))

    def write_event(self, t: float, event: dict) -> None:
        """A session event (status, baseline, paced breathing...) as a JSON marker.

        ``order`` is added: the event happened before raw beat number ``order``, which
        is where a replay applies it.
        """
        payload = {**event, "order": self.raw_count}
        self.push(MARKERS, self._session, t, (json.dumps(payload, separators=(",", ":")),))

    def write_sample(self, spec: StreamSpec, subject: str, t: float, values: Sequence) -> None:
        """One sample of any declared stream (``Engine.publish``)."""
        owner = self._session if spec.scope == SESSION else self.owner(subject)
        self.push(spec, owner, t, tuple(values))

    def status(self, subject: str, source: str, status: SourceStatus) -> None:
        """Learn device details from the status (they name the streams' device)."""
        owner = self.owner(subject)
        changed = replace(
            owner, source=source or owner.source, device=status.device or owner.device
        )
        if changed != owner:
            self._set_owner(changed)

    # -- for subclasses ---------------------------------------------------------------
    def owner(self, subject: str) -> StreamOwner:
        """The current metadata of a subject's streams."""
        owner = self.owners.get(subject)
        if owner is None:
            owner = self._set_owner(StreamOwner(subject, prefix=self.prefix))
        return owner

    def _set_owner(self, owner: StreamOwner) -> StreamOwner:
        self.owners = {**self.owners, owner.subject: owner}  # swap: readers see old or new
        self.owner_changed(owner)
        return owner

    def owner_changed(self, owner: StreamOwner) -> None:
        """A subject's source or device changed (override to react)."""

    def push(self, spec: StreamSpec, owner: StreamOwner, t: float, values: Sequence) -> None:
        """Send one sample (subclasses; engine loop: must not block)."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish."""
