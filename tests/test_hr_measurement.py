"""Heart Rate Measurement (0x2A37) parser and encoder."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.base import MalformedPayloadError, SensorError
from sensors.hr_measurement import (
    MAX_RR_1024,
    MIN_RR_1024,
    HeartRateMeasurement,
    encode,
    parse,
)


@pytest.mark.parametrize(
    ("hex_payload", "expected"),
    [
        # uint8 HR, no contact support, nothing else
        ("0048", HeartRateMeasurement(72)),
        # bits 1-2 = 1: contact "not supported" as well
        ("0248", HeartRateMeasurement(72)),
        # supported, no contact
        ("0448", HeartRateMeasurement(72, contact=False)),
        # supported, in contact
        ("0648", HeartRateMeasurement(72, contact=True)),
        # uint16 HR
        ("012c01", HeartRateMeasurement(300, hr_uint16=True)),
        ("014800", HeartRateMeasurement(72, hr_uint16=True)),
        # energy expended, little-endian
        ("0848e803", HeartRateMeasurement(72, energy_kj=1000)),
        # one RR of 1024/1024 s (Polar H10 style: contact + RR)
        ("16480004", HeartRateMeasurement(72, contact=True, rr_1024=(1024,))),
        # three RR, oldest first
        ("1648000420033304", HeartRateMeasurement(72, True, None, (1024, 800, 1075))),
        # everything: uint16 HR, contact, energy, two RR
        (
            "1f5a000a0000040004",
            HeartRateMeasurement(90, True, 10, (1024, 1024), hr_uint16=True),
        ),
        # reserved bits 5-7 are ignored
        ("e048", HeartRateMeasurement(72)),
        ("f6480004", HeartRateMeasurement(72, contact=True, rr_1024=(1024,))),
        # RR flag without RR values: HR-only
        ("1048", HeartRateMeasurement(72)),
        # RR of 0 dropped
        ("10480000", HeartRateMeasurement(72)),
        ("104800040000", HeartRateMeasurement(72, rr_1024=(1024,))),
        # HR of 0 (strap without an estimate yet)
        ("0400", HeartRateMeasurement(0, contact=False)),
    ],
)
def test_every_flag_combination(hex_payload, expected):
    assert parse(bytes.fromhex(hex_payload)) == expected


def test_rr_ms_keeps_1024_resolution():
    m = parse(bytes.fromhex("104800042003"))
    assert m.rr_1024 == (1024, 800)
    assert m.rr_ms == (1000.0, 800 * 1000 / 1024)
    assert m.has_rr


@pytest.mark.parametrize(
    ("hex_payload", "why"),
    [
        ("", "empty"),
        ("00", "truncated heart rate"),
        ("01", "truncated uint16"),
        ("0148", "truncated uint16"),
        ("0848", "truncated energy"),
        ("084801", "truncated energy"),
        ("104800", "odd trailing byte"),
        ("1048000400", "odd trailing byte"),
        ("0048ff", "without RR flag"),
        ("1048ffff", "absurd RR"),
        ("10480100", "absurd RR"),
        ("104800040118", "absurd RR"),  # 6145/1024 s
    ],
)
def test_malformed_payloads_raise_typed_error_with_hex(hex_payload, why):
    with pytest.raises(MalformedPayloadError) as info:
        parse(bytes.fromhex(hex_payload))
    message = str(info.value)
    assert why in message
    assert (hex_payload or "<empty>") in message
    assert isinstance(info.value, SensorError)


def test_rr_bounds_are_inclusive():
    low = bytes([0x10, 60]) + MIN_RR_1024.to_bytes(2, "little")
    high = bytes([0x10, 60]) + MAX_RR_1024.to_bytes(2, "little")
    assert parse(low).rr_1024 == (MIN_RR_1024,)
    assert parse(high).rr_1024 == (MAX_RR_1024,)


def test_accepts_bytearray_and_memoryview():
    raw = bytes.fromhex("16480004")
    assert parse(bytearray(raw)) == parse(memoryview(raw)) == parse(raw)


def test_encode_known_payloads():
    assert encode(HeartRateMeasurement(72, True, None, (1024,))) == bytes.fromhex("16480004")
    assert encode(HeartRateMeasurement(300)) == bytes.fromhex("012c01")
    assert encode(HeartRateMeasurement(72), rr_flag=True) == bytes.fromhex("1048")
    with pytest.raises(ValueError, match="hr_bpm"):
        encode(HeartRateMeasurement(70000))
    with pytest.raises(ValueError, match="energy_kj"):
        encode(HeartRateMeasurement(60, energy_kj=-1))
    with pytest.raises(ValueError, match="RR"):
        encode(HeartRateMeasurement(60, rr_1024=(70000,)))


# ---------------------------------------------------------------- property-based

_valid_rr = st.integers(MIN_RR_1024, MAX_RR_1024)


@st.composite
def measurements(draw):
    hr_uint16 = draw(st.booleans())
    hr = draw(st.integers(0, 0xFFFF if hr_uint16 else 0xFF))
    return HeartRateMeasurement(
        hr_bpm=hr,
        contact=draw(st.none() | st.booleans()),
        energy_kj=draw(st.none() | st.integers(0, 0xFFFF)),
        rr_1024=tuple(draw(st.lists(_valid_rr, max_size=9))),
        hr_uint16=hr_uint16,
    )


@given(measurements())
def test_every_well_formed_measurement_round_trips(m):
    payload = encode(m)
    assert parse(payload) == m
    assert encode(parse(payload)) == payload


@given(measurements(), st.integers(0, 7), st.lists(st.integers(0, 9), max_size=3))
def test_reserved_bits_and_zero_rr_do_not_change_the_reading(m, reserved, zero_slots):
    payload = bytearray(encode(m, rr_flag=True))
    payload[0] |= reserved << 5
    rr_start = len(payload) - 2 * len(m.rr_1024)
    for slot in zero_slots:  # insert RR = 0 padding anywhere in the RR list
        pos = rr_start + 2 * min(slot, (len(payload) - rr_start) // 2)
        payload[pos:pos] = b"\x00\x00"
    assert parse(bytes(payload)) == m


@settings(max_examples=2000)
@given(st.binary(max_size=24))
def test_random_bytes_raise_nothing_but_the_typed_error(payload):
    try:
        m = parse(payload)
    except MalformedPayloadError as exc:
        assert payload.hex() in str(exc) or payload == b""
        return
    assert isinstance(m, HeartRateMeasurement)
    assert all(MIN_RR_1024 <= rr <= MAX_RR_1024 for rr in m.rr_1024)
