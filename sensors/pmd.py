"""Parse and build Polar Measurement Data (PMD) messages: control point and data frames.

Polar straps (H10, H9 partially, Verity Sense, OH1) offer a vendor service next to the
Heart Rate Service that streams raw signals: ECG (H10: 130 Hz, microvolts) and a
3-axis accelerometer (H10: 25-200 Hz, milli-g). Reference: Polar BLE SDK,
"Polar Measurement Data - online measurement" (technical_documentation/
online_measurement.pdf, version 1.0, August 2024), read together with the SDK's own
client for the parts the document leaves implicit (feature read, response layout).
Everything is little-endian.

Control point (``FB005C81-...``, read / write / indicate):

=====================  =====================================================
message                bytes
=====================  =====================================================
feature read           ``0F`` then a bit field: bit *n* set = measurement type *n*
                       is offered (byte 1 bit 0 ECG, bit 2 ACC, ...)
request                opcode (1 get settings, 2 start, 3 stop), measurement
                       type, then for *start* the chosen settings
response (indicated)   ``F0``, opcode, measurement type, status (0 = success,
                       else an error code), *more* flag, parameters
settings (parameters)  repeated: setting type, count, count values (sample rate,
                       resolution, range uint16; channels uint8; factor float32)
stop notice            ``01`` then measurement types the strap stopped by itself
=====================  =====================================================

Data (``FB005C82-...``, notify): measurement type (low 6 bits), uint64 timestamp of the
*last* sample in ns since 2000-01-01 on the strap's clock, frame type (low 7 bits;
bit 7 = delta-compressed), then samples. Uncompressed frames are consecutive signed
integers (ECG type 0: one 24-bit value; ACC types 0/1/2: three 8/16/24-bit values).
Compressed frames are a reference sample (one signed value per channel in
``ceil(resolution / 8)`` bytes), then blocks of ``[delta bit width, sample count,
packed deltas]``; deltas are two's-complement integers of that width, packed from the
least significant bit, channel after channel, sample after sample; each sample is the
previous one plus its delta.

Values are integers in the frame; times in nanoseconds until
:func:`sample_times_ns` spreads them; :class:`sensors.base.MalformedPayloadError`
quotes the bytes of anything that does not follow the layout.
"""

import enum
import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from sensors.base import MalformedPayloadError

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

FEATURE_CODE = 0x0F
RESPONSE_CODE = 0xF0
STOP_NOTICE_CODE = 0x01
#: Header of a data frame: type, 8-byte timestamp, frame type.
HEADER_SIZE = 10


class Measurement(enum.IntEnum):
    """PMD measurement types (Table 2)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6


class Op(enum.IntEnum):
    """Control point opcodes (Table 4)."""

    GET_SETTINGS = 1
    START = 2
    STOP = 3


class Setting(enum.IntEnum):
    """Setting types (Table 5)."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


#: Value sizes of each setting, bytes.
_SETTING_SIZE = {
    Setting.SAMPLE_RATE: 2,
    Setting.RESOLUTION: 2,
    Setting.RANGE: 2,
    Setting.RANGE_MILLIUNIT: 4,
    Setting.CHANNELS: 1,
    Setting.FACTOR: 4,
}

#: Status codes of a response, as the SDK names them.
STATUS_TEXT = {
    0: "success",
    1: "invalid opcode",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in that state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}

#: Seconds from the Unix epoch to the PMD epoch (2000-01-01 00:00:00 UTC).
PMD_EPOCH_UNIX_S = 946_684_800

#: Setting -> values (several when offered, one when chosen).
Settings = dict[Setting, tuple[float, ...]]


# ---------------------------------------------------------------------------- control point


def _bad(what: str, data: bytes) -> MalformedPayloadError:
    return MalformedPayloadError(f"{what}: {bytes(data).hex(' ') or '(empty)'}")


def parse_features(data: bytes) -> frozenset[int]:
    """Measurement types a strap offers, from the control point's read value.

    Raises
    ------
    MalformedPayloadError
        When the value does not start with ``0F`` or has no bit field.
    """
    if len(data) < 2 or data[0] != FEATURE_CODE:
        raise _bad("not a PMD feature read", data)
    bits = int.from_bytes(data[1:], "little")
    return frozenset(n for n in range(8 * (len(data) - 1)) if bits >> n & 1)


def encode_features(types: Iterable[int]) -> bytes:
    """The control point's read value offering ``types`` (inverse of :func:`parse_features`)."""
    bits = 0
    for n in types:
        bits |= 1 << int(n)
    return bytes([FEATURE_CODE]) + bits.to_bytes(max(2, (bits.bit_length() + 7) // 8), "little")


def parse_settings(data: bytes) -> Settings:
    """Decode a settings list (response parameters or a start request's tail).

    Returns
    -------
    dict
        Setting -> values (several in a *get settings* response, one when chosen).
    """
    out: Settings = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise _bad("truncated PMD settings", data)
        try:
            kind = Setting(data[i])
        except ValueError:
            raise _bad(f"unknown PMD setting type {data[i]}", data) from None
        count, size = data[i + 1], _SETTING_SIZE[kind]
        i += 2
        if i + count * size > len(data):
            raise _bad("truncated PMD settings", data)
        values: list[float] = []
        for _ in range(count):
            chunk = data[i : i + size]
            if kind == Setting.FACTOR:
                values.append(struct.unpack("<f", chunk)[0])
            else:
                values.append(int.from_bytes(chunk, "little"))
            i += size
        out[kind] = tuple(values)
    return out


def encode_settings(settings: Mapping[Setting, Iterable[float]]) -> bytes:
    """Encode a settings list (inverse of :func:`parse_settings`)."""
    out = bytearray()
    for kind, values in settings.items():
        vals = list(values)
        out += bytes([int(kind), len(vals)])
        for v in vals:
            if kind == Setting.FACTOR:
                out += struct.pack("<f", v)
            else:
                out += int(v).to_bytes(_SETTING_SIZE[Setting(kind)], "little")
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Request:
    """A control point request (what the client writes)."""

    op: int
    measurement: int
    settings: Settings

    def encode(self) -> bytes:
        """The bytes to write."""
        return bytes([self.op, self.measurement]) + encode_settings(self.settings)


def parse_request(data: bytes) -> Request:
    """Decode a control point write (the strap's side)."""
    if len(data) < 2:
        raise _bad("PMD request too short", data)
    return Request(data[0], data[1], parse_settings(data[2:]))


@dataclass(frozen=True, slots=True)
class Response:
    """A control point response (indicated by the strap).

    Attributes
    ----------
    op, measurement : int
        Echo of the request.
    status : int
        0 success, else an error code (:data:`STATUS_TEXT`).
    more : bool
        More response packets follow (their parameters continue these).
    params : bytes
        Parameters (settings of a *get settings* or *start* response).
    """

    op: int
    measurement: int
    status: int
    more: bool = False
    params: bytes = b""

    @property
    def ok(self) -> bool:
        """True for a success."""
        return self.status == 0

    @property
    def status_text(self) -> str:
        """The status in words."""
        return STATUS_TEXT.get(self.status, f"error {self.status}")

    def encode(self) -> bytes:
        """The bytes a strap indicates (errors carry no *more* flag or parameters)."""
        head = bytes([RESPONSE_CODE, self.op, self.measurement, self.status])
        if self.status != 0:
            return head
        return head + bytes([int(self.more)]) + self.params


def parse_response(data: bytes) -> Response:
    """Decode an indication of the control point.

    Raises
    ------
    MalformedPayloadError
        When it is not a response (see :func:`parse_stop_notice` for the other kind).
    """
    if len(data) < 4 or data[0] != RESPONSE_CODE:
        raise _bad("not a PMD control point response", data)
    status = data[3]
    if status != 0:
        return Response(data[1], data[2], status)
    more = len(data) > 4 and data[4] != 0
    return Response(data[1], data[2], 0, more, bytes(data[5:]))


def parse_stop_notice(data: bytes) -> frozenset[int] | None:
    """Measurement types the strap stopped on its own, or None for other messages."""
    if not data or data[0] != STOP_NOTICE_CODE:
        return None
    return frozenset(data[1:])


# ---------------------------------------------------------------------------- data frames


@dataclass(frozen=True, slots=True)
class Layout:
    """How the samples of one frame type are laid out.

    Attributes
    ----------
    channels : int
        Values per sample.
    size : int
        Bytes per value in an uncompressed frame.
    resolution : int
        Bits of the reference sample in a compressed frame (its bytes:
        ``ceil(resolution / 8)``).
    """

    channels: int
    size: int
    resolution: int


#: (measurement, frame type) -> layout. ECG of the H10 is type 0 (24-bit uV), its ACC
#: type 1 (16-bit mG); compressed ACC type 1 keeps 16-bit references.
LAYOUTS: dict[tuple[int, int], Layout] = {
    (Measurement.ECG, 0): Layout(1, 3, 14),
    (Measurement.ACC, 0): Layout(3, 1, 8),
    (Measurement.ACC, 1): Layout(3, 2, 16),
    (Measurement.ACC, 2): Layout(3, 3, 24),
}


@dataclass(frozen=True, slots=True)
class DataFrame:
    """One decoded PMD data notification.

    Attributes
    ----------
    measurement : int
        Measurement type (:class:`Measurement`).
    timestamp_ns : int
        Strap time of the last sample, ns since 2000-01-01 (strap clock).
    frame_type : int
        Frame type without the compression bit.
    compressed : bool
        Delta-compressed frame.
    samples : numpy.ndarray
        ``(n, channels)`` int64, raw units (multiply by the start response's factor).
    """

    measurement: int
    timestamp_ns: int
    frame_type: int
    compressed: bool
    samples: np.ndarray


def _signed(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement of unsigned ``values`` that are ``bits`` wide."""
    half = np.int64(1) << (bits - 1)
    return (values ^ half) - half


def _le_ints(buf: np.ndarray, size: int) -> np.ndarray:
    """Signed little-endian integers of ``size`` bytes from a ``(..., size)`` uint8 array."""
    weights = np.int64(1) << (8 * np.arange(size, dtype=np.int64))
    return _signed(buf.astype(np.int64) @ weights, 8 * size)


def _raw(content: bytes, layout: Layout, data: bytes) -> np.ndarray:
    step = layout.channels * layout.size
    if len(content) % step:
        raise _bad(f"PMD frame of {len(content)} bytes is not whole {step}-byte samples", data)
    buf = np.frombuffer(content, np.uint8).reshape(-1, layout.channels, layout.size)
    return _le_ints(buf, layout.size)


def _delta(content: bytes, layout: Layout, data: bytes) -> np.ndarray:
    ch = layout.channels
    ref_size = math.ceil(layout.resolution / 8)
    if len(content) < ch * ref_size:
        raise _bad("compressed PMD frame without a whole reference sample", data)
    ref = np.frombuffer(content[: ch * ref_size], np.uint8).reshape(ch, ref_size)
    rows = [_le_ints(ref, ref_size)[None, :]]
    i = ch * ref_size
    while i < len(content):
        if i + 2 > len(content):
            raise _bad("compressed PMD frame: truncated block header", data)
        width, count = content[i], content[i + 1]
        i += 2
        if not 1 <= width <= 32:
            raise _bad(f"compressed PMD frame: delta width {width} bits", data)
        nbits = width * count * ch
        nbytes = (nbits + 7) // 8
        if i + nbytes > len(content):
            raise _bad("compressed PMD frame: truncated deltas", data)
        bits = np.unpackbits(np.frombuffer(content[i : i + nbytes], np.uint8), bitorder="little")
        bits = bits[:nbits].reshape(count * ch, width).astype(np.int64)
        deltas = _signed(bits @ (np.int64(1) << np.arange(width, dtype=np.int64)), width)
        rows.append(deltas.reshape(count, ch))
        i += nbytes
    return np.cumsum(np.concatenate(rows), axis=0)


def parse_frame(data: bytes, layouts: Mapping[tuple[int, int], Layout] = LAYOUTS) -> DataFrame:
    """Decode one notification of the PMD data characteristic.

    Parameters
    ----------
    data : bytes
        The notification.
    layouts : mapping
        Frame layouts (defaults: :data:`LAYOUTS`); the resolution of compressed
        frames comes from the strap's settings when they differ.

    Raises
    ------
    MalformedPayloadError
        Too short, unknown measurement or frame type, partial samples, truncated
        compressed blocks, or no samples at all.
    """
    if len(data) < HEADER_SIZE:
        raise _bad("PMD frame shorter than its header", data)
    measurement = data[0] & 0x3F
    timestamp_ns = int.from_bytes(data[1:9], "little")
    frame_type, compressed = data[9] & 0x7F, bool(data[9] & 0x80)
    layout = layouts.get((measurement, frame_type))
    if layout is None:
        raise _bad(f"unsupported PMD frame (measurement {measurement}, type {frame_type})", data)
    content = bytes(data[HEADER_SIZE:])
    samples = _delta(content, layout, data) if compressed else _raw(content, layout, data)
    if len(samples) == 0:
        raise _bad("PMD frame without samples", data)
    return DataFrame(measurement, timestamp_ns, frame_type, compressed, samples)


def _pack_bits(values: np.ndarray, width: int) -> bytes:
    """Pack signed ``values`` as ``width``-bit two's complement, LSB first."""
    u = values.astype(np.int64) & ((np.int64(1) << width) - 1)
    bits = (u[:, None] >> np.arange(width, dtype=np.int64)) & 1
    return np.packbits(bits.astype(np.uint8).ravel(), bitorder="little").tobytes()


def encode_frame(
    measurement: int,
    timestamp_ns: int,
    samples: np.ndarray,
    frame_type: int,
    *,
    compressed: bool = False,
    layouts: Mapping[tuple[int, int], Layout] = LAYOUTS,
    block: int = 255,
) -> bytes:
    """Build a PMD data notification (the virtual strap's side; inverse of :func:`parse_frame`).

    Compressed frames use, per block of up to ``block`` samples, the narrowest delta
    width that holds every delta of the block.
    """
    layout = layouts[(measurement, frame_type)]
    s = np.asarray(samples, dtype=np.int64).reshape(-1, layout.channels)
    head = bytes([measurement]) + int(timestamp_ns).to_bytes(8, "little")
    head += bytes([frame_type | (0x80 if compressed else 0)])
    if not compressed:
        size = layout.size
        u = s & ((np.int64(1) << 8 * size) - 1)
        b = (u[..., None] >> (8 * np.arange(size, dtype=np.int64))) & 0xFF
        return head + b.astype(np.uint8).tobytes()
    ref_size = math.ceil(layout.resolution / 8)
    out = bytearray(head)
    for v in s[0]:
        out += (int(v) & ((1 << 8 * ref_size) - 1)).to_bytes(ref_size, "little")
    deltas = np.diff(s, axis=0)
    for start in range(0, len(deltas), block):
        part = deltas[start : start + block]
        peak = int(np.max(np.maximum(part, -part - 1))) if part.size else 0
        width = max(1, peak.bit_length() + 1)
        out += bytes([width, len(part)]) + _pack_bits(part.ravel(), width)
    return bytes(out)


def sample_times_ns(
    timestamp_ns: int, n: int, previous_ns: int | None, sample_rate_hz: float
) -> np.ndarray:
    """Strap times of a frame's samples, ns (the last one is the frame's timestamp).

    Like the SDK: spaced evenly since the previous frame's timestamp when there is one
    (the strap's own clock sets the rate), else (first frame, or a spacing more than
    20 % off the nominal one: a frame was lost) by the nominal sample rate.
    """
    nominal = 1e9 / sample_rate_hz
    step = nominal
    if previous_ns is not None and previous_ns < timestamp_ns:
        step = (timestamp_ns - previous_ns) / n
        if abs(step - nominal) > 0.2 * nominal:  # a lost frame or a clock jump: nominal
            step = nominal
    return timestamp_ns - step * np.arange(n - 1, -1, -1, dtype=np.float64)
