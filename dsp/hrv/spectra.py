"""LF/HF spectra of the live HRV windows: local resampling and a 3-segment Welch.

Every ``spectrum_step_s`` of stream time the trailing ``spectrum_window_s`` of beats is
resampled at 4 Hz by a local cubic (:func:`_hermite`: each sample depends on four beats
only, so a window or the whole series give identical samples) and analysed by Welch
over three Hann segments of half the window; a window holding a gap falls back to
Lomb-Scargle on its beats (Task Force 1996; Lomb 1976). :class:`dsp.hrv.window.HrvWindow`
computes one window at a time; :func:`_batch_spectra` all windows of a series at once,
with the same arithmetic. The full references are listed in :mod:`dsp.hrv`.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.hrv import BANDS_HZ, lomb_psd
from dsp.hrv.settings import HrvSettings

_NAN = math.nan


def _hermite(
    t: np.ndarray, y: np.ndarray, brk: np.ndarray, grid_idx: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Local cubic (Catmull-Rom type) resampling of beats onto the grid ``grid_idx / fs``.

    Each sample depends only on the four beats around it, so resampling a window or the
    whole series gives identical samples. ``brk[i]`` marks a break (gap) before beat
    ``i``; samples whose four beats straddle a break, or lack a neighbour, are invalid.

    Returns
    -------
    samples, valid : numpy.ndarray
    """
    g = grid_idx * (1.0 / fs)
    n = t.size
    i = np.searchsorted(t, g, side="right") - 1
    if n < 4:
        return np.zeros(g.size), np.zeros(g.size, dtype=bool)
    valid = (i >= 1) & (i + 2 <= n - 1)
    ic = np.clip(i, 1, n - 3)
    cb = np.cumsum(brk)
    valid &= cb[ic + 2] == cb[ic - 1]
    t0, t1, tm, t2 = t[ic], t[ic + 1], t[ic - 1], t[ic + 2]
    y0, y1, ym, y2 = y[ic], y[ic + 1], y[ic - 1], y[ic + 2]
    h = t1 - t0
    s = (g - t0) / h
    m0 = (y1 - ym) / (t1 - tm) * h
    m1 = (y2 - y0) / (t2 - t0) * h
    s2 = s * s
    s3 = s2 * s
    out = (
        (2.0 * s3 - 3.0 * s2 + 1.0) * y0
        + (s3 - 2.0 * s2 + s) * m0
        + (-2.0 * s3 + 3.0 * s2) * y1
        + (s3 - s2) * m1
    )
    return out, valid


class _Spectrum:
    """The Welch spectrum of one trailing window: 3 Hann segments of half the window."""

    def __init__(self, settings: HrvSettings) -> None:
        fs = settings.resample_hz
        self.fs = fs
        self.n_win = round(settings.spectrum_window_s * fs)
        self.n_seg = self.n_win // 2
        self.hop = self.n_win // 4
        self.nfft = self.n_win  # zero-padded to the window: bins of 1/120 Hz
        self.freqs = np.fft.rfftfreq(self.nfft, 1.0 / fs)
        self.df = fs / self.nfft
        x = np.arange(self.n_seg) - (self.n_seg - 1) / 2.0
        self.x = x
        self.xx = float(np.sum(x * x))
        self.window = np.hanning(self.n_seg + 2)[1:-1]  # periodic-free Hann, no zero ends
        self.scale = 2.0 / (fs * float(np.sum(self.window * self.window)))
        lo, hi = BANDS_HZ["lf"]
        self.lf = slice(int(np.ceil(lo / self.df - 1e-9)), int(np.ceil(hi / self.df - 1e-9)))
        lo, hi = BANDS_HZ["hf"]
        self.hf = slice(int(np.ceil(lo / self.df - 1e-9)), int(np.ceil(hi / self.df - 1e-9)))

    def segment_psd(self, seg: np.ndarray) -> np.ndarray:
        """PSD rows (ms^2/Hz) of segments (rows of ``seg``): detrend, Hann, FFT."""
        mean = np.mean(seg, axis=-1, keepdims=True)
        slope = np.sum(seg * self.x, axis=-1, keepdims=True) / self.xx
        y = (seg - mean - slope * self.x) * self.window
        f = np.fft.rfft(y, n=self.nfft, axis=-1)
        return (f.real * f.real + f.imag * f.imag) * self.scale

    def bands(self, psd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """LF and HF power (ms^2) and HF peak (Hz) of window PSD rows."""
        lf = np.sum(psd[:, self.lf], axis=-1) * self.df
        hfp = psd[:, self.hf]
        hf = np.sum(hfp, axis=-1) * self.df
        k = np.argmax(hfp, axis=-1)
        rows = np.arange(psd.shape[0])
        kk = k + self.hf.start
        a = psd[rows, np.maximum(kk - 1, 0)]
        b = psd[rows, kk]
        c = psd[rows, kk + 1]
        den = a - 2.0 * b + c
        off = np.where(den < 0.0, 0.5 * (a - c) / np.where(den < 0.0, den, -1.0), 0.0)
        off = np.clip(off, -0.5, 0.5)
        # a maximum on a band edge is no peak inside the band: keep the edge bin
        off = np.where((kk == self.hf.start) | (kk == self.hf.stop - 1), 0.0, off)
        peak = (kk + off) * self.df
        return lf, hf, peak

    def bands_row(self, psd: np.ndarray) -> tuple[float, float, float]:
        """:meth:`bands` of one PSD row (1-D), in scalar arithmetic: the same numbers.

        The sums are numpy's (pairwise, as in :meth:`bands`); the peak interpolation
        is the same formula on Python floats, which round like numpy's float64.
        """
        lf = float(np.sum(psd[self.lf])) * self.df
        hfp = psd[self.hf]
        hf = float(np.sum(hfp)) * self.df
        kk = int(np.argmax(hfp)) + self.hf.start
        a, b, c = psd[kk - 1 : kk + 2].tolist()  # the HF band starts well above bin 0
        den = a - 2.0 * b + c
        off = 0.5 * (a - c) / den if den < 0.0 else 0.0
        off = min(max(off, -0.5), 0.5)
        if kk == self.hf.start or kk == self.hf.stop - 1:
            off = 0.0  # a maximum on a band edge is no peak inside the band
        return lf, hf, (kk + off) * self.df

    def lomb(self, t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        """LF, HF power (ms^2) and HF peak (Hz) by Lomb-Scargle on beats."""
        freqs = self.freqs[1 : self.hf.stop + 1]
        psd = np.zeros(self.freqs.size)
        psd[1 : self.hf.stop + 1] = lomb_psd(t, y, freqs)
        lf, hf, peak = self.bands(psd[None, :])
        return float(lf[0]), float(hf[0]), float(peak[0])


def _spectrum_index(t_prev: float, step_s: float) -> int:
    """Index k of the last spectrum time ``k * step_s`` strictly before ``t_prev``."""
    return math.ceil(t_prev / step_s) - 1


def _window_spectrum(
    spec: _Spectrum,
    s: HrvSettings,
    k: int,
    t: np.ndarray,
    y: np.ndarray,
    samples: tuple[np.ndarray, np.ndarray],
) -> tuple[float, float, float]:
    """LF, HF (ms^2) and HF peak (Hz) over the window ending at ``k * step`` (batch).

    Welch over 3 half-window segments when every 4 Hz sample of the window (``samples``:
    values and validity) is valid; Lomb-Scargle on the window's beats (``t``, ``y``)
    when it holds a gap; NaN with too little data.
    """
    x, valid = samples
    if valid.all():
        segs = np.stack([x[i * spec.hop : i * spec.hop + spec.n_seg] for i in range(3)])
        psd = _mean3(spec.segment_psd(segs))
        lf, hf, peak = spec.bands(psd)
        return float(lf[0]), float(hf[0]), float(peak[0])
    return _lomb_window(spec, s, k * round(s.spectrum_step_s * spec.fs), t, y)


def _cached_window_spectrum(
    spec: _Spectrum,
    s: HrvSettings,
    k: int,
    t: np.ndarray,
    y: np.ndarray,
    brk: np.ndarray,
    cache: dict[int, np.ndarray | None],
) -> tuple[float, float, float]:
    """The spectrum of one live window, reusing the segment spectra of earlier windows.

    Windows every 5 s with segments 30 s apart share their segments: the newest
    segment of one window is the middle one six steps later and the oldest twelve steps
    later. A segment's samples depend only on the four beats around each sample, all
    known when it is first computed, so each is resampled and transformed once.
    ``cache`` maps a segment's first grid index to its PSD row (None: a sample is
    invalid); entries older than the window are dropped.
    """
    step = round(s.spectrum_step_s * spec.fs)
    first = k * step - spec.n_win + 1
    rows = []
    for i in range(3):
        a = first + i * spec.hop
        if a not in cache:
            grid = np.arange(a, a + spec.n_seg, dtype=np.float64)
            lo = max(0, int(np.searchsorted(t, grid[0] / spec.fs, side="right")) - 3)
            x, valid = _hermite(t[lo:], y[lo:], brk[lo:], grid, spec.fs)
            cache[a] = spec.segment_psd(x[None, :])[0] if valid.all() else None
        rows.append(cache[a])
    for old in [a for a in cache if a < first]:
        del cache[old]
    if all(r is not None for r in rows):
        # the same order as _mean3, so online and batch agree bit for bit
        return spec.bands_row(((rows[0] + rows[1]) + rows[2]) / 3.0)
    return _lomb_window(spec, s, k * step, t, y)


def _lomb_window(
    spec: _Spectrum, s: HrvSettings, end: int, t: np.ndarray, y: np.ndarray
) -> tuple[float, float, float]:
    """Lomb-Scargle on the beats of the window ending at grid index ``end`` (or NaN)."""
    t_end = end / spec.fs
    a = int(np.searchsorted(t, t_end - s.spectrum_window_s, side="right"))
    b = int(np.searchsorted(t, t_end, side="right"))
    if b - a >= s.min_diffs and t[b - 1] - t[a] >= s.min_lomb_span_s:
        return spec.lomb(t[a:b], y[a:b])
    return _NAN, _NAN, _NAN


def _mean3(rows: np.ndarray) -> np.ndarray:
    """Mean of three PSD rows, in a fixed order (so batch and online agree bit for bit)."""
    return ((rows[0::3] + rows[1::3]) + rows[2::3]) / 3.0


def _batch_spectra(
    spec: _Spectrum, s: HrvSettings, t: np.ndarray, rr: np.ndarray, gap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = t.size
    out = [np.full(n, _NAN) for _ in range(4)]
    usable = np.isfinite(rr) & (rr > 0.0)
    ui = np.flatnonzero(usable)
    if ui.size < 2:
        return out[0], out[1], out[2], out[3]
    bt, by = t[ui], rr[ui]
    # a break before a usable beat: a gap flag on it, or an unusable beat just before it
    brk = gap[ui].copy()
    brk[0] = True
    if ui.size > 1:
        brk[1:] |= np.diff(ui) > 1
        # a gap flag on an unusable beat still breaks before the next usable one
        gc = np.cumsum(gap)
        brk[1:] |= gc[ui[1:] - 1] > gc[ui[:-1]]
    # spectrum index after each usable beat j >= 1: from the previous usable beat's time
    k_after = np.full(ui.size, np.iinfo(np.int64).min, dtype=np.int64)
    k_after[1:] = np.ceil(bt[:-1] / s.spectrum_step_s).astype(np.int64) - 1
    k_run = np.maximum.accumulate(k_after)
    evaluated = np.zeros(ui.size, dtype=bool)
    evaluated[1:] = k_run[1:] > k_run[:-1]
    evaluated[1] = True
    ks = k_run[evaluated]  # strictly increasing spectrum indices actually computed
    j_of_k = np.flatnonzero(evaluated)  # the usable beat whose arrival computed each k
    vals = np.full((ks.size, 3), _NAN)
    step = round(s.spectrum_step_s * spec.fs)
    n_win, n_seg, hop = spec.n_win, spec.n_seg, spec.hop
    seg_idx = np.arange(n_seg)
    c0 = 0
    while c0 < ks.size:
        # a chunk of windows whose samples span a bounded stretch of the 4 Hz grid
        c1 = min(ks.size, c0 + 2048)
        c1 = c0 + max(1, int(np.searchsorted(ks[c0:c1], ks[c0] + 4096, side="left")))
        kc = ks[c0:c1]
        g0 = int(kc[0]) * step - n_win + 1
        grid = np.arange(g0, int(kc[-1]) * step + 1, dtype=np.float64)
        x, valid = _hermite(bt, by, brk, grid, spec.fs)
        bad = np.concatenate(([0], np.cumsum(~valid)))
        ends = kc * step - g0  # position of each window's last sample in the chunk
        full = bad[ends + 1] - bad[ends + 1 - n_win] == 0
        rows = np.flatnonzero(full)
        if rows.size:
            starts = (ends[rows] - n_win + 1)[:, None] + np.arange(3)[None, :] * hop
            uniq, inv = np.unique(starts, return_inverse=True)
            psd_seg = spec.segment_psd(x[uniq[:, None] + seg_idx[None, :]])
            inv = inv.reshape(starts.shape)
            psd = ((psd_seg[inv[:, 0]] + psd_seg[inv[:, 1]]) + psd_seg[inv[:, 2]]) / 3.0
            lf, hf, pk = spec.bands(psd)
            vals[c0 + rows, 0] = lf
            vals[c0 + rows, 1] = hf
            vals[c0 + rows, 2] = pk
        for r in np.flatnonzero(~full).tolist():
            j = int(j_of_k[c0 + r]) + 1
            e = int(ends[r])
            win = (x[e - n_win + 1 : e + 1], valid[e - n_win + 1 : e + 1])
            vals[c0 + r] = _window_spectrum(spec, s, int(kc[r]), bt[:j], by[:j], win)
        c0 = c1
    # per usable beat: the latest computed spectrum; per beat: hold through unusable ones
    which = np.cumsum(evaluated) - 1
    have = which >= 0
    per_usable = np.full((ui.size, 4), _NAN)
    per_usable[have, :3] = vals[which[have]]
    per_usable[have, 3] = ks[which[have]] * s.spectrum_step_s
    pos = np.cumsum(usable) - 1  # last usable beat at or before each beat
    ok = pos >= 0
    for c in range(4):
        out[c][ok] = per_usable[pos[ok], c]
    return out[0], out[1], out[2], out[3]
