"""Finding heart-rate straps: the Heart Rate Service UUIDs, scanning and name matching.

Discovery filters on the service UUID (0x180D), never on a name. BlueZ allows one
discovery per client and one LE connection attempt at a time, so scans and connection
attempts on one event loop take turns under :func:`adapter_lock`.
"""

import asyncio
import weakref
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from sensors.base import SensorError
from sensors.ble.errors import SETUP_ERRORS, describe_ble_error

__all__ = [
    "BATTERY_LEVEL_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_UUID",
    "MANUFACTURER_NAME_UUID",
    "MODEL_NUMBER_UUID",
    "SCAN_SLICE_S",
    "StrapInfo",
    "adapter_lock",
    "find_strap",
    "matches",
    "scan",
]

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"

#: Longest single scan while holding the adapter, seconds; a longer search is several
#: slices so that a second strap's source gets its turn in between.
SCAN_SLICE_S = 3.0


@dataclass(frozen=True, slots=True)
class StrapInfo:
    """A heart-rate strap seen advertising.

    Attributes
    ----------
    name : str or None
        Advertised name (None when the strap sends none).
    address : str
        Bluetooth address (on macOS, CoreBluetooth's UUID for the device).
    rssi : int or None
        Signal strength of the last advertisement, dBm.
    """

    name: str | None
    address: str
    rssi: int | None


_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


def adapter_lock() -> asyncio.Lock:
    """Return the lock that serialises scans and connection attempts on this loop."""
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


async def scan(timeout_s: float = 5.0) -> list[StrapInfo]:
    """List heart-rate straps advertising the Heart Rate Service (0x180D).

    Parameters
    ----------
    timeout_s : float
        How long to listen, seconds.

    Returns
    -------
    list of StrapInfo
        Straps found, strongest signal first.

    Raises
    ------
    SensorError
        When Bluetooth cannot be used (off, no adapter, no permission); the message
        says what to do.
    """
    try:
        async with adapter_lock():
            found = await BleakScanner.discover(
                timeout=timeout_s, service_uuids=[HEART_RATE_SERVICE_UUID], return_adv=True
            )
    except SETUP_ERRORS as exc:
        raise SensorError(describe_ble_error(exc)) from exc
    straps = [
        StrapInfo(dev.name or adv.local_name, dev.address, adv.rssi) for dev, adv in found.values()
    ]
    straps.sort(key=lambda s: -(s.rssi if s.rssi is not None else -999))
    return straps


def matches(target: str, device: BLEDevice, adv: AdvertisementData) -> bool:
    """Whether an advertising strap is the one a ``ble:`` spec names.

    The target matches the address (case-insensitive), the full name, or the last
    word of the name (the device ID printed on a Polar strap).
    """
    want = target.strip().casefold()
    if device.address.casefold() == want:
        return True
    name = (device.name or adv.local_name or "").strip().casefold()
    return bool(name) and (name == want or name.rsplit(" ", 1)[-1] == want)


async def find_strap(target: str, timeout_s: float) -> BLEDevice | None:
    """Scan for a Heart Rate Service device matching ``target`` (see :func:`matches`).

    Parameters
    ----------
    target : str
        Strap name, the device ID at its end, or address.
    timeout_s : float
        How long to listen, seconds.

    Returns
    -------
    BLEDevice or None
        The device, or None when none matched in time.
    """
    return await BleakScanner.find_device_by_filter(
        lambda device, adv: matches(target, device, adv),
        timeout=timeout_s,
        service_uuids=[HEART_RATE_SERVICE_UUID],
    )
