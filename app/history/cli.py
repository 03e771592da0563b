"""``heartsync history``: list the kept sessions, export the trends, delete, recover.

Registered in :mod:`app.cli` by :func:`add_parser`; :func:`main` runs it. Prints to
standard output (the command's intended output); errors are one line on standard error
with exit code 1.
"""

import argparse
import csv
import math
import sys
from pathlib import Path

from app.config import AppConfig
from app.history import limits
from app.history.store import HistoryError, HistoryStore, SessionEntry


def add_parser(commands) -> argparse.ArgumentParser:
    """Add the ``history`` command to ``heartsync``'s sub-commands."""
    parser = commands.add_parser(
        "history",
        help="list the kept sessions, export their trends, delete or recover sessions",
        description="Every session is kept (recording and summary) in your data folder, "
        "readable by you only; 'history = false' in the settings or 'run --no-history' "
        "turns it off. Sessions older than history_keep_days or beyond history_max_gb are "
        "offered for deletion, never deleted without asking.",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="write one row per session and person (the trends) to FILE",
    )
    parser.add_argument(
        "--delete",
        action="append",
        metavar="ID",
        default=[],
        help="delete a session (recording and summary); repeat for more",
    )
    parser.add_argument(
        "--delete-offered",
        action="store_true",
        help="delete the sessions offered for deletion (older or beyond the disk bound)",
    )
    parser.add_argument(
        "--recover",
        action="store_true",
        help="repair the recordings of interrupted sessions and summarise them",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        metavar="DIR",
        help="the history folder (default: the user's data folder)",
    )
    return parser


def _num(value: object, fmt: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format(value, fmt)
    return "–"


def _line(entry: SessionEntry) -> str:
    when = entry.started.strftime("%Y-%m-%d %H:%M")
    if entry.summary is None:
        return f"{entry.id:<18} {when}  {entry.state}  ({entry.bytes / 1e6:.1f} MB recorded)"
    s = entry.summary
    people = []
    for subject, p in s.get("people", {}).items():
        who = p.get("profile") or subject
        zones = p.get("zones") or {}
        td = p.get("time_domain") or {}
        coherence = (p.get("coherence") or {}).get("mean_coherence_ratio")
        people.append(
            f"{who}: window {_num(zones.get('window_min'), '.1f')} min, "
            f"HR {_num(td.get('mean_hr_bpm'), '.0f')}, RMSSD {_num(td.get('rmssd_ms'), '.0f')} ms"
            + (f", coherence {_num(coherence, '.2f')}" if coherence is not None else "")
        )
    sync = s.get("synchrony")
    if sync:
        test = sync.get("session") or {}
        people.append(
            f"synchrony r {_num(test.get('r'), '.2f')} (p {_num(test.get('p_value'), '.3f')})"
        )
    tag = "" if entry.state == "complete" else f" [{entry.state}]"
    tag += " [replay]" if s.get("replayed") else ""
    return f"{entry.id:<18} {when} {_num(s.get('duration_min'), '6.1f')} min{tag}  " + "; ".join(
        people
    )


def write_csv(path: Path, sessions: list[SessionEntry]) -> int:
    """Write the trend rows of the summarised sessions; returns the number of rows."""
    from app.history.summary import TREND_COLUMNS, trend_rows  # loads the analysis

    rows = trend_rows([e.summary for e in sessions if e.summary is not None])
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, TREND_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return len(rows)


def main(args: argparse.Namespace, config: AppConfig) -> int:
    """Run ``heartsync history``; returns the exit code."""
    from sensors.xdf import RecordingError  # here: ``heartsync --help`` stays light

    store = HistoryStore(args.folder)
    try:
        for session_id in args.delete:
            store.delete(session_id)
            print(f"deleted session {session_id}")
        sessions = store.sessions()
        offered = store.over_limits(limits(config), sessions=sessions)
        if args.delete_offered:
            for entry in offered:
                store.delete(entry.id)
                print(f"deleted session {entry.id}")
            sessions, offered = store.sessions(), []
        if args.recover:
            for entry in sessions:
                if entry.state == "interrupted":
                    store.recover(entry.id)
                    print(f"recovered session {entry.id}")
            sessions = store.sessions()
        if args.csv is not None:
            n = write_csv(args.csv, sessions)
            print(f"wrote {n} rows to {args.csv}")
            return 0
    except (HistoryError, RecordingError) as exc:  # the one error convention: a line, exit 2
        print(f"heartsync: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"heartsync: error: {exc.strerror or exc}", file=sys.stderr)
        return 2
    total = store.disk_bytes(sessions)
    state = "on" if config.history else "off (history = false in the settings)"
    print(
        f"history {state}: {len(sessions)} sessions, {total / 1e6:.1f} MB in {store.folder} "
        f"(bound: {config.history_keep_days:g} days, {config.history_max_gb:g} GB)"
    )
    for entry in sessions:
        print(_line(entry))
    interrupted = [e for e in sessions if e.state == "interrupted"]
    if interrupted:
        print(
            f"{len(interrupted)} interrupted session(s): 'heartsync history --recover' "
            "repairs their recordings and summarises them"
        )
    if offered:
        size = sum(e.bytes for e in offered) / 1e6
        print(
            f"offered for deletion ({len(offered)} sessions, {size:.1f} MB, older than "
            f"{config.history_keep_days:g} days or beyond {config.history_max_gb:g} GB): "
            + " ".join(e.id for e in offered)
        )
        print(
            "delete them with 'heartsync history --delete-offered' (nothing is deleted "
            "without asking)"
        )
    return 0
