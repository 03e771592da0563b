"""Window-of-tolerance scenario figures over many seeds (SCIENCE.md §4), 2 % artifacts.

Run: ``python -m bench.arousal_scenarios [SEEDS]``. Prints, per scenario, the detection
and recovery latencies and false entries that the tests check on a few seeds.
"""

import sys

import numpy as np

from bench.common import table
from dsp.arousal import classify
from dsp.tolerance.state import Zone
from sensors.simulated import SimSettings, simulate

CAL_S, ONSET_S, STEP_S = 300.0, 600.0, 180.0


def run(scenario: str, seed: int, duration_s: float = 1200.0, **kw):
    s = SimSettings(
        seed=seed, scenario=scenario, onset_s=ONSET_S, step_s=STEP_S, artifact_rate=0.02, **kw
    )
    r = simulate(s, duration_s)
    t, rr = r["t_s"], r["rr_ms"]
    cal = t < CAL_S
    paced = (t[~cal] >= ONSET_S) & (t[~cal] < ONSET_S + STEP_S) if scenario == "paced" else None
    return classify(t[~cal], rr[~cal], t[cal], rr[cal], paced=paced)


def first(trace, zone, after, before=np.inf):
    hit = np.flatnonzero((trace.zone == zone) & (trace.t >= after) & (trace.t < before))
    return trace.t[hit[0]] - after if hit.size else np.nan


def entries(trace, zones):
    z = trace.zone
    return sum(1 for i in range(1, len(z)) if z[i] in zones and z[i] != z[i - 1])


def main() -> None:
    seeds = range(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    rows = []
    onset, end = [], []
    for seed in seeds:
        tr = run("stress", seed)
        onset.append(first(tr, Zone.HYPER, ONSET_S))
        after = tr.t >= ONSET_S + STEP_S
        still = tr.t[after & (tr.zone == Zone.HYPER)]
        end.append((still[-1] - (ONSET_S + STEP_S)) if still.size else 0.0)
    rows.append(("stress step: HYPER after onset (s)", *_stats(onset), "<= 45"))
    rows.append(("stress step: HYPER over after the end (s)", *_stats(end), "<= 90"))
    vagal = [first(run("vagal", s), Zone.HYPER, ONSET_S, ONSET_S + STEP_S) for s in seeds]
    rows.append(("vagal withdrawal: HYPER after onset (s)", *_stats(vagal), "detected"))
    low = [first(run("low", s), Zone.HYPO, ONSET_S, ONSET_S + STEP_S + 60) for s in seeds]
    rows.append(("HR -8 bpm: HYPO after onset (s)", *_stats(low), "detected"))
    paced = [entries(run("paced", s, paced_per_min=6.0), {Zone.HYPER}) for s in seeds]
    rows.append(("paced 6/min: HYPER entries", *_stats(paced), "0"))
    rest = [
        entries(run("rest", s, duration_s=CAL_S + 3600), {Zone.HYPER, Zone.HYPO}) for s in seeds
    ]
    rows.append(("60 min rest: false entries", *_stats(rest), "<= 1"))
    drop = [first(run("dropout", s), Zone.UNKNOWN, ONSET_S) for s in seeds]
    rows.append(("10 s dropout: UNKNOWN after its start (s)", *_stats(drop), "UNKNOWN"))
    print(f"window of tolerance scenarios, {len(seeds)} seeds, 2 % artifacts")
    print(table(rows, ("scenario", "median", "worst", "missed", "target")))


def _stats(values):
    v = np.asarray(values, float)
    ok = v[np.isfinite(v)]
    return (
        f"{np.median(ok):.1f}" if ok.size else "-",
        f"{ok.max():.1f}" if ok.size else "-",
        f"{np.sum(~np.isfinite(v))}/{v.size}",
    )


if __name__ == "__main__":
    main()
