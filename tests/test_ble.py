"""BleHeartRateSource through bleak's real BlueZ backend, against virtual straps.

Every test runs a private dbus-daemon, the virtual org.bluez (dbus-fast) and bumble
straps on one asyncio loop; bleak itself is not touched.
"""

import asyncio
import contextlib
import itertools
import random

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from sensors.base import (
    ConnectionLostError,
    DeviceNotFoundError,
    SensorError,
    SourceState,
)
from sensors.ble import BleHeartRateSource, StrapInfo, describe_ble_error, scan
from sensors.clock import now
from sensors.virtual import VirtualBluetooth
from sensors.virtual.dbus_daemon import PrivateBus


def run(coro, timeout_s: float = 30.0):
    """Run one scenario on a fresh loop (strap, shim and bleak share it)."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


class Collector:
    """Consume a source's beats in a task, as the engine does, and record statuses."""

    def __init__(self, source: BleHeartRateSource) -> None:
        self.source = source
        self.beats = []
        self.statuses = []
        self.error: BaseException | None = None
        self.gate = asyncio.Event()
        self.gate.set()
        source.add_status_listener(lambda _name, status: self.statuses.append(status))
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            async with contextlib.aclosing(self.source.beats()) as beats:
                async for beat in beats:
                    await self.gate.wait()  # a busy engine: beats wait in the source
                    self.beats.append(beat)
        except Exception as exc:
            self.error = exc

    def pause(self) -> None:
        self.gate.clear()

    def resume(self) -> None:
        self.gate.set()

    async def wait_beats(self, n: int, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.beats) < n:
                if self.task.done():
                    raise AssertionError(f"source ended: {self.error!r}")
                await asyncio.sleep(0.002)

    async def wait_state(self, state: SourceState, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while self.source.status.state != state:
                if self.task.done():
                    raise AssertionError(f"source ended: {self.error!r}")
                await asyncio.sleep(0.002)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    def states(self) -> list[SourceState]:
        return [s.state for s in self.statuses]

    def rr_1024(self) -> list[int]:
        return [round(b.rr_ms * 1024 / 1000) for b in self.beats]


async def connected(bt: VirtualBluetooth, source: BleHeartRateSource, strap) -> Collector:
    collector = Collector(source)
    await strap.wait_subscribed(10.0)
    await collector.wait_state(SourceState.CONNECTED)
    return collector


def distinct_rr_sequence(n: int, seed: int) -> list[list[int]]:
    """Notifications of 0-3 RR values (1/1024 s), no two consecutive payloads equal."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.choice([0, 1, 1, 1, 2, 3])
        out.append([rng.randint(450, 1400) + (i % 2) for _ in range(k)])
    return out


# ---------------------------------------------------------------------------- scanning


def test_scan_finds_straps_by_service_not_by_name():
    async def scenario():
        async with VirtualBluetooth() as bt:
            await bt.add_strap(name="HRM-Dual:123456", address="C4:7A:00:00:00:11")
            await bt.add_strap(name="TICKR 4C1D", address="C4:7A:00:00:00:22")
            await bt.add_beacon("Polar H10 lookalike")  # a name, but no 0x180D
            return await scan(1.0)

    straps = run(scenario())
    assert sorted(straps, key=lambda s: s.address) == [
        StrapInfo("HRM-Dual:123456", "C4:7A:00:00:00:11", -50),
        StrapInfo("TICKR 4C1D", "C4:7A:00:00:00:22", -50),
    ]


def test_scan_when_nothing_advertises_returns_empty():
    async def scenario():
        async with VirtualBluetooth() as bt:
            await bt.add_strap(advertise=False)
            return await scan(0.5)

    assert run(scenario()) == []


# ---------------------------------------------------------------------------- connecting


@pytest.mark.parametrize("by", ["name", "address", "device_id"])
def test_connects_by_name_address_or_device_id(by):
    async def scenario():
        async with VirtualBluetooth() as bt:
            await bt.add_strap(name="Polar H10 0A1B2C3D", address="C4:7A:00:00:00:31")
            strap = await bt.add_strap(name="Polar H10 99887766", address="C4:7A:00:00:00:32")
            target = {
                "name": "polar h10 99887766",
                "address": "c4:7a:00:00:00:32",
                "device_id": "99887766",
            }[by]
            source = BleHeartRateSource(target, subject="me", scan_timeout_s=5.0)
            collector = await connected(bt, source, strap)
            status = source.status
            backend = type(source._client._backend).__name__
            await collector.stop()
            return source, status, backend

    source, status, backend = run(scenario())
    assert backend == "BleakClientBlueZDBus"  # bleak's own Linux backend
    assert source.name == "ble:C4:7A:00:00:00:32"
    assert source.address == "C4:7A:00:00:00:32"
    assert status.state == SourceState.CONNECTED
    assert status.battery_pct == 87
    assert "Polar Electro Oy H10" in status.device
    assert (source.manufacturer, source.model) == ("Polar Electro Oy", "H10")  # stream metadata
    assert "C4:7A:00:00:00:32" in status.device
    assert source.simulated is False
    assert source.status.state == SourceState.STOPPED


def test_strap_without_battery_or_device_information():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(
                name="Generic HR", manufacturer=None, model=None, battery_pct=None
            )
            source = BleHeartRateSource("Generic HR")
            collector = await connected(bt, source, strap)
            await strap.notify(70, rr_1024=[880])
            await collector.wait_beats(1)
            await collector.stop()
            return source, collector

    source, collector = run(scenario())
    assert source.battery_pct is None
    assert (source.manufacturer, source.model) == ("", "")
    assert collector.statuses[-2].device == "Generic HR (C4:7A:00:00:00:01)"
    assert collector.rr_1024() == [880]


# ---------------------------------------------------------------------------- data


def test_rr_sequence_in_equals_rr_sequence_out():
    notes = distinct_rr_sequence(120, seed=7)
    sent = [rr for note in notes for rr in note]

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            for i, note in enumerate(notes):
                await strap.notify(60 + i % 40, rr_1024=note, contact=True)
            await collector.wait_beats(len(sent))
            await asyncio.sleep(0.05)
            await collector.stop()
            return source, collector

    source, collector = run(scenario())
    assert collector.rr_1024() == sent  # exact to 1/1024 s, order kept
    for beat in collector.beats:
        assert beat.rr_ms * 1024 / 1000 == round(beat.rr_ms * 1024 / 1000)
        assert beat.subject == "self"
        assert beat.source == "ble:C4:7A:00:00:00:01"
        assert beat.contact is True
        assert beat.t <= source.last_arrival_s + 1e-9
    times = [b.t for b in collector.beats]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert source.bad_payloads == 0
    assert source.duplicate_payloads == 0


def test_several_rr_per_notification_are_back_dated():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            await strap.notify(70, rr_1024=[1024, 768, 896])
            await collector.wait_beats(3)
            await collector.stop()
            return source, collector

    source, collector = run(scenario())
    beats = collector.beats
    assert [b.rr_ms for b in beats] == [1000.0, 750.0, 875.0]
    assert [b.hr_bpm for b in beats] == [70.0, 70.0, 70.0]
    assert beats[1].t - beats[0].t == pytest.approx(0.750, abs=1e-9)
    assert beats[2].t - beats[1].t == pytest.approx(0.875, abs=1e-9)
    assert beats[2].t == pytest.approx(source.last_arrival_s, abs=1e-9)


def test_hr_only_notifications_update_hr_without_beats():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            await strap.notify(61)  # HR only
            await strap.notify(62, rr_1024=[990])
            await strap.notify(63)
            await strap.notify(64)
            await strap.notify(300, rr_1024=[205])  # uint16 HR
            await collector.wait_beats(2)
            await asyncio.sleep(0.05)
            await collector.stop()
            return source, collector

    source, collector = run(scenario())
    assert collector.rr_1024() == [990, 205]
    assert [b.hr_bpm for b in collector.beats] == [62.0, 300.0]
    assert source.payloads == 5
    assert source.last_hr_bpm == 300


def test_sensor_without_rr_is_pointed_out_in_the_log(caplog):
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(name="Verity Sense 1")
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            for i in range(30):
                await strap.notify(70 + i % 2)
            async with asyncio.timeout(5):
                while source.payloads < 30:
                    await asyncio.sleep(0.005)
            await collector.stop()
            return collector

    collector = run(scenario())
    assert collector.beats == []
    assert "no RR intervals" in caplog.text


def test_contact_lost_and_regained():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            await strap.notify(60, rr_1024=[1000], contact=True)
            await strap.notify(60, rr_1024=[1001], contact=False)
            await collector.wait_state(SourceState.NO_CONTACT)
            await strap.notify(60, rr_1024=[1002], contact=False)
            await strap.notify(60, rr_1024=[1003], contact=True)
            await collector.wait_state(SourceState.CONNECTED)
            await strap.notify(60, rr_1024=[1004], contact=None)  # not reported: fine
            await collector.wait_beats(5)
            await asyncio.sleep(0.05)
            await collector.stop()
            return collector

    collector = run(scenario())
    assert [b.contact for b in collector.beats] == [True, False, False, True, None]
    states = collector.states()
    assert states[states.index(SourceState.NO_CONTACT) :] == [
        SourceState.NO_CONTACT,
        SourceState.CONNECTED,
        SourceState.STOPPED,
    ]


def test_duplicate_payload_is_dropped_once():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            payload = await strap.notify(60, rr_1024=[400])  # 390 ms
            await strap.notify_raw(payload)  # repeated at once: a duplicate
            await collector.wait_beats(1)
            await asyncio.sleep(0.25)  # > half of its RR later: a genuine new beat
            await strap.notify_raw(payload)
            await collector.wait_beats(2)
            await asyncio.sleep(0.05)
            await collector.stop()
            return source, collector

    source, collector = run(scenario())
    assert collector.rr_1024() == [400, 400]
    assert source.duplicate_payloads == 1


def test_bad_payloads_are_counted_and_never_fatal(caplog):
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            await strap.notify(60, rr_1024=[1000])
            for raw in ("", "10", "1048000400", "1048ffff", "0848"):
                await strap.notify_raw(bytes.fromhex(raw))
            await strap.notify(60, rr_1024=[1010])
            await collector.wait_beats(2)
            await asyncio.sleep(0.05)
            state = source.status.state
            await collector.stop()
            return source, collector, state

    source, collector, state = run(scenario())
    assert collector.rr_1024() == [1000, 1010]
    assert source.bad_payloads == 5
    assert state == SourceState.CONNECTED
    assert "1048ffff" in caplog.text  # logged with the payload in hex


# ---------------------------------------------------------------------------- drops


def test_strap_drops_link_mid_stream_and_source_reconnects():
    before = [[700 + i] for i in range(30)]
    after = [[900 + i] for i in range(30)]

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name, backoff_initial_s=0.1)
            collector = await connected(bt, source, strap)
            collector.pause()  # the engine is busy: notifications queue up in the source
            for note in before:
                await strap.notify(60, rr_1024=note)
            await strap.drop_link(down_s=0.4)  # the drop lands behind them in the queue
            await asyncio.sleep(0.1)
            queued_at_drop = len(source._queue)
            collector.resume()
            await collector.wait_state(SourceState.CONNECTED, timeout_s=10)
            await strap.wait_subscribed()
            for note in after:
                await strap.notify(60, rr_1024=note)
            await collector.wait_beats(len(before) + len(after))
            await asyncio.sleep(0.05)
            await collector.stop()
            return source, collector, strap, queued_at_drop

    source, collector, strap, queued_at_drop = run(scenario())
    assert queued_at_drop >= 20  # the scenario really had beats waiting behind the drop
    assert collector.rr_1024() == [rr for n in before + after for rr in n]  # nothing lost
    assert source.reconnections == 1
    lost_at, back_at = source.gaps[0]
    assert back_at - lost_at >= 0.4
    states = collector.states()
    i = states.index(SourceState.RECONNECTING)
    assert SourceState.CONNECTED in states[i:]
    reconnecting = collector.statuses[i]
    assert "gap" in reconnecting.message
    back = next(s for s in collector.statuses[i:] if s.state == SourceState.CONNECTED)
    assert "gap" in back.message and "reconnected" in back.message
    assert strap.connections == 2
    # beat times after the gap are re-anchored, not back-dated into it
    first_after = collector.beats[len(before)]
    assert first_after.t > lost_at


def test_strap_that_stays_away_is_picked_up_when_it_reappears():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(
                strap.name, backoff_initial_s=0.05, backoff_max_s=0.2, reconnect_scan_s=0.3
            )
            collector = await connected(bt, source, strap)
            await strap.notify(60, rr_1024=[1000])
            await collector.wait_beats(1)
            await strap.go_away()
            await collector.wait_state(SourceState.RECONNECTING)
            await asyncio.sleep(2.0)  # several failed attempts with capped backoff
            attempts = [s.message for s in collector.statuses if "retrying" in s.message]
            await strap.come_back()
            await collector.wait_state(SourceState.CONNECTED, timeout_s=5)
            await strap.wait_subscribed()
            await strap.notify(60, rr_1024=[1100])
            await collector.wait_beats(2)
            await collector.stop()
            return source, collector, attempts

    source, collector, attempts = run(scenario())
    assert len(attempts) >= 3
    assert "not advertising" in attempts[0]
    assert collector.rr_1024() == [1000, 1100]
    assert source.reconnections == 1
    lost_at, back_at = source.gaps[0]
    assert back_at - lost_at >= 2.0


def test_without_reconnect_a_drop_raises_connection_lost():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name, reconnect=False)
            collector = await connected(bt, source, strap)
            await strap.notify(60, rr_1024=[1000])
            await strap.drop_link()
            await asyncio.wait_for(collector.task, 5)
            return source, collector

    source, collector = run(scenario())
    assert collector.rr_1024() == [1000]
    assert isinstance(collector.error, ConnectionLostError)
    assert source.status.state == SourceState.FAILED


def test_cancelling_disconnects_and_frees_the_strap():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            collector = await connected(bt, source, strap)
            await collector.stop()
            await strap.wait_disconnected(5)
            await asyncio.sleep(0.1)
            return source, strap.advertising

    source, advertising = run(scenario())
    assert source.status.state == SourceState.STOPPED
    assert advertising  # free for the next connection


# ---------------------------------------------------------------------------- two straps


def test_two_straps_at_once_each_beat_on_its_subject():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap_a = await bt.add_strap(name="Polar H10 AAAA0001")
            strap_b = await bt.add_strap(name="Polar H10 BBBB0002")
            therapist = BleHeartRateSource("AAAA0001", subject="therapist")
            client = BleHeartRateSource("BBBB0002", subject="client")
            col_a, col_b = Collector(therapist), Collector(client)  # connect concurrently
            await strap_a.wait_subscribed(10)
            await strap_b.wait_subscribed(10)
            for i in range(40):
                await strap_a.notify(60, rr_1024=[600 + i])
                await strap_b.notify(80, rr_1024=[1200 + i, 1300 + i] if i % 5 == 0 else [900 + i])
            await strap_b.drop_link(down_s=0.2)  # one drops; the other goes on
            for i in range(40, 60):
                await strap_a.notify(60, rr_1024=[600 + i])
            await col_b.wait_state(SourceState.CONNECTED)
            await strap_b.wait_subscribed()
            await strap_b.notify(80, rr_1024=[1500])
            await col_a.wait_beats(60)
            await col_b.wait_beats(49)
            await asyncio.sleep(0.05)
            await col_a.stop()
            await col_b.stop()
            return col_a, col_b

    col_a, col_b = run(scenario())
    assert {b.subject for b in col_a.beats} == {"therapist"}
    assert {b.subject for b in col_b.beats} == {"client"}
    assert col_a.rr_1024() == [600 + i for i in range(60)]
    expected_b = []
    for i in range(40):
        expected_b += [1200 + i, 1300 + i] if i % 5 == 0 else [900 + i]
    assert col_b.rr_1024() == [*expected_b, 1500]
    assert {b.source for b in col_a.beats} == {"ble:C4:7A:00:00:00:01"}
    assert {b.source for b in col_b.beats} == {"ble:C4:7A:00:00:00:02"}
    assert col_a.source.reconnections == 0
    assert col_b.source.reconnections == 1


# ---------------------------------------------------------------------------- errors


def test_unknown_strap_raises_device_not_found_with_advice():
    async def scenario():
        async with VirtualBluetooth() as bt:
            await bt.add_strap()
            source = BleHeartRateSource("Wahoo TICKR X", scan_timeout_s=1.0)
            collector = Collector(source)
            await asyncio.wait_for(collector.task, 10)
            return source, collector

    source, collector = run(scenario())
    assert isinstance(collector.error, DeviceNotFoundError)
    message = str(collector.error)
    assert "'Wahoo TICKR X'" in message and "1 s" in message
    assert "heartsync scan" in message and "phone" in message
    assert source.status.state == SourceState.FAILED
    assert source.status.message == message


def test_strap_held_by_a_phone_is_not_found():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            await bt.connect_phone(strap)  # the H10 accepts one connection
            source = BleHeartRateSource(strap.name, scan_timeout_s=1.0)
            collector = Collector(source)
            await asyncio.wait_for(collector.task, 10)
            return collector

    collector = run(scenario())
    assert isinstance(collector.error, DeviceNotFoundError)
    assert "connected to a phone" in str(collector.error)


def test_bluetooth_off_is_reported_with_the_fix():
    async def scenario():
        async with VirtualBluetooth(powered=False) as bt:
            await bt.add_strap()
            source = BleHeartRateSource("Polar H10 00000001", scan_timeout_s=5.0)
            collector = Collector(source)
            await asyncio.wait_for(collector.task, 10)
            with pytest.raises(SensorError) as scan_error:
                await scan(0.5)
            return collector, scan_error.value

    collector, scan_error = run(scenario())
    assert isinstance(collector.error, SensorError)
    assert not isinstance(collector.error, DeviceNotFoundError)  # no pointless waiting
    assert "Bluetooth is turned off" in str(collector.error)
    assert "Bluetooth is turned off" in str(scan_error)


def test_no_adapter_is_reported_with_the_fix():
    async def scenario():
        async with VirtualBluetooth(with_adapter=False):
            with pytest.raises(SensorError) as info:
                await scan(0.5)
            return info.value

    assert "No Bluetooth adapter" in str(run(scenario()))


def test_bluez_not_running_is_reported_with_the_fix(monkeypatch):
    async def scenario():
        bus = PrivateBus()
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", await bus.start())
        try:
            with pytest.raises(SensorError) as info:
                await scan(0.5)
        finally:
            from sensors.virtual.harness import _forget_bleak_manager

            await _forget_bleak_manager()
            await bus.stop()
        return info.value

    assert "systemctl start bluetooth" in str(run(scenario()))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF),
            "turned off",
        ),
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.NO_BLUETOOTH),
            "No Bluetooth adapter",
        ),
        (
            BleakBluetoothNotAvailableError(
                "unauthorized", BleakBluetoothNotAvailableReason.DENIED_BY_USER
            ),
            "Privacy & Security > Bluetooth",
        ),
        (BleakError("Bluetooth device is turned off"), "turned off"),  # older macOS bleak
        (OSError("[WinError -2147020577] The device is not ready for use."), "turned off"),
        (BleakError("BLE is not authorized - check macOS privacy settings"), "Privacy"),
        (
            BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
            "allows only one connection",
        ),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), "turned off"),
        (
            BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", ["policy"]),
            "Permission to use Bluetooth was denied",
        ),
        (
            BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["org.bluez"]),
            "systemctl start bluetooth",
        ),
        (BleakDeviceNotFoundError("AA:BB", "gone"), "heartsync scan"),
        (TimeoutError(), "connected to a phone"),
        (FileNotFoundError(2, "No such file", "/run/dbus/system_bus_socket"), "BlueZ"),
        (ValueError("weird"), "Bluetooth error: weird"),
        (DeviceNotFoundError("as is"), "as is"),
    ],
)
def test_describe_ble_error(exc, expected):
    assert expected in describe_ble_error(exc)


def test_status_times_are_on_the_lsl_clock():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap()
            source = BleHeartRateSource(strap.name)
            t0 = now()
            collector = await connected(bt, source, strap)
            t1 = now()
            await collector.stop()
            return collector, t0, t1

    collector, t0, t1 = run(scenario())
    connected_status = next(s for s in collector.statuses if s.state == SourceState.CONNECTED)
    assert t0 <= connected_status.t <= t1
