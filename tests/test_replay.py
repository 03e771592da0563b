"""Replay: a recording through the pipeline reproduces the live session exactly."""

import asyncio
import logging
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from app.sources import SourceSpecError, build_sources, parse_source_spec
from dsp.arousal import calibrate
from dsp.tolerance.estimator import ArousalSettings
from sensors import xdf
from sensors.base import BaseSource
from sensors.clock import now
from sensors.replay import ReplayError, replay_sources
from sensors.simulated import SimSettings, SimulatedSource, simulate
from sensors.xdf import RecordingError
from tests.helpers import CollectSink

CLI = [sys.executable, "-m", "ui"]


class PacedAt(BaseSource):
    """A simulated strap whose wearer starts paced breathing at beat ``on`` and stops at ``off``."""

    def __init__(self, inner, engine_box, on, off):
        super().__init__(inner.name, inner.subject)
        self.inner, self.box, self.on, self.off = inner, engine_box, on, off
        inner.add_status_listener(lambda _name, status: self._set_status(status))

    async def beats(self):
        k = 0
        async for beat in self.inner.beats():
            if k == self.on:
                self.box[0].set_paced(True, self.subject)
            if k == self.off:
                self.box[0].set_paced(False, self.subject)
            k += 1
            yield beat


def key(result):
    arousal = result.arousal
    return (
        result.subject,
        result.beat,
        result.gap_before,
        result.hrv,
        result.quality,
        None if arousal is None else (arousal.index, arousal.zone, arousal.z_hr, arousal.reason),
    )


def assert_same(live, replayed):
    assert len(live) == len(replayed)
    for a, b in zip(live, replayed, strict=True):
        # NaN-safe equality: compare the reprs of the frozen dataclasses
        assert repr(key(a)) == repr(key(b))


@pytest.fixture(scope="module")
def baseline():
    rest = simulate(SimSettings(seed=21), 420)
    return calibrate(rest["t_s"], rest["rr_ms"])


def test_dyad_replay_equals_live_zones_included(tmp_path, baseline):
    path = tmp_path / "dyad.xdf"
    box = []
    client = PacedAt(
        SimulatedSource(
            SimSettings(
                seed=5,
                subject="client",
                scenario="stress",
                onset_s=400,
                step_s=200,
                artifact_rate=0.03,
            ),
            speed=0,
        ),
        box,
        on=300,
        off=500,
    )
    therapist = SimulatedSource(SimSettings(seed=6, subject="therapist"), speed=0)
    live = CollectSink()
    rec = XdfRecorder(path, [client, therapist], RecorderSettings(flush_interval_s=0.05))
    engine = Engine([client, therapist], [live, rec])
    box.append(engine)
    engine.set_baseline("client", baseline, ArousalSettings(band_widen=0.2))
    engine.set_baseline("therapist", baseline)
    asyncio.run(engine.run(duration_s=1200))
    zones = {r.arousal.zone.value for r in live.results if r.arousal is not None}
    assert {"window", "hyper"} <= zones  # the session has something to reproduce

    sources = replay_sources(path, speed=0)
    assert [s.subject for s in sources] == ["client", "therapist"]
    offline = CollectSink()
    asyncio.run(Engine(sources, [offline]).run())
    assert_same(live.results, offline.results)  # same beats, HRV, zones, same interleaving


def test_replay_paces_at_the_requested_speed(tmp_path):
    """At speed 40 no beat is released before its time: t_first + (t - t_first) / 40 of
    wall time after the start (a busy machine may be late, never early)."""
    path = tmp_path / "short.xdf"
    source = SimulatedSource(SimSettings(seed=1), speed=0)
    rec = XdfRecorder(path, [source], RecorderSettings(flush_interval_s=0.05))
    asyncio.run(Engine([source], [rec]).run(duration_s=60))
    (replay,) = replay_sources(path, speed=40)
    released = []

    class Clocked(CollectSink):
        def write_raw(self, beat):
            released.append((beat.t, now()))

    asyncio.run(Engine([replay], [Clocked()]).run())
    session = replay.session
    assert len(released) == session.count(replay.recorded_subject) > 50
    for t, at in released:
        due = session._wall_start + (t - session.t_first) / 40
        assert at >= due - 1e-3, f"beat {t:.2f} released {due - at:.3f} s early"
    last_t, last_at = released[-1]
    assert last_at - session._wall_start >= (last_t - session.t_first) / 40 - 1e-3


def _third_party(path):
    """A LabRecorder-style file: an IBI stream in seconds and an HR-only stream."""

    def info(name, kind, label, unit, source_id):
        element = ET.Element("info")
        for tag, text in (
            ("name", name),
            ("type", kind),
            ("channel_count", "1"),
            ("nominal_srate", "0"),
            ("channel_format", "float32"),
            ("source_id", source_id),
        ):
            ET.SubElement(element, tag).text = text
        channel = ET.SubElement(
            ET.SubElement(ET.SubElement(element, "desc"), "channels"), "channel"
        )
        ET.SubElement(channel, "label").text = label
        ET.SubElement(channel, "unit").text = unit
        return element

    header = ET.Element("info")
    ET.SubElement(header, "version").text = "1.0"
    rr_s = np.array([0.8, 0.82, 0.79, 0.81, 0.8], np.float32)
    t = 100.0 + np.cumsum(rr_s.astype(float))
    hr_t = 100.0 + np.arange(5.0)
    path.write_bytes(
        xdf.MAGIC
        + xdf.file_header_chunk(header)
        + xdf.stream_header_chunk(1, info("PolarBand", "IBI", "IBI", "s", "polar-1"))
        + xdf.stream_header_chunk(2, info("Watch", "HeartRate", "BPM", "", "watch-1"))
        + xdf.samples_chunk(1, "float32", 1, t, rr_s[:, None])
        + xdf.samples_chunk(2, "float32", 1, hr_t, np.full((5, 1), 60.0))
    )
    return t, rr_s


def test_third_party_recordings_replay(tmp_path):
    path = tmp_path / "lab.xdf"
    t, rr_s = _third_party(path)
    sources = replay_sources(path, speed=0)
    assert [s.subject for s in sources] == ["PolarBand", "Watch"]
    raw = CollectSink()
    asyncio.run(Engine(sources, [raw]).run())
    polar = [b for b in raw.raw if b.subject == "PolarBand"]
    np.testing.assert_allclose([b.rr_ms for b in polar], rr_s.astype(float) * 1000)
    np.testing.assert_array_equal([b.t for b in polar], t)
    watch = [b for b in raw.raw if b.subject == "Watch"]
    assert [b.rr_ms for b in watch] == [1000.0] * 5  # one beat a second at 60 bpm
    (only,) = replay_sources(path, stream="watch-1", rename="me")
    assert only.subject == "me"


def test_unreplayable_files_say_why(tmp_path):
    markers_only = tmp_path / "markers.xdf"
    header = ET.Element("info")
    info = ET.Element("info")
    for tag, text in (("name", "m"), ("type", "Markers"), ("channel_count", "1")):
        ET.SubElement(info, tag).text = text
    ET.SubElement(info, "nominal_srate").text = "0"
    ET.SubElement(info, "channel_format").text = "string"
    markers_only.write_bytes(
        xdf.MAGIC
        + xdf.file_header_chunk(header)
        + xdf.stream_header_chunk(1, info)
        + xdf.samples_chunk(1, "string", 1, [1.0], [["go"]])
    )
    with pytest.raises(ReplayError, match="no RR or heart-rate stream"):
        replay_sources(markers_only)
    with pytest.raises(RecordingError, match="not an XDF file"):
        replay_sources(tmp_path / "x.txt") if (tmp_path / "x.txt").write_text("hi") else None
    dyad = tmp_path / "d.xdf"
    _third_party(dyad)
    with pytest.raises(ReplayError, match="no subject 'nobody'"):
        replay_sources(dyad, subject="nobody")
    with pytest.raises(SourceSpecError, match="cannot replay"):
        build_sources(parse_source_spec(f"replay:{markers_only}"), "self")


@pytest.mark.parametrize("content", [b"", b"XDF:" + struct.pack("<BHB", 1, 9, 1), b"GIF89a"])
def test_cli_replay_of_a_bad_file_is_one_line(tmp_path, content):
    path = tmp_path / "bad.xdf"
    path.write_bytes(content)
    out = subprocess.run(
        [*CLI, "run", "--headless", "--speed", "0", "--source", f"replay:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr and "cannot replay" in out.stderr


def test_a_recording_started_mid_session_knows_the_baseline(tmp_path, baseline):
    path = tmp_path / "late.xdf"
    source = SimulatedSource(SimSettings(seed=8), speed=0)
    engine = Engine([source])
    engine.set_baseline("self", baseline)
    engine.set_paced(True)

    async def session():
        await engine.add_sink(XdfRecorder(path, [source]))
        await engine.run(duration_s=120)

    asyncio.run(session())
    (replay,) = replay_sources(path, speed=0)
    kinds = [
        (item.payload.kind, item.payload.data.get("paced"))
        for item in replay.session.items
        if not hasattr(item.payload, "rr_ms")
    ]
    assert ("baseline", None) in kinds and ("paced", True) in kinds


def test_damaged_events_and_times_are_skipped_not_fatal(tmp_path, baseline, caplog):
    """A session event whose values were damaged (a baseline with a word for a number,
    settings a newer version wrote) and a raw beat whose time became 2.5e79 s: the replay
    skips them, says so once each, and replays every other beat."""
    path = tmp_path / "events.xdf"
    source = SimulatedSource(SimSettings(seed=8), speed=0)
    recorder = XdfRecorder(path, [source], RecorderSettings(flush_interval_s=0.05))
    engine = Engine([source], [recorder])
    engine.set_baseline("self", baseline)
    asyncio.run(engine.run(duration_s=120))
    data = path.read_bytes()
    good = next(s for s in xdf.read_xdf(path).streams if s.type == "RawRR")
    n = len(good.time_stamps)
    hr_field = b'"hr_bpm":' + repr(baseline.hr_bpm).encode()
    assert data.count(hr_field) == 1
    damaged = data.replace(hr_field, b'"hr_bpm":"sixty"'.ljust(len(hr_field)))
    assert len(damaged) == len(data)  # same length: only the value is damaged
    stamp = struct.pack("<d", good.time_stamps[10])
    at = damaged.index(stamp)
    damaged = damaged[:at] + struct.pack("<d", 2.5e79) + damaged[at + 8 :]
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(damaged)
    with caplog.at_level(logging.WARNING, "sensors.replay"):
        (replay,) = replay_sources(bad, speed=0)
    collect = CollectSink()
    asyncio.run(Engine([replay], [collect]).run())
    assert len(collect.raw) == n - 1  # every beat but the one whose time was damaged
    assert [b.t for b in collect.raw] == sorted(b.t for b in collect.raw)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "damaged baseline event skipped" in messages and "1 beats of self dropped" in messages
