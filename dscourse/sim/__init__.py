"""dscourse.sim: a deterministic discrete-event simulator of distributed systems.

``Simulation`` (the kernel), ``Node`` (subclass it), ``Network`` and link models with the
presets ``reliable``, ``lossy`` and ``labrpc_unreliable``, latency distributions, faults and
the nemesis, named random streams and the ``Trace``. See the chapter "A simulated
distributed system" and ``/work/team/TRACE.md`` for the trace contract.
"""

from .dist import (Constant, Dist, Exponential, LabrpcLongDelay, LogNormal, Pareto, Uniform,
                   UniformInt)
from .errors import (DuplicateNodeError, MessageNotDataError, NegativeDelayError,
                     NemesisError, NodeCrashedError, NodeStateError, NotAttachedError,
                     ProbabilityError, UnknownNodeError, UnknownPendingError)
from .kernel import Pending, Simulation
from .nemesis import Nemesis, random_schedule
from .network import LinkModel, Network, is_reply, labrpc_unreliable, lossy, reliable
from .node import Node
from .rng import stream
from .trace import KINDS, Event, Trace, jsonable

__all__ = [
    "KINDS", "Constant", "Dist", "DuplicateNodeError", "Event", "Exponential",
    "LabrpcLongDelay", "LinkModel", "LogNormal", "MessageNotDataError", "NegativeDelayError",
    "Nemesis", "NemesisError", "Network", "Node", "NodeCrashedError", "NodeStateError",
    "NotAttachedError", "Pareto", "Pending", "ProbabilityError", "Simulation", "Trace",
    "Uniform", "UniformInt", "UnknownNodeError", "UnknownPendingError", "is_reply",
    "jsonable", "labrpc_unreliable", "lossy", "random_schedule", "reliable", "stream",
]
