"""The PMD codec (sensors/pmd.py): control point messages, data frames, sample times."""

import numpy as np
import pytest

from sensors.base import MalformedPayloadError
from sensors.pmd import (
    LAYOUTS,
    Layout,
    Measurement,
    Op,
    Request,
    Response,
    Setting,
    encode_features,
    encode_frame,
    encode_settings,
    parse_features,
    parse_frame,
    parse_request,
    parse_response,
    parse_settings,
    parse_stop_notice,
    sample_times_ns,
)


def header(measurement: int, ts_ns: int, frame_type: int) -> bytes:
    return bytes([measurement]) + ts_ns.to_bytes(8, "little") + bytes([frame_type])


def test_h10_ecg_settings_answer_is_decoded():
    # what an H10 answers to "get ECG settings": 130 Hz, 14 bits
    response = parse_response(bytes.fromhex("f0 01 00 00 00 00 01 82 00 01 01 0e 00"))
    assert (response.op, response.measurement, response.ok, response.more) == (1, 0, True, False)
    assert parse_settings(response.params) == {
        Setting.SAMPLE_RATE: (130,),
        Setting.RESOLUTION: (14,),
    }


def test_acc_settings_and_start_request_round_trip():
    offered = {
        Setting.SAMPLE_RATE: (25, 50, 100, 200),
        Setting.RESOLUTION: (16,),
        Setting.RANGE: (2, 4, 8),
    }
    assert parse_settings(encode_settings(offered)) == offered
    start = Request(Op.START, Measurement.ACC, {Setting.SAMPLE_RATE: (50,), Setting.RANGE: (8,)})
    assert start.encode() == bytes.fromhex("02 02 00 01 32 00 02 01 08 00")
    assert parse_request(start.encode()) == start
    factor = parse_settings(encode_settings({Setting.FACTOR: (0.5,)}))
    assert factor == {Setting.FACTOR: (0.5,)}


def test_error_response_and_stop_notice():
    refused = parse_response(Response(Op.START, Measurement.ACC, 8).encode())
    assert not refused.ok and refused.status_text == "invalid sample rate"
    assert parse_stop_notice(bytes([1, 0, 2])) == {0, 2}
    assert parse_stop_notice(bytes.fromhex("f0 01 00 00")) is None


def test_features_bit_field():
    assert parse_features(bytes.fromhex("0f 05 00")) == {Measurement.ECG, Measurement.ACC}
    assert parse_features(encode_features([0, 2, 9])) == {0, 2, 9}


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (parse_features, b"\x0f"),  # no bit field
        (parse_features, bytes.fromhex("0e 05")),  # not a feature read
        (parse_response, b""),
        (parse_response, b"\xf0\x01\x00"),  # no status
        (parse_settings, bytes.fromhex("00 02 82")),  # two rates announced, one sent
        (parse_settings, bytes.fromhex("09 01 00")),  # unknown setting type
        (parse_request, b"\x02"),
    ],
)
def test_malformed_control_point_messages_raise(parse, data):
    with pytest.raises(MalformedPayloadError):
        parse(data)


def test_compressed_frame_matches_the_sdk_worked_example():
    # Polar's own example: reference (1905, 27376, -29282), then a 10-bit delta block
    # whose first sample adds (+190, -105, -85).
    content = bytes.fromhex("7107f06a9e8d") + bytes([0x0A, 0x01]) + bytes.fromhex("be5cbeba")
    layouts = {(Measurement.ACC, 0): Layout(3, 1, 16)}
    frame = parse_frame(header(2, 2_000_000_000, 0x80) + content, layouts)
    assert frame.compressed and frame.timestamp_ns == 2_000_000_000
    assert frame.samples.tolist() == [[1905, 27376, -29282], [2095, 27271, -29367]]


def test_h10_raw_acc_frame():
    # 16-bit mG samples (x, y, z) = (-9, -1, 999), (-8, -2, 997)
    content = bytes.fromhex("f7ffffffe703 f8fffeffe503")
    frame = parse_frame(header(2, 5, 0x01) + content)
    assert frame.samples.tolist() == [[-9, -1, 999], [-8, -2, 997]]


@pytest.mark.parametrize("seed", range(20))
def test_encode_parse_round_trip(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    acc = np.cumsum(rng.integers(-400, 400, (n, 3)), axis=0) + rng.integers(-9000, 9000, 3)
    acc = np.clip(acc, -32768, 32767)
    block = int(rng.integers(1, 60))
    for compressed in (False, True):
        data = encode_frame(2, 77, acc, 1, compressed=compressed, block=block)
        frame = parse_frame(data)
        assert frame.compressed is compressed
        np.testing.assert_array_equal(frame.samples, acc)
    ecg = rng.integers(-(2**23), 2**23, (n, 1))
    np.testing.assert_array_equal(parse_frame(encode_frame(0, 1, ecg, 0)).samples, ecg)
    acc8 = rng.integers(-128, 128, (n, 3))
    np.testing.assert_array_equal(parse_frame(encode_frame(2, 1, acc8, 0)).samples, acc8)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00\x01\x02", "shorter than its header"),
        (header(0, 1, 0) + b"\x01\x02", "whole 3-byte samples"),
        (header(0, 1, 0), "without samples"),
        (header(0, 1, 7) + b"\x00" * 3, "unsupported"),
        (header(9, 1, 0) + b"\x00" * 3, "unsupported"),
        (header(2, 1, 0x81) + b"\x00" * 5, "reference sample"),
        (header(2, 1, 0x81) + b"\x00" * 6 + b"\x0a", "block header"),
        (header(2, 1, 0x81) + b"\x00" * 6 + b"\x0a\x05\x00", "truncated deltas"),
        (header(2, 1, 0x81) + b"\x00" * 6 + b"\x00\x05", "delta width"),
    ],
)
def test_malformed_frames_raise_with_their_bytes(data, why):
    with pytest.raises(MalformedPayloadError, match=why) as info:
        parse_frame(data)
    assert data[:3].hex(" ") in str(info.value)


def test_every_layout_round_trips():
    for (measurement, frame_type), layout in LAYOUTS.items():
        hi = 2 ** (8 * layout.size - 1)
        samples = np.array([[-hi] * layout.channels, [hi - 1] * layout.channels])
        data = encode_frame(measurement, 3, samples, frame_type)
        np.testing.assert_array_equal(parse_frame(data).samples, samples)


def test_sample_times_end_at_the_timestamp_and_follow_the_strap_clock():
    t = sample_times_ns(1_000_000_000, 4, None, 100.0)
    np.testing.assert_allclose(t, [970e6, 980e6, 990e6, 1000e6])
    # the strap's clock runs 1 % slow: the spacing follows it
    t = sample_times_ns(2_000_000_000, 100, 1_010_000_000, 100.0)
    np.testing.assert_allclose(np.diff(t), 9.9e6)
    assert t[-1] == 2_000_000_000
    # a lost frame (twice the spacing): back to the nominal rate
    t = sample_times_ns(3_000_000_000, 100, 1_000_000_000, 100.0)
    np.testing.assert_allclose(np.diff(t), 10e6)
