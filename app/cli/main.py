"""``heartsync``: parse, check, dispatch; one error convention for every command.

Only the parser is imported up front, so ``heartsync --help`` and argument errors load no
DSP, Qt or radio code; each command imports what it needs.
"""

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.cli.errors import EXIT_INTERRUPTED, CliError, bad_input_errors, say_error
from app.cli.parser import build_parser, resolve_shared

log = logging.getLogger("heartsync")


def main(argv: Sequence[str] | None = None, open_window: Callable[..., int] | None = None,
         breath_tone: Callable | None = None) -> int:  # fmt: skip
    """Run the ``heartsync`` command line; returns the exit code.

    Parameters
    ----------
    argv : sequence of str or None
        The arguments (``sys.argv[1:]`` by default).
    open_window : callable or None
        Runs the window (:func:`ui.app.run_gui`'s signature). The layer above the app
        passes it in (``heartsync`` is :func:`ui.__main__.main`); without it, commands that
        need the window are refused with a pointer to ``heartsync``.
    breath_tone : callable or None
        ``breath_tone(volume_now)`` -> an object with ``start() -> bool``, ``stop()`` and
        ``note`` (:class:`ui.tone.BreathTone`): the tone of headless ``resonance``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_shared(parser, args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _dispatch(args, open_window, breath_tone)
    except KeyboardInterrupt:  # Ctrl-C outside a session (while reading, building, ...)
        print("heartsync: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if isinstance(exc, bad_input_errors()):
            return say_error(exc)
        if isinstance(exc, OSError):  # an output path that cannot be written
            where = f" {exc.filename}" if exc.filename else ""
            return say_error(f"cannot use{where}: {exc.strerror or exc}")
        raise


def _dispatch(args, open_window, breath_tone) -> int:
    from app.cli import files

    command = args.command
    _check_config_path(args.config)
    if command == "repair":
        return files.repair(args.file, args.out)
    if command == "analyze":
        return files.analyze(args.file, args.out, args.json, args.pdf)
    if command == "profiles":
        return files.profiles(args.profiles, args.delete)
    from app.config import load_config

    config = load_config(args.config)
    if command == "scan":
        return files.scan(args.timeout)
    if command == "history":
        from app.history.cli import main as history_main

        return history_main(args, config)
    from app.cli import session
    from app.profiles import ProfileStore
    from app.sources import SourceSpec, parse_source_spec, with_pmd

    specs = args.source or [parse_source_spec(s) for s in config.sources] or [SourceSpec("sim")]
    if getattr(args, "pmd", ""):
        specs = with_pmd(specs, args.pmd)
    speed = config.speed if args.speed is None else args.speed
    store = ProfileStore(args.profiles)
    if command == "resonance":
        from app.cli.resonance import check, run

        check(args, store)  # names, subject, profile: before the sources start
        sources = session.make_sources(specs, speed)
        return run(args, sources, store, breath_tone=breath_tone)
    sources = session.make_sources(specs, speed)
    if command == "calibrate":
        return session.calibrate(args, sources, store)
    if command == "run" and args.headless:
        return session.run_headless(args, sources, store, config)
    return _window(args, sources, store, open_window, config)


def _check_config_path(path: Path | None) -> None:
    if path is None:
        return
    if not path.exists():
        raise CliError(f"--config {path}: no such file")
    if not path.is_file():
        raise CliError(f"--config {path} is not a file")


def _window(args, sources: list, store, open_window, config) -> int:
    from app.cli.session import baselines

    chosen = baselines(store, getattr(args, "profile", None), sources)
    record = getattr(args, "record", None)
    if record is not None and (record.exists() or record.is_symlink()):
        raise CliError(f"{record} already exists; choose a new file name")
    if args.command == "run" and args.json:
        raise CliError("--json needs --headless")
    if open_window is None:
        raise CliError("the window needs the heartsync command (python -m ui)")
    return open_window(
        sources,
        duration_s=getattr(args, "duration", None),
        exit_when_done=getattr(args, "exit_when_done", False),
        profiles_dir=args.profiles,
        profiles={subject: profile.name for subject, profile in chosen.items()},
        config_path=args.config,
        lsl=getattr(args, "lsl", False),
        record=record,
        history=config.history and not getattr(args, "no_history", False),
    )
