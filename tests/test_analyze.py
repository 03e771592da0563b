"""Session analysis: a recording replayed offline reports what the live session saw."""

import asyncio
import csv
import json
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from app.analysis.analyze import ProgressBar, analyze
from app.analysis.bins import MAX_BINS, Bins
from app.analysis.session_stats import (
    BEAT_COLUMNS,
    WINDOW_COLUMNS,
    SessionStats,
    synchrony_summary,
)
from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from dsp.arousal import calibrate
from dsp.tolerance.estimator import ArousalSettings
from dsp.tolerance.state import Zone
from sensors.base import BaseSource
from sensors.simulated import SimSettings, SimulatedSource, simulate
from sensors.xdf import read_xdf
from tests.helpers import CollectSink

CLI = [sys.executable, "-m", "ui"]
SESSION_S = 1200


class Scripted(BaseSource):
    """A simulated strap whose session has paced breathing and markers at given beats."""

    def __init__(self, inner, box, paced=(), marks=()):
        super().__init__(inner.name, inner.subject)
        self.inner, self.box = inner, box
        self.paced, self.marks = dict(paced), dict(marks)
        inner.add_status_listener(lambda _name, status: self._set_status(status))

    async def beats(self):
        k = 0
        async for beat in self.inner.beats():
            if k in self.paced:
                self.box[0].set_paced(self.paced[k], self.subject)
            if k in self.marks:
                self.box[0].mark(self.marks[k], beat.t)
            k += 1
            yield beat


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A seeded dyad recorded by heartsync: the client is calibrated, gets stressed,
    breathes with the pacer for a while and the therapist marks two moments."""
    folder = tmp_path_factory.mktemp("session")
    path = folder / "dyad.xdf"
    rest = simulate(SimSettings(seed=21), 420)
    baseline = calibrate(rest["t_s"], rest["rr_ms"])
    box = []
    client = Scripted(
        SimulatedSource(
            SimSettings(
                seed=5,
                subject="client",
                scenario="stress",
                onset_s=500,
                step_s=240,
                artifact_rate=0.03,
            ),
            speed=0,
        ),
        box,
        paced={150: True, 400: False},
        marks={600: "topic: work", 1100: "calm again"},
    )
    therapist = SimulatedSource(SimSettings(seed=6, subject="therapist"), speed=0)
    live = SessionStats(pair=("client", "therapist"))
    collect = CollectSink()
    recorder = XdfRecorder(path, [client, therapist], RecorderSettings(flush_interval_s=0.05))
    engine = Engine([client, therapist], [live, collect, recorder])
    box.append(engine)
    engine.set_baseline("client", baseline, ArousalSettings(band_widen=0.2))
    asyncio.run(engine.run(duration_s=SESSION_S))
    analysis = analyze(path, folder / "report")
    return {
        "path": path,
        "live": live,
        "results": collect.results,
        "engine": engine,
        "analysis": analysis,
        "folder": folder,
    }


def test_summary_equals_the_live_session(session):
    live, analysis, engine = session["live"], session["analysis"], session["engine"]
    assert set(analysis.summary["subjects"]) == {"client", "therapist"}
    for name in ("client", "therapist"):
        assert analysis.summary["subjects"][name] == live.summary(name)
    client = analysis.summary["subjects"]["client"]
    # what the live window showed: its zone clock
    shown = next(s for s in engine.snapshot.subjects if s.subject == "client").zone_seconds
    for zone in Zone:
        assert client["zones"][f"{zone.value}_min"] == pytest.approx(shown[zone] / 60, abs=1e-5)
    assert client["zones"]["hyper_min"] > 0.5 and client["zones"]["zone_exits"] >= 1
    assert client["zones"]["band_upper_z"] == pytest.approx(1.7)
    # the summary is about the beats the pipeline produced
    beats = [r for r in session["results"] if r.subject == "client"]
    clean = [r for r in beats if r.beat.artifact is None]
    assert client["beats"] == len(beats) and client["clean_beats"] == len(clean)
    assert 90 < client["clean_percent"] < 99.5
    td = client["time_domain"]
    assert td["mean_nn_ms"] == pytest.approx(np.mean([r.beat.rr_ms for r in clean]), rel=1e-9)
    assert 55 < td["mean_hr_bpm"] < 85 and 5 < td["rmssd_ms"] < 120
    fd = client["frequency_domain"]
    assert (
        fd["segments"] in (3, 4)
        and fd["segments_used"] >= 3
        and fd["lf_ms2"] > 0
        and fd["hf_ms2"] > 0
    )
    assert analysis.summary["subjects"]["therapist"]["zones"] is None
    assert [m["text"] for m in analysis.summary["markers"]] == ["topic: work", "calm again"]
    # the dyad: the engine's synchrony stream and the session test, whole and between
    # the markers; the whole-session result is the one the live window showed last
    sync = dict(analysis.summary["synchrony"])  # a copy: the module fixture is shared
    expected = synchrony_summary(live, analysis.markers)
    parts = sync.pop("between_markers")
    expected_parts = expected.pop("between_markers")
    assert sync == expected
    # the same results; elapsed times count from each one's first beat (t0)
    for part, same in zip(parts, expected_parts, strict=True):
        assert {k: v for k, v in part.items() if not k.endswith("_s")} == {
            k: v for k, v in same.items() if not k.endswith("_s")
        }
    assert sync["pair"] == ["client", "therapist"]
    assert 0 < sync["mean_index"] < 1 and 50 < sync["estimated_percent"] <= 100
    whole = sync["session"]
    assert whole["n_segments"] >= 30 and 0 < whole["p_value"] <= 1
    assert whole["ci_low"] < whole["r"] < whole["ci_high"]
    shown = engine.snapshot.synchrony.session
    assert (whole["r"], whole["p_value"], whole["n_segments"]) == (
        round(shown.r, 6),
        round(shown.p_value, 6),
        shown.n_segments,
    )
    assert [(p["from"], p["to"]) for p in parts] == [
        ("start", "topic: work"),
        ("topic: work", "calm again"),
        ("calm again", "end"),
    ]
    assert parts[0]["start_s"] is None and parts[1]["start_s"] == parts[0]["end_s"] > 0
    assert all(p["n_segments"] >= 6 for p in parts[:2])
    assert sum(p["n_segments"] for p in parts) <= whole["n_segments"]
    # coherence and breathing rate while paced (client only)
    coherence = client["coherence"]
    assert coherence["estimates"] >= 20 and 0 < coherence["mean_peak_fraction"] < 1
    assert analysis.summary["subjects"]["therapist"]["coherence"] is None
    assert 2.0 < analysis.summary["paced_min"] < 6.0


def test_batch_hrv_gives_the_beat_by_beat_report(session, tmp_path):
    """The HRV table computed at once gives the same files as the live windows."""
    fast = session["folder"] / "report"
    slow = analyze(session["path"], tmp_path / "slow", batch_hrv=False)
    assert slow.summary == session["analysis"].summary
    for name in ("beats.csv", "windows.csv"):
        assert (tmp_path / "slow" / name).read_text() == (fast / name).read_text()


def _svgs(html, fig_id):
    block = re.search(rf"<figure id='{fig_id}'>(.*?)</figure>", html, re.S)
    assert block, f"figure {fig_id} missing"
    return block.group(1)


def _not_blank(svg):
    """The figure draws data: polylines with many points whose heights vary."""
    ys = []
    for points in re.findall(r"<polyline class='series' points='([^']*)'", svg):
        ys += [float(p.split(",")[1]) for p in points.split()]
    assert len(ys) > 50
    assert np.ptp(ys) > 20  # pixels: the line moves


def test_html_has_every_section_and_real_figures(session):
    html = session["analysis"].files["report"].read_text()
    for section in ("summary", "person-client", "person-therapist", "paced", "synchrony"):
        assert f"<section id='{section}'>" in html
    for fig in (
        "tachogram-client",
        "hr-hrv-client",
        "arousal-client",
        "tachogram-therapist",
        "coherence-client",
        "synchrony-figure",
    ):
        _not_blank(_svgs(html, fig))
    sync = _svgs(html, "synchrony-figure")
    assert "significant (0.95)" in sync and "therapist follows client" in sync
    assert "<table id='synchrony-table'>" in html and "whole session" in html
    assert "topic: work → calm again" in html and "Session so far (" in html
    tacho = _svgs(html, "tachogram-client")
    assert tacho.count("fill='#d62728'") > 5  # artifacts marked
    for label in ("topic: work", "calm again"):  # markers as labelled lines
        assert re.search(rf"class='marker'.*?>{label}</text>", tacho)
    arousal = _svgs(html, "arousal-client")
    assert "fill='#f8d5ca'" in arousal and "fill='#dff3df'" in arousal  # hyper and window
    assert "upper edge 1.7" in arousal
    zones = _svgs(html, "zones-client")
    assert zones.count("class='bar'") == 4
    # no baseline for the therapist: a note instead of an empty figure
    assert "arousal-therapist" not in html
    assert "therapist: no baseline in this recording" in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing remote


def test_csv_exports_have_units_and_every_beat(session):
    files = session["analysis"].files
    with open(files["beats_csv"]) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == BEAT_COLUMNS
    assert len(rows) == len(session["results"])
    ours = [(r.subject, round(r.beat.rr_ms, 2)) for r in session["results"]]
    assert [(r["subject"], float(r["rr_ms"])) for r in rows] == ours
    assert {r["zone"] for r in rows if r["subject"] == "therapist"} == {""}
    assert "hyper" in {r["zone"] for r in rows if r["subject"] == "client"}
    with open(files["windows_csv"]) as f:
        windows = list(csv.DictReader(f))
    assert tuple(windows[0]) == WINDOW_COLUMNS
    for name in ("client", "therapist"):
        mine = [w for w in windows if w["subject"] == name]
        assert SESSION_S / 60 <= len(mine) <= SESSION_S / 60 + 1
        assert sum(int(w["beats"]) for w in mine) == sum(
            r.subject == name for r in session["results"]
        )
    assert any(w["paced"] == "1" for w in windows if w["subject"] == "client")
    saved = json.loads(files["summary_json"].read_text())
    assert saved == json.loads(json.dumps(session["analysis"].summary))


def _independent_xdf(path, t, rr_ms):
    """A minimal XDF writer of our own (not sensors.xdf): one RR stream, no heartsync desc."""

    def chunk(tag, content):
        body = struct.pack("<H", tag) + content
        return struct.pack("<BQ", 8, len(body)) + body

    header = b"<?xml version='1.0'?><info><version>1.0</version></info>"
    info = ET.Element("info")
    for tag, text in (
        ("name", "ChestBand"),
        ("type", "RR"),
        ("channel_count", "1"),
        ("nominal_srate", "0"),
        ("channel_format", "double64"),
        ("source_id", "band-42"),
    ):
        ET.SubElement(info, tag).text = text
    stream = struct.pack("<I", 7) + ET.tostring(info)
    samples = struct.pack("<IBI", 7, 4, len(t))
    for ti, v in zip(t, rr_ms, strict=True):
        samples += struct.pack("<Bdd", 8, ti, v)
    path.write_bytes(b"XDF:" + chunk(1, header) + chunk(2, stream) + chunk(3, samples))


def test_third_party_recording_is_analysed(tmp_path):
    sim = simulate(SimSettings(seed=9), 600)
    path = tmp_path / "lab.xdf"
    _independent_xdf(path, 5000.0 + sim["t_s"], sim["rr_ms"])
    analysis = analyze(path, tmp_path / "out")
    (name,) = analysis.summary["subjects"]
    summary = analysis.summary["subjects"][name]
    assert name == "ChestBand"
    assert summary["beats"] == len(sim["rr_ms"])
    assert summary["clean_percent"] > 99
    assert summary["time_domain"]["mean_nn_ms"] == pytest.approx(np.mean(sim["rr_ms"]), rel=2e-3)
    assert summary["zones"] is None and summary["duration_min"] == pytest.approx(10, abs=0.1)
    html = analysis.files["report"].read_text()
    _not_blank(_svgs(html, "tachogram-ChestBand"))
    assert "One person in this recording: no synchrony." in html
    assert "No paced breathing in this recording" in html
    assert "No markers in this recording." in html


def _cli(*args):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


def test_cli_json_summary_on_stdout(session, tmp_path):
    out = _cli("analyze", str(session["path"]), "--out", str(tmp_path / "r"), "--json")
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert printed["subjects"] == json.loads(json.dumps(session["analysis"].summary["subjects"]))
    assert (tmp_path / "r" / "report.html").is_file()
    # health data: the report, its CSVs and summary are the owner's only, like recordings
    assert oct((tmp_path / "r").stat().st_mode & 0o777) == "0o700"
    for name in ("report.html", "beats.csv", "windows.csv", "summary.json"):
        assert oct((tmp_path / "r" / name).stat().st_mode & 0o777) == "0o600", name


@pytest.mark.parametrize("kind", ["empty", "truncated", "foreign", "missing"])
def test_bad_files_give_one_clear_line(session, tmp_path, kind):
    path = tmp_path / f"{kind}.xdf"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(session["path"].read_bytes()[:700])
    elif kind == "foreign":
        path.write_text("time,rr\n0,800\n")
    out = _cli("analyze", str(path), "--out", str(tmp_path / "r"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    (last,) = out.stderr.strip().splitlines()  # one line: no WARNING before the error
    assert last.startswith("heartsync: error: ") and str(path) in last
    expected = {
        "empty": "empty",
        "truncated": "cut short",
        "foreign": "not an XDF file",
        "missing": "no such file",
    }[kind]
    assert expected in last


def test_a_recording_cut_mid_session_is_analysed_up_to_the_cut(session, tmp_path):
    data = session["path"].read_bytes()
    path = tmp_path / "crashed.xdf"
    path.write_bytes(data[: len(data) * 2 // 3])
    analysis = analyze(path, tmp_path / "r")
    assert any("cut short" in n for n in analysis.notes)
    full = session["analysis"].summary["subjects"]["client"]["beats"]
    beats = analysis.summary["subjects"]["client"]["beats"]
    # how much survives the cut depends on how the writer happened to chunk the file:
    # every raw beat the reader keeps is analysed (correction adds or merges a few)
    kept = next(
        s
        for s in read_xdf(path).streams
        if s.type == "RawRR" and s.text("desc/subject/alias") == "client"
    )
    assert 0 < beats < full
    assert abs(beats - len(kept.time_stamps)) <= 0.05 * len(kept.time_stamps)
    assert "cut short" in analysis.files["report"].read_text()


def test_bins_stay_bounded_and_keep_the_means():
    bins = Bins(0.0)
    t = np.arange(0.0, 86400.0, 0.9)  # a day of beats
    for ti in t:
        bins.add(bins.index(ti), 0, 1000.0 + ti / 86.4)
    series = bins.series()
    assert bins.used <= MAX_BINS and bins.width_s == 64.0
    assert int(np.sum(bins.counts[0])) == t.size
    np.testing.assert_allclose(series["rr"], 1000.0 + series["t_s"] / 86.4, atol=bins.width_s)


def test_progress_bar_waits_two_seconds_then_draws():
    class Out:
        text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    now = [0.0]
    out = Out()
    bar = ProgressBar(out, 2.0, clock=lambda: now[0])
    bar(0.3)
    assert out.text == ""  # quick analyses stay quiet
    now[0] = 2.5
    bar(0.5)
    bar(0.5)
    bar(1.0)
    assert out.text.count("\r") == 2 and " 50%" in out.text and out.text.endswith("100%   2.5 s\n")


def test_nonlinear_measures_equal_the_batch_functions(session):
    from dsp.hrv.nonlinear import dfa_alpha1, poincare

    summary = session["analysis"].summary["subjects"]["therapist"]["nonlinear"]
    results = [r for r in session["results"] if r.subject == "therapist"]
    rr = np.array([r.beat.rr_ms for r in results])
    clean = np.array([r.beat.artifact is None for r in results])
    gap = np.array([r.gap_before for r in results])
    pairs = clean[:-1] & clean[1:] & ~gap[1:]
    sd1, sd2 = poincare(rr, pairs)
    assert summary["sd1_ms"] == pytest.approx(sd1, rel=1e-6)
    assert summary["sd2_ms"] == pytest.approx(sd2, rel=1e-6)
    assert summary["sd2_sd1"] == pytest.approx(sd2 / sd1, rel=1e-5)
    # DFA alpha1: mean over the qualifying 5-min segments (the spectra's segments)
    assert (
        summary["dfa_segments"]
        == session["analysis"].summary["subjects"]["therapist"]["frequency_domain"]["segments_used"]
    )
    assert summary["dfa_segments"] >= 3
    t = np.array([r.beat.t for r in results])
    first = rr[(t >= t[0]) & (t < t[0] + 300.0)]
    assert 0.5 < dfa_alpha1(first) < 1.6
    assert 0.5 < summary["dfa_alpha1"] < 1.6
    html = (session["folder"] / "report" / "report.html").read_text(encoding="utf-8")
    assert "Poincaré SD1 (ms)" in html and "DFA α1" in html and "Peng et al. 1995" in html
