"""A session's summary for the history: a few numbers per person, from SessionStats.

Nothing is recomputed here: every number comes from the bounded running statistics of
:class:`app.analysis.session_stats.SessionStats` (the ones ``heartsync analyze`` reports),
so the history and a later report of the same recording agree. The trend rows
(:func:`trend_rows`) are flat views of these summaries, one per session and person.
"""

import datetime as dt
import math
from pathlib import Path

from app.analysis.analyze import build_summary
from app.analysis.session_stats import SessionStats

FORMAT_VERSION = 1

#: Columns of the trend CSV (``heartsync history --csv``), units in the names.
TREND_COLUMNS = (
    "session",
    "started",
    "person",
    "profile",
    "replayed",
    "duration_min",
    "window_min",
    "hyper_min",
    "hypo_min",
    "unknown_min",
    "window_percent",
    "mean_hr_bpm",
    "rmssd_ms",
    "rest_hr_bpm",
    "rest_rmssd_ms",
    "paced_min",
    "coherence_ratio",
    "coherence_peak_fraction",
    "breathing_rate_per_min",
    "sync_mean_index",
    "sync_r",
    "sync_ci_low",
    "sync_ci_high",
    "sync_p_value",
    "sync_lag_s",
)


def _paced_minutes(stats: SessionStats, subject: str) -> float:
    """Minutes this person breathed with the pacer (spans for everyone count too).

    ``stats`` must be closed (open spans are closed at the last beat then).
    """
    spans = stats.paced_spans
    seconds = sum(b - a for who, a, b in spans if who in (None, subject) and b > a)
    return round(seconds / 60.0, 4)


def session_summary(
    stats: SessionStats,
    *,
    session_id: str,
    started: dt.datetime,
    ended: dt.datetime | None,
    sources: list[str],
    replayed: bool,
    profiles: dict[str, str],
    rests: dict[str, dict],
    recording_bytes: int,
) -> dict:
    """The history's summary of one session (JSON-safe).

    Parameters
    ----------
    stats : SessionStats
        The session's statistics, closed.
    session_id : str
        The session's id.
    started, ended : datetime
        Local wall-clock start and end (``ended`` None: unknown, after a crash).
    sources : list of str
        Names of the session's sources.
    replayed : bool
        True when the beats came from a recording (a replay, not a live strap).
    profiles : dict of str to str
        Profile name used, by subject (a subject without one is left out).
    rests : dict of str to dict
        Resting baseline taken in this session, by subject (``Baseline.to_dict()``).
    recording_bytes : int
        Size of the recording, bytes.

    Returns
    -------
    dict
        ``format``, ``id``, ``started``, ``ended``, ``duration_min``, ``replayed``,
        ``sources``, ``paced_min``, ``synchrony`` (dyads; see docs/report.md) and
        ``people``: per subject ``profile``, ``paced_min``, ``rest`` (or None) and the
        per-person summary of :meth:`SessionStats.summary` (time domain, zones,
        coherence, ...).
    """
    full = build_summary(Path("session.xdf"), stats, []) if stats.subjects else None
    people = {}
    for name in stats.subjects:
        person = dict(full["subjects"][name])
        person["profile"] = profiles.get(name)
        person["paced_min"] = _paced_minutes(stats, name)
        person["rest"] = rests.get(name)
        people[name] = person
    return {
        "format": FORMAT_VERSION,
        "id": session_id,
        "started": started.isoformat(timespec="seconds"),
        "ended": None if ended is None else ended.isoformat(timespec="seconds"),
        "duration_min": None if full is None else full["duration_min"],
        "replayed": replayed,
        "sources": sources,
        "recording": "session.xdf",
        "recording_bytes": recording_bytes,
        "paced_min": None if full is None else full["paced_min"],
        "synchrony": None if full is None else full["synchrony"],
        "people": people,
    }


def _get(d: dict | None, *keys: str) -> object:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def trend_rows(summaries: list[dict]) -> list[dict]:
    """One flat row per session and person (columns :data:`TREND_COLUMNS`).

    ``person`` is the profile name when one was used, else the subject's alias, so a
    person's sessions line up across weeks whichever seat (client, a, b) they took.
    """
    rows = []
    for s in summaries:
        sync = s.get("synchrony")
        for subject, p in s.get("people", {}).items():
            zones = p.get("zones")
            in_window = _get(zones, "window_min")
            known = (
                None
                if zones is None
                else sum(zones.get(f"{z}_min") or 0.0 for z in ("window", "hyper", "hypo"))
            )
            rest = p.get("rest") or {}
            ln_rest = rest.get("ln_rmssd")
            rows.append(
                {
                    "session": s.get("id"),
                    "started": s.get("started"),
                    "person": p.get("profile") or subject,
                    "profile": p.get("profile"),
                    "replayed": s.get("replayed"),
                    "duration_min": p.get("duration_min"),
                    "window_min": in_window,
                    "hyper_min": _get(zones, "hyper_min"),
                    "hypo_min": _get(zones, "hypo_min"),
                    "unknown_min": _get(zones, "unknown_min"),
                    "window_percent": (
                        round(100.0 * in_window / known, 3)
                        if known and in_window is not None
                        else None
                    ),
                    "mean_hr_bpm": _get(p, "time_domain", "mean_hr_bpm"),
                    "rmssd_ms": _get(p, "time_domain", "rmssd_ms"),
                    "rest_hr_bpm": rest.get("hr_bpm"),
                    "rest_rmssd_ms": (
                        round(math.exp(ln_rest), 3) if isinstance(ln_rest, int | float) else None
                    ),
                    "paced_min": p.get("paced_min"),
                    "coherence_ratio": _get(p, "coherence", "mean_coherence_ratio"),
                    "coherence_peak_fraction": _get(p, "coherence", "mean_peak_fraction"),
                    "breathing_rate_per_min": _get(p, "coherence", "mean_breathing_rate_per_min"),
                    "sync_mean_index": _get(sync, "mean_index"),
                    "sync_r": _get(sync, "session", "r"),
                    "sync_ci_low": _get(sync, "session", "ci_low"),
                    "sync_ci_high": _get(sync, "session", "ci_high"),
                    "sync_p_value": _get(sync, "session", "p_value"),
                    "sync_lag_s": _get(sync, "session", "lag_s"),
                }
            )
    return rows
