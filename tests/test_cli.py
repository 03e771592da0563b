"""The command line as a user runs it: real subprocesses, real output."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from app.profiles import ProfileStore

CLI = [sys.executable, "-m", "ui"]


def run_cli(*args, timeout=60):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_headless_json_one_object_per_beat():
    out = run_cli(
        "run", "--headless", "--source", "sim", "--duration", "60", "--speed", "0", "--json"
    )
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert 50 < len(records) < 90
    for key in ("subject", "t", "rr_ms", "rr_raw_ms", "artifact", "clean", "hr_bpm", "rmssd_ms"):
        assert key in records[0]
    t = np.array([r["t"] for r in records])
    rr = np.array([r["rr_ms"] for r in records])
    assert np.all(np.diff(t) > 0)
    assert t[-1] - t[0] < 60
    # beat times advance by the RR they end; the only slack is the beat clock learning the
    # radio delay over the first notifications (it can only move times earlier)
    assert abs(np.sum(rr[1:]) / 1000 - (t[-1] - t[0])) < 0.3
    assert records[-1]["hr_bpm"] is not None and 50 < records[-1]["hr_bpm"] < 80
    assert "connected" in out.stderr


def test_headless_json_with_artifacts_keeps_time_consistent():
    out = run_cli(
        "run",
        "--headless",
        "--source",
        "sim:artifacts=0.05,seed=3",
        "--duration",
        "600",
        "--speed",
        "0",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    flagged = [r for r in records if r["artifact"]]
    assert flagged and all(not r["clean"] for r in flagged)
    t = np.array([r["t"] for r in records])
    rr = np.array([r["rr_ms"] for r in records])
    assert np.all(np.diff(t) > 0)
    # interpolating ectopic beats need not keep the total time exactly (Kubios does not)
    assert abs(np.sum(rr[1:]) / 1000 - (t[-1] - t[0])) < 0.005 * (t[-1] - t[0])


def test_help_explains_every_option():
    out = run_cli("run", "--help")
    assert out.returncode == 0
    for option in ("--source", "--speed", "--duration", "--json", "--headless"):
        assert option in out.stdout
    assert "as fast as possible" in out.stdout
    top = run_cli("--help")
    assert top.returncode == 0 and "run" in top.stdout and "scan" in top.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "--headless", "--speed", "fast"], "'fast'"),
        (["run", "--headless", "--speed", "-2"], "'-2'"),
        (["run", "--headless", "--duration", "0"], "'0'"),
        (["run", "--headless", "--source", "usb:3"], "'usb'"),
        (["run", "--headless", "--source", "sim:scenario=panic"], "'panic'"),
        (
            ["run", "--headless", "--source", "sim:subject=a", "--source", "sim:subject=a"],
            "share a subject",
        ),
        (["run", "--json", "--source", "sim"], "--json needs --headless"),
        (["launch"], "'launch'"),
    ],
)
def test_wrong_values_get_one_line_and_exit_2(args, named):
    out = run_cli(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert named in lines[0] and "Traceback" not in out.stderr


def test_ctrl_c_stops_cleanly():
    proc = subprocess.Popen(
        [*CLI, "run", "--headless", "--source", "sim", "--speed", "4", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = [proc.stdout.readline() for _ in range(4)]  # running: four beats out
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    lines = first + stdout.splitlines()
    assert len(lines) > 3 and all(json.loads(line) for line in lines)


def test_config_file_selects_the_source(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('sources = ["sim:subject=alex,seed=5"]\nspeed = 0\n')
    out = run_cli("--config", str(config), "run", "--headless", "--duration", "30", "--json")
    assert out.returncode == 0, out.stderr
    assert {json.loads(line)["subject"] for line in out.stdout.splitlines()} == {"alex"}
    config.write_text("speed = 'x'")
    bad = run_cli("--config", str(config), "run", "--headless")
    assert bad.returncode == 2 and "'speed'" in bad.stderr and "Traceback" not in bad.stderr


def test_gui_entry_point_opens_and_exits_zero(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [*CLI, "run", "--source", "sim", "--speed", "0", "--duration", "30", "--exit-when-done"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


def test_calibrate_profiles_and_zones_in_json(tmp_path):
    import stat

    profiles = str(tmp_path / "profiles")
    cal = run_cli(
        "--profiles",
        profiles,
        "calibrate",
        "--source",
        "sim:seed=1",
        "--speed",
        "0",
        "--name",
        "Alex",
        "--minutes",
        "3",
    )
    assert cal.returncode == 0, cal.stderr
    assert "saved Alex" in cal.stdout
    path = ProfileStore(tmp_path / "profiles").path("Alex")
    assert f"saved Alex to {path}" in cal.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = run_cli("--profiles", profiles, "profiles")
    assert listed.returncode == 0 and listed.stdout.startswith("Alex")
    out = run_cli(
        "--profiles",
        profiles,
        "run",
        "--headless",
        "--source",
        "sim:seed=1,scenario=stress,onset=240,step=180",
        "--profile",
        "Alex",
        "--duration",
        "600",
        "--speed",
        "0",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    zones = [r["zone"] for r in records]
    assert "hyper" in zones and "window" in zones
    assert all(r["arousal"] is None or isinstance(r["arousal"], float) for r in records)
    missing = run_cli("--profiles", profiles, "run", "--headless", "--profile", "Kim")
    assert missing.returncode == 2 and "no profile named 'Kim'" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_calibration_refused_for_a_noisy_rest(tmp_path):
    out = run_cli(
        "--profiles",
        str(tmp_path),
        "calibrate",
        "--source",
        "sim:artifacts=0.1",
        "--speed",
        "0",
        "--name",
        "Noisy",
        "--minutes",
        "3",
    )
    assert out.returncode == 1
    assert "baseline refused" in out.stderr and "clean" in out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing saved, nothing left behind


def test_window_records_and_publishes_when_asked(tmp_path):
    """--lsl publishes (a real inlet here reads the window's RR stream) and --record
    records; the first Ctrl-C closes the window, the recording and the outlets."""
    import pylsl
    import pyxdf

    path = tmp_path / "session.xdf"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subject = f"w{os.getpid()}"
    args = ["run", "--source", f"sim:subject={subject}", "--speed", "4", "--lsl"]
    proc = subprocess.Popen(
        [*CLI, *args, "--record", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        found = []
        while not found and proc.poll() is None:
            found = pylsl.resolve_bypred(f"contains(source_id,'{subject}:rr')", 1, 1.0)
        assert found, "the window published no RR stream"
        inlet = pylsl.StreamInlet(found[0])
        sample, stamp = inlet.pull_sample(timeout=60)
        assert sample is not None and 200 < sample[0] < 3000  # an RR in ms, live
        assert found[0].type() == "RR"
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    streams, _ = pyxdf.load_xdf(str(path))
    rr = next(s for s in streams if s["info"]["type"][0] == "RR")
    assert len(rr["time_stamps"]) >= 1 and stamp in list(rr["time_stamps"])
    again = run_cli("run", "--source", "sim", "--record", str(path))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_ctrl_c_closes_the_window_cleanly():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [*CLI, "run", "--source", "sim", "--speed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen = ""
    while "connected" not in seen:  # the window is up and streaming
        line = proc.stderr.readline()
        assert line, "the window ended before it connected"
        seen += line
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, seen + stderr
    assert "Traceback" not in seen + stderr
