"""Fixed-capacity trailing windows with cheap order statistics.

:class:`SortedWindow` keeps the last ``capacity`` values of a stream twice: in arrival
order (a fixed ring, to know which value leaves) and sorted (a bounded list kept in order
with binary search), so any rank statistic of the window costs O(1) to read and
O(capacity) memmove (tiny, in C) to update. Memory never grows past ``capacity``.

The rank convention is shared by the online and the batch code of :mod:`dsp.artifacts`:
the batch code reads the same ranks with :func:`scipy.ndimage.rank_filter`, and a rank
statistic is a selection of one input value, so both give bit-identical results.
"""

from bisect import bisect_left, insort

__all__ = ["SortedWindow", "median_rank", "quartile_ranks"]


def quartile_ranks(n: int) -> tuple[int, int]:
    """Zero-based ranks of the lower and upper quartile among ``n`` sorted values.

    The lower quartile is value ``(n - 1) // 4`` and the upper one its mirror
    ``n - 1 - (n - 1) // 4`` (for 91 values: ranks 22 and 68), so the quartile distance
    is symmetric and needs no interpolation.

    Parameters
    ----------
    n : int
        Number of values in the window, >= 1.

    Returns
    -------
    tuple of int
        ``(rank_q1, rank_q3)``.
    """
    r1 = (n - 1) // 4
    return r1, n - 1 - r1


def median_rank(n: int) -> int:
    """Zero-based rank of the median of ``n`` values (the lower one when ``n`` is even)."""
    return (n - 1) // 2


class SortedWindow:
    """The last ``capacity`` values of a stream, with rank statistics in O(1).

    Parameters
    ----------
    capacity : int
        Number of values kept; the oldest leaves when a new one arrives.
    """

    __slots__ = ("_fifo", "_pos", "_size", "_sorted")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._fifo = [0.0] * capacity
        self._pos = 0
        self._size = 0
        self._sorted: list[float] = []

    @property
    def capacity(self) -> int:
        """Maximum number of values held."""
        return len(self._fifo)

    def __len__(self) -> int:
        return self._size

    def push(self, value: float) -> None:
        """Add ``value`` (a finite float), dropping the oldest one when full."""
        cap = len(self._fifo)
        if self._size == cap:
            old = self._fifo[self._pos]
            del self._sorted[bisect_left(self._sorted, old)]
        else:
            self._size += 1
        self._fifo[self._pos] = value
        self._pos = (self._pos + 1) % cap
        insort(self._sorted, value)

    def rank(self, k: int) -> float:
        """The ``k``-th smallest value held (zero-based)."""
        return self._sorted[k]

    @property
    def sorted_values(self) -> list[float]:
        """The values held, smallest first (the window's own list: do not modify)."""
        return self._sorted

    def values(self) -> list[float]:
        """The values held, oldest first."""
        cap = len(self._fifo)
        start = (self._pos - self._size) % cap
        return [self._fifo[(start + i) % cap] for i in range(self._size)]

    def refill(self, values: list[float]) -> None:
        """Replace the content by the last ``capacity`` of ``values`` (oldest first)."""
        cap = len(self._fifo)
        tail = list(values[-cap:])
        self._size = len(tail)
        self._fifo = tail + [0.0] * (cap - self._size)
        self._pos = self._size % cap
        self._sorted = sorted(tail)

    def clear(self) -> None:
        """Forget every value (the capacity stays)."""
        self._pos = 0
        self._size = 0
        self._sorted = []
