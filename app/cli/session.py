"""The streaming commands ``run --headless`` and ``calibrate``, and what they share.

(``resonance`` is :mod:`app.cli.resonance`.) Sources, profiles and the status line.

Everything a session needs is checked before it starts (sources built, recording file
created, profiles found, the profile folder writable), so a mistake costs a second, not a
five-minute rest.
"""

import asyncio
import contextlib
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, CliError
from app.cli.interrupt import cancel_quietly, run_interruptible
from app.cli.progress import LineDisplay, calibration_line

log = logging.getLogger("heartsync")


def make_sources(specs: Sequence, speed: float) -> list:
    """Build one source per spec with distinct subjects (SourceSpecError when not)."""
    from app.sources import SourceSpecError, build_sources, default_subjects, link_dyad

    specs = link_dyad(list(specs))
    subjects = default_subjects(specs)
    if len(set(subjects)) != len(subjects):
        raise SourceSpecError(f"two sources share a subject: {subjects}; set subject=... on each")
    sources = [
        source
        for spec, subject in zip(specs, subjects, strict=True)
        for source in build_sources(spec, subject, speed)
    ]
    names = [s.subject for s in sources]
    if len(set(names)) != len(names):
        raise SourceSpecError(f"two sources share a subject: {names}; set subject=/as= on each")
    return sources


def baselines(store, requests: list[str] | None, sources: list) -> dict:
    """Profiles asked for with ``--profile [SUBJECT=]NAME``, by subject (checked now)."""
    from app.profile_names import ProfileError

    subjects = [s.subject for s in sources]
    chosen = {}
    for i, request in enumerate(requests or []):
        subject, eq, name = request.rpartition("=")
        if not eq:
            if i >= len(subjects):
                raise CliError(f"--profile {request!r}: more profiles than sources")
            subject = subjects[i]
        if subject not in subjects:
            raise CliError(f"--profile {request!r}: no subject {subject!r} (have {subjects})")
        profile = store.load(name)
        if profile.baseline is None:
            raise ProfileError(f"profile {name!r} has no baseline: run 'heartsync calibrate' first")
        chosen[subject] = profile
    return chosen


async def _with_status(engine, duration_s: float | None, every_s: float) -> None:
    async def report() -> None:
        while True:
            await asyncio.sleep(every_s)
            log.info("%s", status_line(engine))

    ticker = asyncio.create_task(report()) if every_s > 0 else None
    try:
        await engine.run(duration_s)
    finally:
        if ticker is not None:
            await cancel_quietly(ticker)


def run_headless(args, sources: list, store, config) -> int:
    """``heartsync run --headless``: stream until done or Ctrl-C; 0 unless something failed."""
    from app.engine import Engine
    from app.profiles import ArousalSettings
    from app.sinks import JsonLinesSink

    chosen = baselines(store, args.profile, sources)
    sinks: list = []
    engine: Engine | None = None

    def stdout_gone() -> None:  # `| head`: nothing reads the JSON any more
        if engine is not None and not any(s is not json_sink for s in engine.sinks):
            engine.stop()

    json_sink = JsonLinesSink(sys.stdout, on_broken=stdout_gone) if args.json else None
    if json_sink is not None:
        sinks.append(json_sink)
    sinks.extend(stream_sinks(sources, args.lsl, args.record))
    if config.history and not args.no_history:
        from app.history import start_session

        names = {subject: profile.name for subject, profile in chosen.items()}
        sinks.extend(filter(None, [start_session(sources, store, names)]))
    engine = Engine(sources, sinks)
    for subject, profile in chosen.items():
        engine.set_baseline(
            subject, profile.baseline, ArousalSettings(band_widen=profile.band_widen)
        )
    run_interruptible(lambda: _with_status(engine, args.duration, args.status_every), engine.stop)
    if json_sink is not None and json_sink.broken:
        _silence_stdout()
    failed = engine.sink_failures or [s for s in sinks if getattr(s, "error", None) is not None]
    return EXIT_FAILED if engine.errors or failed else EXIT_OK


def _silence_stdout() -> None:
    """Standard output's reader left: point it at /dev/null so exit does not complain."""
    import os

    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def stream_sinks(sources: list, lsl: bool, record: Path | None) -> list:
    """The LSL outlets and the XDF recorder asked for (raises RecordingError)."""
    sinks: list = []
    if record is not None:
        from app.recording.recorder import XdfRecorder

        sinks.append(XdfRecorder(record, sources))
    if lsl:
        from app.streams.lsl_outlet import LslOutletSink

        sinks.append(LslOutletSink(sources))
    return sinks


def status_line(engine) -> str:
    """One line about the session: each subject, the recording, the LSL outlets."""
    parts = []
    for s in engine.snapshot.subjects:
        hr = s.last.hrv.hr_bpm if s.last is not None else math.nan
        rmssd = s.last.hrv.rmssd_ms if s.last is not None else math.nan
        text = f"{s.subject} {s.status.state.value}, {s.beats_received} beats"
        if math.isfinite(hr):
            text += f", HR {hr:.0f} bpm"
        if math.isfinite(rmssd):
            text += f", RMSSD {rmssd:.0f} ms"
        arousal = getattr(s.last, "arousal", None) if s.last is not None else None
        if arousal is not None:
            text += f", zone {arousal.zone.value}"
        parts.append(text)
    dropped = engine.beats_dropped
    if dropped:
        parts.append(f"{dropped} implausible beats dropped")
    for sink in engine.sinks:
        if hasattr(sink, "bytes_written"):
            if sink.error is not None:
                parts.append(f"recording FAILED ({sink.path.name})")
            else:
                minutes, seconds = divmod(int(sink.elapsed_s), 60)
                parts.append(
                    f"recording {sink.path.name} {minutes}:{seconds:02d} "
                    f"{sink.bytes_written / 1e6:.2f} MB"
                )
        elif hasattr(sink, "stream_names"):
            parts.append(f"LSL {len(sink.source_ids)} streams, {sink.consumers()} consumed")
    for failure in engine.sink_failures:
        parts.append(f"stopped: {failure}")
    return " | ".join(parts)


def _confirm(question: str) -> bool:
    """Ask on the terminal; False without one (the caller then needs --force)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    print(question + " [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def calibrate(args, sources: list, store) -> int:
    """``heartsync calibrate --name NAME``: a resting baseline into the profile."""
    from app.engine import Engine
    from app.profiles import CalibrationSettings, Profile
    from dsp.tolerance.baseline import CalibrationError

    name, source = args.name, sources[0]
    existing = store.load(name) if store.exists(name) else Profile(name)  # unreadable: exit 2
    if existing.baseline is not None and not args.force:
        when = existing.calibrated_at[:16] or "an earlier session"
        if not _confirm(f"profile {name!r} has a baseline from {when}; replace it?"):
            raise CliError(
                f"profile {name!r} already has a baseline (from {when}); add --force to "
                "replace it, or choose another --name"
            )
    store.check_writable()
    settings = CalibrationSettings(duration_s=60.0 * args.minutes)
    engine = Engine([source])
    display = LineDisplay()
    state: dict = {}

    async def command():
        runner = asyncio.create_task(engine.run(None))
        job = asyncio.create_task(engine.calibrate(source.subject, settings))
        state["job"] = job
        ticker = asyncio.create_task(_show_progress(engine, name, display))
        try:
            return await job
        finally:
            engine.stop()
            await cancel_quietly(ticker)
            await runner
            display.done()

    def first_signal() -> None:
        job = state.get("job")
        if job is not None:
            job.cancel()
        engine.stop()

    log.info("calibrating %s for %.0f min: sit still, breathe normally", name, args.minutes)
    try:
        baseline, interrupted = run_interruptible(command, first_signal)
    except CalibrationError as exc:
        print(f"heartsync: baseline refused: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if interrupted or baseline is None:
        print("heartsync: calibration cancelled; the profile was not changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    path = store.save(existing.calibrated(baseline))
    print(
        f"saved {name} to {path}: resting HR {baseline.hr_bpm:.1f} bpm "
        f"(scale {baseline.hr_scale_bpm:.1f}), ln RMSSD {baseline.ln_rmssd:.2f} "
        f"(scale {baseline.ln_rmssd_scale:.2f}), {100 * baseline.clean_fraction:.0f} % clean beats"
    )
    return EXIT_OK


async def _show_progress(engine, name: str, display: LineDisplay) -> None:
    while True:
        subjects = engine.snapshot.subjects
        if subjects:
            display.show(calibration_line(name, subjects[0]))
        await asyncio.sleep(1.0)
