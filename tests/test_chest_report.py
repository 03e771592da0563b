"""A recording with ECG: the report shows the ECG around the beats flagged as artifacts."""

import asyncio

import numpy as np

from app.analysis.analyze import analyze
from app.engine import Engine
from app.recording.recorder import XdfRecorder
from app.report.ecg import MAX_SNIPPETS
from tests.test_chest_breathing import WithSignals


def test_report_shows_ecg_around_flagged_beats(tmp_path):
    source = WithSignals(0.0, artifact_rate=0.03)
    path = tmp_path / "ecg.xdf"
    engine = Engine([source], [XdfRecorder(path, [source])])
    asyncio.run(engine.run(240.0))
    analysis = analyze(path, tmp_path / "report")
    snippets = analysis.ecg[source.subject]
    flagged = sum(analysis.stats.subjects[source.subject].artifacts.values())
    assert flagged >= 3
    assert len(snippets) == min(flagged, MAX_SNIPPETS)
    for s in snippets:
        assert s.kind in ("ectopic", "missed", "extra", "long", "short", "invalid")
        assert s.t[0] >= -1.5 and s.t[-1] <= 1.5 and np.all(np.diff(s.t) > 0)
        assert s.uv.max() > 800  # QRS complexes in the window
    html = (tmp_path / "report" / "report.html").read_text()
    assert "ECG around flagged beats" in html
    assert html.count("<figure class='ecg'>") == len(snippets)


def test_report_without_ecg_has_no_ecg_section(tmp_path):
    from sensors.simulated import SimSettings, SimulatedSource

    source = SimulatedSource(SimSettings(seed=1, artifact_rate=0.03), speed=0, start_s=1000.0)
    path = tmp_path / "plain.xdf"
    asyncio.run(Engine([source], [XdfRecorder(path, [source])]).run(60.0))
    analysis = analyze(path, tmp_path / "report")
    assert analysis.ecg == {}
    assert "ECG around" not in (tmp_path / "report" / "report.html").read_text()
