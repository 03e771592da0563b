import numpy as np
import pytest

from dsp.ring import RingBuffer, RowRing


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


def test_row_ring_keeps_the_newest_rows_in_order_whenever_it_is_read():
    ring = RowRing(5, 2)
    assert [c.size for c in ring.columns()] == [0, 0]
    seen = []
    for i in range(23):
        ring.append((float(i), -float(i)))
        seen.append(i)
        if i % 4 == 0:  # reads between appends settle the pending rows
            t, v = ring.columns()
            assert t.tolist() == seen[-5:] and v.tolist() == [-x for x in seen[-5:]]
    t, v = ring.columns()
    assert t.tolist() == list(range(18, 23)) and v.tolist() == [-x for x in range(18, 23)]
    assert len(ring) == 5
