"""The session history: kept, listed, deleted, recovered after a crash, bounded, exported."""

import asyncio
import csv
import datetime as dt
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from app.analysis.analyze import analyze
from app.config import AppConfig
from app.engine import Engine
from app.history.sink import HistorySink
from app.history.store import HistoryError, HistoryLimits, HistoryStore
from app.history.summary import TREND_COLUMNS, trend_rows
from app.profiles import Profile, ProfileStore
from app.recording.recorder import RecorderSettings
from dsp.arousal import calibrate
from dsp.tolerance.estimator import ArousalSettings
from sensors.base import BaseSource
from sensors.simulated import SimSettings, SimulatedSource, simulate

CLI = [sys.executable, "-m", "ui"]


class Paced(BaseSource):
    """A simulated strap whose person breathes with the pacer between two beats."""

    def __init__(self, inner, box, on: int, off: int):
        super().__init__(inner.name, inner.subject)
        self.inner, self.box, self.on, self.off = inner, box, on, off
        inner.add_status_listener(lambda _name, status: self._set_status(status))

    async def beats(self):
        async for k, beat in _enumerate(self.inner.beats()):
            if k in (self.on, self.off):
                self.box[0].set_paced(k == self.on, self.subject)
            yield beat


async def _enumerate(beats):
    k = 0
    async for beat in beats:
        yield k, beat
        k += 1


def _session(tmp_path, store: HistoryStore, profiles: ProfileStore, seconds: float = 900):
    """A calibrated client with paced breathing and a therapist, kept in the history."""
    rest = simulate(SimSettings(seed=31), 420)
    profile = Profile("anna").calibrated(calibrate(rest["t_s"], rest["rr_ms"]))
    profiles.save(profile)
    box = []
    client = Paced(
        SimulatedSource(
            SimSettings(seed=7, subject="client", scenario="stress", onset_s=400), speed=0
        ),
        box,
        on=120,
        off=420,
    )
    therapist = SimulatedSource(SimSettings(seed=8, subject="therapist"), speed=0)
    sink = HistorySink(
        store, [client, therapist], profiles, settings=RecorderSettings(flush_interval_s=0.05)
    )
    engine = Engine([client, therapist], [sink])
    box.append(engine)
    engine.set_baseline("client", profile.baseline, ArousalSettings())
    asyncio.run(engine.run(duration_s=seconds))
    return sink


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    store = HistoryStore(root / "history")
    profiles = ProfileStore(root / "profiles")
    sink = _session(root, store, profiles)
    return {"store": store, "sink": sink, "root": root}


def test_a_session_is_kept_owner_only_with_its_summary(kept):
    store, sink = kept["store"], kept["sink"]
    (entry,) = store.sessions()
    assert entry.id == sink.session_id and entry.state == "complete"
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.folder.stat().st_mode) == 0o700
    for name in ("session.xdf", "summary.json"):
        assert stat.S_IMODE((entry.folder / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in entry.folder.iterdir()) == ["session.xdf", "summary.json"]
    s = entry.summary
    assert s == json.loads((entry.folder / "summary.json").read_text())
    assert s["duration_min"] == pytest.approx(15.0, abs=0.1)
    client = s["people"]["client"]
    assert client["profile"] == "anna"  # named after the profile whose baseline was used
    assert s["people"]["therapist"]["profile"] is None
    assert client["zones"]["window_min"] > 1.0 and client["zones"]["hyper_min"] > 0.5
    assert client["time_domain"]["rmssd_ms"] > 5 and 40 < client["time_domain"]["mean_hr_bpm"]
    assert client["paced_min"] > 2.0 and client["coherence"]["estimates"] > 0
    assert s["people"]["therapist"]["paced_min"] == 0.0
    assert s["synchrony"]["session"]["n_segments"] > 0 and s["synchrony"]["pair"] == [
        "client",
        "therapist",
    ]
    assert entry.bytes == sum(p.stat().st_size for p in entry.folder.iterdir())
    assert s["recording_bytes"] == (entry.folder / "session.xdf").stat().st_size


def test_the_summary_equals_a_report_of_its_recording(kept):
    (entry,) = kept["store"].sessions()
    analysis = analyze(entry.recording, write_files=False)
    for name, person in entry.summary["people"].items():
        report = analysis.summary["subjects"][name]
        assert {k: person[k] for k in report} == report
    assert entry.summary["synchrony"] == analysis.summary["synchrony"]


def test_trend_csv_equals_the_per_session_summaries(kept, tmp_path):
    store = kept["store"]
    out = tmp_path / "trends.csv"
    done = subprocess.run(
        [*CLI, "history", "--folder", str(store.folder), "--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == TREND_COLUMNS
    summaries = [e.summary for e in store.sessions()]
    expected = trend_rows(summaries)
    assert len(rows) == len(expected) == 2
    for row, want in zip(rows, expected, strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in want.items()}
    (s,) = summaries
    client = next(r for r in rows if r["person"] == "anna")
    p = s["people"]["client"]
    assert float(client["window_min"]) == p["zones"]["window_min"]
    assert float(client["rmssd_ms"]) == p["time_domain"]["rmssd_ms"]
    assert float(client["mean_hr_bpm"]) == p["time_domain"]["mean_hr_bpm"]
    assert float(client["coherence_ratio"]) == p["coherence"]["mean_coherence_ratio"]
    assert float(client["sync_r"]) == s["synchrony"]["session"]["r"]


def test_listed_then_deleted_recording_and_summary_together(tmp_path):
    store = HistoryStore(tmp_path / "history")
    profiles = ProfileStore(tmp_path / "profiles")
    sink = _session(tmp_path, store, profiles, seconds=120)
    listing = subprocess.run(
        [*CLI, "history", "--folder", str(store.folder)], capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0, listing.stderr
    assert sink.session_id in listing.stdout and "anna: window" in listing.stdout
    assert "1 sessions" in listing.stdout
    gone = subprocess.run(
        [*CLI, "history", "--folder", str(store.folder), "--delete", sink.session_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.returncode == 0, gone.stderr
    assert store.sessions() == [] and not sink.folder.exists()
    assert not list(store.folder.iterdir())  # no half-deleted leftovers
    again = subprocess.run(
        [*CLI, "history", "--folder", str(store.folder), "--delete", sink.session_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "no session" in again.stderr
    with pytest.raises(HistoryError, match="not a session id"):
        store.delete("../profiles")


def test_disk_use_is_bounded_by_offers_never_by_silent_deletion(tmp_path):
    store = HistoryStore(tmp_path)
    now = dt.datetime(2026, 12, 2, 12, 0).astimezone()
    ids = []
    for days_ago, size in ((400, 1000), (30, 4000), (20, 3000), (1, 2000)):
        session_id = store.new_session(now - dt.timedelta(days=days_ago))
        (store.path(session_id) / "session.xdf").write_bytes(b"x" * size)
        store.write_summary(session_id, {"id": session_id, "people": {}})
        ids.append(session_id)
    total = store.disk_bytes()
    assert total > 10_000
    offered = store.over_limits(HistoryLimits(keep_days=365, max_gb=6000 / 1e9), now)
    # the one past a year, then the oldest until the rest fit in 6,000 bytes
    assert [e.id for e in offered] == ids[:2]
    assert sum(e.bytes for e in store.sessions() if e not in offered) <= 6000
    assert len(store.sessions()) == 4  # offered, not deleted
    assert store.over_limits(HistoryLimits(keep_days=1000, max_gb=1.0), now) == []
    config = tmp_path / "config.toml"
    config.write_text("history_keep_days = 365\nhistory_max_gb = 0.000006\n")
    listing = subprocess.run(
        [*CLI, "--config", str(config), "history", "--folder", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "offered for deletion (2 sessions" in listing.stdout
    assert len(store.sessions()) == 4
    subprocess.run(
        [*CLI, "--config", str(config), "history", "--folder", str(tmp_path), "--delete-offered"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert [e.id for e in store.sessions()] == ids[2:]


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_killed_session_is_listed_repaired_and_recovered(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    folder = tmp_path / "heartsync" / "history"
    proc = subprocess.Popen(
        [*CLI, "run", "--headless", "--speed", "20", "--status-every", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def recorded() -> bool:
            files = list(folder.glob("*/session.xdf"))
            return bool(files) and files[0].stat().st_size > 20_000

        _wait_for(recorded, 90, "the history's recording to grow")
        listing = subprocess.run(
            [*CLI, "history"], env=env, capture_output=True, text=True, timeout=60
        )
        assert "running" in listing.stdout
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    store = HistoryStore(folder)
    (entry,) = store.sessions()
    assert entry.state == "interrupted" and entry.summary is None
    listing = subprocess.run([*CLI, "history"], env=env, capture_output=True, text=True, timeout=60)
    assert entry.id in listing.stdout and "interrupted" in listing.stdout
    repaired = subprocess.run(
        [*CLI, "repair", str(entry.recording)], capture_output=True, text=True, timeout=60
    )
    assert repaired.returncode == 0, repaired.stderr
    recovered = subprocess.run(
        [*CLI, "history", "--recover"], env=env, capture_output=True, text=True, timeout=120
    )
    assert recovered.returncode == 0, recovered.stderr
    assert f"recovered session {entry.id}" in recovered.stdout
    (entry,) = store.sessions()
    assert entry.state == "recovered"
    assert entry.summary["people"]["self"]["beats"] > 100
    assert entry.summary["duration_min"] > 1.0
    assert "[recovered]" in recovered.stdout


def test_history_is_off_with_the_flag_or_the_setting(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    folder = tmp_path / "heartsync" / "history"
    run = [*CLI, "run", "--headless", "--speed", "0", "--duration", "60", "--status-every", "0"]
    subprocess.run([*run, "--no-history"], env=env, check=True, capture_output=True, timeout=60)
    assert HistoryStore(folder).sessions() == []
    config = tmp_path / "config.toml"
    config.write_text("history = false\n")
    subprocess.run(
        [*CLI, "--config", str(config), *run[len(CLI) :]],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert HistoryStore(folder).sessions() == []
    subprocess.run(run, env=env, check=True, capture_output=True, timeout=60)
    (entry,) = HistoryStore(folder).sessions()
    assert entry.state == "complete" and entry.summary["replayed"] is False


def test_config_keys_round_trip(tmp_path):
    from app.config import ConfigError, load_config, save_config

    path = save_config(
        AppConfig(history=False, history_keep_days=30.0, history_max_gb=0.5), tmp_path / "c.toml"
    )
    assert load_config(path) == AppConfig(history=False, history_keep_days=30.0, history_max_gb=0.5)
    path.write_text("history = 1\n")
    with pytest.raises(ConfigError, match="'history' must be true or false"):
        load_config(path)
    path.write_text("history_max_gb = -1\n")
    with pytest.raises(ConfigError, match="history_max_gb"):
        load_config(path)


def test_a_replayed_session_is_kept_too_and_summarises_the_same(kept, tmp_path):
    (original,) = kept["store"].sessions()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            f"replay:{original.recording}",
            "--speed",
            "0",
            "--status-every",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (entry,) = HistoryStore(tmp_path / "heartsync" / "history").sessions()
    assert entry.summary["replayed"] is True and entry.state == "complete"
    for name, person in original.summary["people"].items():
        again = entry.summary["people"][name]
        assert again["time_domain"] == person["time_domain"]
        assert again["zones"] == person["zones"]
        assert again["profile"] is None  # this test's profile folder is not the user's
    assert entry.summary["synchrony"] == original.summary["synchrony"]
