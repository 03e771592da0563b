"""Play a whole strap session: beats, an ECG aligned with them and chest motion.

:func:`strap_session` lays out, in strap time, every Heart Rate Measurement (one per
beat, sent at the beat), ECG frame (73 samples at 130 Hz, as an H10 sends) and ACC
frame of a person with the given RR intervals and breathing; :func:`play` sends them
in order through a :class:`sensors.virtual.strap.VirtualStrap` with the PMD service,
as fast as possible or paced at ``speed`` times real time.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sensors.virtual.signals import chest_acc_mg, ecg_uv
from sensors.virtual.strap import VirtualStrap

__all__ = ["ECG_FRAME", "Event", "play", "strap_session"]

#: ECG samples per frame (an H10 at 130 Hz fills a 232-byte notification).
ECG_FRAME = 73
ECG_RATE_HZ = 130.0
#: A strap clock that started a while ago, ns since 2000-01-01 (2026-01-01).
STRAP_T0_NS = 820_454_400 * 10**9


@dataclass(frozen=True, slots=True)
class Event:
    """One notification of the session.

    Attributes
    ----------
    t : float
        Strap time it goes out, seconds since the session start.
    kind : str
        ``hr``, ``ecg`` or ``acc``.
    data : object
        RR in ms (``hr``), or ``(timestamp_ns, samples)`` of a frame.
    """

    t: float
    kind: str
    data: object


def strap_session(
    rr_ms: Sequence[float],
    *,
    volume: Callable[[np.ndarray], np.ndarray] | None = None,
    acc_rate_hz: float = 50.0,
    acc_frame: int = 36,
    postures: Sequence[tuple[float, float, float]] = (),
    bursts: Sequence[tuple[float, float, float]] = (),
    t0_ns: int = STRAP_T0_NS,
    seed: int = 0,
) -> list[Event]:
    """Every notification of a session, in the order a strap sends them.

    Parameters
    ----------
    rr_ms : sequence of float
        RR intervals, ms; beat *i* is at ``sum(rr_ms[:i+1])`` s.
    volume : callable or None
        Lung volume (0-1) at times in seconds (default: 6 breaths/min sine).
    acc_rate_hz, acc_frame : float, int
        Accelerometer rate and samples per ACC frame.
    postures, bursts : sequences
        Passed to :func:`sensors.virtual.signals.chest_acc_mg`.
    t0_ns : int
        Strap time at the session start, ns.
    seed : int
        Noise seed.
    """
    beats = np.cumsum(np.asarray(rr_ms, dtype=np.float64)) / 1000.0
    end = float(beats[-1]) if beats.size else 0.0
    events = [Event(float(b), "hr", float(rr)) for b, rr in zip(beats, rr_ms, strict=True)]
    vol = volume or (lambda t: 0.5 - 0.5 * np.cos(2 * np.pi * 0.1 * t))
    for kind, rate, size in (("ecg", ECG_RATE_HZ, ECG_FRAME), ("acc", acc_rate_hz, acc_frame)):
        n = int(end * rate) // size * size
        t = np.arange(n) / rate
        if kind == "ecg":
            x = ecg_uv(t, beats, np.asarray(rr_ms, dtype=np.float64) / 1000.0)[:, None]
        else:
            x = chest_acc_mg(
                t, vol(t), postures=postures, bursts=bursts, beat_times_s=beats, seed=seed
            )
        for i in range(0, n, size):
            last = float(t[i + size - 1])
            events.append(Event(last, kind, (t0_ns + round(last * 1e9), x[i : i + size])))
    events.sort(key=lambda e: e.t)
    return events


async def play(strap: VirtualStrap, events: Sequence[Event], speed: float | None = None) -> None:
    """Send ``events`` through ``strap`` (paced at ``speed`` x real time, or at once)."""
    pmd = strap.pmd
    loop = asyncio.get_running_loop()
    start = loop.time()
    for event in events:
        if speed is not None:
            delay = start + event.t / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the strap, not waiting for a result
        if event.kind == "hr":
            await strap.notify(hr_bpm=round(60000.0 / float(event.data)), rr_ms=[event.data])
        elif pmd is not None:
            ts, samples = event.data
            send = pmd.send_ecg if event.kind == "ecg" else pmd.send_acc
            await send(ts, samples)
