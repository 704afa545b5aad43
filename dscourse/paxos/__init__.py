"""dscourse.paxos: Basic Paxos, Multi-Paxos, dueling proposers, and model checking them.

* :mod:`.messages` -- ballots ``(round, node_id)`` and the messages, as frozen dataclasses.
* :mod:`.basic` -- :class:`Acceptor`, :class:`Proposer`, :class:`Learner`; the broken
  :class:`NoAdoptProposer` and :class:`ForgetfulAcceptor`; :func:`cluster`; the omniscient
  :func:`chosen` oracle and the :func:`agreement` / :func:`validity` invariants.
* :mod:`.model` -- the configurations the model checker explores (:func:`check`).
* :mod:`.backoff` and :mod:`.livelock` -- retry policies and dueling proposers (§2.4).
* :mod:`.multi` and :mod:`.workload` -- Multi-Paxos replicas with a key-value state machine,
  clients, a nemesis, prefix consistency and linearizability checks (§3).
* :mod:`.scenarios` -- the message debugger's preloaded scenarios.

Widgets (built by :mod:`dscourse.viz.paxos`): :func:`debugger` and :func:`livelock_meter`.
Sources: Lamport, "Paxos Made Simple" (2001); Chandra, Griesemer & Redstone, "Paxos Made
Live" (2007).
"""

from __future__ import annotations

from typing import Any

from .backoff import POLICIES, Backoff
from .basic import (Acceptor, ForgetfulAcceptor, Learner, NoAdoptProposer, Proposer, agreement,
                    chosen, chosen_from_votes, cluster, quorum, validity)
from .livelock import decision_times, duel
from .messages import ZERO, Accept, Accepted, Ballot, Nack, Prepare, Promise, Vote
from .model import VARIANTS, check
from . import harness
from .multi import Client, Replica
from .workload import prefix_consistent, run

__all__ = [
    "POLICIES", "VARIANTS", "ZERO", "Accept", "Accepted", "Acceptor", "Backoff", "Ballot",
    "Client", "ForgetfulAcceptor", "Learner", "Nack", "NoAdoptProposer", "Prepare", "Promise",
    "Proposer", "Replica", "Vote", "agreement", "check", "chosen", "chosen_from_votes",
    "cluster", "debugger", "decision_times", "duel", "harness", "livelock_meter",
    "prefix_consistent", "quorum", "run", "validity",
]


def debugger(scenario: str = "free", **kwargs: Any) -> Any:
    """The Paxos message debugger with the "chosen?" banner (see :mod:`dscourse.viz.paxos`)."""
    from ..viz.paxos import PaxosDebugger

    return PaxosDebugger.scenario(scenario, **kwargs)


def livelock_meter(backoff: str = "random", **kwargs: Any) -> Any:
    """The livelock meter: decision latency over many seeds per backoff policy."""
    from ..viz.paxos import livelock_meter as meter

    return meter(backoff, **kwargs)
