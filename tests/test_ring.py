import numpy as np
import pytest

from dsp.ring import RingBuffer


def test_ring_keeps_the_newest_values_in_order():
    ring = RingBuffer(4)
    for v in range(10):
        ring.append(v)
    assert len(ring) == 4
    np.testing.assert_array_equal(ring.values(), [6, 7, 8, 9])
    assert ring[0] == 6 and ring[-1] == 9
    assert ring.popleft() == 6
    np.testing.assert_array_equal(ring.values(), [7, 8, 9])
    ring.append(10)
    ring.append(11)
    np.testing.assert_array_equal(ring.values(), [8, 9, 10, 11])


def test_ring_values_are_a_copy_and_errors_are_clear():
    ring = RingBuffer(3)
    ring.append(1.0)
    values = ring.values()
    values[0] = 99
    assert ring[0] == 1.0
    with pytest.raises(IndexError):
        ring[1]
    with pytest.raises(IndexError):
        RingBuffer(1).popleft()
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)
