"""The commands that work on files: ``repair``, ``analyze``, ``profiles``; and ``scan``.

Each returns an exit code; a bad file, value or path raises one of
:func:`app.cli.errors.bad_input_errors` (one line, exit 2, printed by :mod:`app.cli.main`).
"""

import asyncio
import logging
import math
import sys
from pathlib import Path

from app.cli.errors import EXIT_FAILED, EXIT_OK, CliError

log = logging.getLogger("heartsync")


def repair(path: Path, out: Path | None) -> int:
    """``heartsync repair FILE [--out NEW]``: a repaired copy beside the file."""
    from sensors.xdf import repair_xdf

    if out is not None and (out.exists() or out.is_symlink()):
        raise CliError(f"{out} already exists; the repaired copy is never written over a file")
    report = repair_xdf(path, out)
    print(report.summary())
    for problem in report.problems:
        log.info("repair: %s", problem)
    return EXIT_OK


def analyze(path: Path, out_dir: Path | None, as_json: bool, pdf: bool = False) -> int:
    """``heartsync analyze FILE``: the report (owner-only files) and its summary."""
    from app.analysis.analyze import main as analyze_main

    return analyze_main(path, out_dir, as_json, pdf)


def profiles(folder: Path | None, delete: str | None) -> int:
    """``heartsync profiles [--delete NAME]``: list (or delete) the profiles."""
    from app.profiles import ProfileError, ProfileStore

    store = ProfileStore(folder)
    if delete is not None:
        store.delete(delete)
        print(f"deleted profile {delete}")
        return EXIT_OK
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
    return EXIT_OK


def scan(timeout_s: float) -> int:
    """``heartsync scan``: nearby heart-rate straps."""
    from sensors.base import SensorError
    from sensors.ble import scan as ble_scan

    try:
        straps = asyncio.run(ble_scan(timeout_s))
    except SensorError as exc:
        print(f"heartsync: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not straps:
        print(f"no heart-rate straps found in {timeout_s:g} s (is the strap worn and awake?)")
        return EXIT_OK
    for strap in straps:
        print(f"{strap.name or '(no name)':<28} {strap.address:<20} {strap.rssi} dBm")
    return EXIT_OK
