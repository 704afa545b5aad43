"""Gossip and epidemic protocols for Chapter 4 (Demers et al. 1987; Das et al. 2002).

* :mod:`.epidemic` -- push, pull and push-pull anti-entropy and rumor mongering in synchronous
  rounds (:func:`spread`, :func:`rumor`) with the theory beside them
  (:func:`push_rounds_theory`, :func:`pull_next`, :func:`residue_theory`).
* :mod:`.antientropy` -- anti-entropy between ``ds.sim`` nodes comparing full state, digests
  or Merkle trees (Chapter 3's :mod:`dscourse.replication.merkle`).
* :mod:`.ring` -- the closed-loop ("ring") schedule and :func:`rounds_to_converge`.
* :mod:`.swim` -- SWIM-style membership: ping, ping-req through k peers, suspicion with
  incarnation numbers.
* :mod:`.broadcast` and :mod:`.glomers` -- Maelstrom's broadcast workload
  (:func:`broadcast_workload`) and two servers for it, :class:`Flood` and :class:`Batched`.
* :mod:`.labs` and :mod:`.exercises` (imported on first use): the chapter's widgets and the
  harnesses of exercises E4.1–E4.4 and the broadcast challenge.
"""

from .._lazy import lazy
from . import epidemic
from .broadcast import TARGETS, BroadcastResult, broadcast_workload
from .epidemic import (
                       Rumor,
                       Spread,
                       pull_next,
                       pull_tail_r2,
                       push_next,
                       push_rounds_theory,
                       residue_theory,
                       rumor,
                       spread,
)
from .glomers import Batched, Flood, batched
from .topology import TOPOLOGIES, topology

__all__ = ["TARGETS", "TOPOLOGIES", "Batched", "BroadcastResult", "Flood", "Rumor", "Spread",
           "batched", "broadcast_workload", "epidemic", "pull_next", "pull_tail_r2", "push_next",
           "push_rounds_theory", "residue_theory", "rumor", "spread", "topology"]

# labs (widgets, matplotlib), exercises (grading harnesses) and the rest load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("antientropy", "ring", "swim", "labs", "exercises"))
