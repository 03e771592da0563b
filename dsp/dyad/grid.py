"""One person's heart rate on the shared 4 Hz grid of stream time (live, bounded).

Each person's artifact-corrected instantaneous heart rate (60000 / RR, bpm) is linearly
interpolated between beats onto a grid shared by both people: grid point ``k`` is at
``k / fs_hz`` s on the LSL clock, so two people on two machines share it. A grid point
is missing inside a gap, across an interval longer than ``max_interval_s``, or while
either neighbouring beat has poor signal. :class:`GridInterpolator` applies these rules
beat by beat (for the live estimator's bounded :class:`_Grid` and the session test);
:func:`dsp.synchrony.grid_pair` builds the same grid for a whole session at once.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.dyad.types import SynchronySettings


class GridInterpolator:
    """One person's corrected beats as heart rate on the shared grid, beat by beat.

    60000 / RR interpolated linearly between beats at grid points ``k / fs_hz`` (s); a
    point is missing (NaN) across an interval longer than ``max_interval_s``, after lost
    beats, or while either neighbouring beat has poor signal.
    """

    def __init__(self, settings: SynchronySettings) -> None:
        self.fs, self.max_interval_s = settings.fs_hz, settings.max_interval_s
        self.reset()

    def reset(self) -> None:
        """Forget every beat."""
        self.start: int | None = None  # grid index of the first point
        self.end: int | None = None  # next grid index to fill
        self._t, self._hr, self._ok = math.nan, math.nan, False

    def push(self, t: float, rr_ms: float, ok: bool, gap_before: bool) -> np.ndarray:
        """One beat at ``t`` (s); returns the grid points it completes, from :attr:`end` on.

        Every grid point up to ``t`` is filled (NaN where missing): after a silence of
        an hour, an hour of NaN.
        """
        hr = 60000.0 / rr_ms if rr_ms > 0 else math.nan
        k_new = math.floor(t * self.fs) + 1  # grid points <= t get filled
        out = _NONE
        if self.end is None:
            self.start = self.end = k_new
        elif k_new > self.end and t > self._t:
            usable = (
                ok
                and self._ok
                and not gap_before
                and t - self._t <= self.max_interval_s
                and math.isfinite(hr)
            )
            k = np.arange(self.end, k_new)
            if usable:
                t0, hr0, dt = self._t, self._hr, t - self._t
                out = hr0 + (k / self.fs - t0) / dt * (hr - hr0)
            else:
                out = np.full(k.size, math.nan)
            self.end = k_new
        if t > self._t or not math.isfinite(self._t):
            self._t, self._hr, self._ok = t, hr, ok
        return out


_NONE = np.empty(0)
_NONE.flags.writeable = False


class _Grid:
    """One person's heart rate on the shared grid, in bounded contiguous buffers.

    Holds the newest ``capacity`` grid samples (minus a fixed reference, missing ones
    as 0) and, beside each, what every estimate needs of the windows of ``window``
    samples: the inverse norm of the window starting there once linearly detrended (NaN
    while it holds a missing sample, or is flat), and whether all windows within ``lag``
    samples either side of it have one (the window can be the centre of a lag search).
    Each is computed once, when the window's last sample arrives, from sliding sums;
    everything here follows from this person's beats alone, so how two people's beats
    interleave cannot change a bit of it.
    """

    def __init__(self, capacity: int, window: int, lag: int, settings: SynchronySettings) -> None:
        self.capacity, self.window, self.lag, self.settings = capacity, window, lag, settings
        self.filled = np.zeros(2 * capacity)  # hr - ref (bpm), 0 where missing
        self.inv_norm = np.full(2 * capacity, np.nan)
        self.centre_ok = np.zeros(2 * capacity, bool)
        self.reset()

    def _buffers(self) -> tuple[tuple[np.ndarray, float], ...]:
        """Every buffer with its empty value."""
        return (self.filled, 0.0), (self.inv_norm, np.nan), (self.centre_ok, 0)

    def reset(self) -> None:
        self.start, self.end = 0, None  # grid index of buffer position 0; next to fill
        self.ref = math.nan  # subtracted from the samples (precision of the sums)
        self._interp = GridInterpolator(self.settings)
        self._restart()

    def _restart(self) -> None:
        """Forget every sample held (the grid position stays)."""
        for buf, empty in self._buffers():
            buf[:] = empty
        # sums over the newest window of (hr - ref), i * (hr - ref) (i = 0..w-1 inside
        # it) and (hr - ref)^2; missing samples are held as 0, so they add nothing
        self._s0 = self._s1 = self._s2 = 0.0
        self._last_missing = -math.inf  # grid index of the newest missing sample
        self._run = 0  # consecutive complete windows up to the newest

    def push(self, t: float, rr_ms: float, ok: bool, gap_before: bool) -> None:
        """Add one corrected beat: fill grid points up to ``t`` (s)."""
        vals = self._interp.push(t, rr_ms, ok, gap_before)
        if self.end is None:
            self.end = self.start = self._interp.start
        elif vals.size:
            skip = max(0, vals.size - self.capacity)  # a gap longer than the buffer
            if not math.isfinite(self.ref) and math.isfinite(vals[0]):
                self.ref = float(vals[0])
            self._write(vals[skip:].tolist(), skip)

    def _make_room(self, n: int) -> None:
        """Shift the newest ``capacity`` samples to the front when ``n`` more do not fit."""
        used = self.end - self.start
        if used + n <= self.filled.size:
            return
        keep = min(self.capacity, used)
        for buf, empty in self._buffers():
            buf[:keep] = buf[used - keep : used]
            buf[keep:] = empty
        self.start = self.end - keep

    def _write(self, vals: list[float], skip: int = 0) -> None:
        """Append samples (NaN: missing), after ``skip`` grid points never held."""
        if skip:  # everything held is forgotten: start afresh after the gap
            self.start = self.end = self.end + skip
            self._restart()
        self._make_room(len(vals))
        w, lag, ref, start = self.window, self.lag, self.ref, self.start
        sii = w * (w * w - 1) / 12.0  # sum of (i - (w - 1) / 2)^2
        filled, inv_norm = self.filled, self.inv_norm
        p = self.end - start
        s0, s1, s2, last_missing, run = self._s0, self._s1, self._s2, self._last_missing, self._run
        for v in vals:
            out = filled[p - w] if p >= w else 0.0  # the sample leaving the window
            s1 -= s0 - out
            s0 -= out
            s2 -= out * out
            x = v - ref
            if x == x:
                s0 += x
                s1 += (w - 1) * x
                s2 += x * x
                filled[p] = x
            else:
                last_missing = start + p
                filled[p] = 0.0
            q = p - w + 1  # the window ending here starts at q
            if q >= 0:
                ss = s2 - s0 * s0 / w - (s1 - (w - 1) / 2.0 * s0) ** 2 / sii
                if last_missing < start + q and ss > 1e-10 * s2 + 1e-18:
                    inv_norm[q] = 1.0 / math.sqrt(ss)
                    run += 1
                else:
                    run = 0
                if run > 2 * lag and q >= lag:
                    self.centre_ok[q - lag] = True
            p += 1
        self.end = start + p
        self._s0, self._s1, self._s2, self._last_missing, self._run = s0, s1, s2, last_missing, run
