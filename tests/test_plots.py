"""Charts: missing beats leave gaps, legends sit above the data, the zone's two edges."""

import numpy as np

from tests.helpers import open_window
from ui.plots import with_gaps


def test_with_gaps_breaks_the_line_only_where_beats_are_missing():
    rr = np.array([800.0, 800.0, 800.0, 800.0, 800.0])
    t = np.cumsum(rr) / 1000.0
    same_t, same_y = with_gaps(t, rr, rr)
    assert same_t is t and same_y is rr  # no copy when nothing is missing
    t[3:] += 5.0  # 5 s of beats lost before the fourth
    gap_t, gap_y = with_gaps(t, rr, rr)
    assert gap_t.size == 6 and np.isnan(gap_t[3]) and np.isnan(gap_y[3])
    np.testing.assert_array_equal(gap_t[~np.isnan(gap_t)], t)


def test_the_window_draws_gaps_legends_above_and_both_edges(qtbot, tmp_path):
    window, runner = open_window(
        qtbot, tmp_path, speed=30, seed=3, scenario="dropout", onset_s=20, gap_s=12
    )
    column = window.columns["self"]
    tachogram, arousal = column.tachogram.getPlotItem(), column.arousal.getPlotItem()
    for item in (tachogram, arousal):
        assert item.legend is None  # nothing drawn over the traces
    assert "RR corrected" in tachogram.titleLabel.text
    assert "raw value of a corrected beat" in tachogram.titleLabel.text
    assert "arousal index, judged at the top edge" in arousal.titleLabel.text
    assert "heart-rate z, at the bottom edge" in arousal.titleLabel.text
    edges = column.arousal.edges
    assert edges["upper"].label.format.format(value=1.5) == "index ≥ 1.5: above"
    assert edges["lower"].label.format.format(value=-1.5) == "HR z ≤ -1.5: low"

    def gap_drawn():
        x, _ = column.tachogram.curve.getData()
        return x is not None and np.isnan(x).any()

    qtbot.waitUntil(gap_drawn, timeout=10000)
    window.close()
    assert not runner.alive
