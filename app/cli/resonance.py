"""``heartsync resonance``: the resonance-frequency assessment without a window.

Runs the guided protocol (:meth:`app.breathing.session.BreathingSession.start_assessment`) on
any source — a strap (the person follows the text cue on the terminal, the tone, the
pacer's LSL stream or a second screen), a recording, or the simulator, whose simulated
person follows the pacer — prints the ranking and, with ``--save-profile``, saves the best
rate into the person's profile (checked before the assessment starts).
"""

import argparse
import asyncio
import json
import logging
import math
import sys
from collections.abc import Callable, Sequence

from app.breathing.resonance import format_ranking, summary
from app.breathing.session import BreathingSession, with_resonance
from app.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, CliError
from app.cli.interrupt import cancel_quietly, run_interruptible
from app.cli.progress import LineDisplay, breath_line
from app.engine import Engine
from app.profiles import ProfileStore
from dsp.breathing.pacer import PacerSettings

log = logging.getLogger(__name__)


def _shape(text: str) -> PacerSettings:
    inhale, exhale = (float(x) for x in text.split(":"))  # checked by the parser
    return PacerSettings(inhale=inhale, exhale=exhale)


def check(args: argparse.Namespace, store: ProfileStore) -> None:
    """Everything that can be wrong before the assessment starts (ProfileError / CliError).

    ``--save-profile`` must name a readable profile, and the folder must take a save:
    finding out after ten minutes of breathing would waste them.
    """
    if args.settle >= args.step:
        raise CliError(f"--settle {args.settle:g} must be shorter than --step {args.step:g}")
    if args.save_profile:
        store.load(args.save_profile)
        store.check_writable()


def run(
    args: argparse.Namespace,
    sources: Sequence,
    store: ProfileStore,
    sinks: Sequence = (),
    breath_tone: Callable | None = None,
) -> int:
    """Run the assessment; print the ranking; return the exit code.

    On a terminal a one-line cue says when to breathe in and out; with ``breath_tone``
    (and audio available) a tone follows the pacer too. Ctrl-C stops it cleanly (exit 130).
    """
    subjects = [s.subject for s in sources]
    if args.subject is not None and args.subject not in subjects:
        raise CliError(f"--subject {args.subject!r}: no such subject (have {subjects})")
    engine = Engine(sources, list(sinks))
    session = BreathingSession(engine)
    engine.sinks.append(session)
    session.start_assessment(
        args.subject, args.rates, args.step, args.settle, _shape(args.ratio), at_first_beat=True
    )
    duration = len(args.rates) * args.step + 10.0
    display = LineDisplay() if not args.no_cue else None
    tone = _start_tone(engine, session, breath_tone) if not args.no_tone else None

    async def go() -> None:
        async def watch() -> None:
            while True:
                a = session.view.assessment
                if a is not None and a.done:
                    engine.stop()
                    return
                if display is not None:
                    display.show(_cue(engine, session, len(args.rates)))
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(watch())
        try:
            await engine.run(duration)
        finally:
            await cancel_quietly(watcher)
            if display is not None:
                display.done()

    try:
        _, interrupted = run_interruptible(go, engine.stop)
    finally:
        if tone is not None:
            tone.stop()
    a = session.view.assessment
    if a is None or not a.done:
        done = 0 if a is None else a.stage
        what = "cancelled" if interrupted else "incomplete"
        print(
            f"heartsync: assessment {what}: {done} of {len(args.rates)} rates measured",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED if interrupted else EXIT_FAILED
    if args.save_profile:
        profile = store.load(args.save_profile)
        store.save(with_resonance(profile, a))
    if args.json:
        print(json.dumps(summary(a)))
    else:
        print(format_ranking(a.ranking))
        if args.save_profile:
            print(f"saved {a.best_rate_per_min:.1f} breaths/min to profile {args.save_profile}")
    return EXIT_OK


def _cue(engine: Engine, session: BreathingSession, stages: int) -> str:
    view = session.view
    a = view.assessment
    pacer = view.pacer
    state = pacer.state(engine.stream_now()) if pacer is not None else None
    stage = a.stage if a is not None else 0
    left = a.stage_left_s if a is not None else math.nan
    return breath_line(state, min(stage, stages - 1), stages, left)


def _start_tone(engine: Engine, session: BreathingSession, breath_tone: Callable | None):
    """The breath tone following the pacer, or None (the reason is logged)."""
    if breath_tone is None:
        return None

    def volume_now() -> float | None:
        pacer = session.view.pacer
        return None if pacer is None else pacer.state(engine.stream_now()).volume

    tone = breath_tone(volume_now)
    if not tone.start():
        log.info("breathing cue: text only (%s)", tone.note)
        return None
    return tone
