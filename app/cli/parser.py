"""The ``heartsync`` argument parser: cheap to build (``--help`` loads no DSP or Qt).

``--config``, ``--profiles`` and ``-v`` work before and after the command; ``--source``
and ``--speed`` too for the commands that stream. Given in both places, sources add up
(``--source A run --source B`` is two people) and a single-valued option must agree;
nothing given before the command is silently dropped. Values are checked here, before any
long work starts: a wrong one is one line and exit 2.
"""

import argparse
import math
from pathlib import Path

SPEC_HELP = (
    "a source: 'sim[:key=value,...]' (simulated strap; keys seed, hr, rsa, lf, noise, breath, "
    "resonance, scenario=rest|stress|vagal|low|posture|paced:RATE|dropout, onset, step, gap, "
    "artifacts, subject; for a dyad slow=BPM, r=0-1 (the coupling: correlation of the two "
    "heart rates at the lag, as the synchrony detector sees them), lag=S, "
    "partner=SUBJECT_OR_SEED), "
    "'ble:NAME_OR_ADDRESS[,subject=ALIAS][,pmd=ecg+acc]' (a Bluetooth strap; pmd: a Polar "
    "strap's ECG and chest acceleration too), "
    "'lsl:NAME_OR_SOURCE_ID[,subject=ALIAS]' (an LSL stream of RR or heart rate, e.g. another "
    "heartsync's) or 'replay:FILE.xdf[,subject=S][,as=ALIAS][,stream=NAME]' (a recording; every "
    "subject in it unless one is picked). Repeat for two people."
)
#: The resonance protocol's default rates, breaths/min (app.breathing.session.DEFAULT_RATES).
RESONANCE_RATES = (6.5, 6.0, 5.5, 5.0, 4.5)
#: Commands that stream sources (take --source and --speed).
STREAMING = ("run", "calibrate", "resonance")
#: Options that may come before or after the command: dest -> top-level dest.
SHARED = {
    "config": "top_config",
    "profiles": "top_profiles",
    "verbose": "top_verbose",
    "source": "top_source",
    "speed": "top_speed",
}


class Parser(argparse.ArgumentParser):
    """argparse that reports a wrong value in one line and exits with 2."""

    def error(self, message: str) -> None:
        """Print ``heartsync: error: MESSAGE`` and exit with 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _source_spec(text: str):
    from app.sources import SourceSpecError, parse_source_spec

    try:
        return parse_source_spec(text)
    except SourceSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def number(minimum: float, strict: bool, what: str, maximum: float = math.inf):
    """An argparse type: a finite number >= (or >) ``minimum`` and <= ``maximum``."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number ({what})") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bound} ({what})")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{text!r} must be <= {maximum:g} ({what})")
        return value

    return convert


def profile_name(text: str) -> str:
    """An argparse type: a usable profile name (any script; not empty, no control chars)."""
    from app.profile_names import ProfileNameError, check_name

    try:
        return check_name(text)
    except ProfileNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rates(text: str) -> tuple[float, ...]:
    from dsp.breathing.pacer import round_rate

    try:
        rates = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"rates {text!r}: give numbers like 6.5,6,5.5") from None
    if len(rates) < 2 or any(not 3 <= r <= 10 for r in rates):
        raise argparse.ArgumentTypeError(f"rates {text!r}: two or more, each within 3-10/min")
    return tuple(round_rate(r) for r in rates)


def _ratio(text: str) -> str:
    from dsp.breathing.pacer import PacerSettings

    try:
        inhale, exhale = (float(x) for x in text.split(":"))
        PacerSettings(inhale=inhale, exhale=exhale)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: give IN:OUT such as 4:6 ({exc})") from None
    return text


def _shared(parser: argparse.ArgumentParser, top: bool, streaming: bool) -> None:
    """The options allowed before and after the command (top: the top-level parser)."""

    def dest(name: str) -> dict:
        return {"dest": SHARED[name]} if top else {"dest": name, "default": argparse.SUPPRESS}

    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: the user's)",
        **dest("config"),
    )
    parser.add_argument(
        "--profiles",
        type=Path,
        metavar="DIR",
        help="folder of profiles (default: the user's)",
        **dest("profiles"),
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug detail", **dest("verbose")
    )
    if not streaming:
        return
    parser.add_argument(
        "--source", action="append", type=_source_spec, metavar="SPEC", help=SPEC_HELP,
        **dest("source"),
    )  # fmt: skip
    parser.add_argument(
        "--speed",
        type=number(0, False, "1 is real time, 0 as fast as possible"),
        metavar="X",
        help="playback speed of simulated sources: 1 real time (default), 2 twice as fast, "
        "0 as fast as possible",
        **dest("speed"),
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
    parser = Parser(
        prog="heartsync",
        description="Open biofeedback from Bluetooth heart-rate straps. Without a command, "
        "opens the window (on the simulated strap when no sensor is configured).",
    )
    _shared(parser, top=True, streaming=True)
    parser.add_argument("--version", action="version", version=f"heartsync {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _run(commands)
    _files(commands)
    _calibrate(commands)
    profiles = commands.add_parser("profiles", help="list (or delete) the calibrated profiles")
    _shared(profiles, top=False, streaming=False)
    profiles.add_argument("--delete", metavar="NAME", type=profile_name, help="delete it")
    _resonance(commands)
    from app.history.cli import add_parser as add_history_parser

    _shared(add_history_parser(commands), top=False, streaming=False)
    scan = commands.add_parser("scan", help="list nearby heart-rate straps")
    _shared(scan, top=False, streaming=False)
    scan.add_argument(
        "--timeout",
        type=number(0, True, "seconds", 600),
        default=5.0,
        metavar="S",
        help="how long to listen, seconds (default 5)",
    )
    return parser


def _run(commands) -> None:
    run = commands.add_parser(
        "run",
        help="stream sources through the pipeline",
        description="Stream sources through the pipeline, in the window or (--headless) "
        "without one.",
    )
    _shared(run, top=False, streaming=True)
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
        type=number(0, True, "seconds of stream time"),
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
        type=number(0, False, "seconds"),
        default=10.0,
        metavar="S",
        help="seconds between one-line status reports on stderr (headless; default 10, 0 none)",
    )


def _files(commands) -> None:
    repair = commands.add_parser(
        "repair",
        help="repair an XDF recording whose writer died or whose bytes were damaged",
        description="Keep every whole chunk, read around damage, drop a chunk cut short, add "
        "the missing stream footers. The repaired copy is written beside the file "
        "(FILE.repaired.xdf) or to --out, never over an existing file; the original is "
        "never changed.",
    )
    _shared(repair, top=False, streaming=False)
    repair.add_argument("file", type=Path, metavar="FILE.xdf", help="the recording")
    repair.add_argument(
        "--out", type=Path, metavar="FILE.xdf", help="write the repaired copy here (a new file)"
    )
    analyze = commands.add_parser(
        "analyze",
        help="replay a recording through the pipeline and write its report",
        description="Replays FILE.xdf at full speed through the live pipeline and writes "
        "report.html (figures inline, opens offline), beats.csv, windows.csv and summary.json, "
        "readable by you only.",
    )
    _shared(analyze, top=False, streaming=False)
    analyze.add_argument("file", type=Path, metavar="FILE.xdf", help="the recording")
    analyze.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: FILE-report/ beside it)"
    )
    analyze.add_argument("--json", action="store_true", help="print the summary as JSON")
    analyze.add_argument(
        "--pdf", action="store_true", help="also write report.pdf (A4 or Letter, printable)"
    )


def _calibrate(commands) -> None:
    calibrate = commands.add_parser(
        "calibrate",
        help="take a resting baseline without the window and save it to a profile",
        description="Sit still and breathe normally; the first minute is dropped.",
    )
    _shared(calibrate, top=False, streaming=True)
    calibrate.add_argument("--name", required=True, type=profile_name, help="profile name")
    calibrate.add_argument(
        "--minutes",
        type=number(3, False, "minutes of rest, 3 or more", 120),
        default=5.0,
        help="length of the rest, minutes (default 5, at least 3)",
    )
    calibrate.add_argument(
        "--force", action="store_true", help="replace an existing baseline without asking"
    )


def _resonance(commands) -> None:
    p = commands.add_parser(
        "resonance",
        help="find the breathing rate of largest heart-rate oscillation (headless)",
        description="Guided resonance-frequency assessment (Lehrer, Vaschillo & Vaschillo "
        "2000): breathe with the pacer for STEP seconds at each rate; the rates are ranked "
        "by peak-to-trough HR, LF peak, HR-breath phase and spectral cleanliness. On a "
        "terminal a text cue shows when to breathe in and out (and a tone plays when audio "
        "is installed).",
    )
    _shared(p, top=False, streaming=True)
    default = ",".join(f"{r:g}" for r in RESONANCE_RATES)
    p.add_argument(
        "--rates",
        type=_rates,
        default=RESONANCE_RATES,
        metavar="R1,R2,...",
        help=f"breaths/min in order (default {default})",
    )
    p.add_argument(
        "--step",
        type=number(30, False, "seconds per rate, 30 or more", 1800),
        default=120.0,
        metavar="S",
        help="seconds per rate (default 120)",
    )
    p.add_argument(
        "--settle",
        type=number(0, False, "seconds dropped per rate", 600),
        default=20.0,
        metavar="S",
        help="seconds dropped at the start of each rate (default 20)",
    )
    p.add_argument(
        "--ratio", type=_ratio, default="4:6", metavar="IN:OUT", help="inhale:exhale (4:6)"
    )
    p.add_argument("--subject", help="who is assessed (default the first subject)")
    p.add_argument(
        "--save-profile", type=profile_name, metavar="NAME", help="save the best rate here"
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--no-cue", action="store_true", help="no breathing cue on the terminal")
    p.add_argument("--no-tone", action="store_true", help="no breath tone")


def resolve_shared(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Merge the options given before the command with those after it (in ``args``).

    Sources add up; a single value given twice must agree (else exit 2).
    """
    streaming = args.command in STREAMING or args.command is None
    for name, top in SHARED.items():
        before = getattr(args, top, None)
        after = getattr(args, name, None)
        if hasattr(args, top):
            delattr(args, top)
        if name in ("source", "speed") and not streaming:
            if before:
                parser.error(f"--{name} does not apply to '{args.command}'")
            continue
        if name == "source":
            value = [*(before or []), *(after or [])] or None
        elif name == "verbose":
            value = bool(before or after)
        elif before is not None and after is not None and before != after:
            parser.error(f"--{name} given twice with different values ({before} and {after})")
        else:
            value = after if after is not None else before
        setattr(args, name, value)
