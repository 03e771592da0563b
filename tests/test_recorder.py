"""The XDF recorder: exact read-back in pyxdf, kill -9, full disk, bad paths, never blocking."""

import asyncio
import json
import resource
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import pyxdf

import app.recording.recorder as recorder_module
from app.engine import Engine
from app.recording.recorder import RecorderSettings, RecordingWriteError, XdfRecorder
from sensors.simulated import SimSettings, SimulatedSource
from sensors.xdf import read_xdf
from tests.helpers import CollectSink

CLI = [sys.executable, "-m", "ui"]


def by_type(streams, kind, subject=None):
    out = [
        s
        for s in streams
        if s["info"]["type"][0] == kind
        and (subject is None or s["info"]["desc"][0]["subject"][0]["alias"][0] == subject)
    ]
    assert len(out) == 1, [s["info"]["name"] for s in streams]
    return out[0]


def test_session_reads_back_exactly_in_pyxdf(tmp_path):
    path = tmp_path / "session.xdf"
    sources = [
        SimulatedSource(SimSettings(seed=3, artifact_rate=0.04, subject="client"), speed=0),
        SimulatedSource(SimSettings(seed=4, subject="therapist"), speed=0),
    ]
    collect = CollectSink()
    settings = RecorderSettings(flush_interval_s=0.01, clock_offset_interval_s=0.02)
    rec = XdfRecorder(path, sources, settings)
    engine = Engine(sources, [collect, rec])

    async def session():
        run = asyncio.create_task(engine.run(duration_s=900))
        await asyncio.sleep(0.05)
        engine.mark("breathing exercise")
        await run

    asyncio.run(session())
    assert rec.closed and rec.error is None
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    streams, header = pyxdf.load_xdf(str(path))
    assert header["info"]["version"][0] == "1.0"
    for subject in ("client", "therapist"):
        raw = by_type(streams, "RawRR", subject)
        beats = [b for b in collect.raw if b.subject == subject]
        np.testing.assert_array_equal(raw["time_stamps"], [b.t for b in beats])
        np.testing.assert_array_equal(raw["time_series"][:, 0], [b.rr_ms for b in beats])
        np.testing.assert_array_equal(raw["time_series"][:, 1], [b.hr_bpm for b in beats])
        rr = by_type(streams, "RR", subject)
        results = [r for r in collect.results if r.subject == subject]
        np.testing.assert_array_equal(rr["time_stamps"], [r.beat.t for r in results])
        np.testing.assert_array_equal(rr["time_series"][:, 0], [r.beat.rr_ms for r in results])
        np.testing.assert_array_equal(rr["time_series"][:, 1], [r.beat.rr_raw_ms for r in results])
        hr = by_type(streams, "HR", subject)
        np.testing.assert_array_equal(hr["time_series"][:, 1], [r.hrv.rmssd_ms for r in results])
        info = rr["info"]
        assert info["nominal_srate"][0] == "0.0"
        labels = [c["label"][0] for c in info["desc"][0]["channels"][0]["channel"]]
        assert labels == ["RR", "RR_raw", "artifact", "gap_before"]
        assert info["desc"][0]["acquisition"][0]["model"][0] == "simulated strap"
        assert len(rr["clock_times"]) >= 2 and set(rr["clock_values"]) == {0.0}
        assert int(rr["footer"]["info"]["sample_count"][0]) == len(results)
    client_rr = by_type(streams, "RR", "client")["time_series"]
    assert np.any(client_rr[:, 2] > 0)  # artifacts were recorded with their codes
    markers = by_type(streams, "Markers")
    texts = [row[0] for row in markers["time_series"]]
    assert "breathing exercise" in texts
    events = [json.loads(x) for x in texts if x.startswith("{")]
    assert any(
        e["event"] == "status" and e["subject"] == "client" and e["state"] == "connected"
        for e in events
    )
    assert all("order" in e for e in events)


def test_push_never_blocks_even_when_the_disk_stalls(tmp_path, monkeypatch):
    """The writer is held inside a write (the disk stalls) while 20,000 beats are pushed:
    every push returns, nothing is lost once the disk moves again."""
    real = recorder_module._write_all
    stalled, release = threading.Event(), threading.Event()

    def stuck(fd, data):
        stalled.set()
        release.wait()
        real(fd, data)

    rec = XdfRecorder(tmp_path / "slow.xdf", settings=RecorderSettings(flush_interval_s=0.01))
    monkeypatch.setattr(recorder_module, "_write_all", stuck)
    from dsp.types import Beat

    beats = [Beat("self", 10.0 + i, 800.0, 75.0, True, "sim") for i in range(20_000)]
    rec.write_raw(beats[0])
    assert stalled.wait(60), "the writer never started writing"
    pusher = threading.Thread(target=lambda: [rec.write_raw(b) for b in beats[1:]])
    pusher.start()
    pusher.join(60)  # a push that waited for the writer would still be waiting
    assert not pusher.is_alive(), "a push waited for the stalled disk"
    assert not release.is_set() and rec.samples_written == 0  # all while the disk stalled
    release.set()
    rec.close()
    assert len(read_xdf(rec.path).streams[0].time_stamps) == 20_000


def test_bad_paths_are_clear_errors(tmp_path):
    with pytest.raises(RecordingWriteError, match="folder does not exist"):
        XdfRecorder(tmp_path / "no" / "such" / "dir.xdf")
    existing = tmp_path / "taken.xdf"
    existing.write_bytes(b"x")
    with pytest.raises(RecordingWriteError, match="exists"):
        XdfRecorder(existing)
    with pytest.raises(RecordingWriteError, match="cannot record"):
        XdfRecorder(tmp_path)
    out = subprocess.run(
        [*CLI, "run", "--headless", "--duration", "5", "--speed", "0", "--record", str(existing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"heartsync: error: cannot record to {existing}: the file exists; choose another name"
    ]


LIMIT = 100_000


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_full_disk_stops_the_recording_not_the_session(tmp_path):
    path = tmp_path / "full.xdf"
    out = subprocess.run(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            "sim:seed=2",
            "--duration",
            "1200",
            "--speed",
            "600",
            "--json",
            "--record",
            str(path),
            "--no-history",  # the history's own recording would hit the same limit
        ],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    assert out.returncode == 1  # the session finished, but says the recording failed
    lines = out.stdout.splitlines()
    assert len(lines) > 1200  # every beat of 20 min still went out
    errors = [line for line in out.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "the live session goes on" in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    rec = read_xdf(path)
    assert not rec.truncated and not rec.problems  # cut back to its last whole chunk
    assert 0 < path.stat().st_size <= LIMIT
    raw = next(s for s in rec.streams if s.type == "RawRR")
    rr = [json.loads(line)["rr_raw_ms"] for line in lines]
    assert 100 < len(raw.time_stamps) < len(rr)
    streams, _ = pyxdf.load_xdf(str(path))
    assert streams


def test_kill_9_keeps_everything_up_to_the_last_flush(tmp_path):
    path = tmp_path / "killed.xdf"
    settings = SimSettings(seed=9)
    proc = subprocess.Popen(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            "sim:seed=9",
            "--speed",
            "40",
            "--record",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:  # wait for the recording to start, then for data on disk
            if "recording to" in line:
                break
        while proc.poll() is None and _raw_beats_on_disk(path) <= 40:
            threading.Event().wait(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
    finally:
        proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL  # killed mid-session, not finished
    before = path.read_bytes()
    rec = read_xdf(path)
    assert not rec.truncated and not rec.closed  # whole chunks, no footers
    raw = next(s for s in rec.streams if s.type == "RawRR")
    n = len(raw.time_stamps)
    assert n > 40
    from sensors.simulated import simulate

    truth = simulate(settings, 60 + n * 1.5)
    np.testing.assert_array_equal(raw.time_series[:, 0], truth["rr_ms"][:n])
    streams, _ = pyxdf.load_xdf(str(path))  # pyxdf reads the unclosed file as is
    assert len(by_type(streams, "RawRR")["time_stamps"]) == n
    result = subprocess.run([*CLI, "repair", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "repaired into" in result.stdout
    assert path.read_bytes() == before  # the original is never changed
    fixed = read_xdf(path.with_name("killed.repaired.xdf"))
    assert fixed.closed
    assert len(next(s for s in fixed.streams if s.type == "RawRR").time_stamps) == n


def _raw_beats_on_disk(path):
    """Raw beats in the file as it is now (0 before the first whole chunk)."""
    if not path.exists() or path.stat().st_size < 200:
        return 0
    raw = [s for s in read_xdf(path).streams if s.type == "RawRR"]
    return len(raw[0].time_stamps) if raw else 0


def test_headless_bridge_status_lines_and_clean_ctrl_c(tmp_path):
    path = tmp_path / "bridge.xdf"
    proc = subprocess.Popen(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            "sim:seed=1",
            "--speed",
            "20",
            "--record",
            str(path),
            "--status-every",
            "0.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    status = []
    for line in proc.stderr:
        if "recording bridge.xdf" in line:
            status.append(line)
            if len(status) == 2:
                break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "self connected" in status[-1] and "beats" in status[-1] and "MB" in status[-1]
    rec = read_xdf(path)
    assert rec.closed  # Ctrl-C closes the file with its footers
