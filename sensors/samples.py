"""Blocks of raw signal samples a source streams beside its beats (ECG, acceleration).

A source's ``beats()`` may yield a :class:`SampleBlock` between beats (a Polar strap
with the PMD service does); the engine publishes and records it as its own stream and
hands it to the sinks that take samples (``write_samples``), e.g. breathing from the
chest. Times are on the LSL clock, like beat times.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["ACC", "ECG", "SIGNALS", "SampleBlock", "SignalKind"]


@dataclass(frozen=True, slots=True)
class SignalKind:
    """What a signal is.

    Attributes
    ----------
    key : str
        Short name (``ecg``, ``acc``); also the ``--pmd`` word.
    labels : tuple of str
        Channel labels.
    unit : str
        Unit of every channel (``uV``, ``mg``: milli-g).
    """

    key: str
    labels: tuple[str, ...]
    unit: str


ECG = SignalKind("ecg", ("ecg",), "uV")
ACC = SignalKind("acc", ("x", "y", "z"), "mg")
#: The signals a source may stream, by key.
SIGNALS = {k.key: k for k in (ECG, ACC)}


@dataclass(frozen=True, slots=True, eq=False)
class SampleBlock:
    """Consecutive samples of one signal of one subject.

    Attributes
    ----------
    kind : SignalKind
        Which signal.
    subject : str
        Whose.
    source : str
        The source's name.
    rate_hz : float
        Nominal sampling rate, Hz.
    t : numpy.ndarray
        ``(n,)`` sample times, seconds on the LSL clock, increasing.
    values : numpy.ndarray
        ``(n, channels)`` float64 in ``kind.unit``.
    gap_before : bool
        Samples were lost (or the link dropped) just before this block.
    """

    kind: SignalKind
    subject: str
    source: str
    rate_hz: float
    t: np.ndarray
    values: np.ndarray
    gap_before: bool = False
