"""repair: a new file beside the original, every byte verified, damage read around.

The fuzz test damages real recordings (truncation, bit flips, huge lengths, garbage) and
checks three things every time: the original is byte-for-byte unchanged; the repaired
file loads in pyxdf; it keeps every sample pyxdf reads intact from the damaged file.
The recordings are the real recorder's with writes at fixed points (not timed flushes),
byte-for-byte the same every run, so the fuzz sees the same files and damage every time.
"""

import collections
import hashlib
import logging
import os
import random
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest
import pyxdf

from app.recording.recorder import RecorderSettings
from sensors.xdf import (
    RecordingWriteError,
    XdfFormatError,
    default_target,
    read_xdf,
    repair_xdf,
)
from sensors.xdf.chunks import BOUNDARY_UUID
from tests.xdf_files import mixed_recording, recorder_layout, session_pushes

#: Real recorder layouts, fixed (not timed): (writes after these pushes, settings).
#: "few": the two start markers written alone (a small chunk of their own, the layout of
#: the one fuzz failure seen), then three big writes; "many": a write every 97 pushes,
#: each with clock offsets and a boundary chunk.
LAYOUTS = {
    "few": ({1, 400, 700}, RecorderSettings(clock_offset_interval_s=1e6, boundary_interval_s=1e6)),
    "many": (
        {1, *range(97, 988, 97)},
        RecorderSettings(clock_offset_interval_s=0.0, boundary_interval_s=0.0),
    ),
}


@pytest.fixture(scope="module")
def pushes():
    """What a real engine hands a recorder in five simulated minutes (one person)."""
    return session_pushes()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, pushes):
    """The session recorded by the real recorder in each of :data:`LAYOUTS`."""
    folder = tmp_path_factory.mktemp("rec")
    paths = {}
    for name, (flush_after, settings) in LAYOUTS.items():
        paths[name] = folder / f"{name}.xdf"
        recorder_layout(paths[name], *pushes, flush_after, settings)
    return paths


@pytest.fixture(scope="module")
def recording(recordings):
    """The "few writes" recording."""
    return recordings["few"]


def _pyxdf_samples(path):
    """(timestamp, values) of every sample pyxdf reads, by stream name ({} if it fails)."""
    return _pyxdf_read(path)[0]


def _pyxdf_read(path):
    """:func:`_pyxdf_samples` and the last sample pyxdf read of each stream, by name."""
    logging.getLogger("pyxdf").setLevel(logging.CRITICAL + 1)
    try:
        streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    except Exception:
        return {}, {}
    out = collections.defaultdict(collections.Counter)
    last = {}
    for s in streams:
        rows = [tuple(map(str, r)) for r in s["time_series"]]
        stamps = np.asarray(s["time_stamps"]).tolist()
        out[s["info"]["name"][0]].update(zip(stamps, rows, strict=True))
        if rows:
            last[s["info"]["name"][0]] = (stamps[-1], rows[-1])
    return out, last


def _damage(rng, data, chunks):
    kind = rng.choice(["cut", "flip", "flips", "huge", "garbage", "cut+flip"])
    d = bytearray(data)
    flips = {"flip": 1, "cut+flip": 1, "flips": rng.randint(2, 5)}.get(kind, 0)
    for _ in range(flips):
        d[rng.randrange(4, len(d))] ^= 1 << rng.randrange(8)
    if kind == "huge":  # a chunk length far past the end of the file
        start = rng.choice(chunks[1:])[0]
        width = d[start]
        value = rng.choice([2**31 - 1, 2**32 - 1, 10**6]) % 256**width
        d[start + 1 : start + 1 + width] = value.to_bytes(width, "little")
    if kind == "garbage":
        at = rng.randrange(4, len(d))
        d[at : at + rng.randint(1, 200)] = rng.randbytes(rng.randint(1, 200))
    if "cut" in kind:
        d = d[: rng.randrange(4, len(d))]
    return kind, bytes(d)


@pytest.mark.parametrize("base", ["few", "many", "mixed"])
def test_fuzz_original_untouched_and_nothing_pyxdf_reads_is_lost(tmp_path, recordings, base):
    if base == "mixed":
        source = tmp_path / "mixed.xdf"
        mixed_recording(source)
    else:
        source = recordings[base]
    data = source.read_bytes()
    truth = _pyxdf_samples(source)
    chunks = read_xdf(source).chunks
    rng = random.Random(19)
    written = 0
    for k in range(100):
        kind, damaged = _damage(rng, data, chunks)
        path = tmp_path / f"damaged{k}.xdf"
        path.write_bytes(damaged)
        before = (hashlib.sha256(damaged).digest(), os.stat(path).st_mtime_ns)
        seen, last = _pyxdf_read(path)
        try:
            report = repair_xdf(path)
        except XdfFormatError:  # not XDF any more (magic or file header hit)
            assert not any(seen.values()), f"{kind} #{k}: pyxdf read samples we refused"
            continue
        after = (hashlib.sha256(path.read_bytes()).digest(), os.stat(path).st_mtime_ns)
        assert after == before, f"{kind} #{k}: the original changed"
        repaired = report.path or path
        written += report.changed
        got = _pyxdf_samples(repaired)
        for name, samples in seen.items():
            lost = (samples & truth.get(name, collections.Counter())) - got.get(
                name, collections.Counter()
            )
            if not lost:
                continue
            if "cut" in kind and set(lost) == {last[name]} and sum(lost.values()) == 1:
                continue  # the sample cut in two: pyxdf fills its tail with the bytes of
                # the sample before, which may equal its own by luck (then it is "true")
            assert not lost, f"{kind} #{k}: {sum(lost.values())} samples of {name!r} lost"
        if report.changed:
            assert read_xdf(repaired).closed
            repaired.unlink()
    assert written > 40  # the damage was real


@pytest.mark.parametrize("length", [0, 1])
def test_a_chunk_length_below_two_is_read_by_content(recording, tmp_path, length):
    """The fuzz failure seen once: the start markers' chunk (length 128, one byte) had its
    top bit flipped to length 0. pyxdf reads samples by count and kept both markers; the
    reader called the chunk damaged before reading its tag and skipped it. Every chunk's
    length in turn is now set to 0 and 1: repair keeps every sample, as pyxdf does."""
    data = recording.read_bytes()
    original = read_xdf(recording)
    want = sum(len(s.time_stamps) for s in original.streams)
    markers = next(
        s for s, _, tag, sid in original.chunks if tag == 3 and sid == original.streams[0].stream_id
    )
    assert data[markers : markers + 2] == b"\x01\x80"  # the layout of the failure
    truth = _pyxdf_samples(recording)
    first = sorted(original.chunks, key=lambda c: c[0] != markers)  # the failure's case first
    for k, (start, _, tag, _) in enumerate(first):
        width = data[start]
        damaged = bytearray(data)
        damaged[start + 1 : start + 1 + width] = length.to_bytes(width, "little")
        path = tmp_path / f"len{k}.xdf"
        path.write_bytes(bytes(damaged))
        report = repair_xdf(path)
        assert report.samples == want, f"chunk {k} (tag {tag}): {report.problems}"
        assert _pyxdf_samples(report.path) == truth, f"chunk {k} (tag {tag})"
        assert read_xdf(report.path).closed


@pytest.mark.parametrize("tag", [0, 3, 5, 0x101])
def test_a_file_header_with_a_damaged_tag_is_read_around(recording, tmp_path, tag):
    """One flipped bit in the file header's tag: pyxdf skips the chunk by its length and
    reads every stream; the reader refused the file ("the first chunk is not a file
    header"). Now a plain header is assumed and repair keeps every sample."""
    data = bytearray(recording.read_bytes())
    assert data[4] == 1  # a one-byte length, then the tag
    data[6:8] = tag.to_bytes(2, "little")
    path = tmp_path / "header.xdf"
    path.write_bytes(bytes(data))
    report = repair_xdf(path)
    assert report.samples == sum(len(s.time_stamps) for s in read_xdf(recording).streams)
    assert "a plain one is assumed" in " ".join(report.problems)
    truth = _pyxdf_samples(recording)
    if tag != 3:  # pyxdf skips it by its length (as a samples chunk it scans forward)
        assert _pyxdf_samples(path) == truth
    assert _pyxdf_samples(report.path) == truth


@pytest.mark.parametrize("lost", [1, 27, 200])  # not 41: a whole sample, read by count
def test_bytes_lost_inside_a_chunk_do_not_hide_the_next(recordings, tmp_path, lost):
    """Found by the layout hunt: garbage shorter than the bytes it replaced, inside a
    samples chunk whose length survived. The reader kept the samples before the damage
    and trusted the length, so it resumed past the chunks that now start sooner (pyxdf
    found them: it scans for the next boundary). Every other chunk is kept now."""
    source = recordings["many"]
    data = source.read_bytes()
    original = read_xdf(source)
    start = next(  # a raw RR chunk of 20+ samples (41 bytes each)
        s for s, e, tag, sid in original.chunks if tag == 3 and sid == 2 and e - s > 41 * 20
    )
    count_at = start + 1 + data[start] + 2 + 4
    assert data[count_at] == 1  # a one-byte sample count
    in_chunk = data[count_at + 1]
    cut_at = start + 100
    path = tmp_path / "short.xdf"
    path.write_bytes(data[:cut_at] + data[cut_at + lost :])
    report = repair_xdf(path)
    fixed = read_xdf(report.path)
    for before, after in zip(original.streams, fixed.streams, strict=True):
        kept = len(after.time_stamps) - len(before.time_stamps)
        assert kept >= (-in_chunk if before.stream_id == 2 else 0), report.problems
    truth, seen = _pyxdf_samples(source), _pyxdf_samples(path)
    got = _pyxdf_samples(report.path)
    for name, samples in seen.items():
        assert not (samples & truth[name]) - got[name], name


def test_a_boundary_with_a_flipped_signature_bit_is_still_a_boundary(recordings, tmp_path):
    """Found by the layout hunt: pyxdf skips a boundary chunk by its length whatever its
    signature says; the reader skipped on to the next chunk it could fully check, and lost
    the samples between when the chunk after the boundary was damaged too. A boundary
    whose length is right and that a chunk follows is read as one, signature mended."""
    source = recordings["many"]
    data = bytearray(source.read_bytes())
    original = read_xdf(source)
    boundaries = [s for s, _, tag, _ in original.chunks if tag == 5]
    assert len(boundaries) > 5
    for k, start in enumerate(boundaries):
        data[start + 4 + k % 16] ^= 1 << k % 8  # one bit of each signature
    path = tmp_path / "boundaries.xdf"
    path.write_bytes(bytes(data))
    report = repair_xdf(path)
    assert report.samples == sum(len(s.time_stamps) for s in original.streams)
    assert len(report.problems) == len(boundaries), report.problems
    assert report.dropped_bytes == 0  # not skipped: kept, mended
    assert report.path.read_bytes().count(BOUNDARY_UUID) == len(boundaries)
    assert _pyxdf_samples(report.path) == _pyxdf_samples(source)


def test_a_huge_length_and_damage_inside_keep_the_samples_before(recordings, tmp_path):
    """Found by the layout hunt: a samples chunk whose length ran past the end of the file
    and whose content was damaged too was skipped whole; pyxdf kept its samples before
    the damage. They are kept now, and every chunk after it."""
    source = recordings["few"]
    data = bytearray(source.read_bytes())
    original = read_xdf(source)
    start = next(s for s, e, tag, sid in original.chunks if tag == 3 and sid == 2)
    assert data[start] == 4
    data[start + 1 : start + 5] = (2**31 - 1).to_bytes(4, "little")
    first = start + 1 + 4 + 2 + 4 + 2  # after width, length, tag, stream id, count
    data[first + 41 * 10] = 0  # sample 10 loses its timestamp: the rest is misread
    path = tmp_path / "huge.xdf"
    path.write_bytes(bytes(data))
    report = repair_xdf(path)
    fixed = read_xdf(report.path)
    for before, after in zip(original.streams, fixed.streams, strict=True):
        if before.stream_id == 2:
            assert np.array_equal(after.time_stamps[:10], before.time_stamps[:10])
        else:
            assert len(after.time_stamps) == len(before.time_stamps), report.problems


def test_flipped_length_bit_keeps_everything_and_writes_beside(recording, tmp_path):
    path = tmp_path / "flip.xdf"
    data = bytearray(recording.read_bytes())
    start = next(s for s, _, tag, _ in read_xdf(recording).chunks if tag == 3)
    data[start + 1] ^= 0x40  # the case: 53,715 B became 136 B, "kept 0 samples"
    path.write_bytes(bytes(data))
    report = repair_xdf(path)
    assert report.path == tmp_path / "flip.repaired.xdf"
    assert path.read_bytes() == bytes(data)
    original = sum(len(s.time_stamps) for s in read_xdf(recording).streams)
    assert report.samples == original
    fixed = read_xdf(report.path)
    assert fixed.closed and oct(report.path.stat().st_mode & 0o777) == "0o600"
    assert "original is unchanged" in report.summary()


def test_never_over_an_existing_file(recording, tmp_path):
    path = tmp_path / "cut.xdf"
    path.write_bytes(recording.read_bytes()[:-100])
    taken = tmp_path / "precious.xdf"
    taken.write_bytes(b"precious")
    with pytest.raises(RecordingWriteError, match="already exists"):
        repair_xdf(path, taken)
    assert taken.read_bytes() == b"precious"
    first = repair_xdf(path).path
    second = repair_xdf(path).path
    assert (first.name, second.name) == ("cut.repaired.xdf", "cut.repaired-2.xdf")
    assert default_target(path).name == "cut.repaired-3.xdf"
    assert repair_xdf(first).path is None  # already complete: nothing written


def test_a_short_write_is_never_reported_as_repaired(recording, tmp_path):
    """The disk accepts part of the copy (a file size limit makes the kernel write short,
    then refuse): one line, exit 2, nothing left behind, the original intact."""
    path = tmp_path / "cut.xdf"
    data = recording.read_bytes()[:-100]
    path.write_bytes(data)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(data) // 2, len(data) // 2))

    env = {**os.environ, "PYTHONPATH": os.getcwd(), "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "ui", "repair", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=limit,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "size allowed" in run.stderr
    assert "repaired" not in run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.xdf"]
    assert path.read_bytes() == data


def test_repair_command_line(recording, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    cut = tmp_path / "a.xdf"
    cut.write_bytes(recording.read_bytes()[:-9])
    out = tmp_path / "fixed.xdf"
    run = subprocess.run(
        [sys.executable, "-m", "ui", "repair", str(cut), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "repaired into" in run.stdout and read_xdf(out).closed
    streams, _ = pyxdf.load_xdf(str(out))
    assert sum(len(s["time_stamps"]) for s in streams) == sum(
        len(s.time_stamps) for s in read_xdf(out).streams
    )
