"""A soft tone that rises and falls with the breath, for following the pacer eyes closed.

The tone is generated with numpy (:func:`breath_tone`): a sine whose pitch glides from
G3 (196 Hz) at empty lungs to D4 (294 Hz) at full lungs and whose loudness swells with
the breath, phase-continuous from block to block. It is played through the optional
``miniaudio`` package (``pip install heartsync[audio]``; it bundles its own audio
library, nothing from the system is needed). PySide6-Essentials has no QtMultimedia.
Without the package or without a sound device :class:`BreathTone` says why and stays
silent; the pacer works the same.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import sys
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 22050
LOW_HZ, HIGH_HZ = 196.0, 294.0  # G3 and D4: a fifth, soft and low


def breath_tone(
    volumes: np.ndarray,
    phase0: float = 0.0,
    sample_rate_hz: float = SAMPLE_RATE_HZ,
    level: float = 0.15,
) -> tuple[np.ndarray, float]:
    """Samples of the breath tone for given lung volumes, one volume per sample.

    Parameters
    ----------
    volumes : array of float
        Target lung volume (0-1) at each output sample.
    phase0 : float
        Phase of the oscillator at the first sample, radians (pass the returned
        phase to the next block for a click-free join).
    sample_rate_hz : float
        Output sample rate, Hz.
    level : float
        Peak amplitude (full scale 1.0); the tone is quieter at empty lungs.

    Returns
    -------
    samples : numpy.ndarray of float32
        Mono samples in [-level, level].
    phase : float
        Oscillator phase after the block, radians.
    """
    v = np.clip(np.asarray(volumes, dtype=np.float64), 0.0, 1.0)
    freq = LOW_HZ * (HIGH_HZ / LOW_HZ) ** v  # glide on a musical (log) scale
    step = 2.0 * np.pi * freq / sample_rate_hz
    phase = phase0 + np.cumsum(step)  # phase after each sample
    gain = level * (0.35 + 0.65 * v)
    samples = (gain * np.sin(phase - step)).astype(np.float32)
    end = float(phase[-1]) % (2.0 * math.pi) if v.size else phase0
    return samples, end


NO_LIBRARY = "no sound: install the audio extra (pip install 'heartsync[audio]')"


def missing_audio() -> str:
    """Why the tone cannot play at all ("" when the audio library is installed)."""
    try:
        found = importlib.util.find_spec("miniaudio") is not None
    except ValueError:  # a module set to None (tests) has no spec
        found = False
    return "" if found and sys.modules.get("miniaudio", True) is not None else NO_LIBRARY


class BreathTone:
    """Play :func:`breath_tone` following a pacer, on the default sound device.

    Parameters
    ----------
    volume_now : callable
        ``volume_now() -> float | None``: the pacer's lung volume now (None: silence).
        Called from the audio thread: must be cheap and thread-safe.
    """

    def __init__(self, volume_now: Callable[[], float | None]) -> None:
        self.volume_now = volume_now
        self.device = None
        self.note = ""

    @property
    def playing(self) -> bool:
        """True while the tone plays."""
        return self.device is not None

    def start(self) -> bool:
        """Start playing; False (with :attr:`note` saying why) when there is no sound."""
        if self.device is not None:
            return True
        try:
            import miniaudio
        except ImportError:
            self.note = NO_LIBRARY
            log.info("%s", self.note)
            return False
        try:
            device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.FLOAT32,
                nchannels=1,
                sample_rate=SAMPLE_RATE_HZ,
            )
            generator = self._blocks()
            next(generator)
            device.start(generator)
        except Exception as exc:  # miniaudio.MiniaudioError and OS errors: no device
            self.note = f"no sound device ({exc}); the pacer works without it"
            log.info("%s", self.note)
            return False
        self.device = device
        self.note = ""
        return True

    def stop(self) -> None:
        """Stop playing."""
        if self.device is not None:
            self.device.close()
            self.device = None

    def _blocks(self):
        """Generator for miniaudio: receives frame counts, yields float32 sample bytes."""
        phase, last = 0.0, 0.0
        frames = yield b""
        while True:
            target = self.volume_now()
            silent = target is None
            target = last if silent else target
            volumes = np.linspace(last, target, max(int(frames), 1), endpoint=False)
            samples, phase = breath_tone(volumes, phase)
            if silent:
                samples[:] = 0.0
            last = target
            frames = yield samples.tobytes()
