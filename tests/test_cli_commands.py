"""The commands as a person at a terminal meets them (issue: the first hour, "Commands").

Real subprocesses; a pseudo-terminal where the command behaves differently on one
(progress, the breathing cue, a question before overwriting). Nothing here waits on a
clock: every wait is for output or for the process to end.
"""

import json
import os
import pty
import select
import signal
import subprocess
import sys

import pytest

from app.profiles import ProfileStore
from sensors.xdf import read_xdf

CLI = [sys.executable, "-m", "ui"]


def run_cli(*args, timeout=120):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def on_terminal(*args, answer=None, timeout=120):
    """Run with stdin and stderr on a pseudo-terminal; returns (code, stdout, terminal text).

    ``answer`` is typed once the command asks a question (its text ends with ``[y/N] ``).
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, *map(str, args)], stdin=slave, stderr=slave, stdout=subprocess.PIPE, text=True
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        assert ready, f"no output for {timeout} s: {seen[-500:]!r}"
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the command ended: the terminal closed
            break
        if not chunk:
            break
        seen += chunk
        if answer is not None and seen.rstrip().endswith(b"[y/N]"):
            os.write(master, answer.encode() + b"\n")
            answer = None
    out = proc.stdout.read()
    proc.wait(timeout)
    os.close(master)
    return proc.returncode, out, seen.decode("utf-8", "replace")


def interrupt_when(proc, marker, timeout=120):
    """Read stderr until ``marker`` shows, send SIGINT; returns (code, stdout, stderr)."""
    seen = ""
    while marker not in seen:
        line = proc.stderr.readline()
        assert line, f"ended before {marker!r}: {seen}"
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)  # the first Ctrl-C is enough
    return proc.returncode, out, seen + err


def test_help_and_argument_errors_load_no_dsp():
    """``--help`` and a wrong argument never import the DSP (scipy) or the engine."""
    code = (
        "import sys\n"
        "from app.cli import main\n"
        "for argv in (['--help'], ['run', '--bogus'], ['calibrate', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('scipy', 'app.engine', 'dsp.pipeline', 'PySide6')\n"
        "             if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_ctrl_c_during_calibrate_stops_at_once_and_saves_nothing(tmp_path):
    proc = subprocess.Popen(
        [*CLI, "--profiles", str(tmp_path), "calibrate", "--name", "Alex", "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, _, err = interrupt_when(proc, "connected")
    assert code == 130, err
    assert "calibration cancelled" in err and "Traceback" not in err
    assert ProfileStore(tmp_path).names() == []


def test_ctrl_c_during_resonance_stops_at_once(tmp_path):
    proc = subprocess.Popen(
        [*CLI, "resonance", "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, out, err = interrupt_when(proc, "connected")
    assert code == 130, err
    assert "assessment cancelled" in err and "Traceback" not in err and "Keyboard" not in err
    assert out == ""


def test_calibrate_shows_progress_on_a_terminal_and_asks_before_replacing(tmp_path):
    args = ["--profiles", tmp_path, "calibrate", "--name", "Alex", "--minutes", "3"]
    code, out, terminal = on_terminal(*args, "--source", "sim:seed=1", "--speed", "30")
    assert code == 0, terminal
    assert "saved Alex" in out
    assert "calibrating Alex: " in terminal and " left, " in terminal and " beats" in terminal
    assert "signal good" in terminal
    first = ProfileStore(tmp_path).load("Alex").calibrated_at
    # a second calibration under the same name: asked on a terminal, refused without one
    code, _, terminal = on_terminal(*args, "--source", "sim:seed=2", "--speed", "0", answer="n")
    assert code == 2 and "replace it?" in terminal and "--force" in terminal
    refused = run_cli(*args, "--source", "sim:seed=2", "--speed", "0")
    assert refused.returncode == 2 and "add --force" in refused.stderr
    assert ProfileStore(tmp_path).load("Alex").calibrated_at == first
    code, out, terminal = on_terminal(*args, "--source", "sim:seed=2", "--speed", "0", answer="y")
    assert code == 0 and "saved Alex" in out
    forced = run_cli(*args, "--source", "sim:seed=3", "--speed", "0", "--force")
    assert forced.returncode == 0, forced.stderr
    assert ProfileStore(tmp_path).load("Alex").calibrated_at != first


def test_headless_resonance_gives_a_breathing_cue_on_a_terminal():
    args = ["resonance", "--rates", "6,5", "--step", "30", "--settle", "5", "--speed", "10"]
    code, out, terminal = on_terminal(*args)
    assert code == 0, terminal
    assert "breathe IN " in terminal and "breathe OUT" in terminal and "rate 2 of 2" in terminal
    assert "rate/min" in out  # the ranking on standard output
    # the tone: played when audio is installed, else the reason is said once
    assert "breath tone" in terminal or "text only" in terminal or "no sound" in terminal


def test_options_before_or_after_the_command_and_sources_from_both(tmp_path):
    ProfileStore(tmp_path).save(__import__("app.profiles").profiles.Profile("Kim"))
    after = run_cli("profiles", "--profiles", tmp_path)
    assert after.returncode == 0 and after.stdout.startswith("Kim")
    before = run_cli("--profiles", tmp_path, "profiles")
    assert before.stdout == after.stdout
    common = ["--headless", "--json", "--duration", "20", "--speed", "0", "--status-every", "0"]
    only_before = run_cli("--source", "sim:subject=zed", "run", *common)
    assert {json.loads(x)["subject"] for x in only_before.stdout.splitlines()} == {"zed"}
    both = run_cli("--source", "sim:subject=a", "run", "--source", "sim:subject=b", *common)
    assert {json.loads(x)["subject"] for x in both.stdout.splitlines()} == {"a", "b"}


def test_partner_takes_a_subject_or_a_seed():
    """``partner=p1`` names the default subject of the first source (or a seed)."""
    common = ["run", "--headless", "--json", "--duration", "60", "--speed", "0"]
    by_name = run_cli(*common, "--source", "sim", "--source", "sim:r=0.5,partner=p1")
    # the one other person, found without partner=: the same dyad
    by_seed = run_cli(*common, "--source", "sim", "--source", "sim:r=0.5")
    seed = run_cli(*common, "--source", "sim", "--source", "sim:r=0.5,partner=1,slow=6")
    assert seed.returncode == 0, seed.stderr  # a seed: a partner outside this session
    assert by_name.returncode == 0, by_name.stderr

    def rr(out):  # the beats of each person (times follow the clock, RR the simulation)
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        return {s: [r["rr_raw_ms"] for r in rows if r["subject"] == s] for s in ("p1", "p2")}

    assert rr(by_name) == rr(by_seed) and len(rr(by_name)["p2"]) > 40


@pytest.mark.parametrize("record", [False, True])
def test_json_into_a_pipe_closed_early(tmp_path, record):
    """``run --json ... | head -3``: no traceback; a recording is still closed whole."""
    path = tmp_path / "p.xdf"
    extra = ["--record", str(path)] if record else []
    proc = subprocess.Popen(
        [*CLI, "run", "--headless", "--json", "--speed", "0", "--duration", "3600", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(3):
        assert json.loads(proc.stdout.readline())
    proc.stdout.close()  # what `head -3` does after three lines
    err = proc.stderr.read()
    proc.wait(120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    if record:
        rec = read_xdf(path)
        assert rec.closed and any(len(s.time_stamps) > 100 for s in rec.streams)
