"""Start-up: how long ``heartsync --help`` and a wrong argument take (target < 0.5 s).

Wall time of a fresh process, median of 5 runs, beside the reference measured in the
same run: a bare ``python -c pass`` (the interpreter's own start) and importing the
engine (what ``--help`` used to load: scipy through the DSP). Run: ``python -m bench.startup``.
"""

import statistics
import subprocess
import sys
import time

from bench.common import table

TARGET_S = 0.5
CASES = {
    "python -c pass (reference)": ["-c", "pass"],
    "import app.engine (the old --help)": ["-c", "import app.engine"],
    "heartsync --help": ["-m", "ui", "--help"],
    "heartsync run --bogus": ["-m", "ui", "run", "--bogus"],
    "heartsync calibrate --name ''": ["-m", "ui", "calibrate", "--name", ""],
}


def wall(args: list[str], runs: int = 5) -> float:
    """Median wall seconds of ``python ARGS`` over ``runs`` runs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    rows, missed = [], []
    for name, args in CASES.items():
        seconds = wall(args)
        rows.append((name, f"{seconds:.3f}"))
        if name.startswith("heartsync") and seconds >= TARGET_S:
            missed.append(name)
    print(table(rows, ("command", "median wall s (5 runs)")))
    print(
        f"target: heartsync commands < {TARGET_S} s; " + (f"MISSED: {missed}" if missed else "met")
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
