"""dscourse.sim: the deterministic discrete-event simulation kernel (work in progress)."""

from .errors import (DuplicateNodeError, MessageNotDataError, NegativeDelayError,
                     NemesisError, NodeCrashedError, NodeStateError, NotAttachedError,
                     ProbabilityError, UnknownNodeError, UnknownPendingError)
from .trace import KINDS, Event, Trace

__all__ = ["KINDS", "DuplicateNodeError", "Event", "MessageNotDataError", "NegativeDelayError",
           "NemesisError", "NodeCrashedError", "NodeStateError", "NotAttachedError",
           "ProbabilityError", "Trace", "UnknownNodeError", "UnknownPendingError"]
