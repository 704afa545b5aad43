"""dscourse.paxos: Basic Paxos, Multi-Paxos, dueling proposers, and model checking them.

* :mod:`.messages` -- ballots ``(round, node_id)`` and the messages, as frozen dataclasses.
* :mod:`.basic` -- :class:`Acceptor`, :class:`Proposer`, :class:`Learner`; the broken
  :class:`NoAdoptProposer` and :class:`ForgetfulAcceptor`; :func:`cluster` (a
  :class:`PaxosCluster` with its checks) and :func:`simulation` (the bare system the model
  checker and the debugger drive); the omniscient
  :func:`chosen` oracle and the :func:`agreement` / :func:`validity` invariants.
* :mod:`.modelcheck` -- the variants the model checker explores (:class:`~.modelcheck.Variant`, :func:`check`).
* :mod:`.backoff` and :mod:`.livelock` -- retry policies and dueling proposers (§2.4), under
  a mis-tuned timeout or an oblivious adversary (:class:`~.livelock.Adversary`).
* :mod:`.multi` and :mod:`.workload` -- Multi-Paxos replicas with a key-value state machine,
  clients recording one history, ``workload.cluster`` (a :class:`MultiPaxosCluster`), a
  nemesis, prefix consistency and linearizability checks (§3).
* :mod:`.harness` -- the exercises' harnesses; each returns a ``checkers.trial.Trial``.
* :mod:`.scenarios` -- the message debugger's preloaded scenarios.

Widgets (in :mod:`.labs`, loaded on first use): :func:`debugger` and :func:`livelock_meter`.
Sources: Lamport, "Paxos Made Simple" (2001); Chandra, Griesemer & Redstone, "Paxos Made
Live" (2007).
"""

from __future__ import annotations

from .._lazy import lazy
from . import harness
from .backoff import POLICIES, Backoff
from .basic import (
    Acceptor,
    ForgetfulAcceptor,
    Learner,
    NoAdoptProposer,
    PaxosCluster,
    Proposer,
    agreement,
    chosen,
    chosen_from_votes,
    cluster,
    quorum,
    simulation,
    validity,
)
from .livelock import Adversary, decision_times, duel
from .messages import ZERO, Accept, Accepted, Ballot, Nack, Prepare, Promise, Vote
from .modelcheck import VARIANTS, check
from .multi import Client, Replica
from .workload import MultiPaxosCluster, prefix_consistent, run

__all__ = [
    "POLICIES", "VARIANTS", "ZERO", "Accept", "Accepted", "Acceptor", "Adversary", "Backoff", "Ballot",
    "Client", "ForgetfulAcceptor", "Learner", "MultiPaxosCluster", "Nack", "NoAdoptProposer",
    "PaxosCluster", "Prepare", "Promise", "Proposer", "Replica", "Vote", "agreement", "check", "chosen",
    "chosen_from_votes",
    "cluster", "debugger", "decision_times", "duel", "harness", "labs", "livelock_meter",
    "prefix_consistent", "quorum", "run", "simulation", "validity",
]


# labs (the chapter's widgets, matplotlib) load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("labs",), {"debugger": "labs", "livelock_meter": "labs"})
