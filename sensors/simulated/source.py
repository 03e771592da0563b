"""The simulated strap as a :class:`sensors.base.BeatSource`: real time or faster."""

import asyncio
import math
from collections.abc import AsyncIterator, Callable

from dsp.types import Beat
from sensors.base import BaseSource, SourceState, SourceStatus
from sensors.beat_clock import BeatClock
from sensors.simulated.settings import SimSettings
from sensors.simulated.strap import SimulatedStrap

__all__ = ["SimulatedSource"]


class SimulatedSource(BaseSource):
    """Stream a :class:`SimulatedStrap` to the engine.

    Parameters
    ----------
    settings : SimSettings
        The simulated person and strap.
    speed : float
        1 for real time, 2 for twice as fast, 0 for as fast as possible.
    start_s : float or None
        Stream time of the first second, s on the LSL clock; ``None`` takes the clock
        when streaming starts.
    """

    simulated = True

    def __init__(
        self, settings: SimSettings, speed: float = 1.0, start_s: float | None = None
    ) -> None:
        if not speed >= 0:
            raise ValueError(f"speed must be >= 0, got {speed!r}")
        super().__init__(f"sim:{settings.subject}:{settings.seed}", settings.subject)
        self.settings = settings
        self.speed = speed
        self.start_s = start_s
        self.strap = SimulatedStrap(settings)
        self._start = 0.0 if start_s is None else start_s

    def follow_pacer(self, guide: Callable[[float], tuple[float, float] | None] | None) -> None:
        """Make the simulated person breathe with a pacer (None: breathe freely again).

        Parameters
        ----------
        guide : callable or None
            ``guide(t) -> (rate_per_min, lung_volume 0-1)`` at stream time ``t`` (s), or
            None while no pacer runs.
        """
        if guide is None:
            self.strap.follow = None
            return
        self.strap.follow = lambda t: guide(self._start + t)

    async def beats(self) -> AsyncIterator[Beat]:
        """Yield beats as the simulated strap sends them."""
        from sensors.clock import now

        start = now() if self.start_s is None else self.start_s
        self._start = start
        wall_start = now()
        clock = BeatClock()
        device = "heartsync simulated strap"
        self._set_status(SourceStatus(SourceState.CONNECTED, "simulated strap", start, 100, device))
        silent = False
        try:
            while True:
                note = self.strap.next_notification()
                if note is None:
                    if not silent:
                        silent = True
                        self._set_status(
                            SourceStatus(
                                SourceState.RECONNECTING, "simulated dropout", math.nan, 100, device
                            )
                        )
                    await asyncio.sleep(0)
                    continue
                if self.speed > 0:
                    delay = wall_start + note.arrival_s / self.speed - now()
                    await asyncio.sleep(max(delay, 0.0))
                else:
                    await asyncio.sleep(0)
                arrival = start + note.arrival_s
                if silent:
                    silent = False
                    self._set_status(
                        SourceStatus(SourceState.CONNECTED, "simulated strap", arrival, 100, device)
                    )
                for t, rr in zip(clock.stamp(arrival, note.rr_ms), note.rr_ms, strict=True):
                    yield Beat(self.subject, t, rr, note.hr_bpm, note.contact, self.name)
        finally:
            self._set_status(
                SourceStatus(SourceState.STOPPED, "simulation ended", math.nan, None, device)
            )
