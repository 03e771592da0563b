"""LSL outlets, checked by a plain pylsl inlet written here (not heartsync's)."""

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import pylsl
import pytest

from app.engine import Engine
from app.runtime import EngineThread
from app.streams.lsl_outlet import LslOutletSink
from app.streams.specs import RAW, RR, StreamOwner
from sensors.base import BaseSource, Beat, SourceState, SourceStatus
from sensors.clock import now
from tests.helpers import CollectSink

CLI = [sys.executable, "-m", "ui"]


class Gated(BaseSource):
    """A strap that connects, then sends its beats once the test opens the gate."""

    manufacturer = "Acme"
    model = "Strap 2"

    def __init__(self, subject, beats):
        super().__init__("ble:AA:BB:CC:DD:EE:FF", subject)
        self._beats = beats
        self.gate: asyncio.Event | None = None

    async def beats(self):
        self.gate = asyncio.Event()
        self._set_status(SourceStatus(SourceState.CONNECTED, "ok", now(), 80, "Acme Strap 2 (AA)"))
        await self.gate.wait()
        for beat in self._beats:
            yield beat
            await asyncio.sleep(0.001)
        await asyncio.Event().wait()  # stay connected until the engine stops


def resolve(source_id, timeout=10.0):
    found = pylsl.resolve_bypred(f"source_id='{source_id}'", 1, timeout)
    assert found, f"no stream {source_id!r}"
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    inlet.open_stream(timeout=10)
    return inlet


def pull_until(inlet, n, timeout=10.0):
    samples, stamps = [], []
    deadline = time.monotonic() + timeout
    while len(samples) < n and time.monotonic() < deadline:
        chunk, ts = inlet.pull_chunk(timeout=0.1)
        samples += chunk
        stamps += ts
    return samples, stamps


def desc(inlet):
    return ET.fromstring(inlet.info(timeout=5).as_xml())


def test_every_beat_with_its_beat_time_and_metadata():
    prefix = f"t{secrets.token_hex(4)}"
    start = now() + 100.0
    t, beats = start, []
    for i in range(120):
        rr = 800.0 + 40 * ((i % 7) - 3) + (900 if i == 60 else 0)  # one long beat
        t += rr / 1000
        beats.append(Beat("client", t, rr, 72.0 if i % 3 else None, True, "ble:AA:BB:CC:DD:EE:FF"))
    source = Gated("client", beats)
    collect = CollectSink()
    sink = LslOutletSink([source], prefix=prefix)
    engine = Engine([source], [collect, sink])
    runner = EngineThread(engine)
    runner.start()
    try:
        base = f"{prefix}:ble:AA:BB:CC:DD:EE:FF:client"
        raw, rr_in, hr_in = (resolve(f"{base}:{k}") for k in ("raw", "rr", "hr"))
        markers = resolve(f"{prefix}:{socket.gethostname()}:client:markers")
        wait_until(lambda: source.gate is not None, "the source to start")

        async def go():
            source.gate.set()
            engine.mark("client smiles")

        runner.submit(go()).result(5)
        samples, stamps = pull_until(raw, len(beats))
        assert len(samples) == len(beats)
        for beat, sample, stamp in zip(beats, samples, stamps, strict=True):
            assert abs(stamp - beat.t) < 1e-3
            assert sample[0] == beat.rr_ms
        assert stamps == [b.t for b in beats]  # in fact exact
        wait_until(lambda: len(collect.raw) == len(beats), "every raw beat")
        runner.submit(asyncio.sleep(0)).result(60)  # the loop finished processing them
        expected = list(collect.results)
        rr_samples, rr_stamps = pull_until(rr_in, len(expected))
        assert rr_stamps == [r.beat.t for r in expected]
        assert [s[0] for s in rr_samples] == [r.beat.rr_ms for r in expected]
        assert any(s[2] > 0 for s in rr_samples)  # the long beat's artifact code
        hr_samples, _ = pull_until(hr_in, len(expected))
        assert len(hr_samples) == len(expected)
        texts, _ = pull_until(markers, 1, timeout=3)
        assert ["client smiles"] in texts

        info = desc(rr_in)
        assert (
            info.findtext("type") == "RR" and info.findtext("nominal_srate") == "0.000000000000000"
        )
        assert info.findtext("channel_format") == "double64"
        labels = [c.findtext("label") for c in info.findall("desc/channels/channel")]
        units = [c.findtext("unit") for c in info.findall("desc/channels/channel")]
        assert labels == ["RR", "RR_raw", "artifact", "gap_before"]
        assert units == ["ms", "ms", "code", "bool"]
        assert info.findtext("desc/acquisition/manufacturer") == "Acme"
        assert info.findtext("desc/acquisition/model") == "Strap 2"
        assert info.findtext("desc/subject/alias") == "client"
        assert info.findtext("desc/subject/role") == "client"
        assert "1=ectopic" in info.findtext("desc/heartsync/artifact")
        assert desc(raw).findtext("type") == "RawRR"
        assert sorted(sink.stream_names) == [
            "heartsync client HR",
            "heartsync client RR",
            "heartsync client raw RR",
            "heartsync markers",
        ]
    finally:
        runner.stop()
    assert not runner.alive


def test_source_ids_are_stable_per_strap_and_role():
    a = StreamOwner("client", "ble:AA", prefix="heartsync")
    b = StreamOwner("client", "ble:AA", device="other text", prefix="heartsync")
    assert a.source_id(RR) == b.source_id(RR) == "heartsync:ble:AA:client:rr"
    assert a.source_id(RAW) != StreamOwner("therapist", "ble:AA").source_id(RAW)
    assert a.stream_name(RR) == "heartsync client RR"


def test_outlets_are_off_unless_asked_for():
    subject = f"off{secrets.token_hex(3)}"
    proc = subprocess.Popen(
        [*CLI, "run", "--headless", "--source", f"sim:subject={subject}", "--duration", "20"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        for line in proc.stderr:
            if "connected" in line:
                break
        found = pylsl.resolve_bypred(f"contains(source_id,'{subject}')", 0, 1.5)
        assert found == []
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()
    assert proc.returncode == 0  # SIGTERM stops cleanly


@pytest.mark.parametrize("subject", ["a b", "x'y", "both'\"quotes", "HR\x01Band"])
def test_odd_subject_names_publish_and_are_found_by_name(subject):
    """Names with spaces, either quote kind or a control character: the outlet publishes,
    an inlet finds it by that exact name, and the marker event says who it was about."""
    from sensors.lsl_inlet import LslInletSource

    prefix = f"t{secrets.token_hex(4)}"
    sink = LslOutletSink(prefix=prefix)
    try:
        sink.write_raw(Beat(subject, now(), 800.0, None, None, "sim"))
        (name,) = [n for n in sink.stream_names if "raw" in n.lower()]
        source = LslInletSource(name, "reader", resolve_timeout_s=30)
        collect = CollectSink()
        runner = EngineThread(Engine([source], [collect]), keep_alive=True)
        runner.start()
        try:
            wait_until(lambda: source.status.state is SourceState.CONNECTED, "connected")
            sink.write_raw(Beat(subject, now(), 810.0, None, None, "sim"))
            wait_until(lambda: collect.raw, "a beat through the inlet")
            assert collect.raw[-1].rr_ms == pytest.approx(810.0)
        finally:
            runner.stop()
        sink.write_event(now(), {"event": "paced", "subject": subject, "paced": True})
        inlet = resolve(next(i for i in sink.source_ids if i.endswith("markers")))
        sink.write_event(now(), {"event": "paced", "subject": subject, "paced": False})
        (text,), _ = inlet.pull_sample(timeout=30)
        assert json.loads(text)["subject"] == subject
    finally:
        sink.close()
    assert sink.stream_names == []


def wait_until(condition, what, timeout=60.0):
    """Wait for ``condition()`` (polling); fail naming ``what`` after ``timeout`` seconds."""
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        done.wait(0.02)
