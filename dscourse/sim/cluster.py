"""The shape of what every topic's ``cluster(...)`` builder returns.

``ds.raft.cluster(n=5, seed=1)``, ``ds.paxos.cluster(...)``, ``ds.ids.cluster("leaf")`` and
``ds.replication.cluster("cp")`` all return a :class:`Cluster`: the simulation (``.sim``),
the protocol nodes by id (``.nodes``), ways to advance virtual time, the usual faults, and
(added by each topic's subclass) the topic's checks, such as ``chosen()``, ``leader()`` or
``check()``.

* ``run(ms)`` advances virtual time by ``ms``; ``run(until=t)`` runs to virtual time ``t``;
  ``run()`` runs until no event is left. Each returns the cluster, so calls chain:
  ``ds.raft.cluster(seed=1).run(1000).leader()``.
* ``run_until(predicate, timeout)`` runs until ``predicate()`` holds (True) or ``timeout``
  ms pass (False), as :meth:`Simulation.run_until`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

from ..errors import allowed
from .kernel import Simulation
from .node import Node


class Cluster:
    """A built system: ``sim`` and its protocol ``nodes`` (id -> node); see the module docstring."""

    sim: Simulation
    nodes: Mapping[str, Node]

    def __init__(self, sim: Simulation, nodes: Mapping[str, Node]) -> None:
        self.sim = sim
        self.nodes = nodes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self.nodes)} nodes t={self.sim.now:g} ms>"

    # -- time ----------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The virtual time, in ms."""
        return self.sim.now

    @property
    def trace(self) -> Any:
        """The simulation's trace (:class:`~dscourse.sim.trace.Trace`)."""
        return self.sim.trace

    def run(self, ms: float | None = None, *, until: float | None = None) -> Self:
        """Advance virtual time by ``ms``, or to ``until``; with neither, until no event is left."""
        if ms is not None and until is not None:
            raise allowed("run(ms, until)", (ms, until), "one of ms (a duration) or until (a time)")
        if ms is not None:
            if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not ms >= 0:
                raise allowed("ms", ms, "a duration >= 0 in ms")
            until = self.sim.now + ms
        self.sim.run(until=until)
        return self

    def run_until(self, predicate: Callable[..., bool], timeout: float) -> bool:
        """Run until ``predicate()`` holds (True) or ``timeout`` ms have passed (False)."""
        return self.sim.run_until(predicate, timeout)

    # -- faults --------------------------------------------------------------------------
    def up(self, node_id: str) -> bool:
        """False while ``node_id`` is crashed."""
        return self.sim.status(node_id) != "crashed"

    def crash(self, node_id: str) -> None:
        self.sim.crash(node_id)

    def recover(self, node_id: str) -> None:
        self.sim.recover(node_id)

    def partition(self, *groups: Any) -> None:
        self.sim.partition(*groups)

    def heal(self) -> None:
        self.sim.heal()
