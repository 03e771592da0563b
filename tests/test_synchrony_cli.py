"""Dyads from the command line: sim dyad specs, sync fields in --json, the synchrony stream."""

import json
import subprocess
import sys

import numpy as np
import pytest
import pyxdf

from app.sources import SourceSpecError, link_dyad, parse_source_spec
from sensors.simulated import SimSettings, SimulatedStrap, settings_from_options

CLI = [sys.executable, "-m", "ui"]


def test_link_dyad_fills_partner_seeds_and_slow_fluctuations():
    specs = [
        parse_source_spec("sim:subject=therapist"),
        parse_source_spec("sim:subject=client,r=0.5,lag=2,hr=80"),
    ]
    linked = link_dyad(specs)
    assert linked[0].options["seed"] == "1" and linked[1].options["seed"] == "2"
    assert linked[1].options["partner"] == "1"
    client = settings_from_options(linked[1].options)
    therapist = settings_from_options(linked[0].options)
    assert (client.r, client.lag_s, client.hr_bpm) == (0.5, 2.0, 80.0)
    assert client.partner == therapist  # the leader as described, to size the coupling
    assert therapist.slow_bpm == client.slow_bpm > 0
    # named partner with an explicit seed; an unrelated third sim stays independent
    linked = link_dyad(
        [
            parse_source_spec("sim:subject=t,seed=7"),
            parse_source_spec("sim:subject=x"),
            parse_source_spec("sim:subject=c,r=0.3,partner=t"),
        ]
    )
    assert linked[2].options["partner"] == "7" and "slow" not in linked[1].options
    with pytest.raises(SourceSpecError, match="partner"):
        link_dyad([parse_source_spec("sim:r=0.5")])
    with pytest.raises(ValueError, match=r"r 1\.5"):
        settings_from_options({"r": "1.5", "partner": "1"})
    # a partner given by seed alone is a default person with this one's slow fluctuation
    alone = settings_from_options({"r": "0.4", "partner": "3", "slow": "6"})
    assert alone.partner == SimSettings(seed=3, slow_bpm=6.0)
    with pytest.raises(ValueError, match=r"at most 0\.8"):
        SimulatedStrap(settings_from_options({"r": "0.95", "partner": "3", "slow": "6"}))


def test_run_json_carries_sync_fields_and_the_recording_a_synchrony_stream(tmp_path):
    record = tmp_path / "dyad.xdf"
    out = subprocess.run(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            "sim:subject=therapist",
            "--source",
            "sim:subject=client,r=0.75,lag=2",
            "--speed",
            "0",
            "--duration",
            "300",
            "--json",
            "--record",
            str(record),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["subject"] for r in rows} == {"therapist", "client"}
    assert all("sync_index" in r and "sync_lag_s" in r for r in rows)
    early = [r for r in rows if r["t"] - rows[0]["t"] < 150]
    assert all(r["sync_index"] is None and r["sync_lag_s"] is None for r in early)
    late = [r for r in rows if r["t"] - rows[0]["t"] > 230]
    assert all(r["sync_index"] is not None for r in late)
    significant = [r["sync_lag_s"] for r in late if r["sync_index"] >= 0.95]
    # the plumbing and the sign here; rates and lag accuracy over 20 pairs in the bench
    assert len(significant) > 0.5 * len(late)
    assert 1.0 <= np.median(significant) <= 3.5  # client follows
    # the session so far: none for about 3 min, then r, interval, p, lag, segments
    keys = ("r", "ci_low", "ci_high", "p", "lag_s", "segments")
    assert all(r[f"sync_session_{k}"] is None for r in early for k in keys)
    last = rows[-1]
    assert last["sync_session_segments"] in (8, 9)  # about (300 s - 10 s of lags) // 30 s
    assert last["sync_session_ci_low"] < last["sync_session_r"] < last["sync_session_ci_high"]
    assert last["sync_session_r"] > 0.4 and last["sync_session_p"] <= 0.05
    assert last["sync_session_lag_s"] == pytest.approx(2.0, abs=0.5)
    streams, _ = pyxdf.load_xdf(str(record))
    sync = next(s for s in streams if s["info"]["type"][0] == "Synchrony")
    labels = [c["label"][0] for c in sync["info"]["desc"][0]["channels"][0]["channel"]]
    assert labels == [
        "index",
        "index_raw",
        "r_peak",
        "lag",
        "p",
        "session_r",
        "session_ci_low",
        "session_ci_high",
        "session_p",
        "session_lag",
        "session_segments",
    ]
    assert len(sync["time_stamps"]) > 250
    assert np.nanmax(sync["time_series"][:, 0]) >= 0.95
    final = sync["time_series"][-1]
    assert final[5] == pytest.approx(last["sync_session_r"], abs=1e-4)
    assert final[10] == last["sync_session_segments"]


def test_one_person_has_null_sync_fields():
    out = subprocess.run(
        [
            *CLI,
            "run",
            "--headless",
            "--source",
            "sim",
            "--speed",
            "0",
            "--duration",
            "20",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows and all(r["sync_index"] is None and r["sync_lag_s"] is None for r in rows)
