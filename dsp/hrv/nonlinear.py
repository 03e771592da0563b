"""Nonlinear HRV: the Poincaré plot (SD1, SD2) and detrended fluctuation analysis (DFA α1).

Pure functions on NN intervals in ms, plus one tiny running accumulator so a whole
session's Poincaré descriptors come from running sums (bounded memory). Both measures
are defined on normal-to-normal intervals: pairs across an artifact or a gap are left
out (SCIENCE.md §3), which the ``valid`` masks express.

References
----------
Brennan M, Palaniswami M, Kamen P (2001). Do existing measures of Poincaré plot geometry
reflect nonlinear features of heart rate variability? IEEE Trans Biomed Eng 48:1342-1347.
Peng C-K, Havlin S, Stanley HE, Goldberger AL (1995). Quantification of scaling exponents
and crossover phenomena in nonstationary heartbeat time series. Chaos 5:82-87.
Shaffer F, Ginsberg JP (2017). An overview of heart rate variability metrics and norms.
Front Public Health 5:258.
"""

import math
from dataclasses import dataclass

import numpy as np

#: Shortest and longest box of DFA α1, beats (Peng 1995: short-term scaling, 4-16 beats).
DFA_ALPHA1_SCALES = tuple(range(4, 17))


def poincare(rr_ms: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float]:
    """SD1 and SD2 of the Poincaré plot (RR_n against RR_n+1).

    SD1 is the spread perpendicular to the line of identity (short-term, beat-to-beat
    variability; SD1 = SDSD / sqrt 2), SD2 the spread along it (longer-term). Standard
    deviations with ddof = 1, as NeuroKit2 and Kubios.

    Parameters
    ----------
    rr_ms : ndarray
        NN intervals, ms, in order.
    valid : ndarray of bool or None
        ``valid[i]`` says whether the pair (rr[i], rr[i+1]) is two clean successive beats
        (length ``len(rr_ms) - 1``); None: every pair.

    Returns
    -------
    sd1_ms, sd2_ms : float
        ms; NaN with fewer than 3 valid pairs.

    References
    ----------
    Brennan et al. 2001, eq. 7-8.
    """
    rr = np.asarray(rr_ms, float)
    a, b = rr[:-1], rr[1:]
    if valid is not None:
        keep = np.asarray(valid, bool)
        a, b = a[keep], b[keep]
    if a.size < 3:
        return math.nan, math.nan
    x1 = (a - b) / math.sqrt(2.0)
    x2 = (a + b) / math.sqrt(2.0)
    return float(np.std(x1, ddof=1)), float(np.std(x2, ddof=1))


@dataclass
class PoincareSums:
    """Running sums of the Poincaré plot's two axes, for a session of any length.

    Feed each valid successive pair with :meth:`add`; :meth:`result` gives the same SD1
    and SD2 as :func:`poincare` over those pairs (up to rounding).
    """

    n: int = 0
    sum_d: float = 0.0
    sum_dd: float = 0.0
    sum_s: float = 0.0
    sum_ss: float = 0.0

    def add(self, previous_ms: float, rr_ms: float) -> None:
        """Add the pair (previous, current), two clean successive NN intervals, ms."""
        d = previous_ms - rr_ms
        s = previous_ms + rr_ms
        self.n += 1
        self.sum_d += d
        self.sum_dd += d * d
        self.sum_s += s
        self.sum_ss += s * s

    def result(self) -> tuple[float, float]:
        """SD1 and SD2, ms (NaN with fewer than 3 pairs)."""
        if self.n < 3:
            return math.nan, math.nan
        var_d = (self.sum_dd - self.sum_d * self.sum_d / self.n) / (self.n - 1)
        var_s = (self.sum_ss - self.sum_s * self.sum_s / self.n) / (self.n - 1)
        return math.sqrt(max(var_d, 0.0) / 2.0), math.sqrt(max(var_s, 0.0) / 2.0)


def dfa_alpha1(rr_ms: np.ndarray, scales: tuple[int, ...] = DFA_ALPHA1_SCALES) -> float:
    """Short-term scaling exponent α1 of detrended fluctuation analysis.

    The series is integrated (cumulative sum of the deviations from its mean), cut into
    boxes of ``n`` beats that overlap by half, each box detrended by a least-squares line;
    F(n) is the root mean square of the residuals over all boxes, and α1 the slope of
    log F(n) against log n over ``scales``. About 1 in healthy rest; towards 0.5 (white
    noise) with heavy exercise or uncorrelated beats, towards 1.5 (Brownian) with strong
    slow trends.

    Parameters
    ----------
    rr_ms : ndarray
        NN intervals, ms, in order, without gaps (one segment).
    scales : tuple of int
        Box lengths, beats (default 4-16, Peng 1995).

    Returns
    -------
    float
        α1, dimensionless; NaN when the series has fewer than ``4 * max(scales)`` beats
        or no variability.

    References
    ----------
    Peng et al. 1995; the box layout (half-overlapping boxes, linear detrending, F as
    RMS of the per-box variances) is NeuroKit2's ``fractal_dfa``, with which it agrees.
    """
    rr = np.asarray(rr_ms, float)
    scales_arr = np.asarray(scales, int)
    if rr.size < 4 * int(scales_arr.max()) or not np.all(np.isfinite(rr)):
        return math.nan
    y = np.cumsum(rr - rr.mean())
    fluctuation = np.empty(scales_arr.size)
    for i, n in enumerate(scales_arr):
        starts = np.arange(0, y.size - n, n // 2)
        boxes = np.lib.stride_tricks.sliding_window_view(y, n)[starts]
        x = np.arange(n) - (n - 1) / 2.0
        # residual variance of a least-squares line: var(y) - cov(x, y)^2 / var(x)
        slope = boxes @ x / (x @ x)
        residual = boxes - boxes.mean(axis=1, keepdims=True) - slope[:, None] * x
        var = np.mean(residual * residual, axis=1)
        var = var[var > 1e-8 * var.max()] if var.max() > 0 else var[:0]
        if not var.size:
            return math.nan
        fluctuation[i] = math.sqrt(float(np.mean(var)))
    return float(np.polyfit(np.log(scales_arr), np.log(fluctuation), 1)[0])
