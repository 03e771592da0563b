"""``heartsync run --headless --source ble:NAME`` and ``heartsync scan`` on a virtual strap.

The CLI runs as a child process exactly as a user starts it; this process serves the
virtual org.bluez on a private bus (``DBUS_SYSTEM_BUS_ADDRESS`` is inherited) and
drives the strap on its own loop while the child's bleak talks to it over D-Bus.
"""

import asyncio
import json
import sys
from pathlib import Path

from sensors.virtual import VirtualBluetooth

ROOT = Path(__file__).resolve().parents[1]


async def start_cli(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def test_run_headless_json_from_a_virtual_strap():
    rr_sent = [600 + 7 * (i % 9) for i in range(60)]  # 1/1024 s, about 100 bpm

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(name="Polar H10 CAFE0001")
            proc = await start_cli(
                "run", "--headless", "--source", "ble:Polar H10 CAFE0001", "--duration", "10",
                "--json",
            )  # fmt: skip
            output = asyncio.ensure_future(proc.communicate())
            subscribed = asyncio.ensure_future(strap.wait_subscribed(30))
            await asyncio.wait([output, subscribed], return_when=asyncio.FIRST_COMPLETED)
            if not subscribed.done():  # the CLI ended (or failed) before subscribing
                subscribed.cancel()
                stdout, stderr = await output
                return proc.returncode, stdout.decode(), stderr.decode()
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i, rr in enumerate(rr_sent):  # real time: one beat per RR
                if output.done():
                    break
                await strap.notify(100, rr_1024=[rr])
                await asyncio.sleep(max(0.0, start + sum(rr_sent[: i + 1]) / 1024 - loop.time()))
            stdout, stderr = await asyncio.wait_for(output, 30)
            return proc.returncode, stdout.decode(), stderr.decode()

    code, stdout, stderr = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert code == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert len(records) >= 10
    for record in records:
        for key in ("subject", "t", "rr_ms", "rr_raw_ms", "artifact", "hr_bpm", "rmssd_ms"):
            assert key in record
        assert record["subject"] == "self"
    raw = [r["rr_raw_ms"] for r in records if r["rr_raw_ms"] is not None]
    expected = [round(rr * 1000 / 1024, 3) for rr in rr_sent[: len(raw)]]
    assert [round(v, 3) for v in raw] == expected  # what the strap sent, in order
    times = [r["t"] for r in records]
    assert times == sorted(times)
    assert times[-1] - times[0] <= 10.0 + 1e-6
    assert "connected to Polar H10 CAFE0001" in stderr  # status events on stderr
    assert "C4:7A:00:00:00:01" in stderr


def test_scan_lists_heart_rate_straps_only():
    async def scenario():
        async with VirtualBluetooth() as bt:
            await bt.add_strap(name="Polar H10 CAFE0002", address="C4:7A:00:00:00:42")
            await bt.add_beacon("Not a strap")
            proc = await start_cli("scan", "--timeout", "1")
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
            return proc.returncode, stdout.decode(), stderr.decode()

    code, stdout, stderr = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert code == 0, stderr
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "Polar H10 CAFE0002" in lines[0]
    assert "C4:7A:00:00:00:42" in lines[0]
    assert "-50 dBm" in lines[0]


def test_scan_with_bluetooth_off_says_what_to_do():
    async def scenario():
        async with VirtualBluetooth(powered=False):
            proc = await start_cli("scan", "--timeout", "1")
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
            return proc.returncode, stdout.decode(), stderr.decode()

    code, _stdout, stderr = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert code == 1
    assert "Bluetooth is turned off" in stderr
