"""Signals a virtual Polar strap streams: an ECG aligned with its RR, and chest motion.

ECG: each beat is a sum of Gaussian waves (P, Q, R, S, T) placed relative to its R peak,
in the spirit of McSharry et al. (2003, IEEE TBME 50:289), with the QT interval
shortening with RR (Bazett). Chest motion: gravity seen by a strap on the sternum,
tilted by breathing (the chest wall rotates a few degrees per breath), turned by
posture changes, plus heartbeat bumps, movement bursts and sensor noise (milli-g).
"""

import math
from collections.abc import Sequence

import numpy as np

#: (offset from R as a fraction of sqrt(RR) scaled QT, width s, amplitude uV) of P, Q, R, S, T.
_WAVES = (
    (-0.20, 0.025, 120.0),
    (-0.035, 0.010, -150.0),
    (0.0, 0.012, 1200.0),
    (0.035, 0.012, -300.0),
    (0.28, 0.045, 300.0),
)


def ecg_uv(
    t_s: np.ndarray, r_times_s: Sequence[float], rr_s: Sequence[float] | None = None
) -> np.ndarray:
    """ECG in microvolts at ``t_s`` with R peaks at ``r_times_s``."""
    t = np.asarray(t_s, dtype=np.float64)
    r = np.asarray(r_times_s, dtype=np.float64)
    out = np.zeros_like(t)
    if r.size == 0:
        return out
    rr = np.diff(r, prepend=r[0] - 1.0) if rr_s is None else np.asarray(rr_s, dtype=np.float64)
    for rt, interval in zip(r, rr, strict=True):
        lo, hi = np.searchsorted(t, (rt - 0.4, rt + 0.6))
        if lo >= hi:
            continue
        tau = t[lo:hi] - rt
        scale = math.sqrt(max(interval, 0.3))  # Bazett: waves after R stretch with sqrt(RR)
        for off, width, amp in _WAVES:
            centre = off * scale if off > 0.1 else off
            out[lo:hi] += amp * np.exp(-0.5 * ((tau - centre) / width) ** 2)
    return out


def chest_acc_mg(
    t_s: np.ndarray,
    volume: np.ndarray,
    *,
    tilt_deg: float = 3.0,
    pitch_deg: float = 10.0,
    postures: Sequence[tuple[float, float, float]] = (),
    bursts: Sequence[tuple[float, float, float]] = (),
    beat_times_s: Sequence[float] = (),
    bcg_mg: float = 6.0,
    noise_mg: float = 3.0,
    seed: int = 0,
) -> np.ndarray:
    """Chest acceleration ``(n, 3)`` in milli-g: x up the body, y left, z out of the chest."""
    rng = np.random.default_rng(seed)
    t = np.asarray(t_s, dtype=np.float64)
    pitch = np.full(t.size, math.radians(pitch_deg))
    roll = np.zeros(t.size)
    for t_change, new_pitch, new_roll in postures:
        ramp = np.clip((t - t_change) / 2.0, 0.0, 1.0)
        ramp = 0.5 - 0.5 * np.cos(np.pi * ramp)
        i = min(int(np.searchsorted(t, t_change)), t.size - 1)
        pitch = pitch + ramp * (math.radians(new_pitch) - pitch[i])
        roll = roll + ramp * (math.radians(new_roll) - roll[i])
    a = pitch + math.radians(tilt_deg) * (np.asarray(volume, dtype=np.float64) - 0.5)
    x = 1000.0 * np.column_stack([np.cos(a) * np.cos(roll), np.cos(a) * np.sin(roll), np.sin(a)])
    fs = 1.0 / float(np.median(np.diff(t))) if t.size > 1 else 1.0
    for bt in beat_times_s:
        lo, hi = np.searchsorted(t, (bt, bt + 0.3))
        tau = t[lo:hi] - bt
        x[lo:hi, 0] += bcg_mg * np.exp(-tau / 0.06) * np.sin(2 * np.pi * 8.0 * tau)
    for t0, dur_s, rms_mg in bursts:
        sel = np.flatnonzero((t >= t0) & (t < t0 + dur_s))
        if sel.size:
            k = max(1, int(fs / 10))
            noise = rng.standard_normal((sel.size + k - 1, 3))
            noise = np.stack(
                [np.convolve(noise[:, j], np.ones(k) / k, "valid") for j in range(3)], 1
            )
            noise *= rms_mg / (float(noise.std()) or 1.0)
            x[sel] += np.hanning(sel.size)[:, None] * noise * math.sqrt(2.0)
    return x + noise_mg * rng.standard_normal(x.shape)
