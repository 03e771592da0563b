"""Lab Streaming Layer outlets: every declared stream of every subject, opt-in.

Off by default (health data on a shared network): ``--lsl`` or the window's LSL toggle
creates an :class:`LslOutletSink`. Per subject it publishes, once the subject's source
is connected (so the device is known), the raw RR, corrected RR and HR/HRV streams;
the arousal stream starts with the first arousal value; one marker stream carries
annotations and session events. Beat-wise streams are irregular-rate, one sample per
beat, stamped with the beat time (LSL clock), so a consumer sees when the heart beat,
not when the radio delivered it.

Each stream's ``source_id`` is ``heartsync:<source>:<subject>:<stream>`` (the source is
the strap's address or the simulator's seed), so LabRecorder reconnects to the same
streams after heartsync restarts. Metadata follow the XDF meta-data conventions
(``desc/channels``, ``desc/acquisition``) plus ``desc/subject`` (alias, role) and
``desc/heartsync`` (code tables); :mod:`app.streams.specs` declares all of it.
"""

import logging
from collections.abc import Sequence
from typing import Any

import pylsl

from app.streams.specs import (
    HR,
    MARKERS,
    RAW,
    RR,
    SESSION,
    StreamOwner,
    StreamSink,
    StreamSpec,
    stream_metadata,
)
from sensors.base import BeatSource, SourceState, SourceStatus
from sensors.xdf.text import xml_safe

log = logging.getLogger(__name__)

#: Streams announced as soon as a subject's source connects (others start with data).
EAGER_STREAMS = (RAW, RR, HR)
_FORMATS = {"double64": pylsl.cf_double64, "string": pylsl.cf_string}


def stream_info(spec: StreamSpec, owner: StreamOwner) -> pylsl.StreamInfo:
    """The LSL stream info of one stream, with its full ``desc`` metadata."""
    info = pylsl.StreamInfo(
        owner.stream_name(spec),
        spec.type,
        spec.channel_count,
        spec.nominal_srate or pylsl.IRREGULAR_RATE,
        _FORMATS[spec.channel_format],
        owner.source_id(spec),
    )
    _append(info.desc(), stream_metadata(spec, owner))
    return info


def _append(node: Any, tree: list[tuple[str, Any]]) -> None:
    for tag, value in tree:
        if isinstance(value, list):
            _append(node.append_child(tag), value)
        else:
            node.append_child_value(tag, xml_safe(str(value)))  # strap strings, names


class LslOutletSink(StreamSink):
    """A sink that publishes every stream as an LSL outlet.

    Parameters
    ----------
    sources : sequence of BeatSource
        The session's sources.
    prefix : str
        First part of every ``source_id`` (tests use a unique one).
    max_buffered_s : float
        Seconds of samples an outlet keeps for a slow consumer.
    """

    def __init__(
        self,
        sources: Sequence[BeatSource] = (),
        prefix: str = "heartsync",
        max_buffered_s: float = 360.0,
    ) -> None:
        super().__init__(sources, prefix)
        self.max_buffered_s = max_buffered_s
        self._outlets: dict[str, pylsl.StreamOutlet] = {}
        self._names: tuple[str, ...] = ()
        self._current: dict[tuple[str, str], tuple[StreamSpec, str]] = {}  # -> spec, source_id
        self.closed = False
        self._outlet(MARKERS, self._session)
        for source in sources:
            if source.status.state is SourceState.CONNECTED:
                self._announce(source.subject)

    @property
    def stream_names(self) -> list[str]:
        """Names of the streams published now (safe to read from the UI thread)."""
        return list(self._names)

    @property
    def source_ids(self) -> list[str]:
        """``source_id`` of every stream published now."""
        return list(self._outlets)

    def consumers(self) -> int:
        """Outlets with at least one consumer connected (non-blocking check)."""
        return sum(1 for outlet in self._outlets.values() if outlet.have_consumers())

    def status(self, subject: str, source: str, status: SourceStatus) -> None:
        """Announce the subject's streams once its source is connected."""
        super().status(subject, source, status)
        if status.state is SourceState.CONNECTED:
            self._announce(subject)

    def push(self, spec: StreamSpec, owner: StreamOwner, t: float, values: Sequence) -> None:
        """Push one sample stamped ``t`` (non-blocking: liblsl queues it)."""
        if self.closed:
            return
        outlet = self._outlet(spec, owner)
        if spec.channel_format == "string":
            outlet.push_sample([str(v) for v in values], t)
        else:
            outlet.push_sample([float(v) for v in values], t)

    def owner_changed(self, owner: StreamOwner) -> None:
        """A subject's source changed: its streams move to the new ``source_id``."""
        for (subject, key), (spec, source_id) in list(self._current.items()):
            if subject == owner.subject and source_id != owner.source_id(spec):
                del self._current[(subject, key)]
                outlet = self._outlets.pop(source_id, None)
                if outlet is not None:
                    log.info("LSL: %s closes (source changed)", source_id)
                    del outlet
        self._names = tuple(o.get_info().name() for o in self._outlets.values())

    def close(self) -> None:
        """Withdraw every outlet."""
        self.closed = True
        self._names = ()
        self._outlets.clear()
        self._current.clear()

    def _announce(self, subject: str) -> None:
        if self.closed:
            return
        owner = self.owner(subject)
        for spec in EAGER_STREAMS:
            self._outlet(spec, owner)

    def _outlet(self, spec: StreamSpec, owner: StreamOwner) -> pylsl.StreamOutlet:
        source_id = owner.source_id(spec)
        outlet = self._outlets.get(source_id)
        if outlet is None:
            info = stream_info(spec, owner)
            outlet = pylsl.StreamOutlet(info, 0, int(self.max_buffered_s))
            self._outlets[source_id] = outlet
            self._names = (*self._names, info.name())
            subject = SESSION if spec.scope == SESSION else owner.subject
            self._current[(subject, spec.key)] = (spec, source_id)
            log.info(
                "LSL: publishing %r (type %s, source_id %s)", info.name(), spec.type, source_id
            )
        return outlet
