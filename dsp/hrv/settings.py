"""Parameters of the live HRV windows (:class:`dsp.hrv.window.HrvWindow`)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["HrvSettings"]


@dataclass(frozen=True)
class HrvSettings:
    """Parameters of :class:`HrvWindow` (units in the names).

    Attributes
    ----------
    hr_window_s : float
        Trailing window of the mean heart rate, seconds.
    rmssd_window_s : float
        Trailing window of RMSSD, ln RMSSD and SDNN, seconds.
    min_hr_beats : int
        Clean beats needed in the HR window.
    min_diffs : int
        NN successive differences needed in the RMSSD window (and NN intervals for SDNN).
    spectrum_window_s : float
        Trailing window of the spectra, seconds.
    spectrum_step_s : float
        Spectra are recomputed when stream time crosses a multiple of this, seconds.
    resample_hz : float
        Resampling rate of the tachogram, Hz; ``spectrum_window_s * resample_hz`` must be
        a multiple of 4.
    min_lomb_span_s : float
        With gaps in the window, Lomb-Scargle needs beats spanning this long, seconds.
    nn_range_ms : tuple of float
        A clean beat outside this range is not used as NN, milliseconds. The lower end
        also sizes the buffers (most beats a window can hold).
    """

    hr_window_s: float = 30.0
    rmssd_window_s: float = 60.0
    min_hr_beats: int = 10
    min_diffs: int = 40
    spectrum_window_s: float = 120.0
    spectrum_step_s: float = 5.0
    resample_hz: float = 4.0
    min_lomb_span_s: float = 60.0
    nn_range_ms: tuple[float, float] = field(default=(200.0, 3000.0))

    def __post_init__(self) -> None:
        if not (self.hr_window_s > 0 and self.rmssd_window_s > 0):
            raise ValueError("window lengths must be > 0 s")
        n = self.spectrum_window_s * self.resample_hz
        if n != int(n) or int(n) % 4 or n < 64:
            raise ValueError(
                f"spectrum_window_s * resample_hz must be a multiple of 4 and >= 64, got {n}"
            )
        step = self.spectrum_step_s * self.resample_hz
        if step != int(step) or step < 1:
            raise ValueError("spectrum_step_s * resample_hz must be a positive integer")
        if not 0 < self.nn_range_ms[0] < self.nn_range_ms[1]:
            raise ValueError(f"bad nn_range_ms {self.nn_range_ms}")
