"""``heartsync resonance``: the resonance-frequency assessment without a window.

Runs the guided protocol (:meth:`app.breathing.session.BreathingSession.start_assessment`) on
any source — a strap (the person follows the pacer's stream or a second screen), a
recording, or the simulator, whose simulated person follows the pacer — prints the
ranking and, with ``--profile``, saves the best rate into the person's profile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Sequence

from app.breathing.session import DEFAULT_RATES, BreathingSession, with_resonance
from app.engine import Engine
from app.profiles import ProfileStore
from dsp.breathing import CRITERIA
from dsp.pacer import PacerSettings, round_rate


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"rates {text!r}: give numbers like 6.5,6,5.5") from None
    if len(rates) < 2 or any(not 3 <= r <= 10 for r in rates):
        raise argparse.ArgumentTypeError(f"rates {text!r}: two or more, each within 3-10/min")
    return tuple(round_rate(r) for r in rates)


def add_parser(commands) -> argparse.ArgumentParser:
    """Add the ``resonance`` command to the CLI's subparsers."""
    p = commands.add_parser(
        "resonance",
        help="find the breathing rate of largest heart-rate oscillation (headless)",
        description="Guided resonance-frequency assessment (Lehrer, Vaschillo & Vaschillo "
        "2000): breathe with the pacer for STEP seconds at each rate; the rates are ranked "
        "by peak-to-trough HR, LF peak, HR-breath phase and spectral cleanliness.",
    )
    p.add_argument(
        "--rates",
        type=_rates,
        default=DEFAULT_RATES,
        metavar="R1,R2,...",
        help="breaths/min in order (default 6.5,6,5.5,5,4.5)",
    )
    p.add_argument("--step", type=float, default=120.0, metavar="S", help="seconds per rate")
    p.add_argument(
        "--settle", type=float, default=20.0, metavar="S", help="seconds dropped per rate"
    )
    p.add_argument("--ratio", default="4:6", metavar="IN:OUT", help="inhale:exhale (4:6)")
    p.add_argument("--subject", help="who is assessed (default the first subject)")
    p.add_argument("--save-profile", metavar="NAME", help="save the best rate to this profile")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return p


def _shape(text: str) -> PacerSettings:
    try:
        inhale, exhale = (float(x) for x in text.split(":"))
        return PacerSettings(inhale=inhale, exhale=exhale)
    except ValueError as exc:
        raise ValueError(f"--ratio {text!r}: give IN:OUT such as 4:6 ({exc})") from None


def _clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def run(args: argparse.Namespace, sources: Sequence, store: ProfileStore, sinks=()) -> int:
    """Run the assessment; print the ranking; return the exit code."""
    shape = _shape(args.ratio)
    engine = Engine(sources, list(sinks))
    session = BreathingSession(engine)
    engine.sinks.append(session)
    session.start_assessment(
        args.subject, args.rates, args.step, args.settle, shape, at_first_beat=True
    )
    duration = len(args.rates) * args.step + 10.0

    async def go() -> None:
        async def watch() -> None:
            while True:
                a = session.view.assessment
                if a is not None and a.done:
                    engine.stop()
                    return
                await asyncio.sleep(0.05)

        async with asyncio.TaskGroup() as group:
            watcher = group.create_task(watch())
            await engine.run(duration)
            watcher.cancel()

    asyncio.run(go())
    a = session.view.assessment
    if a is None or not a.done:
        done = 0 if a is None else a.stage
        print(f"assessment incomplete: {done} of {len(args.rates)} rates measured", file=sys.stderr)
        return 1
    if args.save_profile:
        profile = store.load(args.save_profile)
        store.save(with_resonance(profile, a))
    if args.json:
        out = {
            "subject": a.subject,
            "best_rate_per_min": a.best_rate_per_min,
            "ranking": [{k: _clean(v) for k, v in r.items()} for r in a.ranking],
        }
        print(json.dumps(out))
    else:
        print(format_ranking(a.ranking))
        if args.save_profile:
            print(f"saved {a.best_rate_per_min:.1f} breaths/min to profile {args.save_profile}")
    return 0


def format_ranking(ranking: Sequence[dict]) -> str:
    """The ranking as a plain-text table (best first)."""
    head = ["rank", "rate/min", *(label for _, label in CRITERIA), "score"]
    rows = [head]
    for r in ranking:
        rows.append(
            [
                str(r["rank"]),
                f"{r['rate_per_min']:.1f}",
                *(f"{r[key]:.3g}" if math.isfinite(r[key]) else "-" for key, _ in CRITERIA),
                f"{r['score']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )
