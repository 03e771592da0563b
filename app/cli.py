"""The ``heartsync`` command line.

``heartsync`` opens the window (the simulated strap when no sensor is configured);
``heartsync run --headless`` streams without a window; ``heartsync scan`` lists straps.
"""

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.config import AppConfig, ConfigError, load_config
from app.engine import Engine
from app.profiles import Profile, ProfileError, ProfileStore
from app.sinks import JsonLinesSink, Sink
from app.sources import (
    SourceSpec,
    SourceSpecError,
    build_sources,
    default_subjects,
    link_dyad,
    parse_source_spec,
    with_pmd,
)
from dsp.arousal_estimator import ArousalSettings
from dsp.baseline import Baseline, CalibrationError, CalibrationSettings
from sensors.base import BeatSource, SensorError
from sensors.xdf import RecordingError

log = logging.getLogger("heartsync")

SPEC_HELP = (
    "a source: 'sim[:key=value,...]' (simulated strap; keys seed, hr, rsa, lf, noise, breath, "
    "resonance, scenario=rest|stress|vagal|low|posture|paced:RATE|dropout, onset, step, gap, "
    "artifacts, subject; for a dyad slow=BPM, r=0-1 (the coupling: correlation of the two "
    "heart rates at the lag, as the synchrony detector sees them), lag=S, partner=SEED), "
    "'ble:NAME_OR_ADDRESS[,subject=ALIAS][,pmd=ecg+acc]' (a Bluetooth strap; pmd: a Polar "
    "strap's ECG and chest acceleration too), "
    "'lsl:NAME_OR_SOURCE_ID[,subject=ALIAS]' (an LSL stream of RR or heart rate, e.g. another "
    "heartsync's) or 'replay:FILE.xdf[,subject=S][,as=ALIAS][,stream=NAME]' (a recording; every "
    "subject in it unless one is picked). Repeat for two people."
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a wrong value in one line and exits with 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _source_spec(text: str) -> SourceSpec:
    try:
        return parse_source_spec(text)
    except SourceSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(minimum: float, strict: bool, what: str):
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number ({what})") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bound} ({what})")
        return value

    return convert


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", action="append", type=_source_spec, metavar="SPEC", default=None, help=SPEC_HELP
    )
    parser.add_argument(
        "--speed",
        type=_number(0, False, "1 is real time, 0 as fast as possible"),
        default=None,
        help="playback speed of simulated sources: 1 real time (default), 2 twice as fast, "
        "0 as fast as possible",
    )


def _version() -> str:
    """The installed heartsync's version ("unknown" when run from a tree never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("heartsync")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``heartsync``."""
    parser = _Parser(
        prog="heartsync",
        description="Open biofeedback from Bluetooth heart-rate straps. Without a command, "
        "opens the window (on the simulated strap when no sensor is configured).",
    )
    parser.add_argument("--config", type=Path, help="settings file (default: the user's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument("--version", action="version", version=f"heartsync {_version()}")
    parser.add_argument(
        "--profiles", type=Path, metavar="DIR", help="folder of profiles (default: the user's)"
    )
    _add_source_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="stream sources through the pipeline",
        description="Stream sources "
        "through the pipeline, in the window or (--headless) without one.",
    )
    _add_source_options(run)
    run.add_argument("--headless", action="store_true", help="no window; stop with Ctrl-C")
    run.add_argument(
        "--pmd",
        metavar="ecg,acc",
        default="",
        help="also stream a Polar strap's ECG and/or chest acceleration (LSL, recordings, "
        "breathing from the chest) when it offers them; a strap without them gives beats",
    )
    run.add_argument(
        "--duration",
        type=_number(0, True, "seconds of stream time"),
        metavar="S",
        help="stop after S seconds of stream time (default: run until stopped)",
    )
    run.add_argument(
        "--exit-when-done",
        action="store_true",
        help="close the window when the session ends (with --duration)",
    )
    run.add_argument(
        "--profile",
        action="append",
        metavar="[SUBJECT=]NAME",
        help="measure arousal against a calibrated profile (for the first subject, or the "
        "one named); repeat for two people",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per corrected beat on standard output (headless)",
    )
    run.add_argument(
        "--lsl",
        action="store_true",
        help="publish every stream on Lab Streaming Layer (off by default: health data on a "
        "shared network)",
    )
    run.add_argument(
        "--record",
        type=Path,
        metavar="FILE.xdf",
        help="record raw and corrected beats, metrics, zones and markers to a new XDF file "
        "(owner-only; flushed every second)",
    )
    run.add_argument(
        "--no-history",
        action="store_true",
        help="keep nothing of this session in the history (see 'heartsync history')",
    )
    run.add_argument(
        "--status-every",
        type=_number(0, False, "seconds"),
        default=10.0,
        metavar="S",
        help="seconds between one-line status reports on stderr (headless; default 10, 0 none)",
    )

    repair = commands.add_parser(
        "repair",
        help="close an XDF recording whose writer died (crash, power cut, full disk)",
        description="Keep every whole chunk, drop a chunk cut short, add the missing stream "
        "footers. The file is replaced atomically unless --out is given.",
    )
    repair.add_argument("file", type=Path, metavar="FILE.xdf", help="the recording")
    repair.add_argument("--out", type=Path, metavar="FILE.xdf", help="write the repaired copy here")

    analyze = commands.add_parser(
        "analyze",
        help="replay a recording through the pipeline and write its report",
        description="Replays FILE.xdf at full speed through the live pipeline and writes "
        "report.html (figures inline, opens offline), beats.csv, windows.csv and summary.json.",
    )
    analyze.add_argument("file", type=Path, metavar="FILE.xdf", help="the recording")
    analyze.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: FILE-report/ beside it)"
    )
    analyze.add_argument("--json", action="store_true", help="print the summary as JSON")
    analyze.add_argument(
        "--pdf", action="store_true", help="also write report.pdf (A4 or Letter, printable)"
    )

    calibrate = commands.add_parser(
        "calibrate",
        help="take a resting baseline without the window and save it to a profile",
        description="Sit still and breathe normally; the first minute is dropped.",
    )
    _add_source_options(calibrate)
    calibrate.add_argument("--name", required=True, help="profile name or alias")
    calibrate.add_argument(
        "--minutes",
        type=_number(3, False, "minutes of rest, 3 or more"),
        default=5.0,
        help="length of the rest, minutes (default 5, at least 3)",
    )

    profiles = commands.add_parser("profiles", help="list (or delete) the calibrated profiles")
    profiles.add_argument("--delete", metavar="NAME", help="delete this profile")

    from app.breathing.resonance import add_parser as add_resonance_parser
    from app.history.cli import add_parser as add_history_parser

    add_history_parser(commands)

    _add_source_options(add_resonance_parser(commands))

    scan = commands.add_parser("scan", help="list nearby heart-rate straps")
    scan.add_argument(
        "--timeout",
        type=_number(0, True, "seconds"),
        default=5.0,
        metavar="S",
        help="how long to listen, seconds (default 5)",
    )
    return parser


def make_sources(specs: Sequence[SourceSpec], speed: float) -> list[BeatSource]:
    """Build one source per spec with distinct subjects.

    Raises
    ------
    SourceSpecError
        For options a source does not take, or two sources for one subject.
    """
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


async def run_headless(
    engine: Engine, duration_s: float | None, status_every_s: float = 0.0, status=None
) -> None:
    """Run the engine until done; SIGINT/SIGTERM stop it cleanly (files closed).

    With ``status_every_s`` > 0, ``status()`` is logged every that many wall seconds.
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, engine.stop)
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt instead
            pass

    async def report() -> None:
        while True:
            await asyncio.sleep(status_every_s)
            log.info("%s", status())

    ticker = asyncio.create_task(report()) if status_every_s > 0 and status else None
    try:
        await engine.run(duration_s)
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker


def _resolve(args: argparse.Namespace, config: AppConfig) -> tuple[list[SourceSpec], float]:
    specs = args.source or [parse_source_spec(s) for s in config.sources] or [SourceSpec("sim")]
    speed = config.speed if args.speed is None else args.speed
    return specs, speed


def main(argv: Sequence[str] | None = None, open_window: Callable[..., int] | None = None) -> int:
    """Run the ``heartsync`` command line; returns the exit code.

    Parameters
    ----------
    argv : sequence of str or None
        The arguments (``sys.argv[1:]`` by default).
    open_window : callable or None
        Runs the window (:func:`ui.app.run_gui`'s signature). The layer above the app
        passes it in (``heartsync`` is :func:`ui.__main__.main`); without it, commands that
        need the window are refused with a pointer to ``heartsync``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    store = ProfileStore(args.profiles)
    try:
        config = load_config(args.config)
        if args.command == "scan":
            return _scan(args.timeout)
        if args.command == "profiles":
            return _profiles(store, args.delete)
        if args.command == "repair":
            return _repair(args.file, args.out)
        if args.command == "analyze":
            from app.analysis.analyze import main as analyze_main

            return analyze_main(args.file, args.out, args.json, args.pdf)
        if args.command == "history":
            from app.history.cli import main as history_main

            return history_main(args, config)
        specs, speed = _resolve(args, config)
        if getattr(args, "pmd", ""):
            specs = with_pmd(specs, args.pmd)
        sources = make_sources(specs, speed)
        baselines = _baselines(store, getattr(args, "profile", None), sources)
    except (ConfigError, SourceSpecError, ProfileError) as exc:
        parser.exit(2, f"heartsync: error: {exc}\n")
    if args.command == "resonance":
        from app.breathing.resonance import run as run_resonance

        try:
            return run_resonance(args, sources, store)
        except (ValueError, ProfileError) as exc:
            parser.exit(2, f"heartsync: error: {exc}\n")
    if args.command == "calibrate":
        return _calibrate(store, sources[0], args.name, args.minutes)
    if args.command == "run" and args.headless:
        sinks: list[Sink] = [JsonLinesSink(sys.stdout)] if args.json else []
        try:
            sinks.extend(_stream_sinks(sources, args.lsl, args.record))
        except RecordingError as exc:
            parser.exit(2, f"heartsync: error: {exc}\n")
        if config.history and not args.no_history:
            from app.history import start_session

            names = {subject: profile.name for subject, profile in baselines.items()}
            sinks.extend(filter(None, [start_session(sources, store, names)]))
        engine = Engine(sources, sinks)
        for subject, profile in baselines.items():
            engine.set_baseline(
                subject, profile.baseline, ArousalSettings(band_widen=profile.band_widen)
            )
        try:
            asyncio.run(
                run_headless(engine, args.duration, args.status_every, lambda: status_line(engine))
            )
        except KeyboardInterrupt:
            pass
        failed = [s for s in engine.sinks if getattr(s, "error", None) is not None]
        return 1 if engine.errors or failed else 0
    record = getattr(args, "record", None)
    if record is not None and record.exists():  # the recorder never overwrites a file
        parser.exit(2, f"heartsync: error: {record} already exists; choose a new file name\n")
    if args.command == "run" and args.json:
        parser.exit(2, "heartsync: error: --json needs --headless\n")
    if open_window is None:
        parser.exit(2, "heartsync: error: the window needs the heartsync command (python -m ui)\n")
    return open_window(
        sources,
        duration_s=getattr(args, "duration", None),
        exit_when_done=getattr(args, "exit_when_done", False),
        profiles_dir=args.profiles,
        profiles={subject: profile.name for subject, profile in baselines.items()},
        config_path=args.config,
        lsl=getattr(args, "lsl", False),
        record=record,
        history=config.history and not getattr(args, "no_history", False),
    )


def _baselines(
    store: ProfileStore, requests: list[str] | None, sources: list[BeatSource]
) -> dict[str, Profile]:
    """Profiles asked for with ``--profile [SUBJECT=]NAME``, by subject."""
    subjects = [s.subject for s in sources]
    chosen: dict[str, Profile] = {}
    for i, request in enumerate(requests or []):
        subject, eq, name = request.rpartition("=")
        if not eq:
            if i >= len(subjects):
                raise SourceSpecError(f"--profile {request!r}: more profiles than sources")
            subject = subjects[i]
        if subject not in subjects:
            raise SourceSpecError(
                f"--profile {request!r}: no subject {subject!r} (have {subjects})"
            )
        profile = store.load(name)
        if profile.baseline is None:
            raise ProfileError(f"profile {name!r} has no baseline: run 'heartsync calibrate' first")
        chosen[subject] = profile
    return chosen


def _calibrate(store: ProfileStore, source: BeatSource, name: str, minutes: float) -> int:
    """Headless resting baseline into a profile."""
    settings = CalibrationSettings(duration_s=60.0 * minutes)
    engine = Engine([source])

    async def calibrate() -> Baseline:
        runner = asyncio.create_task(run_headless(engine, None))
        try:
            return await engine.calibrate(source.subject, settings)
        finally:
            engine.stop()
            await runner

    log.info("calibrating %s for %.0f min: sit still, breathe normally", name, minutes)
    try:
        baseline = asyncio.run(calibrate())
    except CalibrationError as exc:
        print(f"heartsync: baseline refused: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("heartsync: calibration cancelled", file=sys.stderr)
        return 1
    try:
        existing = store.load(name) if name in store.names() else Profile(name)
        path = store.save(existing.calibrated(baseline))
    except ProfileError as exc:
        print(f"heartsync: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"saved {name} to {path}: resting HR {baseline.hr_bpm:.1f} bpm "
        f"(scale {baseline.hr_scale_bpm:.1f}), ln RMSSD {baseline.ln_rmssd:.2f} "
        f"(scale {baseline.ln_rmssd_scale:.2f}), {100 * baseline.clean_fraction:.0f} % clean beats"
    )
    return 0


def _profiles(store: ProfileStore, delete: str | None) -> int:
    if delete is not None:
        store.delete(delete)
        print(f"deleted profile {delete}")
        return 0
    names = store.names()
    if not names:
        print(f"no profiles yet in {store.folder}; create one with 'heartsync calibrate'")
    for name in names:
        try:
            profile = store.load(name)
        except ProfileError as exc:
            print(f"{name:<24} unreadable: {exc}")
            continue
        b = profile.baseline
        summary = (
            "not calibrated"
            if b is None
            else (
                f"HR {b.hr_bpm:.0f} bpm, RMSSD {math.exp(b.ln_rmssd):.0f} ms, "
                f"band ±{profile.band_widen:g}, {profile.calibration_text()}"
            )
        )
        print(f"{name:<24} {summary}")
    return 0


def _stream_sinks(sources: list[BeatSource], lsl: bool, record: Path | None) -> list[Sink]:
    """The LSL outlets and the XDF recorder asked for (raises RecordingError)."""
    sinks: list[Sink] = []
    if record is not None:
        from app.recording.recorder import XdfRecorder

        sinks.append(XdfRecorder(record, sources))
    if lsl:
        from app.streams.lsl_outlet import LslOutletSink

        sinks.append(LslOutletSink(sources))
    return sinks


def status_line(engine: Engine) -> str:
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
    return " | ".join(parts)


def _repair(path: Path, out: Path | None) -> int:
    from sensors.xdf import repair_xdf

    try:
        report = repair_xdf(path, out)
    except RecordingError as exc:
        print(f"heartsync: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def _scan(timeout_s: float) -> int:
    from sensors.ble import scan

    try:
        straps = asyncio.run(scan(timeout_s))
    except SensorError as exc:
        print(f"heartsync: error: {exc}", file=sys.stderr)
        return 1
    if not straps:
        print(f"no heart-rate straps found in {timeout_s:g} s (is the strap worn and awake?)")
        return 0
    for strap in straps:
        print(f"{strap.name or '(no name)':<28} {strap.address:<20} {strap.rssi} dBm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
