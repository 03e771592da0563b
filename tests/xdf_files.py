"""XDF files for tests: a two-stream example, a mixed one (deduced stamps, int16, text) and
recordings by the real recorder with a chunk layout chosen by the test, not by timing."""

import asyncio
import dataclasses
import itertools
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import app.engine as engine_module
import app.recording.recorder as recorder_module
from app.engine import Engine
from app.recording.recorder import XdfRecorder
from app.streams.specs import StreamSink
from sensors import xdf
from sensors.simulated import SimSettings, SimulatedSource


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


class _Pushes(StreamSink):
    """A sink that keeps every ``push`` the engine's sink calls make, in order."""

    def __init__(self, sources):
        super().__init__(sources)
        self.pushes = []

    def push(self, spec, owner, t, values):
        self.pushes.append((spec, owner, t, tuple(values)))


def session_pushes(seed=3, duration_s=300):
    """(source, pushes): what a real engine hands a recorder for one simulated person
    (speed 0, timestamps from 1000 s): two start markers, the beats, a stop marker.

    The engine's clock is held still, so its markers take stream times: the same every run.
    """
    source = SimulatedSource(SimSettings(seed=seed, artifact_rate=0.02), speed=0, start_s=1000.0)
    sink = _Pushes([source])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "now", lambda: 1000.0)  # held still at the source's start
        engine = Engine([source], [sink])
        engine.mark("start")
        asyncio.run(engine.run(duration_s=duration_s))
    return source, sink.pushes


def recorder_layout(path, source, pushes, flush_after, settings):
    """Record ``pushes`` with the real :class:`XdfRecorder`, writing after the pushes whose
    indices are in ``flush_after`` and at close: the chunk layout is fixed, not timed.

    The writer thread is parked (a flush interval of days: only ``close`` wakes it), so
    the test thread runs its ``_flush`` in its place at the chosen points; with clock
    offset and boundary intervals of 0 or days, what each write holds is fixed too. The
    recorder's clock counts whole seconds, so every byte but the header's date is fixed.
    """
    settings = dataclasses.replace(settings, flush_interval_s=1e6, fsync=False)
    clock = itertools.count(2000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recorder_module, "now", lambda: float(next(clock)))  # same bytes every run
        recorder = XdfRecorder(path, [source], settings)
        for k, (spec, owner, t, values) in enumerate(pushes):
            recorder.push(spec, owner, t, values)
            if k in flush_after:
                recorder._flush()
        recorder.close()
    assert recorder.error is None and xdf.read_xdf(path).closed
