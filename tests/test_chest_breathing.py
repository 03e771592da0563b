"""Breathing from the chest in a session: a real engine, the breathing session and a
source that streams acceleration and ECG blocks beside its beats (as a Polar strap)."""

import asyncio
import math

import numpy as np
import pytest

from app.breathing.session import BreathingSession
from app.engine import Engine
from app.signals import ECG_KEEP_S
from app.streams.specs import ACC, ECG, RESPIRATION
from dsp.breathing.pacer import Pacer, PacerSettings, volumes
from sensors.base import BaseSource
from sensors.samples import ACC as ACC_KIND
from sensors.samples import ECG as ECG_KIND
from sensors.samples import SampleBlock
from sensors.simulated import SimSettings, SimulatedSource
from sensors.virtual.signals import chest_acc_mg, ecg_uv
from tests.test_breathing_session import Capture

START = 1000.0
PACED = PacerSettings(rate_per_min=6.0)


class WithSignals(BaseSource):
    """The simulator's beats plus ACC (50 Hz, breathing ``lag_s`` behind the pacer) and
    ECG (130 Hz) blocks of one second, yielded in time order."""

    simulated = True

    def __init__(self, lag_s: float, **sim) -> None:
        self.inner = SimulatedSource(SimSettings(**{"seed": 4, **sim}), speed=0, start_s=START)
        super().__init__("sim+pmd", self.inner.subject)
        self.pacer = Pacer(PACED, t0=START)
        self.lag_s = lag_s
        self.next_s = START

    async def beats(self):
        r_peaks: list[float] = []
        async for beat in self.inner.beats():
            r_peaks.append(beat.t)
            while self.next_s + 1.0 <= beat.t:
                t0, self.next_s = self.next_s, self.next_s + 1.0
                t = t0 + np.arange(50) / 50.0
                acc = chest_acc_mg(t, volumes(self.pacer, t - self.lag_s), seed=int(t0))
                yield SampleBlock(ACC_KIND, self.subject, self.name, 50.0, t, acc)
                te = t0 + np.arange(130) / 130.0
                x = ecg_uv(te, r_peaks)[:, None]
                yield SampleBlock(ECG_KIND, self.subject, self.name, 130.0, te, x)
            yield beat


@pytest.mark.parametrize(("lag_s", "verdict"), [(0.0, "following"), (1.5, "behind")])
def test_measured_breath_beside_the_pacer_and_coherence_at_its_rate(lag_s, verdict):
    source = WithSignals(lag_s)
    capture = Capture()
    engine = Engine([source], [capture])
    session = BreathingSession(engine)
    engine.sinks.append(session)
    session.start_pacer(PACED, t=START)
    asyncio.run(engine.run(180.0))
    mine = engine.signals.view.of(source.subject)
    breath = mine.breath
    assert breath.quality == "ok"
    assert breath.rate_per_min == pytest.approx(6.0, abs=1.0)
    assert breath.lag_s == pytest.approx(lag_s, abs=0.5)
    assert breath.following == verdict
    chest = session.view.subjects[0].chest_coherence
    assert chest["peak_hz"] == pytest.approx(breath.rate_per_min / 60.0, abs=0.01)
    assert 0.0 < chest["peak_fraction"] <= 1.0
    # ECG kept for the trace; every signal on its own stream with its rate
    assert mine.ecg_t[-1] - mine.ecg_t[0] <= ECG_KEEP_S
    assert mine.ecg_uv.max() > 800
    specs = {spec.key: spec for spec, *_ in capture.samples}
    assert specs["acc"].nominal_srate == 50.0 and specs["acc"].channels == ACC.channels
    assert specs["ecg"].nominal_srate == 130.0 and specs["ecg"].channels == ECG.channels
    resp = [v for spec, _, _, v in capture.samples if spec is RESPIRATION]
    assert len(resp) > 100 and all(len(v) == 5 for v in resp)
    assert math.isnan(resp[0][0])  # warming up first


def test_without_a_pacer_there_is_no_comparison():
    source = WithSignals(0.0)
    engine = Engine([source], [Capture()])
    asyncio.run(engine.run(90.0))
    breath = engine.signals.view.of(source.subject).breath
    assert breath.following == "" and math.isnan(breath.lag_s)
    assert breath.rate_per_min == pytest.approx(6.0, abs=1.0)
