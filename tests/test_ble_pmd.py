"""ECG and acceleration through bleak's real BlueZ path, from virtual straps with PMD."""

import asyncio
import contextlib

import numpy as np

from dsp.types import Beat
from sensors.ble import BleHeartRateSource
from sensors.pmd import Measurement, Op
from sensors.samples import SampleBlock
from sensors.virtual import VirtualBluetooth
from sensors.virtual.pmd_player import play, strap_session
from sensors.virtual.pmd_server import INVALID_SAMPLE_RATE


def run(coro, timeout_s: float = 40.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


class Sink:
    """Consume a source's stream in a task, as the engine does."""

    def __init__(self, source: BleHeartRateSource) -> None:
        self.source = source
        self.beats: list[Beat] = []
        self.blocks: list[SampleBlock] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async with contextlib.aclosing(self.source.beats()) as items:
            async for item in items:
                (self.beats if isinstance(item, Beat) else self.blocks).append(item)

    def of(self, key: str) -> list[SampleBlock]:
        return [b for b in self.blocks if b.kind.key == key]

    async def wait(self, predicate, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                if self.task.done():
                    raise AssertionError(f"source ended: {self.task.exception()!r}")
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def rr_sequence(n: int, seed: int = 0) -> list[float]:
    """RR intervals exact in the strap's 1/1024 s units, ms."""
    rng = np.random.default_rng(seed)
    return [k * 1000.0 / 1024.0 for k in rng.integers(800, 1000, n)]


async def streaming(bt: VirtualBluetooth, **strap_kw) -> tuple:
    strap = await bt.add_strap(name="Polar H10 0A1B2C3D", pmd=True, **strap_kw)
    source = BleHeartRateSource("0A1B2C3D", pmd=("ecg", "acc"))
    sink = Sink(source)
    await strap.wait_subscribed()
    await sink.wait(lambda: len(source.pmd.streaming) == 2 or source.pmd.refused)
    return strap, source, sink


def test_strap_without_pmd_gives_beats_exactly_as_before():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(name="Polar H10 0A1B2C3D")
            source = BleHeartRateSource("0A1B2C3D", pmd=("ecg", "acc"))
            sink = Sink(source)
            await strap.wait_subscribed()
            await sink.wait(lambda: bool(source.pmd.refused))
            await strap.notify(hr_bpm=60, rr_ms=[1000.0, 990.234375])
            await sink.wait(lambda: len(sink.beats) == 2)
            await sink.stop()
            return sink, source

    sink, source = run(scenario())
    assert [b.rr_ms for b in sink.beats] == [1000.0, 990.234375]
    assert sink.blocks == []
    assert source.pmd.refused == {
        "ecg": "the strap has no PMD service",
        "acc": "the strap has no PMD service",
    }
    assert source.stats()["pmd_streaming"] == []


def test_ecg_and_acc_stream_with_the_values_sent_and_lsl_times():
    rr = rr_sequence(12)
    events = strap_session(rr, acc_rate_hz=50.0)

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap, source, sink = await streaming(bt)
            strap.pmd.acc_compressed = True  # the delta-compressed frame type end to end
            requests = list(strap.pmd.requests)
            await play(strap, events)
            n_ecg = sum(e.kind == "ecg" for e in events)
            n_acc = sum(e.kind == "acc" for e in events)
            await sink.wait(lambda: len(sink.of("ecg")) == n_ecg and len(sink.of("acc")) == n_acc)
            await sink.wait(lambda: len(sink.beats) == len(rr))
            await sink.stop()
            return source, sink, requests

    source, sink, requests = run(scenario())
    # the control point as the specification says: settings, then start, per measurement
    assert [(r[0], r[1]) for r in requests] == [
        (Op.GET_SETTINGS, Measurement.ECG),
        (Op.START, Measurement.ECG),
        (Op.GET_SETTINGS, Measurement.ACC),
        (Op.START, Measurement.ACC),
    ]
    assert requests[3] == bytes.fromhex("02 02 00 01 32 00 01 01 10 00 02 01 08 00")
    sent_ecg = np.concatenate([e.data[1] for e in events if e.kind == "ecg"])
    got_ecg = np.concatenate([b.values for b in sink.of("ecg")])
    np.testing.assert_array_equal(got_ecg, np.round(sent_ecg))
    sent_acc = np.concatenate([e.data[1] for e in events if e.kind == "acc"])
    got_acc = np.concatenate([b.values for b in sink.of("acc")])
    np.testing.assert_array_equal(got_acc, np.clip(np.round(sent_acc), -32768, 32767))
    ecg_t = np.concatenate([b.t for b in sink.of("ecg")])
    assert np.all(np.diff(ecg_t) > 0)  # sent faster than real time: only the order holds
    assert sink.of("ecg")[0].gap_before and not any(b.gap_before for b in sink.of("ecg")[1:])
    assert {b.subject for b in sink.blocks} == {"self"}
    assert (sink.of("ecg")[0].rate_hz, sink.of("acc")[0].rate_hz) == (130.0, 50.0)
    assert source.stats()["pmd_frames"] == len(sink.blocks)
    assert source.stats()["pmd_bad_frames"] == 0


def test_malformed_frames_are_counted_and_never_stop_the_stream(caplog):
    rr = rr_sequence(4)
    events = strap_session(rr)

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap, source, sink = await streaming(bt)
            for bad in (b"", b"\x00\x01", bytes(10), bytes([2]) + bytes(8) + b"\x81\x00"):
                assert await strap.pmd.send_raw(bad)
            await play(strap, events)
            n = sum(e.kind in ("ecg", "acc") for e in events)
            await sink.wait(lambda: len(sink.blocks) == n)
            await sink.stop()
            return source

    source = run(scenario())
    assert source.pmd.bad_frames == 4
    assert "ignored bad PMD frame" in caplog.text


def test_refused_start_leaves_the_other_signal_and_the_beats():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(name="Polar H10 0A1B2C3D", pmd=True)
            strap.pmd.refuse[Measurement.ACC] = INVALID_SAMPLE_RATE
            source = BleHeartRateSource("0A1B2C3D", pmd=("ecg", "acc"))
            sink = Sink(source)
            await strap.wait_subscribed()
            await sink.wait(lambda: "acc" in source.pmd.refused and source.pmd.streaming)
            await play(strap, strap_session(rr_sequence(3)))
            await sink.wait(lambda: len(sink.beats) == 3 and sink.of("ecg"))
            running = source.pmd.streaming
            await sink.stop()
            return source, sink, running

    source, sink, running = run(scenario())
    assert running == ("ecg",)
    assert source.pmd.refused == {"acc": "refused: invalid sample rate"}
    assert sink.of("acc") == []


def test_pmd_restarts_after_a_reconnection_with_a_gap_flag():
    rr = rr_sequence(3)

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap, source, sink = await streaming(bt)
            await play(strap, strap_session(rr))
            await sink.wait(lambda: len(sink.beats) == 3)
            before = len(sink.blocks)
            await strap.drop_link(down_s=0.2)
            await strap.wait_subscribed()
            await sink.wait(lambda: len(source.pmd.streaming) == 2 and source.reconnections == 1)
            await play(strap, strap_session(rr, t0_ns=900 * 10**18 // 1000))
            await sink.wait(lambda: len(sink.beats) == 6)
            await sink.wait(lambda: len(sink.blocks) == 2 * before)
            await sink.stop()
            return strap, sink, before

    strap, sink, before = run(scenario())
    starts = [r for r in strap.pmd.requests if r[0] == Op.START]
    assert len(starts) == 4  # ECG and ACC, on each connection
    after = sink.blocks[before:]
    assert next(b.gap_before for b in after if b.kind.key == "ecg")
    assert all(np.all(np.diff(b.t) > 0) for b in sink.blocks)
    assert sink.blocks[before].t[0] > sink.blocks[before - 1].t[-1]


def test_answers_in_several_packets_are_joined():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(name="Polar H10 0A1B2C3D", pmd=True)
            strap.pmd.split_responses = True  # settings lists arrive as "more" + rest
            source = BleHeartRateSource("0A1B2C3D", pmd=("acc",), acc_rate_hz=200)
            sink = Sink(source)
            await strap.wait_subscribed()
            await sink.wait(lambda: source.pmd.streaming or source.pmd.refused)
            running, requests = source.pmd.streaming, list(strap.pmd.requests)
            await sink.stop()
            return running, requests

    running, requests = run(scenario())
    assert running == ("acc",)
    # all four rates were seen (200 chosen) and the range list, split across packets
    assert requests[1] == bytes.fromhex("02 02 00 01 c8 00 01 01 10 00 02 01 08 00")


def test_the_strap_stopping_a_measurement_is_noted():
    async def scenario():
        async with VirtualBluetooth() as bt:
            strap, source, sink = await streaming(bt)
            await strap.pmd.stop_by_strap(Measurement.ACC)
            await sink.wait(lambda: "acc" in source.pmd.refused)
            running = source.pmd.streaming
            await sink.stop()
            return source, running

    source, running = run(scenario())
    assert running == ("ecg",)
    assert source.pmd.refused == {"acc": "stopped by the strap"}
