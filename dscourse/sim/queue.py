"""Shared constants of the event queue and the millisecond -> microsecond conversion.

Queue entries are lists ``[time_us, priority, seq, kind, ...]``; see :mod:`.kernel`.
"""

from __future__ import annotations

import math

from ..errors import allowed
from .errors import NegativeDelayError

# Entry kinds (index 3 of a queue entry); DEAD marks a cancelled or debugger-removed entry.
DEAD, DELIVER, TIMER, START, CALL, RESUME = -1, 0, 1, 2, 3, 4
# Priorities (index 1) at equal times: nemesis, then resumes and backlogs, starts, the rest.
P_NEMESIS, P_RESUME, P_START, P_MSG = 0, 1, 2, 3
# Node states other than "up".
CRASHED, PAUSED = "crashed", "paused"


def to_us(what: str, ms: object, negative: bool = False) -> int:
    """Milliseconds (a finite number, >= 0 unless ``negative``) to integer microseconds."""
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms):
        raise allowed(what, ms, "a finite number of milliseconds")
    if ms < 0 and not negative:
        raise NegativeDelayError(f"{what}={ms!r} is not allowed: expected >= 0 ms")
    return round(ms * 1000)
