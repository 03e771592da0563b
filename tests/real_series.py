"""The real beat series in ``shared/data/real`` (issue 14): reading and ground truth.

Each CSV holds ``t_s, rr_ms[, label]`` rows after a first line naming its source and a
header line: MIT-BIH 100 (reference beat labels N/A/V), systole's Task1 ECG and PPG beat
times, heartpy's data3 PPG. The folder sits beside the repository (``../shared``), as in
CI; tests skip with the reason when it is not there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
SERIES = ("mitbih100_ref", "systole_task1", "systole_ppg", "heartpy_data3")


@dataclass(frozen=True)
class RealSeries:
    """One real beat series.

    Attributes
    ----------
    name : str
        File stem.
    source : str
        The file's first line (where the beats come from).
    t_s : numpy.ndarray
        Time of the beat ending each interval, s.
    rr_ms : numpy.ndarray
        Intervals, ms.
    labels : numpy.ndarray of str
        Reference label of the beat ending each interval ("N" where the file has none).
    """

    name: str
    source: str
    t_s: np.ndarray
    rr_ms: np.ndarray
    labels: np.ndarray

    @property
    def peaks_ms(self) -> np.ndarray:
        """Beat times as integer milliseconds, with the first interval's start (NeuroKit2 input)."""
        first = self.t_s[0] - self.rr_ms[0] / 1000.0
        return np.round(np.concatenate(([first], self.t_s)) * 1000.0).astype(np.int64)

    def nn_pairs(self) -> np.ndarray:
        """True where interval i is normal-to-normal by the reference labels."""
        ok = np.zeros(self.rr_ms.size, dtype=bool)
        ok[1:] = (self.labels[1:] == "N") & (self.labels[:-1] == "N")
        return ok


def load_real(name: str, folder: Path = REAL_DIR) -> RealSeries:
    """Read one series; raises FileNotFoundError naming the folder when it is missing."""
    path = folder / f"{name}.csv"
    lines = path.read_text().splitlines()
    rows = [line.split(",") for line in lines[2:] if line.strip()]
    return RealSeries(
        name=name,
        source=lines[0].lstrip("# "),
        t_s=np.array([float(r[0]) for r in rows]),
        rr_ms=np.array([float(r[1]) for r in rows]),
        labels=np.array([r[2].strip() if len(r) > 2 else "N" for r in rows]),
    )
