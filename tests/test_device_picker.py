"""The GUI strap picker through bleak's real BlueZ path against a virtual strap."""

import asyncio
import threading

from app.config import load_config
from app.engine import Engine
from app.runtime import EngineThread
from sensors.base import SourceState
from sensors.simulated import SimSettings, SimulatedSource
from sensors.virtual import VirtualBluetooth
from ui.main_window import MainWindow


class StrapThread:
    """The virtual Bluetooth world on its own loop (the app's bleak talks to it over D-Bus)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),))

    async def _main(self):
        self.stop = asyncio.Event()
        async with VirtualBluetooth() as bt:
            self.strap = await bt.add_strap(name="Wahoo TICKR 5A01", address="F0:13:00:00:5A:01")
            self.ready.set()
            await self.stop.wait()

    def run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(20)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(20)


def test_scan_pick_connect_disconnect_and_remember(qtbot, tmp_path):
    config = tmp_path / "config.toml"
    with StrapThread() as world:
        runner = EngineThread(Engine([SimulatedSource(SimSettings(), speed=1)]), keep_alive=True)
        window = MainWindow(runner, profiles=tmp_path / "profiles", config_path=config)
        qtbot.addWidget(window)
        runner.start()
        window.show()
        picker = window.pick_strap()
        picker.scan_button.click()
        qtbot.waitUntil(lambda: picker.list.count() == 1, timeout=15000)
        assert "Wahoo TICKR 5A01" in picker.list.item(0).text()
        picker.list.setCurrentRow(0)
        picker.connect_button.click()
        assert load_config(config).sources == ("ble:F0:13:00:00:5A:01",)
        world.run(world.strap.wait_subscribed(20), timeout=25)
        panel = window.panels["self"]
        qtbot.waitUntil(lambda: not panel.badge.isVisible(), timeout=5000)

        before = runner.engine.snapshot.subjects[0].beats_received

        async def beats():  # real time; identical payloads too close together are duplicates
            for i in range(8):
                rr = 600 + 10 * i
                await world.strap.notify(100, rr_1024=[rr])
                await asyncio.sleep(rr / 1024)

        world.run(beats(), timeout=20)
        qtbot.waitUntil(lambda: "connected" in panel.status.text(), timeout=5000)
        snapshot = runner.engine.snapshot.subjects[0]
        assert snapshot.source == "ble:F0:13:00:00:5A:01"
        qtbot.waitUntil(
            lambda: runner.engine.snapshot.subjects[0].beats_received >= before + 8, timeout=5000
        )
        picker = window.pick_strap()
        picker.disconnect()
        qtbot.waitUntil(
            lambda: runner.engine.snapshot.subjects[0].status.state is SourceState.STOPPED,
            timeout=10000,
        )
        window.close()
        assert not runner.alive
