"""Twenty forced link drops in one session with the virtual strap.

``python -m bench.ble_drops [DROPS] [DOWN_S]``: the virtual strap streams one RR per
notification at 50 Hz; every 0.5 s it drops the link and stays away DOWN_S (0.3 s)
before advertising again. The BLE source must reconnect by itself each time and
yield every beat the strap delivered, in order.

Reported: reconnections (target DROPS/DROPS), the gap per drop (link lost -> subscribed
again) and the reconnection time (strap advertising again -> reconnected), beats sent
vs received and beats lost (target 0).
"""

import asyncio
import contextlib
import logging
import statistics
import sys

from bench.common import table  # first: loopback LSL before pylsl loads
from sensors.base import SourceState
from sensors.ble import BleHeartRateSource
from sensors.clock import now
from sensors.virtual import VirtualBluetooth

STREAM_INTERVAL_S = 0.02
CONNECTED_BETWEEN_DROPS_S = 0.5


async def session(drops: int, down_s: float) -> dict:
    """Run the session and return its counts and timings."""
    async with VirtualBluetooth() as bt:
        strap = await bt.add_strap()
        source = BleHeartRateSource(strap.name, backoff_initial_s=0.1, backoff_max_s=1.0)
        received: list[int] = []
        sent: list[int] = []
        came_back_at: list[float] = []

        async def consume() -> None:
            async for beat in source.beats():
                received.append(round(beat.rr_ms * 1024 / 1000))

        async def stream() -> None:
            i = 0
            while True:
                rr = 600 + i % 700
                if strap.subscribed:
                    payload = bytes([0x16, 60]) + rr.to_bytes(2, "little")
                    if await strap.notify_raw(payload):
                        sent.append(rr)
                        i += 1
                await asyncio.sleep(STREAM_INTERVAL_S)

        consumer = asyncio.create_task(consume())
        await strap.wait_subscribed(15)
        streamer = asyncio.create_task(stream())
        for _ in range(drops):
            await asyncio.sleep(CONNECTED_BETWEEN_DROPS_S)
            await strap.drop_link(down_s=down_s)
            came_back_at.append(now())
            await strap.wait_subscribed(30)
            while source.status.state != SourceState.CONNECTED:
                await asyncio.sleep(0.005)
        await asyncio.sleep(CONNECTED_BETWEEN_DROPS_S)
        streamer.cancel()
        await asyncio.gather(streamer, return_exceptions=True)
        with contextlib.suppress(TimeoutError):  # report what is missing, do not crash
            async with asyncio.timeout(5):
                while len(received) < len(sent):
                    await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        gaps = list(source.gaps)
        return {
            "reconnections": source.reconnections,
            "gaps_s": [back - lost for lost, back in gaps],
            "reconnect_s": [back - cb for (_, back), cb in zip(gaps, came_back_at, strict=False)],
            "sent": sent,
            "received": received,
            "stats": source.stats(),
            "state": f"{source.status.state.value}: {source.status.message}",
        }


def main() -> int:
    drops = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    down_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
    logging.basicConfig(level=logging.ERROR)
    r = asyncio.run(session(drops, down_s))
    sent, received = r["sent"], r["received"]
    lost = len(sent) - len(received) if received == sent[: len(received)] else None
    if lost is None:  # out of order or altered: count what is missing
        remaining = list(received)
        lost = 0
        for rr in sent:
            if rr in remaining:
                remaining.remove(rr)
            else:
                lost += 1
    gaps, reconnect = r["gaps_s"], r["reconnect_s"]
    rows = [
        ("drops forced", drops),
        ("reconnections", f"{r['reconnections']}/{drops}"),
        ("gap per drop, median / max (s)", f"{statistics.median(gaps):.3f} / {max(gaps):.3f}"),
        ("strap away per drop (s)", f"{down_s:.3f}"),
        (
            "strap back -> reconnected, median / max (s)",
            f"{statistics.median(reconnect):.3f} / {max(reconnect):.3f}",
        ),
        ("beats delivered by the strap", len(sent)),
        ("beats out of the source", len(received)),
        ("beats lost", lost),
        ("order kept", received == sent),
        (
            "bad / duplicate payloads",
            f"{r['stats']['bad_payloads']} / {r['stats']['duplicate_payloads']}",
        ),
        ("source at the end", r["state"]),
    ]
    print(table(rows, ("virtual strap session", "value")))
    ok = r["reconnections"] == drops and lost == 0 and received == sent
    print(f"target {drops}/{drops} reconnections, 0 lost: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
