"""Bluetooth LE heart-rate straps through bleak: discovery, connection, beats, reconnection.

Any strap with the standard Heart Rate Service (0x180D) works: Polar, Garmin, Wahoo,
Decathlon, generic. Discovery filters on the service UUID, never on a name.

- :mod:`sensors.ble.discovery`: the service UUIDs, :func:`scan`, name matching and the
  adapter lock that serialises scans and connection attempts.
- :mod:`sensors.ble.source`: :class:`BleHeartRateSource`, connection, the notification
  queue, beats and reconnection with capped backoff.
- :mod:`sensors.ble.errors`: :func:`describe_ble_error`, bleak/D-Bus/OS failures as
  messages that say what to do.

Two straps on one adapter are two sources; scanning and connecting are serialised
under one lock per event loop (BlueZ allows one discovery per client and one LE
connection attempt at a time), and each source connects with the ``BLEDevice`` its
scan returned, as in bleak's ``two_devices`` example.
"""

from sensors.ble.discovery import (
    BATTERY_LEVEL_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    StrapInfo,
    scan,
)
from sensors.ble.errors import describe_ble_error
from sensors.ble.source import BleHeartRateSource

__all__ = [
    "BATTERY_LEVEL_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_UUID",
    "BleHeartRateSource",
    "StrapInfo",
    "describe_ble_error",
    "scan",
]
