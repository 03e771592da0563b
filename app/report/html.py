"""The session report: one self-contained HTML page (inline SVG figures, no network).

Sections: summary table; per person the tachogram with artifacts, HR and ln RMSSD, the
arousal index against the person's band with zones shaded, and time in each zone;
paced breathing; synchrony (two people); markers. A section with nothing to show in the
file (no baseline, no paced breathing, one person) is left out with a one-line note.
"""

import datetime
import logging
import math
from html import escape
from pathlib import Path

import numpy as np

from app.analysis.bins import ZONES
from app.analysis.session_stats import SessionStats, SubjectStats
from app.private_files import write_private
from app.report.ecg import render_snippets
from app.report.svg import Chart, hbars
from app.sync_words import lag_words, session_words
from dsp.dyad.types import SessionSynchrony
from dsp.tolerance.state import Zone

log = logging.getLogger(__name__)

ZONE_FILL = {
    Zone.WINDOW: "#dff3df",
    Zone.HYPER: "#f8d5ca",
    Zone.HYPO: "#d3e3f8",
    Zone.UNKNOWN: "#e4e4e4",
}
ZONE_BAR = {
    Zone.WINDOW: "#4a9e4a",
    Zone.HYPER: "#d0573a",
    Zone.HYPO: "#4a78c0",
    Zone.UNKNOWN: "#999",
}
ZONE_WORDS = {
    Zone.WINDOW: "in the window",
    Zone.HYPER: "above (high arousal)",
    Zone.HYPO: "below (low arousal, check in)",
    Zone.UNKNOWN: "unknown (signal)",
}

CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:1em auto;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
h3{font-size:1.05em}table{border-collapse:collapse;margin:.5em 0}
figure.ecg{display:inline-block;margin:.2em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.note{color:#666;font-style:italic}
figure{margin:.6em 0}figcaption{font-size:.85em;color:#555}
.small{font-size:.85em;color:#555}
"""


def _fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:,.{digits}f}"
    return escape(str(value))


def p_text(p: object, named: bool = True) -> str:
    """A p value as printed: "p = 0.012", "p < 0.0001" (never "0.0000"), "p –" without one.

    ``named=False`` drops the "p" (and "="): "0.012", "< 0.0001", for a table cell.
    """
    if not isinstance(p, float) or not math.isfinite(p):
        text = "= –"
    elif p < 1e-4:
        text = "< 0.0001"
    else:
        text = "= " + f"{p:.4f}".rstrip("0").rstrip(".")
    return f"p {text}" if named else text.removeprefix("= ")


def people(n: int) -> str:
    """The count of people in words: "1 person", "2 people"."""
    return "1 person" if n == 1 else f"{n} people"


def _range(*arrays: np.ndarray, pad: float = 0.05) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if not values.size:
        return (0.0, 1.0)
    lo, hi = float(np.percentile(values, 0.5)), float(np.percentile(values, 99.5))
    span = hi - lo or 1.0
    return lo - pad * span, hi + pad * span


def _note(text: str) -> str:
    return f"<p class='note'>{escape(text)}</p>"


def _figure(fig_id: str, svg: str, caption: str) -> str:
    return f"<figure id='{escape(fig_id)}'>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


class _Context:
    """What every figure of one report shares: time axis and markers."""

    def __init__(self, analysis) -> None:
        stats: SessionStats = analysis.stats
        self.t0 = stats.t0
        lasts = [s.t_last for s in stats.subjects.values()]
        self.end_min = (max(lasts) - self.t0) / 60.0 if lasts else 1.0
        self.markers = [((m.t - self.t0) / 60.0, m.text) for m in analysis.markers]

    def chart(self, y_range: tuple[float, float], y_label: str, height: int = 200) -> Chart:
        return Chart((0.0, max(self.end_min, 1e-3)), y_range, height=height, y_label=y_label)

    def mark(self, chart: Chart) -> None:
        for x, text in self.markers:
            chart.vline(x, text)


def _minutes(s: SubjectStats, series: dict) -> np.ndarray:
    return (series["t_s"] + (s.bins.t0 - s.t0)) / 60.0


def _tachogram(ctx: _Context, s: SubjectStats, series: dict) -> str:
    x = _minutes(s, series)
    chart = ctx.chart(_range(series["rr_min"], series["rr_max"]), "RR interval (ms)")
    chart.envelope(x, series["rr_min"], series["rr_max"], "#b8cde8", "range per bin")
    chart.line(x, series["rr"], "#1f4e8c", "mean NN")
    flagged = series["art_n"] > 0
    chart.points(x[flagged], series["art_rr"][flagged], "#d62728", "artifact (raw RR)")
    ctx.mark(chart)
    n_art = sum(s.artifacts.values())
    width = s.bins.width_s
    return _figure(
        f"tachogram-{s.subject}",
        chart.render(),
        f"Tachogram: clean NN intervals in {width:g}-s bins (band: shortest to longest; "
        f"line: mean); red dots: bins with artifacts ({n_art} beats corrected).",
    )


def _hr_hrv(ctx: _Context, s: SubjectStats, series: dict) -> str:
    x = _minutes(s, series)
    hr = ctx.chart(_range(series["hr"]), "HR (beats/min)", 170)
    hr.line(x, series["hr"], "#c0392b", "HR over 30 s")
    ctx.mark(hr)
    ln = ctx.chart(_range(series["ln_rmssd"]), "ln RMSSD (ln ms)", 170)
    ln.line(x, series["ln_rmssd"], "#2e7d32", "ln RMSSD over 60 s")
    ctx.mark(ln)
    return _figure(
        f"hr-hrv-{s.subject}",
        hr.render() + ln.render(),
        "Heart rate (mean of clean beats over the trailing 30 s) and ln RMSSD (trailing 60 s), "
        "as the live session computed them.",
    )


def _arousal(ctx: _Context, s: SubjectStats, series: dict) -> str:
    if not s.arousal_beats:
        return _note(
            f"{s.subject}: no baseline in this recording, so no arousal index or zones "
            "(calibrate a resting baseline before the session)."
        )
    x = _minutes(s, series)
    lower, upper = s.band
    lo, hi = _range(series["arousal"], series["z_hr"])
    edges = [v for v in (lower, upper) if math.isfinite(v)]
    lo, hi = min([lo, *edges]) - 0.3, max([hi, *edges]) + 0.3
    chart = ctx.chart((lo, hi), "z", 220)
    zone_s = series["zone_s"]
    have = zone_s.sum(axis=0) > 0
    major = np.argmax(zone_s, axis=0)
    half = s.bins.width_s / 120.0
    colors = [ZONE_FILL[ZONES[k]] if ok else "" for k, ok in zip(major, have, strict=True)]
    chart.spans(x - half, x + half, colors)
    chart.line(x, series["arousal"], "#6a1b9a", "arousal index")
    chart.line(x, series["z_hr"], "#888", "z HR (smoothed)", 1.0)
    chart.hline(upper, "#d0573a", f"upper edge {upper:g}")
    chart.hline(lower, "#4a78c0", f"lower edge (z HR) {lower:g}")
    ctx.mark(chart)
    return _figure(
        f"arousal-{s.subject}",
        chart.render(),
        "Arousal index A = (z HR - z vagal)/2 against this person's window (upper edge); "
        "low arousal is judged on the smoothed z HR (lower edge). Shading: zone (green "
        "window, red above, blue below, grey unknown).",
    )


def _zones(s: SubjectStats) -> str:
    if not s.arousal_beats:
        return ""
    rows = [(ZONE_WORDS[z], s.zone_seconds[z] / 60.0, ZONE_BAR[z]) for z in ZONES]
    return _figure(
        f"zones-{s.subject}",
        hbars(rows, "min"),
        f"Time in each zone; the window was left {s.zone_exits} time(s) (to above or below).",
    )


def _summary_table(analysis) -> str:
    subjects = analysis.summary["subjects"]
    names = list(subjects)
    rows: list[tuple[str, list]] = []

    def row(label: str, getter, digits: int = 1) -> None:
        rows.append((label, [_fmt(getter(subjects[n]), digits) for n in names]))

    row("duration (min)", lambda d: d["duration_min"])
    row("beats", lambda d: d["beats"])
    row("clean beats (%)", lambda d: d["clean_percent"])
    row("gaps", lambda d: d["gaps"])
    for key, label in (
        ("mean_hr_bpm", "mean HR (beats/min)"),
        ("mean_nn_ms", "mean NN (ms)"),
        ("sdnn_ms", "SDNN (ms)"),
        ("rmssd_ms", "RMSSD (ms)"),
        ("pnn50_percent", "pNN50 (%)"),
    ):
        row(label, lambda d, k=key: d["time_domain"][k])
    for key, label, digits in (
        ("vlf_ms2", "VLF (ms²)", 0),
        ("lf_ms2", "LF (ms²)", 0),
        ("hf_ms2", "HF (ms²)", 0),
        ("lf_hf", "LF/HF", 2),
        ("hf_peak_hz", "HF peak (Hz)", 3),
    ):
        row(label, lambda d, k=key: d["frequency_domain"][k], digits)
    row(
        "5-min segments used",
        lambda d: (
            f"{d['frequency_domain']['segments_used']} of {d['frequency_domain']['segments']}"
        ),
    )
    for key, label, digits in (
        ("sd1_ms", "Poincaré SD1 (ms)", 1),
        ("sd2_ms", "Poincaré SD2 (ms)", 1),
        ("sd2_sd1", "SD2/SD1", 2),
        ("dfa_alpha1", "DFA α1", 2),
    ):
        row(label, lambda d, k=key: d["nonlinear"][k], digits)
    for zone in ZONES:
        row(
            f"minutes {ZONE_WORDS[zone]}",
            lambda d, z=zone: None if d["zones"] is None else d["zones"][f"{z.value}_min"],
        )
    row("zone exits", lambda d: None if d["zones"] is None else d["zones"]["zone_exits"])
    row(
        "mean coherence ratio (paced)",
        lambda d: None if d["coherence"] is None else d["coherence"]["mean_coherence_ratio"],
        2,
    )
    row(
        "mean coherence peak fraction (paced)",
        lambda d: None if d["coherence"] is None else d["coherence"]["mean_peak_fraction"],
        2,
    )
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = "".join(
        f"<tr><td>{escape(label)}</td>{''.join(f'<td>{v}</td>' for v in values)}</tr>"
        for label, values in rows
    )
    table = (
        f"<table id='summary-table'><tr><th>measure</th>{head}</tr>{body}</table>"
        "<p class='small'>Time domain: every clean beat of the session, differences only "
        "between neighbouring clean beats. Frequency domain: mean of 5-min segments with "
        "≥ 95 % clean beats and no gap (Task Force 1996); VLF needs longer segments and is "
        "not reported from 5-min ones. Poincaré plot (RR<sub>n</sub> against "
        "RR<sub>n+1</sub>): SD1 the spread across the line of identity (beat-to-beat, "
        "vagal), SD2 along it (Brennan, Palaniswami &amp; Kamen 2001, IEEE Trans Biomed Eng "
        "48:1342), over every pair of neighbouring clean beats. DFA α1: short-term "
        "(4-16 beats) scaling exponent of detrended fluctuation analysis (Peng et al. 1995, "
        "Chaos 5:82), the mean over the same 5-min segments; about 1 at rest, towards 0.5 "
        "when beats become uncorrelated.</p>"
    )
    sync = analysis.summary.get("synchrony")
    if sync:
        table += _synchrony_table(sync)
    return table


def _synchrony_table(sync: dict) -> str:
    """The session test for the whole session and between markers, and the index."""
    a, b = sync["pair"]
    rows = [("whole session", sync["session"])] + [
        (f"{part['from']} → {part['to']}", part) for part in sync["between_markers"]
    ]
    body = "".join(
        f"<tr><td>{escape(label)}</td><td>{_fmt(res['r'], 2)}</td>"
        f"<td>{_fmt(res['ci_low'], 2)} to {_fmt(res['ci_high'], 2)}</td>"
        f"<td>{p_text(res['p_value'], named=False)}</td>"
        f"<td>{escape(lag_words(a, b, _num(res['lag_s'])) or '–')}</td>"
        f"<td>{res['n_segments']}</td></tr>"
        for label, res in rows
    )
    return (
        "<table id='synchrony-table'><tr><th>synchrony (session test)</th><th>r</th>"
        "<th>95 % interval</th><th>p</th><th>lag</th><th>30-s segments</th></tr>"
        f"{body}</table>"
        "<p class='small'>r: mean Fisher z of the 30-s segments at the lag found "
        "(searched once, ±5 s); p against the partner's heart rate circularly rotated by "
        "1–10 min (SCIENCE.md §5); empty where a stretch is shorter than about 3 min. "
        f"Live index: mean {_fmt(sync['mean_index'], 2)}, at or above 0.95 "
        f"{_fmt(sync['significant_percent'])} % of the time.</p>"
    )


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _paced_section(ctx: _Context, analysis) -> str:
    spans = analysis.stats.paced_spans
    if not spans:
        return _note("No paced breathing in this recording: no coherence or breathing rate.")
    t0 = analysis.stats.t0
    items = "".join(
        f"<li>{escape(who or 'everyone')}: {(a - t0) / 60:.1f}–{(b - t0) / 60:.1f} min</li>"
        for who, a, b in spans
    )
    parts = [f"<p>Paced segments:</p><ul>{items}</ul>"]
    starts = np.array([(a - t0) / 60 for _, a, _ in spans])
    ends = np.array([(b - t0) / 60 for _, _, b in spans])
    for name, s in analysis.stats.subjects.items():
        b = s.breathing
        if not b.updates:
            continue
        series = b.bins.series()
        x = (series["t_s"] + (b.bins.t0 - s.t0)) / 60.0
        ok = np.isfinite(series["coherence_ratio"]) | np.isfinite(series["rate_per_min"])
        if not ok.any():
            continue
        coh = ctx.chart(_range(series["peak_fraction"], [0.0, 1.0]), "peak fraction", 170)
        coh.spans(starts, ends, ["#fff3d6"] * len(starts))
        gap = 12.0 / 60.0  # min: more than two 5-s steps missing breaks the line
        coh.line(x, series["peak_fraction"], "#b8860b", "coherence peak fraction (64 s)", 1.3, gap)
        ctx.mark(coh)
        rate = ctx.chart(_range(series["rate_per_min"]), "breaths/min", 170)
        rate.spans(starts, ends, ["#fff3d6"] * len(starts))
        rate.line(x, series["rate_per_min"], "#00796b", "breathing rate (RSA, 60 s)", 1.3, gap)
        ctx.mark(rate)
        parts.append(f"<h3>{escape(name)}</h3>")
        parts.append(
            _figure(
                f"coherence-{name}",
                coh.render() + rate.render(),
                "Coherence (McCraty 2009: spectral peak power over total power, 64 s) and "
                "breathing rate (RSA peak, 60 s), every 5 s while paced (shaded).",
            )
        )
    if len(parts) == 1:
        parts.append(_note("The paced segments were too short for coherence (64 s needed)."))
    return "".join(parts)


def _synchrony_section(ctx: _Context, analysis) -> str:
    stats = analysis.stats
    if len(stats.subjects) < 2:
        return _note("One person in this recording: no synchrony.")
    sync = analysis.summary.get("synchrony")
    if not sync or stats.sync is None or not stats.sync.estimated:
        return _note("No synchrony estimates in this recording (it needs 3 min of both people).")
    series = stats.sync.bins.series()
    x = (series["t_s"] + (stats.sync.bins.t0 - stats.t0)) / 60.0
    a, b = sync["pair"]
    index = ctx.chart((0.0, 1.0), "index", 190)
    index.line(x, series["index"], "#00695c", "synchrony index")
    index.hline(0.95, "#c62828", "significant (0.95)")
    ctx.mark(index)
    lag = ctx.chart((-5.5, 5.5), "lag (s)", 170)
    lag.hline(0.0, "#999", "", "2,3")
    lag.line(x, series["lag_s"], "#5d4037", f"lag: > 0 {b} follows {a}")
    ctx.mark(lag)
    return _figure(
        "synchrony-figure",
        index.render() + lag.render(),
        f"Heart-rate synchrony of {a} and {b}: surrogate index (windowed cross-correlation, "
        "30 s, lags ±5 s; 0.95 marks significance; below it a 30-s window cannot show "
        "synchrony) and the lag of the peak. "
        + escape(session_words(a, b, _session(sync["session"]))),
    )


def _session(record: dict) -> SessionSynchrony:
    """A session record of the summary back as the result."""
    return SessionSynchrony(
        *(_num(record[k]) for k in ("r", "ci_low", "ci_high", "p_value", "lag_s")),
        record["n_segments"],
    )


def _markers_section(analysis) -> str:
    if not analysis.markers:
        return _note("No markers in this recording.")
    t0 = analysis.stats.t0
    items = "".join(
        f"<tr><td>{(m.t - t0) / 60:.2f}</td><td>{escape(m.text)}</td></tr>"
        for m in analysis.markers
    )
    return f"<table><tr><th>time (min)</th><th>marker</th></tr>{items}</table>"


def render_report(analysis) -> str:
    """The whole HTML page as a string."""
    ctx = _Context(analysis)
    stats = analysis.stats
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>heartsync session report: {escape(analysis.path.name)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Session report: {escape(analysis.path.name)}</h1>",
        f"<p class='small'>{ctx.end_min:.1f} min, {people(len(stats.subjects))}: "
        f"{escape(', '.join(stats.subjects))}. Made "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by heartsync from the recording, "
        "replayed through the same pipeline as the live session. heartsync is not a "
        "medical device; zones describe arousal, they are not a diagnosis.</p>",
    ]
    parts += [_note(n) for n in analysis.notes]
    parts += ["<section id='summary'><h2>Summary</h2>", _summary_table(analysis), "</section>"]
    for name, s in stats.subjects.items():
        series = s.bins.series()
        parts += [
            f"<section id='person-{escape(name)}'><h2>{escape(name)}</h2>",
            "<h3>Tachogram</h3>",
            _tachogram(ctx, s, series),
            "<h3>Heart rate and HRV</h3>",
            _hr_hrv(ctx, s, series),
            "<h3>Arousal and window of tolerance</h3>",
            _arousal(ctx, s, series),
            _zones(s),
        ]
        if name in analysis.ecg:  # a Polar strap streamed ECG
            parts += [
                "<h3>ECG around flagged beats</h3>",
                render_snippets(name, analysis.ecg[name], ctx.t0),
            ]
        parts += ["</section>"]
    parts += [
        "<section id='paced'><h2>Paced breathing</h2>",
        _paced_section(ctx, analysis),
        "</section><section id='synchrony'><h2>Synchrony</h2>",
        _synchrony_section(ctx, analysis),
        "</section><section id='markers'><h2>Markers</h2>",
        _markers_section(analysis),
        "</section><section id='files'><h2>Data</h2><p class='small'>",
        "<a href='beats.csv'>beats.csv</a> (one row per corrected beat) and ",
        "<a href='windows.csv'>windows.csv</a> (one row per 60 s per person); units are in ",
        "the column names. <a href='summary.json'>summary.json</a> holds the table above.</p>",
        "</section></body></html>",
    ]
    return "\n".join(parts)


def write_report(analysis, path: Path) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8, owner read/write only)."""
    write_private(path, render_report(analysis))
    log.info("report written to %s", path)
    return path
