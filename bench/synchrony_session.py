"""Dyad synchrony, session-level test: calibration over many sessions, and batch cost.

Run: ``python -m bench.synchrony_session [SESSIONS [FIRST]]`` (default 300 independent
sessions per condition, numbered from FIRST = 0, so that ``300 300`` is a second block of
seeds; 0 sessions skips the calibration). Times are CPU seconds, best of 3.

- Batch: :func:`dsp.synchrony.session_synchrony` over a 1-hour dyad, every rotation of
  60 s ... 10 min (target < 1 s); from raw RR (both pipelines) and from corrected RR.
- Calibration (issue 15, SCIENCE.md §5): the share of sessions with p <= 0.05, at
  r = 0 (target <= 6 %) and against r, for 5- and 10-minute sessions (lags 0, 2, 4 s in
  turn; targets >= 90 % at r = 0.3 for 10 min and r = 0.4 for 5 min); the median r, the
  share whose lag is within 0.5 s and whose 95 % interval holds the simulated r.
  Beside it the oracle bound: the same test told the lag (no search over lags).
"""

import sys
import time

import numpy as np

from bench.common import table
from dsp.dyad.session import SessionAccumulator
from dsp.dyad.types import SynchronySettings
from dsp.synchrony import grid_pair, session_synchrony
from sensors.simulated import dyad_settings, simulate_dyad

#: Session ``i`` of a condition: seeds ``SEED_A + i`` and ``SEED_B + i`` (+ an offset
#: per length, so that the 5- and 10-minute sessions are independent too).
SEED_A, SEED_B = 20000, 60000


def known_lag(hr_a: np.ndarray, hr_b: np.ndarray, lag_s: float) -> float:
    """p of the session test told the lag: b moved back by it, lags of 0 s only."""
    shift = round(lag_s * 4)
    b = np.concatenate((hr_b[shift:], np.full(shift, np.nan)))
    acc = SessionAccumulator(SynchronySettings(max_lag_s=0.0))
    acc.extend(hr_a, b)
    return acc.result().p_value


def session_row(r: float, minutes: int, sessions: int, first: int = 0) -> tuple:
    found, oracle, lag_ok, covered = [], [], [], []
    for i in range(first, first + sessions):
        lag = 2.0 * (i % 3)
        seeds = (SEED_A + 1000 * minutes + i, SEED_B + 1000 * minutes + i)
        t_a, rr_a, t_b, rr_b = simulate_dyad(dyad_settings(*seeds, r, lag), 60.0 * minutes)
        streams = [
            [(x, y, True, False) for x, y in zip(t, rr, strict=True)]
            for t, rr in ((t_a, rr_a), (t_b, rr_b))
        ]
        hr_a, hr_b = grid_pair(streams, SynchronySettings())
        acc = SessionAccumulator()
        acc.extend(hr_a, hr_b)
        res = acc.result()
        found.append(res)
        oracle.append(known_lag(hr_a, hr_b, lag))
        lag_ok.append(abs(res.lag_s - lag) <= 0.5)
        covered.append(res.ci_low <= r <= res.ci_high)
    p = np.array([f.p_value for f in found])
    return (
        f"{r:g}",
        f"{minutes} min ({found[0].n_segments} segments)",
        f"{100 * np.mean(p <= 0.05):.1f} %",
        f"{100 * np.mean(np.array(oracle) <= 0.05):.1f} %",
        f"{np.median([f.r for f in found]):.2f}",
        "-" if r == 0 else f"{100 * np.mean(lag_ok):.0f} %",
        "-" if r == 0 else f"{100 * np.mean(covered):.0f} %",
    )


def batch_cost() -> list[tuple]:
    pair = dyad_settings(SEED_A, SEED_B, 0.5, 2.0)
    t_a, rr_a, t_b, rr_b = simulate_dyad(pair, 3600.0)
    rows = []
    for name, corrected in (("raw RR: pipelines + test", False), ("corrected RR", True)):
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            res = session_synchrony(t_a, rr_a, t_b, rr_b, corrected=corrected)
            best = min(best, time.process_time() - started)
        rows.append((f"batch 1 h, {name}", f"{best:.2f} s", "< 1 s", f"r {res.r:.2f}"))
    return rows


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    print(table(batch_cost(), ("measure", "CPU", "target", "result")))
    if sessions <= 0:
        return
    print()
    print(
        f"session test: {sessions} independent sessions per row (seeds {first}...), "
        "lags 0/2/4 s in turn"
    )
    rows = [
        session_row(r, minutes, sessions, first)
        for r in (0.0, 0.2, 0.3, 0.4, 0.5)
        for minutes in (5, 10)
    ]
    header = ("r", "length", "p <= 0.05", "lag known (oracle)", "median r", "lag within 0.5 s")
    print(table(rows, (*header, "interval holds r")))


if __name__ == "__main__":
    main()
