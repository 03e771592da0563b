"""``heartsync run --headless --pmd ecg,acc --record``: ECG, acceleration and breathing
from the chest in the recording, from a virtual Polar strap through bleak in a child."""

import asyncio
import sys
from pathlib import Path

import numpy as np

from sensors.virtual import VirtualBluetooth
from sensors.virtual.pmd_player import play, strap_session
from sensors.xdf.reader import read_xdf

ROOT = Path(__file__).resolve().parents[1]


def test_headless_pmd_records_ecg_acc_and_respiration(tmp_path):
    out = tmp_path / "session.xdf"
    rr = [k * 1000.0 / 1024.0 for k in np.random.default_rng(2).integers(800, 900, 9)]

    async def scenario():
        async with VirtualBluetooth() as bt:
            strap = await bt.add_strap(name="Polar H10 CAFE0003", pmd=True)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "run", "--headless",
                "--source", "ble:CAFE0003", "--pmd", "ecg,acc", "--record", str(out),
                "--duration", "6",
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            output = asyncio.ensure_future(proc.communicate())
            started = asyncio.ensure_future(_wait_started(strap))
            await asyncio.wait([output, started], return_when=asyncio.FIRST_COMPLETED)
            if started.done():
                await play(strap, strap_session(rr), speed=1.0)
            else:
                started.cancel()
            _stdout, stderr = await asyncio.wait_for(output, 40)
            return proc.returncode, stderr.decode(), strap.pmd.requests

    code, stderr, requests = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert code == 0, stderr
    assert len([r for r in requests if r[0] == 2]) == 2  # ECG and ACC started
    streams = {s.info.findtext("type"): s for s in read_xdf(out).streams}
    ecg, acc, resp = streams["ECG"], streams["Accelerometer"], streams["Respiration"]
    assert ecg.info.findtext("nominal_srate") == "130.0"
    assert acc.info.findtext("nominal_srate") == "50.0"
    units = [c.findtext("unit") for c in acc.info.find("desc/channels")]
    assert units == ["milli-g"] * 3
    assert ecg.info.find("desc/channels")[0].findtext("unit") == "microvolts"
    assert len(ecg.time_stamps) > 3 * 73  # several frames within the 6 s
    assert np.all(np.diff(ecg.time_stamps) > 0)
    assert np.abs(np.asarray(ecg.time_series)).max() > 800  # R peaks in microvolts
    assert len(resp.time_stamps) >= 2  # one per second once acceleration flows
    assert "RR" in streams


async def _wait_started(strap) -> None:
    await strap.wait_subscribed(30)
    while len(strap.pmd.active) < 2:
        await asyncio.sleep(0.01)
