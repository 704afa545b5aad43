"""dscourse.clocks: time, clocks and ordering (Chapter 2).

Physical clocks (offset, drift, NTP step or slew, monotonic clocks, timers on local time) live
in the simulator, :mod:`dscourse.sim.clock`, re-exported here as :class:`NTP` and
:class:`PhysicalClock`. This package adds what is built on top of them:

* :class:`LamportClock`, :class:`VectorClock`, :func:`happens_before`, :func:`concurrent`,
  :func:`compare` (Lamport 1978; Fidge 1988; Mattern 1989);
* :class:`HLC` hybrid logical clocks (Kulkarni et al. 2014);
* the happens-before oracle on an execution or a ``ds.sim`` trace: :class:`Step`,
  :func:`happens_before_oracle`, :func:`random_execution`, :func:`from_trace`,
  :func:`lamport_stamps`, :func:`vector_stamps`;
* broadcast with none / FIFO / causal / total delivery order: :class:`Group`,
  :func:`deliverable` (Birman, Schiper and Stephenson 1991), :func:`question_answer`;
* leases under bounded drift: :func:`lease_budget`, :func:`naive_overrun`, :func:`lease_run`
  (Gray and Cheriton 1989);
* a TrueTime-style interval clock with commit wait: :class:`TrueTime`, :func:`commit_order`
  (Spanner, OSDI 2012).

``labs`` (the chapter's widgets) and ``exercises`` (grading harnesses) load on first use.
"""

from .._lazy import lazy_submodules
from ..sim.clock import NTP, PhysicalClock
from .broadcast import ORDERS, Ack, Bcast, Delivery, Group, GroupNode, deliverable, question_answer
from .broadcast import violations as order_violations
from .hlc import HLC, HLCStamp
from .lease import (
                    Busy,
                    Grant,
                    LeaseHolder,
                    LeaseRun,
                    LeaseServer,
                    Request,
                    Use,
                    lease_budget,
                    lease_run,
                    naive_overrun,
                    overlaps,
)
from .logical import LamportClock, VectorClock, compare, concurrent, happens_before, leq
from .order import Step, from_trace, happens_before_oracle, lamport_stamps, random_execution, related, vector_stamps
from .truetime import CommitOrder, TrueTime, TTInterval, commit_order

__all__ = [
    "HLC", "NTP", "ORDERS", "Ack", "Bcast", "Busy", "CommitOrder", "Delivery", "Grant", "Group",
    "GroupNode", "HLCStamp", "LamportClock", "LeaseHolder", "LeaseRun", "LeaseServer",
    "PhysicalClock", "Request", "Step", "TTInterval", "TrueTime", "Use", "VectorClock",
    "commit_order", "compare", "concurrent", "deliverable", "exercises", "from_trace",
    "happens_before", "happens_before_oracle", "labs", "lamport_stamps", "lease_budget",
    "lease_run", "leq", "naive_overrun", "order_violations", "overlaps", "question_answer",
    "random_execution", "related", "vector_stamps",
]

__getattr__ = lazy_submodules(__name__, ("labs", "exercises"))
