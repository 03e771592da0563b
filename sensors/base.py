"""Source contracts shared by every sensor: the protocol, its status and its errors.

A source produces :class:`Beat` objects through ``async for beat in source.beats()``.
It stamps every beat on the LSL clock when the data arrives and reports how it is
doing through :class:`SourceStatus`. Subclasses of :class:`BaseSource` only implement
``beats()`` and call ``_set_status`` when their state changes.
"""

import enum
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from dsp.types import Beat

__all__ = [
    "BaseSource",
    "Beat",
    "BeatSource",
    "ConnectionLostError",
    "DeviceNotFoundError",
    "MalformedPayloadError",
    "SensorError",
    "SourceState",
    "SourceStatus",
    "StatusListener",
]

log = logging.getLogger(__name__)


class SourceState(enum.Enum):
    """Where a source is in its life."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    NO_CONTACT = "no contact"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's state at one moment.

    Attributes
    ----------
    state : SourceState
        Current state.
    message : str
        Human-readable detail (what failed and what to try, the device name, ...).
    t : float
        When the state was entered, seconds on the LSL clock (NaN if unknown).
    battery_pct : int or None
        Sensor battery level in percent, when the sensor reports it.
    device : str
        Device description (model, address) when known.
    """

    state: SourceState
    message: str = ""
    t: float = float("nan")
    battery_pct: int | None = None
    device: str = ""


StatusListener = Callable[[str, SourceStatus], None]


@runtime_checkable
class BeatSource(Protocol):
    """What every source offers the engine."""

    name: str
    subject: str

    @property
    def status(self) -> SourceStatus:
        """The latest status."""
        ...

    def beats(self) -> AsyncIterator[Beat]:
        """Yield beats until the source ends or the task is cancelled."""
        ...

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener(source_name, status)`` on every status change (engine loop)."""
        ...


class BaseSource:
    """Status bookkeeping shared by the concrete sources.

    Parameters
    ----------
    name : str
        Source name used in logs, beats and recordings.
    subject : str
        Subject alias or role stamped on every beat.
    simulated : bool
        True for sources that do not read a real person (the UI shows a badge).
    """

    simulated: bool = False

    def __init__(self, name: str, subject: str) -> None:
        self.name = name
        self.subject = subject
        self._status = SourceStatus(SourceState.IDLE)
        self._listeners: list[StatusListener] = []

    @property
    def status(self) -> SourceStatus:
        """The latest status."""
        return self._status

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener(source_name, status)`` on every status change."""
        self._listeners.append(listener)

    def _set_status(self, status: SourceStatus) -> None:
        if status == self._status:
            return
        self._status = status
        for listener in self._listeners:
            listener(self.name, status)

    def beats(self) -> AsyncIterator[Beat]:  # pragma: no cover - abstract
        """Yield beats; subclasses implement this."""
        raise NotImplementedError


class SensorError(Exception):
    """Base of every error raised by a sensor source."""


class DeviceNotFoundError(SensorError):
    """The requested sensor was not found (not advertising, out of range, wrong name)."""


class ConnectionLostError(SensorError):
    """The link to a sensor dropped and could not be restored."""


class MalformedPayloadError(SensorError):
    """A sensor sent bytes that do not follow the format; the message quotes them in hex."""
