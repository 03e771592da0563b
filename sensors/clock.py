"""The one clock of heartsync: LSL's ``local_clock`` (seconds, monotonic).

Every beat is stamped on it when its notification arrives, so recordings, outlets and
two machines (via LSL time correction) share one time base.
"""

from pylsl import local_clock as now

__all__ = ["now"]
