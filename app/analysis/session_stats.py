"""Whole-session statistics in bounded memory: a sink that summarises a session as it streams.

:class:`SessionStats` is an ordinary engine sink. Attached to a live session it keeps what
the session reported; attached to a replay (``heartsync analyze``) it sees the very same
:class:`~dsp.pipeline.BeatResult` objects, so both summaries are equal. Nothing grows with
the length of the session: running sums for the summary, a binned series for the figures
(bins double in width when full), 5-min segments for the spectra, and the per-beat and
per-window CSV rows go straight to their files.
"""

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from app.analysis.bins import ZONES, Bins, json_number
from app.analysis.session_breathing import BreathingStats
from app.analysis.session_sync import SynchronyStats
from dsp.beat_result import BeatResult
from dsp.hrv import frequency_domain
from dsp.hrv.nonlinear import PoincareSums, dfa_alpha1
from dsp.tolerance.estimator import ArousalSettings
from dsp.tolerance.state import Zone

log = logging.getLogger(__name__)

#: Length of the per-window metric rows, s (the RMSSD window of the live pipeline).
WINDOW_S = 60.0
#: Segment length of the session spectrum, s (Task Force 1996: 5-min segments).
SEGMENT_S = 300.0
#: Share of clean beats a spectral segment needs.
SEGMENT_MIN_CLEAN = 0.95

BEAT_COLUMNS = (
    "subject",
    "t_lsl_s",
    "elapsed_s",
    "rr_ms",
    "rr_raw_ms",
    "artifact",
    "gap_before",
    "hr_bpm",
    "rmssd_ms",
    "ln_rmssd_ln_ms",
    "sdnn_ms",
    "lf_ms2",
    "hf_ms2",
    "artifact_rate_fraction",
    "signal_ok",
    "arousal_index_z",
    "z_hr_z",
    "z_vagal_z",
    "zone",
)
WINDOW_COLUMNS = (
    "subject",
    "start_elapsed_s",
    "end_elapsed_s",
    "beats",
    "clean_percent",
    "mean_hr_bpm",
    "rmssd_ms",
    "ln_rmssd_ln_ms",
    "sdnn_ms",
    "lf_ms2",
    "hf_ms2",
    "hf_peak_hz",
    "arousal_index_mean_z",
    "zone_end",
    "paced",
)


_BEAT_ROW = "%.6f,%.3f,%.2f,%.2f,%s,%d,%.2f,%.2f,%.4f,%.2f,%.1f,%.1f,%.4f,%d,"
_AROUSAL_ROW = "%.3f,%.3f,%.3f,%s"


def _f(value: float | None, digits: int = 3) -> str:
    """A CSV number: empty for None/NaN."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


_RR, _HR, _LN, _AROUSAL, _ZHR, _ART = range(len(Bins.SUMS))


@dataclass
class _Window:
    start: float
    beats: int = 0
    clean: int = 0
    nn_sum: float = 0.0
    arousal_sum: float = 0.0
    arousal_n: int = 0
    last: BeatResult | None = None
    paced: bool = False


@dataclass
class SubjectStats:
    """Running statistics of one subject (see :class:`SessionStats`)."""

    subject: str
    t0: float
    bins: Bins = field(init=False)
    t_first: float = math.nan
    t_last: float = math.nan
    beats: int = 0
    clean: int = 0
    gaps: int = 0
    artifacts: Counter = field(default_factory=Counter)
    nn_n: int = 0
    nn_mean: float = 0.0
    nn_m2: float = 0.0
    diff_n: int = 0
    diff_sq: float = 0.0
    diff_50: int = 0
    prev_nn: float = math.nan
    zone_seconds: dict = field(default_factory=lambda: dict.fromkeys(ZONES, 0.0))
    zone_exits: int = 0
    arousal_beats: int = 0
    prev_zone: Zone | None = None
    prev_zone_t: float = math.nan
    band: tuple[float, float] = (math.nan, math.nan)
    seg_t: list = field(default_factory=list)
    seg_rr: list = field(default_factory=list)
    seg_clean: int = 0
    seg_start: float = math.nan
    segments: int = 0
    spectra: list = field(default_factory=list)
    poincare: PoincareSums = field(default_factory=PoincareSums)
    dfa: list = field(default_factory=list)
    window: _Window | None = None
    breathing: BreathingStats = field(init=False)

    def __post_init__(self) -> None:
        self.bins = Bins(self.t0)
        self.breathing = BreathingStats(self.t0)


class SessionStats:
    """A sink that summarises every subject's session as it streams.

    Parameters
    ----------
    beats_csv, windows_csv : text stream or None
        Where to write the per-beat rows and the per-window (60 s) rows (None: nowhere).
    t0 : float or None
        Session start on the stream clock, s (default: the first beat).
    pair : tuple of str or None
        The dyad in the engine's order (a, b) for synchrony (default: the first two
        subjects seen).
    dyad : bool
        Keep the corrected beats for the session synchrony test; False when the
        session is known to hold one person (saves work on long recordings).
    """

    def __init__(
        self,
        beats_csv: TextIO | None = None,
        windows_csv: TextIO | None = None,
        t0: float | None = None,
        pair: tuple[str, str] | None = None,
        dyad: bool = True,
    ) -> None:
        self.subjects: dict[str, SubjectStats] = {}
        self.t0 = t0
        self.pair = pair
        self.dyad = dyad
        self.sync: SynchronyStats | None = None
        self.paced: dict[str | None, bool] = {}
        self.paced_spans: list[tuple[str | None, float, float]] = []
        self._paced_since: dict[str | None, float] = {}
        self.events: list[tuple[float, dict]] = []
        self._pending_band: dict[str, tuple[float, float]] = {}
        self._beats_csv = beats_csv
        self._windows_csv = windows_csv
        self._rows: list[str] = []
        if beats_csv is not None:
            beats_csv.write(",".join(BEAT_COLUMNS) + "\n")
        if windows_csv is not None:
            windows_csv.write(",".join(WINDOW_COLUMNS) + "\n")

    # ------------------------------------------------------------------ sink protocol
    def write(self, result: BeatResult) -> None:
        """Take one processed beat."""
        if self.t0 is None:
            self.t0 = result.beat.t
        if self.dyad:
            if self.sync is None:
                self.sync = SynchronyStats(self.t0)
            self.sync.add_beat(result)
        s = self.subjects.get(result.subject)
        if s is None:
            s = self.subjects[result.subject] = SubjectStats(result.subject, self.t0)
        beat, hrv = result.beat, result.hrv
        t = beat.t
        if s.beats == 0:
            s.t_first = t
        s.t_last = t
        s.beats += 1
        clean = beat.artifact is None
        s.gaps += result.gap_before
        k = s.bins.index(t)
        bins = s.bins
        if clean:
            s.clean += 1
            self._add_nn(s, beat.rr_ms, result.gap_before)
            bins.add(k, _RR, beat.rr_ms)
            if beat.rr_ms < bins.rr_min[k]:
                bins.rr_min[k] = beat.rr_ms
            if beat.rr_ms > bins.rr_max[k]:
                bins.rr_max[k] = beat.rr_ms
        else:
            s.artifacts[beat.artifact] += 1
            s.prev_nn = math.nan
            raw = beat.rr_raw_ms if math.isfinite(beat.rr_raw_ms) else beat.rr_ms
            bins.add(k, _ART, raw)
        bins.add(k, _HR, hrv.hr_bpm)
        bins.add(k, _LN, hrv.ln_rmssd)
        self._add_arousal(s, result, k)
        self._add_segment(s, result)
        self._add_window(s, result)
        s.breathing.push(result, self.is_paced(s.subject))
        if self._beats_csv is not None:
            self._beat_row(s, result)

    def write_event(self, t: float, event: dict) -> None:
        """Session events: paced breathing on/off and baselines (band edges) are kept."""
        kind = event.get("event")
        who = event.get("subject")
        if kind == "paced":
            if self.t0 is not None and (t < self.t0 or not self.subjects):
                # in force when the recording began (a replay re-applies it before the
                # first beat, on another clock): counted from the recording's start
                t = self.t0
            on = bool(event.get("paced"))
            if on and who not in self._paced_since:
                self._paced_since[who] = t
            elif not on and who in self._paced_since:
                self.paced_spans.append((who, self._paced_since.pop(who), t))
            self.paced[who] = on
        elif kind == "baseline":
            self.events.append((t, event))
            settings = event.get("arousal")
            if settings and who is not None:
                arousal = ArousalSettings(**settings)
                s = self.subjects.get(who)
                band = (arousal.lower, arousal.upper)
                if s is not None:
                    s.band = band
                else:
                    self._pending_band[who] = band

    def write_sample(self, spec: object, subject: str, t: float, values: tuple) -> None:
        """Samples of declared streams: the dyad's synchrony stream is kept."""
        if getattr(spec, "key", "") == "synchrony":
            if self.sync is None:
                self.sync = SynchronyStats(t if self.t0 is None else self.t0)
            self.sync.add_sample(t, tuple(values))

    def status(self, subject: str, source: str, status: object) -> None:
        """Status changes are not part of the summary."""

    def close(self) -> None:
        """Finish open windows, segments and paced spans; flush the CSV rows."""
        for s in self.subjects.values():
            self._close_segment(s)
            if s.window is not None and s.window.beats:
                self._window_row(s, s.window)
                s.window = None
        end = max((s.t_last for s in self.subjects.values()), default=math.nan)
        for who, since in list(self._paced_since.items()):
            self.paced_spans.append((who, since, end))
            del self._paced_since[who]
        if self.t0 is not None:  # a live session's pacer may have begun before Record
            self.paced_spans = [(w, max(a, self.t0), b) for w, a, b in self.paced_spans]
        self._flush_rows()
        for stream in (self._beats_csv, self._windows_csv):
            if stream is not None:
                stream.flush()

    # ---------------------------------------------------------------------- parts
    @staticmethod
    def _add_nn(s: SubjectStats, rr: float, gap: bool) -> None:
        s.nn_n += 1
        delta = rr - s.nn_mean
        s.nn_mean += delta / s.nn_n
        s.nn_m2 += delta * (rr - s.nn_mean)
        if not gap and math.isfinite(s.prev_nn):
            d = rr - s.prev_nn
            s.diff_n += 1
            s.diff_sq += d * d
            s.diff_50 += abs(d) > 50.0
            s.poincare.add(s.prev_nn, rr)
        s.prev_nn = rr

    def _add_arousal(self, s: SubjectStats, result: BeatResult, k: int) -> None:
        state = result.arousal
        if state is None:
            s.prev_zone = None
            return
        if s.arousal_beats == 0:
            if s.subject in self._pending_band:
                s.band = self._pending_band.pop(s.subject)
        s.arousal_beats += 1
        t = result.beat.t
        if s.prev_zone is not None:
            dt = max(0.0, t - s.prev_zone_t)
            s.zone_seconds[s.prev_zone] += dt
            s.bins.zone_s[ZONES.index(s.prev_zone)][k] += dt
            if s.prev_zone is Zone.WINDOW and state.zone in (Zone.HYPER, Zone.HYPO):
                s.zone_exits += 1
        s.prev_zone, s.prev_zone_t = state.zone, t
        s.bins.add(k, _AROUSAL, state.index)
        s.bins.add(k, _ZHR, state.z_hr)

    def _add_segment(self, s: SubjectStats, result: BeatResult) -> None:
        t = result.beat.t
        if result.gap_before or (math.isfinite(s.seg_start) and t - s.seg_start >= SEGMENT_S):
            self._close_segment(s)
        if not s.seg_t:
            s.seg_start = t
        if s.seg_t and t <= s.seg_t[-1]:
            return
        s.seg_t.append(t)
        s.seg_rr.append(result.beat.rr_ms)
        s.seg_clean += result.beat.artifact is None

    def _close_segment(self, s: SubjectStats) -> None:
        if s.seg_t:
            span = s.seg_t[-1] - s.seg_start
            if span >= SEGMENT_S * 0.95:
                s.segments += 1
                if s.seg_clean >= SEGMENT_MIN_CLEAN * len(s.seg_t):
                    spectrum = frequency_domain(np.array(s.seg_rr), np.array(s.seg_t))
                    s.spectra.append(
                        [spectrum[k] for k in ("vlf", "lf", "hf", "lf_hf", "hf_peak_hz")]
                    )
                    s.dfa.append(dfa_alpha1(np.array(s.seg_rr)))
        s.seg_t, s.seg_rr, s.seg_clean, s.seg_start = [], [], 0, math.nan

    def _add_window(self, s: SubjectStats, result: BeatResult) -> None:
        t = result.beat.t
        w = s.window
        if w is not None and t >= w.start + WINDOW_S:
            self._window_row(s, w)
            w = None
        if w is None:
            k = math.floor((t - self.t0) / WINDOW_S)
            w = s.window = _Window(self.t0 + k * WINDOW_S)
        w.beats += 1
        if result.beat.artifact is None:
            w.clean += 1
            w.nn_sum += result.beat.rr_ms
        if result.arousal is not None and math.isfinite(result.arousal.index):
            w.arousal_sum += result.arousal.index
            w.arousal_n += 1
        w.paced = w.paced or self.is_paced(s.subject)
        w.last = result

    def is_paced(self, subject: str) -> bool:
        """True while this subject (or everyone) breathes with the pacer."""
        return self.paced.get(subject, False) or self.paced.get(None, False)

    def _window_row(self, s: SubjectStats, w: _Window) -> None:
        if self._windows_csv is None:
            return
        hrv = w.last.hrv
        state = w.last.arousal
        row = (
            s.subject,
            _f(w.start - self.t0, 1),
            _f(w.start - self.t0 + WINDOW_S, 1),
            str(w.beats),
            _f(100.0 * w.clean / w.beats, 1),
            _f(60000.0 * w.clean / w.nn_sum if w.clean else math.nan, 2),
            _f(hrv.rmssd_ms, 2),
            _f(hrv.ln_rmssd, 4),
            _f(hrv.sdnn_ms, 2),
            _f(hrv.lf_ms2, 1),
            _f(hrv.hf_ms2, 1),
            _f(hrv.hf_peak_hz, 4),
            _f(w.arousal_sum / w.arousal_n if w.arousal_n else math.nan, 3),
            "" if state is None else state.zone.value,
            str(int(w.paced)),
        )
        self._windows_csv.write(",".join(row) + "\n")

    def _beat_row(self, s: SubjectStats, result: BeatResult) -> None:
        beat, hrv, q, a = result.beat, result.hrv, result.quality, result.arousal
        # one %-format per row: about twice as fast as an f-string with 18 fields
        numbers = _BEAT_ROW % (
            beat.t,
            beat.t - self.t0,
            beat.rr_ms,
            beat.rr_raw_ms,
            beat.artifact or "",
            result.gap_before,
            hrv.hr_bpm,
            hrv.rmssd_ms,
            hrv.ln_rmssd,
            hrv.sdnn_ms,
            hrv.lf_ms2,
            hrv.hf_ms2,
            q.artifact_rate,
            q.ok,
        )
        if a is None:
            numbers += ",,,"
        else:
            numbers += _AROUSAL_ROW % (a.index, a.z_hr, a.z_vagal, a.zone.value)
        # NaN (not estimated yet) becomes an empty field; "nan" appears nowhere else
        self._rows.append(f"{s.subject},{numbers.replace('nan', '')}\n")
        if len(self._rows) >= 4096:
            self._flush_rows()

    def _flush_rows(self) -> None:
        if self._rows and self._beats_csv is not None:
            self._beats_csv.write("".join(self._rows))
        self._rows = []

    # --------------------------------------------------------------------- results
    def summary(self, subject: str) -> dict:
        """The summary of one subject (units in the key names; None where not estimable)."""
        s = self.subjects[subject]
        duration = s.t_last - s.t_first if s.beats else 0.0
        sdnn = math.sqrt(s.nn_m2 / (s.nn_n - 1)) if s.nn_n > 1 else math.nan
        rmssd = math.sqrt(s.diff_sq / s.diff_n) if s.diff_n else math.nan
        spectra = np.array(s.spectra, float).reshape(-1, 5)
        means = [_mean_finite(spectra[:, j]) for j in range(5)]
        out = {
            "duration_min": json_number(duration / 60.0),
            "beats": s.beats,
            "clean_beats": s.clean,
            "clean_percent": json_number(100.0 * s.clean / s.beats if s.beats else math.nan),
            "artifacts": dict(sorted(s.artifacts.items())),
            "gaps": s.gaps,
            "time_domain": {
                "mean_nn_ms": json_number(s.nn_mean if s.nn_n else math.nan),
                "sdnn_ms": json_number(sdnn),
                "rmssd_ms": json_number(rmssd),
                "pnn50_percent": json_number(
                    100.0 * s.diff_50 / s.diff_n if s.diff_n else math.nan
                ),
                "mean_hr_bpm": json_number(60000.0 / s.nn_mean if s.nn_n else math.nan),
            },
            "frequency_domain": {
                "vlf_ms2": json_number(means[0]),
                "lf_ms2": json_number(means[1]),
                "hf_ms2": json_number(means[2]),
                "lf_hf": json_number(means[3]),
                "hf_peak_hz": json_number(means[4]),
                "segments_used": len(s.spectra),
                "segments": s.segments,
                "segment_s": SEGMENT_S,
            },
            "nonlinear": _nonlinear(s),
            "zones": None,
            "coherence": s.breathing.summary(),
        }
        if s.arousal_beats:
            out["zones"] = {
                **{f"{z.value}_min": json_number(s.zone_seconds[z] / 60.0) for z in ZONES},
                "zone_exits": s.zone_exits,
                "band_lower_z": json_number(s.band[0]),
                "band_upper_z": json_number(s.band[1]),
            }
        return out


def _nonlinear(s: SubjectStats) -> dict:
    """Poincaré SD1/SD2 over every clean successive pair; DFA α1 per 5-min segment."""
    sd1, sd2 = s.poincare.result()
    dfa = np.array(s.dfa, float)
    return {
        "sd1_ms": json_number(sd1),
        "sd2_ms": json_number(sd2),
        "sd2_sd1": json_number(sd2 / sd1 if sd1 > 0 else math.nan),
        "dfa_alpha1": json_number(_mean_finite(dfa)),
        "dfa_segments": int(np.isfinite(dfa).sum()),
    }


def _pair(stats: "SessionStats") -> tuple[str, str] | None:
    names = list(stats.subjects)
    if len(names) != 2:
        return None
    return stats.pair if stats.pair is not None else (names[0], names[1])


def synchrony_summary(stats: "SessionStats", markers: Sequence = ()) -> dict | None:
    """The dyad's session synchrony, whole and between ``markers`` (None for one person)."""
    pair = _pair(stats)
    if pair is None or stats.sync is None or not stats.sync.samples:
        return None
    t0 = stats.t0 if stats.t0 is not None else 0.0
    return stats.sync.summary(pair, markers, t0)


def _mean_finite(values: np.ndarray) -> float:
    """Mean of the finite values (NaN when there are none)."""
    values = values[np.isfinite(values)]
    return float(np.mean(values)) if values.size else math.nan
