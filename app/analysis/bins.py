"""Time-binned session series in bounded memory, shared by the session statistics."""

import math

import numpy as np

from dsp.tolerance.state import Zone

#: Most bins of the plotted series (two pixels per bin on a 1000-px wide figure, at worst).
MAX_BINS = 2048
#: Width of the first bins, s (doubles whenever the session outgrows MAX_BINS).
FIRST_BIN_S = 1.0
#: Zone order everywhere in the report.
ZONES = (Zone.WINDOW, Zone.HYPER, Zone.HYPO, Zone.UNKNOWN)


class Bins:
    """A time-binned series of fixed size whose bins double in width when it fills up.

    Plain lists, not numpy arrays: a scalar update of a list is several times cheaper,
    and this runs at every beat.

    Parameters
    ----------
    t0 : float
        Start of the first bin, s.
    names : tuple of str
        The series whose per-bin means are kept.
    """

    SUMS = ("rr", "hr", "ln_rmssd", "arousal", "z_hr", "art_rr")

    def __init__(self, t0: float, names: tuple[str, ...] = SUMS) -> None:
        self.t0 = t0
        self.names = names
        self.width_s = FIRST_BIN_S
        self.used = 0
        self.sums = [[0.0] * MAX_BINS for _ in names]
        self.counts = [[0] * MAX_BINS for _ in names]
        self.rr_min = [math.inf] * MAX_BINS
        self.rr_max = [-math.inf] * MAX_BINS
        self.zone_s = [[0.0] * MAX_BINS for _ in ZONES]

    def index(self, t: float) -> int:
        """The bin of time ``t`` (merging bins first when ``t`` lies beyond the last)."""
        k = int((t - self.t0) // self.width_s)
        while k >= MAX_BINS:
            self._halve()
            k = int((t - self.t0) // self.width_s)
        k = max(k, 0)
        if k >= self.used:
            self.used = k + 1
        return k

    def _halve(self) -> None:
        self.width_s *= 2.0
        half = MAX_BINS // 2

        def merge(values: list, how, empty) -> None:
            values[:half] = [how(a, b) for a, b in zip(values[0::2], values[1::2], strict=True)]
            values[half:] = [empty] * (MAX_BINS - half)

        for rows, empty in ((self.sums, 0.0), (self.counts, 0), (self.zone_s, 0.0)):
            for values in rows:
                merge(values, lambda a, b: a + b, empty)
        merge(self.rr_min, min, math.inf)
        merge(self.rr_max, max, -math.inf)
        self.used = (self.used + 1) // 2

    def add(self, k: int, i: int, value: float) -> None:
        """Add a value to the running mean number ``i`` (of ``names``) of bin ``k``."""
        if value == value:  # not NaN
            self.sums[i][k] += value
            self.counts[i][k] += 1

    def series(self) -> dict[str, np.ndarray]:
        """Bin centres (s after ``t0``) and the mean of each series per bin (NaN: empty)."""
        n = self.used
        out = {"t_s": (np.arange(n) + 0.5) * self.width_s}
        with np.errstate(invalid="ignore", divide="ignore"):
            for i, name in enumerate(self.names):
                out[name] = np.array(self.sums[i][:n]) / np.array(self.counts[i][:n])
                out[name + "_n"] = np.array(self.counts[i][:n])
        out["art_n"] = out.get("art_rr_n", np.zeros(n, int))
        rr_min, rr_max = np.array(self.rr_min[:n]), np.array(self.rr_max[:n])
        out["rr_min"] = np.where(np.isfinite(rr_min), rr_min, np.nan)
        out["rr_max"] = np.where(np.isfinite(rr_max), rr_max, np.nan)
        out["zone_s"] = np.array([z[:n] for z in self.zone_s]).reshape(len(ZONES), n)
        return out


def json_number(value: float, digits: int = 6) -> float | None:
    """JSON-safe rounded number (None for NaN)."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None
