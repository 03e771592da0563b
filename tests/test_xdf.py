"""XDF encode/read/repair: exact round trips, pyxdf agreement, damage handled without tracebacks."""

import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import pyxdf

from sensors import xdf
from sensors.xdf import XdfFormatError, read_xdf
from tests.xdf_files import file_header, info

_info = info
_file_header = file_header


def write_example(path, n=50, footers=True, seed=0):
    """Two streams: 3 numeric channels (with NaN), one string channel with UTF-8."""
    rng = np.random.default_rng(seed)
    t = 1000.0 + np.cumsum(rng.uniform(0.4, 1.2, n))
    values = rng.normal(800, 50, (n, 3))
    values[3, 1] = np.nan
    strings = [[f"marker {i} — ü"] for i in range(5)]
    st = t[:5] + 0.25
    parts = [_file_header()]
    parts.append(xdf.stream_header_chunk(1, _info("beats", "RR", [("RR", "ms")] * 3)))
    parts.append(xdf.stream_header_chunk(2, _info("m", "Markers", [("m", "")], "string")))
    half = n // 2
    parts.append(xdf.samples_chunk(1, "double64", 3, t[:half], values[:half]))
    parts.append(xdf.samples_chunk(2, "string", 1, st, strings))
    parts.append(xdf.clock_offset_chunk(1, 5.0, 0.0))
    parts.append(xdf.boundary_chunk())
    parts.append(xdf.samples_chunk(1, "double64", 3, t[half:], values[half:]))
    parts.append(xdf.clock_offset_chunk(1, 10.0, 0.0))
    parts.append(xdf.clock_offset_chunk(2, 10.0, 0.0))
    if footers:
        parts.append(xdf.stream_footer_chunk(1, xdf.footer_element(t[0], t[-1], n, [(5.0, 0.0)])))
        parts.append(xdf.stream_footer_chunk(2, xdf.footer_element(st[0], st[-1], 5, [])))
    path.write_bytes(b"".join(parts))
    return t, values, st, strings


def test_round_trip_exact_in_our_reader_and_pyxdf(tmp_path):
    path = tmp_path / "a.xdf"
    t, values, st, strings = write_example(path)
    rec = read_xdf(path)
    assert rec.closed and not rec.problems
    beats, markers = rec.streams
    assert (beats.name, beats.type, beats.channel_count, beats.labels) == (
        "beats",
        "RR",
        3,
        ["RR"] * 3,
    )
    np.testing.assert_array_equal(beats.time_stamps, t)
    np.testing.assert_array_equal(beats.time_series, values)  # NaN == NaN here
    assert markers.time_series == strings
    np.testing.assert_array_equal(markers.time_stamps, st)
    streams, _ = pyxdf.load_xdf(str(path))
    by_name = {s["info"]["name"][0]: s for s in streams}
    np.testing.assert_array_equal(by_name["beats"]["time_stamps"], t)
    np.testing.assert_array_equal(by_name["beats"]["time_series"], values)
    assert by_name["m"]["time_series"] == strings


def test_varlen_widths_and_big_chunk(tmp_path):
    assert xdf.varlen(255) == b"\x01\xff"
    assert xdf.varlen(256)[:1] == b"\x04" and xdf.varlen(2**32)[:1] == b"\x08"
    n = 20_000  # a samples chunk longer than 2**16 bytes: 4-byte length
    t = np.arange(n) * 0.001
    v = np.arange(n * 2, dtype=float).reshape(n, 2)
    path = tmp_path / "big.xdf"
    path.write_bytes(
        _file_header()
        + xdf.stream_header_chunk(7, _info("big", "EEG", [("a", "uV"), ("b", "uV")], srate=1000))
        + xdf.samples_chunk(7, "double64", 2, t, v)
    )
    stream = read_xdf(path).streams[0]
    np.testing.assert_array_equal(stream.time_series, v)
    np.testing.assert_array_equal(stream.time_stamps, t)


def test_omitted_timestamps_are_deduced_from_the_rate(tmp_path):
    # third-party writers may leave timestamps out of regular streams: [0][values]
    content = struct.pack("<I", 1) + xdf.varlen(4)
    for k in range(4):
        content += (b"\x08" + struct.pack("<d", 10.0)) if k == 0 else b"\x00"
        content += struct.pack("<h", k)
    path = tmp_path / "third.xdf"
    path.write_bytes(
        _file_header()
        + xdf.stream_header_chunk(1, _info("eeg", "EEG", [("c", "uV")], "int16", 4.0))
        + xdf.chunk(xdf.Tag.SAMPLES, content)
    )
    stream = read_xdf(path).streams[0]
    np.testing.assert_allclose(stream.time_stamps, [10, 10.25, 10.5, 10.75])
    assert stream.time_series[:, 0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not an XDF file"),
        (b"hello,world\n1,2\n", "not an XDF file"),
        (xdf.MAGIC + b"\x07junk", "not a valid XDF recording"),
        (xdf.MAGIC + xdf.stream_header_chunk(1, ET.Element("info")), "first chunk"),
    ],
)
def test_foreign_files_give_one_clear_error(tmp_path, content, says):
    path = tmp_path / "x.xdf"
    path.write_bytes(content)
    with pytest.raises(XdfFormatError, match=says) as info:
        read_xdf(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(XdfFormatError, match="no such file"):
        read_xdf(tmp_path / "nope.xdf")
    with pytest.raises(XdfFormatError, match="folder"):
        read_xdf(tmp_path)


def test_cut_anywhere_reads_the_whole_chunks_before(tmp_path):
    path = tmp_path / "a.xdf"
    _t, values, _, _ = write_example(path, footers=False)
    data = path.read_bytes()
    full = read_xdf(path)
    ends = [end for _, end, _, _ in full.chunks]
    cut_path = tmp_path / "cut.xdf"
    header_end = ends[0]
    for cut in range(header_end, len(data), 7):
        cut_path.write_bytes(data[:cut])
        rec = read_xdf(cut_path)
        assert rec.valid_bytes == max(e for e in [4, *ends] if e <= cut)
        assert rec.truncated == (rec.valid_bytes < cut)
        if rec.streams and rec.streams[0].stream_id == 1:
            n = len(rec.streams[0].time_stamps)
            np.testing.assert_array_equal(rec.streams[0].time_series, values[:n])


def test_damage_inside_is_skipped_to_the_next_boundary(tmp_path):
    path = tmp_path / "a.xdf"
    t, _values, _, _ = write_example(path)
    data = bytearray(path.read_bytes())
    first_samples = next(s for s, _, tag, sid in read_xdf(path).chunks if tag == 3 and sid == 1)
    data[first_samples] = 0x05  # an impossible length width
    path.write_bytes(bytes(data))
    rec = read_xdf(path)
    assert rec.skipped_bytes > 0 and any("skipped" in p for p in rec.problems)
    beats = rec.streams[0]
    half = len(t) // 2
    np.testing.assert_array_equal(beats.time_stamps, t[half:])  # the part after the boundary
    with pytest.raises(XdfFormatError, match="damaged"):
        read_xdf(path, recover=False)


def test_every_control_character_is_made_xml_safe(tmp_path):
    """Strap strings, names and LSL metadata come from outside: whatever they hold, the
    header stays XML that pyxdf reads (forbidden characters become U+FFFD), and string
    samples keep their text."""
    forbidden = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
    forbidden += "\ufffe\uffff\ud800"
    name = f"HR{forbidden}Band"
    header = _info(name, "RR", [(f"label{forbidden}", "ms")])
    ET.SubElement(header.find("desc"), "model").text = f"H10{forbidden}"
    header.find("desc").set("note", forbidden)
    path = tmp_path / "control.xdf"
    marker = f"marker{forbidden[:31]}end"
    path.write_bytes(
        _file_header()
        + xdf.stream_header_chunk(1, header)
        + xdf.stream_header_chunk(2, _info("m", "Markers", [("m", "")], "string"))
        + xdf.samples_chunk(1, "double64", 1, [1.0], [[800.0]])
        + xdf.samples_chunk(2, "string", 1, [1.0], [[marker]])
    )
    rec = read_xdf(path)
    assert rec.streams[0].name == "HR" + "\ufffd" * len(forbidden) + "Band"
    assert rec.streams[0].text("desc/model").startswith("H10\ufffd")
    assert rec.streams[1].time_series == [[marker]]  # sample text is not XML: kept as is
    streams, _ = pyxdf.load_xdf(str(path))
    assert streams[0]["info"]["name"][0] == rec.streams[0].name
    assert streams[1]["time_series"] == [[marker]]
