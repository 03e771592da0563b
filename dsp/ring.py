"""Fixed-capacity ring buffers: memory is set once from a duration and never grows."""

import numpy as np


class RingBuffer:
    """A fixed-size FIFO of scalars backed by one numpy array.

    Appending is O(1); the oldest value is overwritten once the buffer is full.
    Reading returns a chronological copy, so readers never see a half-written buffer.

    Parameters
    ----------
    capacity : int
        Number of values kept.
    dtype : numpy dtype, optional
        Element type, float64 by default.
    """

    def __init__(self, capacity: int, dtype: np.dtype | type = np.float64) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._data = np.zeros(capacity, dtype=dtype)
        self._start = 0
        self._size = 0

    @property
    def capacity(self) -> int:
        """Maximum number of values held."""
        return self._data.size

    def __len__(self) -> int:
        return self._size

    def append(self, value: float) -> None:
        """Add one value, dropping the oldest when full."""
        cap = self._data.size
        if self._size < cap:
            self._data[(self._start + self._size) % cap] = value
            self._size += 1
        else:
            self._data[self._start] = value
            self._start = (self._start + 1) % cap

    def popleft(self) -> float:
        """Remove and return the oldest value."""
        if self._size == 0:
            raise IndexError("pop from an empty RingBuffer")
        value = self._data[self._start]
        self._start = (self._start + 1) % self._data.size
        self._size -= 1
        return value.item()

    def __getitem__(self, i: int) -> float:
        """Value ``i`` in chronological order; negative indices count from the newest."""
        if not -self._size <= i < self._size:
            raise IndexError(f"index {i} out of range for {self._size} values")
        return self._data[(self._start + (i % self._size)) % self._data.size].item()

    def values(self) -> np.ndarray:
        """All values, oldest first, as a new array."""
        end = self._start + self._size
        cap = self._data.size
        if end <= cap:
            return self._data[self._start : end].copy()
        return np.concatenate((self._data[self._start :], self._data[: end - cap]))

    def clear(self) -> None:
        """Forget every value (the capacity stays)."""
        self._start = 0
        self._size = 0


class RowRing:
    """A fixed-size FIFO of rows of floats, cheap to append one row at a time.

    A row is appended to a plain list (one fast call per beat) and moved into the numpy
    ring in one vectorised copy when the rows are read (or when the list fills), so a
    stream that is read a few times a second costs one tuple per row.

    Parameters
    ----------
    capacity : int
        Number of rows kept.
    columns : int
        Values per row.
    """

    def __init__(self, capacity: int, columns: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._data = np.zeros((capacity, columns))
        self._start = 0
        self._size = 0
        self._pending: list[tuple] = []

    def __len__(self) -> int:
        return min(self._size + len(self._pending), self._data.shape[0])

    def append(self, row: tuple) -> None:
        """Add one row (a tuple of ``columns`` numbers), dropping the oldest when full."""
        self._pending.append(row)
        if len(self._pending) >= self._data.shape[0]:
            self._settle()

    def columns(self) -> tuple[np.ndarray, ...]:
        """Every column, oldest row first, as new float64 arrays."""
        self._settle()
        cap = self._data.shape[0]
        idx = (self._start + np.arange(self._size)) % cap
        rows = self._data[idx]
        return tuple(rows[:, j].copy() for j in range(self._data.shape[1]))

    def _settle(self) -> None:
        if not self._pending:
            return
        new = np.array(self._pending, dtype=np.float64).reshape(len(self._pending), -1)
        self._pending = []
        cap = self._data.shape[0]
        if new.shape[0] >= cap:
            new = new[-cap:]
        k = new.shape[0]
        pos = (self._start + self._size + np.arange(k)) % cap
        self._data[pos] = new
        overflow = max(0, self._size + k - cap)
        self._start = (self._start + overflow) % cap
        self._size = min(cap, self._size + k)
