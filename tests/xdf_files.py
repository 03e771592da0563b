"""XDF files for tests: a two-stream example and a mixed one (deduced stamps, int16, text)."""

import struct
import xml.etree.ElementTree as ET

import numpy as np

from sensors import xdf


def info(name, kind, channels, fmt="double64", srate=0.0, source_id=""):
    """A stream header ``<info>`` with labelled channels ``[(label, unit), ...]``."""
    element = ET.Element("info")
    for tag, text in (
        ("name", name),
        ("type", kind),
        ("channel_count", str(len(channels))),
        ("nominal_srate", str(srate)),
        ("channel_format", fmt),
        ("source_id", source_id),
    ):
        ET.SubElement(element, tag).text = text
    chans = ET.SubElement(ET.SubElement(element, "desc"), "channels")
    for label, unit in channels:
        ch = ET.SubElement(chans, "channel")
        ET.SubElement(ch, "label").text = label
        ET.SubElement(ch, "unit").text = unit
    return element


def file_header():
    """Magic and a file header chunk."""
    header = ET.Element("info")
    ET.SubElement(header, "version").text = "1.0"
    return xdf.MAGIC + xdf.file_header_chunk(header)


def mixed_recording(path, blocks=8):
    """Three streams over ``blocks`` rounds: RR (double64), markers (string, UTF-8) and a
    100 Hz int16 stream whose timestamps are left out after the first of each chunk;
    boundaries every third round; no footers (the writer 'died')."""
    rng = np.random.default_rng(0)
    t = 1000 + np.cumsum(rng.uniform(0.4, 1.2, 50 * blocks))
    parts = [
        file_header(),
        xdf.stream_header_chunk(1, info("beats", "RR", [("RR", "ms")] * 3)),
        xdf.stream_header_chunk(2, info("m", "Markers", [("m", "")], "string")),
        xdf.stream_header_chunk(3, info("eeg", "EEG", [("a", "uV"), ("b", "uV")], "int16", 100.0)),
    ]
    for k in range(blocks):
        part = slice(50 * k, 50 * k + 50)
        parts.append(xdf.samples_chunk(1, "double64", 3, t[part], rng.normal(800, 50, (50, 3))))
        marks = [[f"marker {k}.{i} — ü"] for i in range(5)]
        parts.append(xdf.samples_chunk(2, "string", 1, t[part][:5] + 0.1, marks))
        content = struct.pack("<I", 3) + xdf.varlen(100)
        for j in range(100):
            content += (b"\x08" + struct.pack("<d", 2000.0 + k)) if j == 0 else b"\x00"
            content += struct.pack("<hh", j, -j)
        parts.append(xdf.chunk(xdf.Tag.SAMPLES, content))
        parts.append(xdf.clock_offset_chunk(1, 5.0 * k, 0.0))
        if k % 3 == 2:
            parts.append(xdf.boundary_chunk())
    path.write_bytes(b"".join(parts))
