"""One error convention for every command: a bad file, value or path is one line, exit 2.

``heartsync: error: <what is wrong and what to do>`` on standard error, exit code
:data:`EXIT_BAD_INPUT` (argparse's own code for a wrong argument), for every command that
reads a file or takes a value. A session that ran and then failed (a strap lost, a
baseline refused) exits :data:`EXIT_FAILED`; one cut short by Ctrl-C
:data:`EXIT_INTERRUPTED` (128 + SIGINT, as shells report it).
"""

import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A bad file, value or path found by the command line itself (exit 2)."""


def bad_input_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean a bad file, value or path.

    Looked up lazily so ``heartsync --help`` imports nothing heavy: a module that was never
    imported cannot have raised its error.
    """
    classes: list[type[BaseException]] = [CliError]
    for module, name in (
        ("sensors.xdf.chunks", "RecordingError"),
        ("app.config", "ConfigError"),
        ("app.sources", "SourceSpecError"),
        ("app.profile_names", "ProfileError"),
    ):
        found = sys.modules.get(module)
        if found is not None:
            classes.append(getattr(found, name))
    return tuple(classes)


def say_error(message: object) -> int:
    """Print the one-line error; returns :data:`EXIT_BAD_INPUT`."""
    text = " ".join(str(message).split())  # one line, whatever the message held
    print(f"heartsync: error: {text}", file=sys.stderr, flush=True)
    return EXIT_BAD_INPUT
