"""Notification-to-beat latency of the BLE source, against the virtual strap.

``python -m bench.ble_latency [N] [INTERVAL_MS]``: the virtual strap sends N (10,000)
Heart Rate Measurement notifications, one RR each, every INTERVAL_MS (2 ms). bleak
(BlueZ backend, unchanged) receives them through the virtual org.bluez over a private
D-Bus; the source's callback stamps each one on the LSL clock and enqueues it; the
consumer loop records when the beat comes out of ``beats()``.

Reported: callback -> beat available to the pipeline (the target: p99 < 2 ms), and,
for context, strap notify -> beat (adds bumble's link and the D-Bus hop).
"""

import asyncio
import logging
import statistics
import sys

import numpy as np

from bench.common import table  # first: loopback LSL before pylsl loads
from sensors.base import SourceState
from sensors.ble import BleHeartRateSource
from sensors.clock import now
from sensors.virtual import VirtualBluetooth

TARGET_P99_MS = 2.0


async def measure(n: int, interval_s: float) -> dict[str, np.ndarray]:
    """Stream ``n`` notifications and return per-beat latencies in ms."""
    async with VirtualBluetooth() as bt:
        strap = await bt.add_strap()
        source = BleHeartRateSource(strap.name)
        sent_at = np.full(n, np.nan)
        cb_to_beat = np.full(n, np.nan)
        strap_to_beat = np.full(n, np.nan)
        done = asyncio.Event()
        received = 0

        async def consume() -> None:
            nonlocal received
            async for _beat in source.beats():
                t = now()
                cb_to_beat[received] = (t - source.last_arrival_s) * 1e3
                strap_to_beat[received] = (t - sent_at[received]) * 1e3
                received += 1
                if received == n:
                    done.set()

        task = asyncio.create_task(consume())
        await strap.wait_subscribed(15)
        while source.status.state != SourceState.CONNECTED:
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(n):
            # distinct consecutive payloads (identical ones would be dropped as duplicates)
            sent_at[i] = now()
            await strap.notify(60 + i % 3, rr_1024=[700 + i % 500])
            delay = start + (i + 1) * interval_s - loop.time()
            await asyncio.sleep(max(0.0, delay))
        await asyncio.wait_for(done.wait(), 30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if source.bad_payloads or source.duplicate_payloads or received != n:
            raise RuntimeError(f"lost data: {source.stats()} received={received}")
        return {"callback -> beat": cb_to_beat, "strap notify -> beat": strap_to_beat}


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    interval_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(measure(n, interval_ms / 1e3))
    rows = []
    for name, ms in results.items():
        rows.append(
            (
                name,
                f"{statistics.median(ms):.3f}",
                f"{np.percentile(ms, 99):.3f}",
                f"{ms.max():.3f}",
            )
        )
    print(f"{n} notifications, one every {interval_ms:g} ms, virtual strap via bleak/BlueZ")
    print(table(rows, ("latency (ms)", "median", "p99", "max")))
    p99 = float(np.percentile(results["callback -> beat"], 99))
    verdict = "PASS" if p99 < TARGET_P99_MS else "FAIL"
    print(f"target p99 callback -> beat < {TARGET_P99_MS:g} ms: {verdict} ({p99:.3f} ms)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
