"""The resonance-frequency assessment's result as text: the ranking table, the JSON summary.

The protocol itself is :meth:`app.breathing.session.BreathingSession.start_assessment`;
the ``heartsync resonance`` command is :mod:`app.cli.resonance`.
"""

import math
from collections.abc import Sequence

from dsp.breathing import CRITERIA


def summary(assessment) -> dict:
    """What ``resonance --json`` prints: subject, best rate and the ranking (NaN as null)."""
    return {
        "subject": assessment.subject,
        "best_rate_per_min": assessment.best_rate_per_min,
        "ranking": [{k: _clean(v) for k, v in r.items()} for r in assessment.ranking],
    }


def _clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def format_ranking(ranking: Sequence[dict]) -> str:
    """The ranking as a plain-text table (best first)."""
    head = ["rank", "rate/min", *(label for _, label in CRITERIA), "score"]
    rows = [head]
    for r in ranking:
        rows.append(
            [
                str(r["rank"]),
                f"{r['rate_per_min']:.1f}",
                *(f"{r[key]:.3g}" if math.isfinite(r[key]) else "-" for key, _ in CRITERIA),
                f"{r['score']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )
