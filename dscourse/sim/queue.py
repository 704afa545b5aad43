"""The event queue's entry layout, kinds and priorities, and the ms -> us conversion.

The queue is a binary heap of entries keyed ``(time, priority, seq)``, as in SimPy's
``core.py`` (``(time, priority, eid, event)``). An entry is a small list whose fields are
named by the index constants below, shared by the kernel, the faults and the checkpoints::

    e = [time, priority, seq, kind, id, node, peer, label, msg, data]
    e[KIND], e[NODE], e[MSG] ...

``seq`` is unique, so comparisons never look past it. Lists rather than objects, because
building a list is several times cheaper than calling a class (the kernel benchmark's margin
over SimPy), and so that a cancelled timer or a debugger-dropped delivery is marked dead in
place (``e[KIND] = DEAD``) wherever it is queued or backlogged. The fields mirror
:class:`~dscourse.sim.kernel.Pending`:

============  ===================  ======================  ======================
kind          ``id``, ``node``     ``peer``, ``label``     ``msg``, ``data``
============  ===================  ======================  ======================
``DELIVER``   msg id, receiver     sender, message type    message, rendered data
``TIMER``     handle, owner        --, timer name          payload, rendered data
``START``     --, the node         --                      --
``RESUME``    --, the node         --                      --
``CALL``      --                   --, fault method name   its arguments
============  ===================  ======================  ======================
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import allowed
from .errors import NegativeDelayError

# The fields of an entry, by index.
TIME, PRIORITY, SEQ, KIND, ID, NODE, PEER, LABEL, MSG, DATA = range(10)
Entry = list[Any]
"""A queue entry: ``[time, priority, seq, kind, id, node, peer, label, msg, data]``."""

# Entry kinds; DEAD marks a cancelled or debugger-removed entry, skipped when popped.
DEAD, DELIVER, TIMER, START, CALL, RESUME = -1, 0, 1, 2, 3, 4
# Priorities at equal times: nemesis, then resumes and backlogs, starts, the rest.
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
