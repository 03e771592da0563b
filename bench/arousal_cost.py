"""Cost of the window-of-tolerance stage: per-beat update and a 24-hour batch ``classify``.

Run: ``python -m bench.arousal_cost [HOURS]``. Targets: < 20 us per beat for the arousal
update; the 24-h batch (whole pipeline: artifacts, HRV, quality, arousal) in seconds.
The reference beside it is the pipeline without the arousal stage on the same beats.
"""

import sys
import time

import numpy as np

from bench.common import peak_rss_mb, table
from dsp.arousal import calibrate, classify
from dsp.pipeline import process
from dsp.tolerance.estimator import ArousalEstimator
from sensors.simulated import SimSettings, simulate


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 24.0
    cal = simulate(SimSettings(seed=1), 300)
    baseline = calibrate(cal["t_s"], cal["rr_ms"])
    run = simulate(
        SimSettings(seed=2, artifact_rate=0.02, scenario="stress", onset_s=3600), hours * 3600
    )
    t, rr = run["t_s"], run["rr_ms"]

    results = process(t, rr)  # the pipeline alone (reference)
    started = time.perf_counter()
    results = process(t, rr)
    pipeline_s = time.perf_counter() - started

    estimator = ArousalEstimator(baseline)
    started = time.perf_counter()
    for r in results:
        estimator.push(r)
    per_beat_us = 1e6 * (time.perf_counter() - started) / len(results)

    started = time.perf_counter()
    trace = classify(t, rr, cal["t_s"], cal["rr_ms"])
    classify_s = time.perf_counter() - started
    zones, counts = np.unique([z.value for z in trace.zone], return_counts=True)

    print(f"window of tolerance, {hours:g} h simulated ({t.size:,} beats, 2 % artifacts)")
    print(
        table(
            [
                ("arousal update per beat", f"{per_beat_us:.1f} us", "target < 20 us"),
                ("pipeline without arousal (reference)", f"{pipeline_s:.2f} s", ""),
                ("batch classify (calibrate + pipeline + arousal)", f"{classify_s:.2f} s", ""),
            ],
            ("what", "cost", ""),
        )
    )
    print(
        "zones:",
        ", ".join(f"{z} {c}" for z, c in zip(zones, counts, strict=True)),
        f"| peak RSS {peak_rss_mb():.0f} MB",
    )


if __name__ == "__main__":
    main()
