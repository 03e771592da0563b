"""Report text: paced segments from the recording's start, p values and counts in words."""

import asyncio
import re

from app.analysis.analyze import analyze
from app.engine import Engine
from app.recording.recorder import RecorderSettings, XdfRecorder
from app.report.html import p_text, people
from sensors.base import BaseSource
from sensors.simulated import SimSettings, SimulatedSource

RECORD_AT_BEAT = 1000  # ~14 min of paced breathing before Record


class RecordLater(BaseSource):
    """The simulated strap; Record is pressed at a given beat, the pacer runs from the first."""

    def __init__(self, inner, box, recorder):
        super().__init__(inner.name, inner.subject)
        self.inner, self.box, self.recorder = inner, box, recorder
        self.tasks = []
        inner.add_status_listener(lambda _name, status: self._set_status(status))

    async def beats(self):
        k = 0
        async for beat in self.inner.beats():
            if k == 0:
                self.box[0].set_paced(True)
            if k == RECORD_AT_BEAT:
                self.tasks.append(asyncio.ensure_future(self.box[0].add_sink(self.recorder)))
                await asyncio.sleep(0)
            k += 1
            yield beat


def test_paced_breathing_begun_before_record_starts_at_zero(tmp_path):
    path = tmp_path / "paced.xdf"
    inner = SimulatedSource(SimSettings(seed=4, scenario="paced", paced_per_min=6), speed=0)
    box = []
    recorder = XdfRecorder(path, [inner], RecorderSettings(flush_interval_s=0.05))
    source = RecordLater(inner, box, recorder)
    engine = Engine([source], [])
    box.append(engine)
    asyncio.run(engine.run(duration_s=RECORD_AT_BEAT * 0.85 + 180))
    analysis = analyze(path, tmp_path / "report")
    summary = analysis.summary
    assert 1.5 <= summary["duration_min"] <= 4.0
    assert abs(summary["paced_min"] - summary["duration_min"]) < 0.05, summary
    html = (tmp_path / "report" / "report.html").read_text()
    spans = re.findall(r"<li>(\w+): (-?[\d.]+)–(-?[\d.]+) min</li>", html)
    assert spans == [("self", "0.0", f"{summary['duration_min']:.1f}")], spans
    assert " min, 1 person: self." in html


def test_p_values_and_people_in_words():
    assert p_text(3.2e-7) == "p < 0.0001" and p_text(0.0) == "p < 0.0001"
    assert p_text(0.0123) == "p = 0.0123" and p_text(0.5) == "p = 0.5"
    assert p_text(None) == "p = –" and p_text(float("nan")) == "p = –"
    assert p_text(2e-6, named=False) == "< 0.0001" and p_text(0.04, named=False) == "0.04"
    assert people(1) == "1 person" and people(2) == "2 people"
