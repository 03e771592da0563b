"""Core data types that flow from every source through the pipeline to every sink."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Beat:
    """One RR interval as a sensor reported it.

    Attributes
    ----------
    subject : str
        Who wears the sensor (an alias or a role such as ``"client"``).
    t : float
        Time of the beat that ends this interval, seconds on the LSL clock.
    rr_ms : float
        The interval, milliseconds, as measured by the sensor (not yet corrected).
    hr_bpm : float or None
        The sensor's own heart-rate field of the notification that carried this beat.
    contact : bool or None
        Skin contact as the sensor reported it; ``None`` when the sensor does not say.
    source : str
        Name of the source that produced the beat (``"sim"``, a strap address, ...).
    """

    subject: str
    t: float
    rr_ms: float
    hr_bpm: float | None
    contact: bool | None
    source: str


@dataclass(frozen=True, slots=True)
class CorrectedBeat:
    """One normal-to-normal interval after artifact correction.

    Attributes
    ----------
    t : float
        Time of the beat that ends the interval, seconds (stream clock).
    rr_ms : float
        Corrected interval, milliseconds.
    rr_raw_ms : float
        The raw interval the sensor reported ending at ``t``; NaN when correction
        inserted this beat (a missed beat split in two).
    artifact : str or None
        What correction did here: ``None`` for a clean beat, else one of
        ``"ectopic"``, ``"missed"``, ``"extra"``, ``"long"``, ``"short"``, ``"invalid"``.
    """

    t: float
    rr_ms: float
    rr_raw_ms: float
    artifact: str | None = None

    @property
    def clean(self) -> bool:
        """True when the interval was not touched by correction."""
        return self.artifact is None
