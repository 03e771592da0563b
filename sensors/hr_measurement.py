"""Parse and build the GATT Heart Rate Measurement characteristic (0x2A37).

Every Bluetooth heart-rate strap (Polar, Garmin, Wahoo, Decathlon, generic) notifies
this characteristic of the Heart Rate Service (0x180D). Layout, little-endian
(Bluetooth SIG Heart Rate Service 1.0, section 3.1; SCIENCE.md §1):

====================  ==========================================================
byte                  field
====================  ==========================================================
0                     flags: bit 0 HR is uint16 (else uint8); bits 1-2 sensor
                      contact (0 or 1: not supported, 2: supported but no
                      contact, 3: in contact); bit 3 energy expended present;
                      bit 4 RR intervals present; bits 5-7 reserved (ignored)
1, or 1-2             heart rate, beats per minute
next 2 if bit 3       energy expended, uint16, kilojoules, cumulative
rest if bit 4         n x uint16 RR intervals in 1/1024 s, oldest first
====================  ==========================================================

RR values stay in their raw 1/1024 s units (:attr:`HeartRateMeasurement.rr_1024`)
until :attr:`HeartRateMeasurement.rr_ms` converts them. RR values of 0 are dropped
(some straps pad with them). A payload that does not follow the layout raises
:class:`sensors.base.MalformedPayloadError` quoting the bytes in hex; the BLE source
counts and logs those and carries on.
"""

from dataclasses import dataclass

from sensors.base import MalformedPayloadError

__all__ = [
    "MAX_RR_1024",
    "MIN_RR_1024",
    "RR_UNITS_PER_S",
    "HeartRateMeasurement",
    "encode",
    "parse",
]

#: RR intervals are counted in 1/1024 s.
RR_UNITS_PER_S = 1024

#: Shortest credible RR interval, 1/1024 s (~98 ms, 615 bpm: faster than any heart).
MIN_RR_1024 = 100

#: Longest credible RR interval, 1/1024 s (6 s, 10 bpm). Longer values are garbage
#: (0xFFFF is a common fill value), not a pause a strap would report.
MAX_RR_1024 = 6 * RR_UNITS_PER_S

_FLAG_HR_UINT16 = 0x01
_FLAG_CONTACT_DETECTED = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    Attributes
    ----------
    hr_bpm : int
        The strap's own heart-rate field, beats per minute (0 when the strap has no
        estimate yet; some straps send 0 without skin contact).
    contact : bool or None
        Skin contact: True in contact, False supported but not in contact, None when
        the strap does not report contact.
    energy_kj : int or None
        Cumulative energy expended, kilojoules, when present.
    rr_1024 : tuple of int
        RR intervals in 1/1024 s, oldest first, zeros dropped. Empty for HR-only
        notifications.
    hr_uint16 : bool
        True when the HR field was sent as uint16 (kept so that :func:`encode`
        reproduces the payload byte for byte).
    """

    hr_bpm: int
    contact: bool | None = None
    energy_kj: int | None = None
    rr_1024: tuple[int, ...] = ()
    hr_uint16: bool = False

    @property
    def rr_ms(self) -> tuple[float, ...]:
        """RR intervals in milliseconds, oldest first."""
        return tuple(rr * 1000.0 / RR_UNITS_PER_S for rr in self.rr_1024)

    @property
    def has_rr(self) -> bool:
        """True when the notification carries at least one RR interval."""
        return bool(self.rr_1024)


def _malformed(payload: bytes, why: str) -> MalformedPayloadError:
    return MalformedPayloadError(
        f"malformed Heart Rate Measurement ({why}): {payload.hex() or '<empty>'}"
    )


def parse(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode one Heart Rate Measurement payload.

    Parameters
    ----------
    payload : bytes-like
        The characteristic value exactly as notified.

    Returns
    -------
    HeartRateMeasurement
        The decoded fields; RR in 1/1024 s with zeros dropped.

    Raises
    ------
    MalformedPayloadError
        The payload is empty, shorter than its flags announce, has trailing bytes
        that do not form whole RR values (or any trailing bytes without the RR
        flag), or carries an RR interval outside ``MIN_RR_1024..MAX_RR_1024``.
        The message quotes the payload in hex.
    """
    data = bytes(payload)
    n = len(data)
    if n == 0:
        raise _malformed(data, "empty")
    flags = data[0]
    hr_uint16 = bool(flags & _FLAG_HR_UINT16)
    if hr_uint16:
        if n < 3:
            raise _malformed(data, "truncated uint16 heart rate")
        hr_bpm = data[1] | (data[2] << 8)
        offset = 3
    else:
        if n < 2:
            raise _malformed(data, "truncated heart rate")
        hr_bpm = data[1]
        offset = 2
    contact: bool | None = None
    if flags & _FLAG_CONTACT_SUPPORTED:
        contact = bool(flags & _FLAG_CONTACT_DETECTED)
    energy_kj: int | None = None
    if flags & _FLAG_ENERGY:
        if n < offset + 2:
            raise _malformed(data, "truncated energy expended")
        energy_kj = data[offset] | (data[offset + 1] << 8)
        offset += 2
    rest = n - offset
    if not flags & _FLAG_RR:
        if rest:
            raise _malformed(data, f"{rest} trailing byte(s) without RR flag")
        return HeartRateMeasurement(hr_bpm, contact, energy_kj, (), hr_uint16)
    if rest % 2:
        raise _malformed(data, "odd trailing byte in RR intervals")
    rr = []
    for i in range(offset, n, 2):
        value = data[i] | (data[i + 1] << 8)
        if value == 0:
            continue
        if value < MIN_RR_1024 or value > MAX_RR_1024:
            raise _malformed(data, f"absurd RR interval {value}/1024 s")
        rr.append(value)
    return HeartRateMeasurement(hr_bpm, contact, energy_kj, tuple(rr), hr_uint16)


def encode(measurement: HeartRateMeasurement, *, rr_flag: bool | None = None) -> bytes:
    """Build the payload a strap would notify for ``measurement``.

    Used by the virtual strap and by the round-trip tests; ``parse(encode(m)) == m``
    for every valid ``m``.

    Parameters
    ----------
    measurement : HeartRateMeasurement
        Fields to encode. HR is sent as uint16 when ``hr_uint16`` is set or the value
        exceeds 255.
    rr_flag : bool or None
        Force the RR flag on (with no RR values) or off; by default it is set when
        there are RR values.

    Returns
    -------
    bytes
        The characteristic value.

    Raises
    ------
    ValueError
        A field does not fit its wire format.
    """
    m = measurement
    if not 0 <= m.hr_bpm <= 0xFFFF:
        raise ValueError(f"hr_bpm {m.hr_bpm} does not fit uint16")
    flags = 0
    wide = m.hr_uint16 or m.hr_bpm > 0xFF
    body = bytearray()
    if wide:
        flags |= _FLAG_HR_UINT16
        body += m.hr_bpm.to_bytes(2, "little")
    else:
        body.append(m.hr_bpm)
    if m.contact is not None:
        flags |= _FLAG_CONTACT_SUPPORTED | (_FLAG_CONTACT_DETECTED if m.contact else 0)
    if m.energy_kj is not None:
        if not 0 <= m.energy_kj <= 0xFFFF:
            raise ValueError(f"energy_kj {m.energy_kj} does not fit uint16")
        flags |= _FLAG_ENERGY
        body += m.energy_kj.to_bytes(2, "little")
    if rr_flag if rr_flag is not None else bool(m.rr_1024):
        flags |= _FLAG_RR
        for rr in m.rr_1024:
            if not 0 <= rr <= 0xFFFF:
                raise ValueError(f"RR {rr}/1024 s does not fit uint16")
            body += rr.to_bytes(2, "little")
    return bytes([flags]) + bytes(body)
