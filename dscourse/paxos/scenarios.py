"""The Paxos message debugger's preloaded scenarios (curriculum, Chapter 5 demos).

A scenario is a simulation factory ``make_sim(seed)`` plus the debugger operations that bring
it to the interesting moment (``("fire", id)``, ``("drop", id)``, ``("action", name, ...)``,
``("step", n)``), computed here by running the factory and picking pending messages by
sender, receiver and type, so they stay right if the protocol changes.

* ``"free"`` -- two proposers, three acceptors, nothing done yet.
* ``"minority"`` -- ``p1``'s value is accepted by ``a1`` alone (its other ``Accept`` messages
  are lost) and ``p1`` crashes; ``p2``
  starts later. Deliver ``a1``'s promise to ``p2`` and watch P2c make it adopt ``v1``.
* ``"duel"`` -- the dueling proposers of :mod:`.livelock`, run for 40 ms.
* ``"no-adopt"`` -- the model checker's shortest counterexample for :class:`NoAdoptProposer`.
* ``"forgetful"`` -- the same for :class:`ForgetfulAcceptor`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from ..checkers.explore import ExploreResult, settle
from ..errors import allowed
from ..sim import Simulation
from .basic import simulation
from .livelock import duel_sim
from .modelcheck import Variant, check

SCENARIOS = ("free", "minority", "duel", "no-adopt", "forgetful")


@dataclass(frozen=True)
class Scenario:
    """A factory, the operations to replay, and what to look at."""

    name: str
    make_sim: Callable[[int], Simulation]
    ops: tuple[tuple[Any, ...], ...]
    note: str


def crash(sim: Simulation, node_id: str) -> None:
    """Debugger action: crash a node."""
    sim.crash(node_id)


def recover(sim: Simulation, node_id: str) -> None:
    """Debugger action: recover a crashed node."""
    sim.recover(node_id)


def _pick(sim: Simulation, label: str, src: str, dst: str) -> int:
    for p in sim.pending():
        if p.kind == "deliver" and p.label == label and p.peer == src and p.node == dst:
            return p.id
    raise allowed("scenario step", (label, src, dst), "a pending message")


def free_sim(seed: int) -> Simulation:
    return simulation(seed=seed)


def minority_sim(seed: int) -> Simulation:
    return simulation(seed=seed, stagger_ms=50.0)


def _minority_ops(seed: int) -> tuple[tuple[Any, ...], ...]:
    sim = minority_sim(seed)
    ops: list[tuple[Any, ...]] = [("step", settle(sim))]

    def fire(label: str, src: str, dst: str) -> None:
        pid = _pick(sim, label, src, dst)
        sim.fire(pid)
        ops.append(("fire", pid))

    for a in ("a1", "a2"):
        fire("Prepare", "p1", a)
    for a in ("a1", "a2"):
        fire("Promise", a, "p1")
    fire("Accept", "p1", "a1")
    for a in ("a2", "a3"):                       # lost: only a minority accepts v1
        pid = _pick(sim, "Accept", "p1", a)
        sim.drop(pid)
        ops.append(("drop", pid))
    crash(sim, "p1")
    ops.append(("action", "crash", "p1"))
    return tuple(ops)


@cache
def counterexample(variant: str) -> ExploreResult:
    """The model checker's shortest counterexample for a broken variant (computed once per
    process: the forgetful acceptor's search takes several seconds; one restartable acceptor
    suffices, as acceptors are interchangeable)."""
    return check(variant, restartable=("a2",)) if variant == "forgetful" else check(variant)


def scenario(name: str = "free", seed: int = 0) -> Scenario:
    """The scenario ``name`` (one of :data:`SCENARIOS`)."""
    if name == "free":
        return Scenario(name, free_sim, (("step", settle(free_sim(seed))),),
                        "Deliver, drop or duplicate messages yourself.")
    if name == "minority":
        return Scenario(name, minority_sim, _minority_ops(seed),
                        "v1 was accepted by a1 only, then p1 crashed; nothing is chosen. p2 "
                        "starts at 50 ms: if a1's promise reaches it, P2c makes it propose v1.")
    if name == "duel":
        return Scenario(name, partial(duel_sim, backoff="none"), (("run", 40.0),),
                        "Two proposers with no backoff keep pre-empting each other.")
    if name in ("no-adopt", "forgetful"):
        result = counterexample(name)
        return Scenario(name, Variant(name), tuple(result.ops),
                        f"The model checker's shortest counterexample ({len(result.path)} steps): "
                        "two different values are chosen.")
    raise allowed("scenario", name, f"one of {', '.join(SCENARIOS)}")
