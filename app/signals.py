"""Raw signals beside the beats: ECG and chest acceleration from a Polar strap (PMD).

:class:`SignalHub` (engine loop) takes every :class:`sensors.samples.SampleBlock` a
source yields: it publishes the samples on their own streams (``ecg``, ``acc``: LSL
and recordings, with units and the strap's rate), keeps the last seconds of ECG for the
window's trace and around beats, and measures breathing from the acceleration
(:class:`dsp.breathing.respiration.RespirationMonitor`, one per subject), published on the
``respiration`` stream. The window reads :attr:`SignalHub.view`, an immutable
:class:`SignalsView` swapped once per block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from app.streams.specs import ACC, ECG, RESPIRATION, StreamSpec
from dsp.breathing.pacer import Pacer
from dsp.breathing.respiration import QUALITIES, RespirationMonitor, RespirationUpdate
from sensors.samples import SampleBlock

__all__ = ["ECG_KEEP_S", "SignalHub", "SignalsView", "SubjectSignals"]

#: Seconds of ECG kept per subject (the trace shows the last few; the report's
#: ECG around flagged beats reads from here).
ECG_KEEP_S = 30.0


@dataclass(frozen=True)
class SubjectSignals:
    """One subject's raw signals, as the window shows them.

    Attributes
    ----------
    subject : str
        Whose.
    ecg_t, ecg_uv : numpy.ndarray
        The last :data:`ECG_KEEP_S` of ECG: LSL-clock times (s) and microvolts.
    ecg_rate_hz, acc_rate_hz : float
        Rates streamed (NaN: not streamed).
    breath : RespirationUpdate or None
        The latest breathing measured from the chest.
    """

    subject: str
    ecg_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ecg_uv: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ecg_rate_hz: float = math.nan
    acc_rate_hz: float = math.nan
    breath: RespirationUpdate | None = None


@dataclass(frozen=True)
class SignalsView:
    """Every subject's raw signals (immutable; read from any thread)."""

    subjects: tuple[SubjectSignals, ...] = ()

    def of(self, subject: str) -> SubjectSignals | None:
        """The signals of ``subject`` (None: it streams none)."""
        return next((s for s in self.subjects if s.subject == subject), None)


class _Subject:
    def __init__(self, subject: str) -> None:
        self.view = SubjectSignals(subject)
        self.monitor: RespirationMonitor | None = None


class SignalHub:
    """Publish, keep and analyse the raw signals of a session (engine loop).

    Parameters
    ----------
    engine : app.engine.Engine
        For ``publish``.
    """

    def __init__(self, engine) -> None:
        self.engine = engine
        self.view = SignalsView()
        self.pacer: Pacer | None = None
        self._subjects: dict[str, _Subject] = {}
        self._specs: dict[tuple[str, float], StreamSpec] = {}

    def set_pacer(self, pacer: Pacer | None) -> None:
        """Compare the chest's breathing with ``pacer`` (None: stop comparing)."""
        self.pacer = pacer
        for sub in self._subjects.values():
            if sub.monitor is not None:
                sub.monitor.set_pacer(pacer)

    def push(self, block: SampleBlock) -> None:
        """One block from a source: publish it, keep it, measure breathing."""
        sub = self._subjects.get(block.subject)
        if sub is None:
            sub = self._subjects[block.subject] = _Subject(block.subject)
        spec = self._spec(ECG if block.kind.key == "ecg" else ACC, block.rate_hz)
        publish = self.engine.publish
        for t, values in zip(block.t.tolist(), block.values.tolist(), strict=True):
            publish(spec, block.subject, t, values)
        if block.kind.key == "ecg":
            self._keep_ecg(sub, block)
        else:
            self._breathe(sub, block)
        self.view = SignalsView(tuple(s.view for s in self._subjects.values()))

    def _spec(self, base: StreamSpec, rate_hz: float) -> StreamSpec:
        """The stream of ``base`` at the rate the strap really streams."""
        key = (base.key, rate_hz)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = replace(base, nominal_srate=float(rate_hz))
        return spec

    def _keep_ecg(self, sub: _Subject, block: SampleBlock) -> None:
        v = sub.view
        t = np.concatenate([v.ecg_t, block.t])
        x = np.concatenate([v.ecg_uv, block.values[:, 0]])
        keep = t >= t[-1] - ECG_KEEP_S
        sub.view = replace(v, ecg_t=t[keep], ecg_uv=x[keep], ecg_rate_hz=block.rate_hz)

    def _breathe(self, sub: _Subject, block: SampleBlock) -> None:
        monitor = sub.monitor
        if monitor is None or monitor.fs_hz != block.rate_hz or block.gap_before:
            # first block, a new rate or lost samples: the filters start again
            monitor = sub.monitor = RespirationMonitor(block.rate_hz)
            monitor.set_pacer(self.pacer)
        latest = sub.view.breath
        for u in monitor.push(block.t, block.values):
            code = float(QUALITIES.index(u.quality))
            values = (u.rate_per_min, u.phase, u.lag_s, code, u.peak_fraction)
            self.engine.publish(RESPIRATION, sub.view.subject, u.t, values)
            latest = u
        sub.view = replace(sub.view, acc_rate_hz=block.rate_hz, breath=latest)

    def ecg_around(self, subject: str, t: float, half_s: float = 1.0) -> tuple:
        """ECG within ``half_s`` of ``t`` (times, microvolts), from what is kept."""
        v = self.view.of(subject)
        if v is None or v.ecg_t.size == 0:
            return np.zeros(0), np.zeros(0)
        sel = np.abs(v.ecg_t - t) <= half_s
        return v.ecg_t[sel], v.ecg_uv[sel]
