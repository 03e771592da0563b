"""What a recording holds once read: its streams, and what the reader had to work around."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class XdfStream:
    """One stream of a recording.

    Attributes
    ----------
    stream_id : int
        The id the file gives the stream.
    info : xml.etree.ElementTree.Element
        The stream header's ``<info>`` element (name, type, desc, ...).
    time_stamps : numpy array of float
        One timestamp per sample, seconds, as written (no clock correction applied).
    time_series : numpy array (samples x channels) or list of list of str
        The values; strings for ``string`` streams.
    clock_times, clock_values : list of float
        ClockOffset chunks: collection times and offsets, seconds.
    footer : xml.etree.ElementTree.Element or None
        The footer's ``<info>``; None when the writer never closed the stream.
    """

    stream_id: int
    info: ET.Element
    time_stamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_series: np.ndarray | list = field(default_factory=list)
    clock_times: list[float] = field(default_factory=list)
    clock_values: list[float] = field(default_factory=list)
    footer: ET.Element | None = None

    def text(self, path: str, default: str = "") -> str:
        """Text of the header element at ``path`` (e.g. ``"desc/subject/alias"``)."""
        node = self.info.find(path)
        return default if node is None or node.text is None else node.text.strip()

    @property
    def name(self) -> str:
        """Stream name."""
        return self.text("name")

    @property
    def type(self) -> str:
        """Content type (``RR``, ``Markers``, ...)."""
        return self.text("type")

    @property
    def source_id(self) -> str:
        """The stream's source_id ("" when none)."""
        return self.text("source_id")

    @property
    def channel_format(self) -> str:
        """Value format, one of :data:`FORMATS`."""
        return self.text("channel_format")

    @property
    def channel_count(self) -> int:
        """Values per sample."""
        return int(self.text("channel_count", "0"))

    @property
    def nominal_srate(self) -> float:
        """Declared sampling rate, Hz (0 for irregular streams)."""
        return float(self.text("nominal_srate", "0") or 0)

    @property
    def channels(self) -> list[dict[str, str]]:
        """Channel descriptions (``label``, ``unit``, ``type``) from ``desc/channels``."""
        out = []
        for channel in self.info.findall("desc/channels/channel"):
            out.append({child.tag: (child.text or "").strip() for child in channel})
        return out

    @property
    def labels(self) -> list[str]:
        """Channel labels (empty strings where the header names none)."""
        channels = self.channels
        if len(channels) != self.channel_count:
            return [""] * self.channel_count
        return [c.get("label", "") for c in channels]


@dataclass
class XdfRecording:
    """A loaded XDF file.

    Attributes
    ----------
    path : Path
        Where it was read from.
    header : xml.etree.ElementTree.Element
        The file header's ``<info>``.
    streams : list of XdfStream
        In the order their headers appear.
    file_bytes : int
        Size of the file.
    valid_bytes : int
        End of the last whole chunk; the rest is a chunk cut short (crash, full disk).
    skipped_bytes : int
        Bytes skipped inside the file because they were damaged.
    problems : list of str
        What the reader had to work around, worded for the user.
    chunks : list of (int, int, int, int)
        ``(offset, end, tag, stream_id)`` of every whole chunk read (``stream_id`` -1
        for chunks of no stream), for :func:`~sensors.xdf.repair.repair_xdf`.
    mended : dict of int to bytes
        Chunks that were read despite damage (a wrong length, a sample count that did
        not fit, forbidden characters in XML), by offset: their clean re-encoding.
    """

    path: Path
    header: ET.Element
    streams: list[XdfStream]
    file_bytes: int
    valid_bytes: int
    skipped_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    chunks: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)
    mended: dict[int, bytes] = field(default_factory=dict, repr=False)

    @property
    def truncated(self) -> bool:
        """True when the file ends inside a chunk."""
        return self.valid_bytes < self.file_bytes

    @property
    def closed(self) -> bool:
        """True when every stream has a footer and nothing was damaged."""
        return (
            not self.truncated
            and not self.skipped_bytes
            and not self.mended
            and all(s.footer is not None for s in self.streams)
        )

    def find(self, **fields: str) -> list[XdfStream]:
        """Streams whose header fields equal the given ones (``type="RR"``, ...).

        Keys are header paths with ``/`` written as ``__`` (``desc__subject__alias``).
        """
        return [
            s
            for s in self.streams
            if all(s.text(k.replace("__", "/")) == v for k, v in fields.items())
        ]
