"""Model checking Basic Paxos with :func:`dscourse.checkers.explore.explore`.

The checked configuration: two proposers (``p1`` proposing ``"v1"``, ``p2`` proposing
``"v2"``) and three acceptors, each proposer making one complete attempt (Phase 1a to 2a;
the acceptors' votes are Phase 2b). Acceptors send no ``Nack`` (an optimization, §2.2) and
no ``Accepted`` to the proposer: the property checked, agreement, is defined on the votes
(a value is chosen when a majority voted for one ballot), so these messages could only
multiply states. Message loss needs no separate budget for safety: every state reached by
dropping a message is also reached, with the same node states, by never delivering it,
and the breadth-first search visits both. A drop budget can still be given.

Variants (:data:`VARIANTS`): ``"correct"``; ``"no-adopt"`` (the proposer ignores the values
reported in promises: rule P2c missing, erratum C5); ``"forgetful"`` (an acceptor that
forgets its promise when it restarts: its promise was not on stable storage).
"""

from __future__ import annotations

from typing import Any

from ..checkers.explore import ExploreResult, OnNodes, explore, on_nodes
from ..errors import allowed
from ..sim import Simulation
from .basic import (
    Acceptor,
    ForgetfulAcceptor,
    NoAdoptProposer,
    Proposer,
    acceptors_of,
    agreement,
    chosen_from_votes,
    simulation,
    validity,
)

VARIANTS: dict[str, tuple[type[Proposer], type[Acceptor]]] = {
    "correct": (Proposer, Acceptor),
    "no-adopt": (NoAdoptProposer, Acceptor),
    "forgetful": (Proposer, ForgetfulAcceptor),
}
INVARIANTS = {"agreement": on_nodes(agreement), "validity": on_nodes(validity)}
"""Both read only the nodes' durable state (the acceptors' votes, the proposers' values)."""


def invariants() -> dict[str, OnNodes]:
    """:data:`INVARIANTS` for one search: the same two predicates, sharing the set of chosen
    values (:func:`~.basic.chosen`), computed once per combination of the acceptors' votes."""
    known: dict[tuple, set[Any]] = {}
    roles: list[Any] = [None, [], []]        # the simulation last judged, its acceptors, proposers

    def nodes(sim: Simulation) -> list[Any]:
        if roles[0] is not sim:
            roles[:] = [sim, acceptors_of(sim), [n for n in sim.nodes.values() if isinstance(n, Proposer)]]
        return roles

    def chosen(sim: Simulation) -> set[Any]:
        accs = nodes(sim)[1]
        votes = tuple(a.stable.get("votes", ()) for a in accs)
        out = known.get(votes)
        if out is None:
            out = known[votes] = chosen_from_votes({a.id: v for a, v in zip(accs, votes, strict=True)},
                                                   len(accs))
        return out

    def agreement(sim: Simulation) -> bool:
        """Safety: at most one value is chosen."""
        return len(chosen(sim)) <= 1

    def validity(sim: Simulation) -> bool:
        """Safety: every chosen value was proposed by some proposer."""
        proposed = {n.stable["value"] for n in nodes(sim)[2]}
        return chosen(sim) <= proposed

    return {"agreement": on_nodes(agreement), "validity": on_nodes(validity)}


def _variant(variant: str) -> tuple[type[Proposer], type[Acceptor]]:
    if variant not in VARIANTS:
        raise allowed("variant", variant, f"one of {', '.join(VARIANTS)}")
    return VARIANTS[variant]


def variant_simulation(seed: int = 0, variant: str = "correct", *, max_rounds: int = 1) -> Simulation:
    """The checked configuration (see module docstring) as a fresh simulation."""
    proposer_cls, acceptor_cls = _variant(variant)
    return simulation(seed=seed, proposer_cls=proposer_cls, acceptor_cls=acceptor_cls, nack=False,
                   reply_accepted=False, max_rounds=max_rounds)


class Variant:
    """``make_sim(seed)`` for a variant: picklable, so results can be replayed anywhere.
    (A *variant* of the system, not a *model*: in dscourse a model is the sequential
    specification a history is checked against, ``dscourse.checkers.models``.)"""

    def __init__(self, variant: str = "correct") -> None:
        _variant(variant)
        self.variant = variant

    def __call__(self, seed: int) -> Simulation:
        return variant_simulation(seed, self.variant)

    def __repr__(self) -> str:
        return f"Variant({self.variant!r})"


def check(variant: str = "correct", *, max_depth: int = 40, max_drops: int = 0,
          max_duplicates: int = 0, max_restarts: int | None = None,
          restartable: tuple[str, ...] = ("a1", "a2", "a3"), **options: Any) -> ExploreResult:
    """Search a variant for a violation of agreement or validity (breadth-first).

    ``max_restarts`` defaults to 1 for ``"forgetful"`` (a restart is what exposes it) and 0
    otherwise; ``restartable`` acceptors may restart (acceptors are interchangeable, so
    allowing one is enough to find the forgetful acceptor's bug, and much faster).
    """
    if max_restarts is None:
        max_restarts = 1 if variant == "forgetful" else 0
    return explore(Variant(variant), invariants(), max_depth=max_depth, max_drops=max_drops,
                   max_duplicates=max_duplicates, max_restarts=max_restarts,
                   restartable=restartable, **options)
