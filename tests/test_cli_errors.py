"""One error convention: every bad file, value or path is one line on stderr and exit 2.

A table of hostile inputs is walked through every command that reads a file (analyze,
repair, and run / calibrate / resonance replaying it), then a table of bad values and
paths. Commands run in this process through :func:`app.cli.main` (the same code as the
``heartsync`` command, minus the start-up); a few run as real subprocesses too.
"""

import gzip
import logging
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from app.cli import main
from sensors import xdf
from tests.xdf_files import file_header, info, mixed_recording


@pytest.fixture
def run(capsys):
    """Run the command line in-process; returns (exit code, stdout, stderr lines)."""

    def call(*args):
        logging.getLogger().handlers.clear()  # basicConfig binds to this test's stderr
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's own one-line errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, [line for line in err.splitlines() if line.strip()]

    return call


def _bad_files(tmp_path):
    good = tmp_path / "good.xdf"
    mixed_recording(good)
    data = good.read_bytes()
    folder = tmp_path / "folder.xdf"
    folder.mkdir()
    fifo = tmp_path / "fifo.xdf"
    os.mkfifo(fifo)
    gz = tmp_path / "broken.xdf.gz"
    gz.write_bytes(gzip.compress(data)[:30] + b"garbage" * 10)
    channels = xdf.stream_header_chunk(1, info("x", "RR", [("RR", "ms")] * 3))
    channels = channels.replace(b"<channel_count>3<", b"<channel_count>999999999999<")
    files = {
        "missing": tmp_path / "nope.xdf",
        "folder": folder,
        "fifo": fifo,
        "device": "/dev/zero",
        "empty": b"",
        "text": b"time,rr\n0,800\n",
        "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "cut before any stream": data[:60],
        "corrupt gzip": gz,
        "no file header": xdf.MAGIC + xdf.stream_header_chunk(1, info("x", "RR", [("RR", "ms")])),
        "huge channel count": file_header() + channels,
    }
    paths = {}
    for name, content in files.items():
        if isinstance(content, bytes):
            path = tmp_path / (name.replace(" ", "_") + ".xdf")
            path.write_bytes(content)
            paths[name] = path
        else:
            paths[name] = content
    return paths


COMMANDS = {
    "analyze": lambda f, d: ["analyze", f, "--out", d / "report"],
    "repair": lambda f, d: ["repair", f],
    "run": lambda f, d: ["run", "--headless", "--source", f"replay:{f}", "--speed", "0"],
    "calibrate": lambda f, d: [
        "--profiles",
        d / "p",
        "calibrate",
        "--name",
        "A",
        "--source",
        f"replay:{f}",
    ],
    "resonance": lambda f, d: ["resonance", "--source", f"replay:{f}", "--speed", "0"],
}


def test_every_bad_file_in_every_command_is_one_line_and_exit_2(tmp_path, run):
    failures = []
    for case, path in _bad_files(tmp_path).items():
        for command, args in COMMANDS.items():
            code, _, err = run(*args(path, tmp_path))
            ok = code == 2 and len(err) == 1 and err[0].startswith("heartsync: error: ")
            if not ok or "Traceback" in " ".join(err):
                failures.append(f"{command} / {case}: exit {code}, stderr {err}")
    assert not failures, "\n".join(failures)
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def _damaged_but_readable(tmp_path):
    good = tmp_path / "good.xdf"
    mixed_recording(good)
    data = good.read_bytes()
    rec = xdf.read_xdf(good)
    samples = [c for c in rec.chunks if c[2] == xdf.Tag.SAMPLES and c[3] == 1]
    cases = {}
    d = bytearray(data)  # a flipped bit in a chunk length
    d[samples[1][0] + 1] ^= 0x40
    cases["length bit"] = bytes(d)
    d = bytearray(data)  # a timestamp's exponent flipped: 2.5e79 s
    at = samples[1][0] + 3 + 4 + 4 + 1 + 1  # width, length, tag, id, count, stamp width
    d[at + 7] ^= 0x10
    cases["timestamp bit"] = bytes(d)
    d = bytearray(data)  # garbage over a boundary
    cases["garbage"] = bytes(d[:3000]) + os.urandom(300) + bytes(d[3300:])
    header = xdf.stream_header_chunk(4, info("HR\x01Band", "RR", [("RR", "ms")]))
    cases["control character in a header"] = data + header.replace(
        b"HR\xef\xbf\xbdBand", b"HR\x01Band"
    )
    paths = {}
    for name, content in cases.items():
        path = tmp_path / (name.replace(" ", "_") + ".xdf")
        path.write_bytes(content)
        paths[name] = path
    return paths


def test_damaged_but_readable_files_are_read_not_refused(tmp_path, run):
    for case, path in _damaged_but_readable(tmp_path).items():
        before = path.read_bytes()
        code, out, err = run("analyze", path, "--out", tmp_path / f"r-{path.stem}")
        assert code == 0, f"analyze / {case}: {err}"
        code, out, err = run("repair", path)
        assert code == 0 and "repaired into" in out, f"repair / {case}: {err}"
        assert path.read_bytes() == before
        repaired = xdf.read_xdf(path.with_name(path.stem + ".repaired.xdf"))
        assert repaired.closed and repaired.streams


@pytest.mark.parametrize(
    ("case", "args", "says"),
    [
        ("config missing", ["--config", "{d}/none.toml", "run", "--headless"], "no such file"),
        ("config folder", ["--config", "{d}", "run", "--headless"], "not a file"),
        ("config after", ["run", "--headless", "--config", "{d}/none.toml"], "no such file"),
        ("config TOML", ["--config", "{d}/bad.toml", "run", "--headless"], "not valid TOML"),
        ("config key", ["--config", "{d}/key.toml", "run", "--headless"], "unknown setting"),
        ("configs differ", ["--config", "{d}/a", "run", "--config", "{d}/b"], "different"),
        ("speed", ["run", "--headless", "--speed", "-1"], "'-1'"),
        ("duration nan", ["run", "--headless", "--duration", "nan"], "'nan'"),
        ("minutes", ["calibrate", "--name", "A", "--minutes", "2"], "'2'"),
        ("empty name", ["calibrate", "--name", ""], "needs a name"),
        ("control name", ["calibrate", "--name", "A\x01"], "control"),
        (
            "no such profile",
            ["--profiles", "{d}", "resonance", "--save-profile", "Nobody"],
            "no profile named 'Nobody'",
        ),
        (
            "run profile",
            ["--profiles", "{d}", "run", "--headless", "--profile", "Kim"],
            "no profile named 'Kim'",
        ),
        (
            "profiles not a folder",
            ["--profiles", "{d}/bad.toml", "calibrate", "--name", "A"],
            "cannot save profiles",
        ),
        ("settle", ["resonance", "--step", "60", "--settle", "60"], "shorter than --step"),
        ("ratio", ["resonance", "--ratio", "4-6"], "IN:OUT"),
        ("subject", ["resonance", "--subject", "nobody", "--speed", "0"], "no such subject"),
        (
            "record folder",
            ["run", "--headless", "--record", "{d}/no/x.xdf"],
            "folder does not exist",
        ),
        ("record exists", ["run", "--headless", "--record", "{d}/bad.toml"], "exists"),
        (
            "repair out exists",
            ["repair", "{d}/good.xdf", "--out", "{d}/bad.toml"],
            "already exists",
        ),
        (
            "analyze out is a file",
            ["analyze", "{d}/good.xdf", "--out", "{d}/bad.toml"],
            "cannot use",
        ),
        (
            "partner",
            ["run", "--headless", "--source", "sim", "--source", "sim:r=0.5,partner=zz"],
            "subject=zz",
        ),
        ("source on repair", ["--source", "sim", "repair", "{d}/good.xdf"], "does not apply"),
        (
            "delete nobody",
            ["--profiles", "{d}", "profiles", "--delete", "Nobody"],
            "no profile named",
        ),
    ],
)
def test_bad_values_and_paths_are_one_line_and_exit_2(tmp_path, run, case, args, says):
    (tmp_path / "bad.toml").write_text("speed = [")
    (tmp_path / "key.toml").write_text("colour = 'red'\n")
    (tmp_path / "a").write_text("")
    (tmp_path / "b").write_text("")
    mixed_recording(tmp_path / "good.xdf")
    before = sorted(os.listdir(tmp_path))
    code, _, err = run(*(a.format(d=tmp_path) for a in args))
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("heartsync"), err
    assert "error: " in err[0] and says in err[0]
    assert sorted(os.listdir(tmp_path)) == before  # nothing created on the way out


def test_argument_errors_exit_2_in_one_line():
    """Values argparse checks (also those given after the command) and the subprocess path."""
    for args, says in (
        (["calibrate", "--name", ""], "needs a name"),
        (["run", "--speed", "x"], "'x'"),
        (["profiles", "--profiles", "/nonexistent", "--delete", "A\x01"], "control"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "ui", *args], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 2, out.stderr
        (line,) = out.stderr.strip().splitlines()
        assert line.startswith("heartsync") and "error" in line and says in line


def test_a_huge_sample_count_is_read_around_not_allocated(tmp_path):
    content = struct.pack("<I", 1) + xdf.varlen(2**40) + b"\x08" + struct.pack("<dd", 1.0, 800.0)
    path = tmp_path / "huge.xdf"
    path.write_bytes(
        file_header()
        + xdf.stream_header_chunk(1, info("x", "RR", [("RR", "ms")]))
        + xdf.chunk(xdf.Tag.SAMPLES, content)
    )
    rec = xdf.read_xdf(path)
    assert rec.streams[0].time_series.tolist() == [[800.0]]  # the one real sample
    assert rec.problems and not rec.closed


def test_xml_header_too_deep_is_refused(tmp_path):
    element = ET.Element("info")
    node = element
    for _ in range(200):
        node = ET.SubElement(node, "x")
    path = tmp_path / "deep.xdf"
    path.write_bytes(xdf.MAGIC + xdf.file_header_chunk(element))
    with pytest.raises(xdf.XdfFormatError, match="deeper"):
        xdf.read_xdf(path)
