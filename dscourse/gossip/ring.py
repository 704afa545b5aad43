"""The closed-loop ("ring") anti-entropy schedule: A→B→C→A→B… with a deterministic bound.

One node at a time pushes everything it holds to its successor on a unidirectional ring,
then the successor takes the turn. With ``n`` nodes that each start with one distinct item,
the first lap carries node 0's item (and everything picked up) round to node ``n-1`` and back
to node 0 after ``n`` pushes; node ``n-1``'s item is then still missing at nodes ``0..n-3``,
which the second lap delivers: **``2n − 2`` sequential pushes**, whatever the seed — bounded
rather than probabilistic, the seed guide's point. (That InfluxDB implements anti-entropy this
way is not supported by its documentation: see the chapter's Seed check B4.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation, reliable


def rounds_to_converge(n: int) -> int:
    """Sequential pushes until every node of a unidirectional ring holds every item: ``2n − 2``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise allowed("n", n, "an int >= 1")
    return 2 * n - 2 if n > 1 else 0


@dataclass(frozen=True)
class Push:
    """The sender's whole state, and the turn."""

    items: tuple[str, ...]


class RingNode(Node):
    """A node of the ring: merge what arrives, then push everything to ``successor``."""

    def __init__(self, node_id: str, successor: str, item: str, first: bool = False) -> None:
        super().__init__(node_id)
        self.successor, self.first = successor, first
        self.items: set[str] = {item}
        self.pushes = 0

    def on_start(self) -> None:
        if self.first:
            self.push()

    def push(self) -> None:
        self.pushes += 1
        self.send(self.successor, Push(tuple(sorted(self.items))))

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Push):
            self.items |= set(msg.items)
            self.push()


@dataclass(frozen=True)
class RingStep:
    """After ``push`` pushes: which items each node holds."""

    push: int
    holdings: dict[str, tuple[str, ...]]

    @property
    def converged(self) -> bool:
        full = set().union(*map(set, self.holdings.values()))
        return all(set(h) == full for h in self.holdings.values())


def ring_steps(n: int = 3, pushes: int | None = None, seed: int = 1) -> list[RingStep]:
    """Run the ring on ``ds.sim`` (nodes A, B, C, … holding a, b, c, …) and return the
    holdings after every push (``pushes`` defaults to ``2n − 2``)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 26:
        raise allowed("n", n, "an int from 1 to 26")
    names = [chr(ord("A") + i) for i in range(n)]
    sim = Simulation(seed=seed, network=reliable(latency=1.0))
    nodes = [RingNode(name, names[(i + 1) % n], name.lower(), first=(i == 0 and n > 1))
             for i, name in enumerate(names)]
    for node in nodes:
        sim.add_node(node)
    total = rounds_to_converge(n) if pushes is None else pushes
    steps = [RingStep(0, {x.id: tuple(sorted(x.items)) for x in nodes})]
    sim.run(until=0)
    for k in range(1, total + 1):
        sim.run(until=k)       # one push delivered per ms
        steps.append(RingStep(k, {x.id: tuple(sorted(x.items)) for x in nodes}))
    return steps


def measured_rounds(n: int, seed: int = 1) -> int:
    """Pushes until the simulated ring first converges."""
    for step in ring_steps(n, pushes=3 * n, seed=seed):
        if step.converged:
            return step.push
    raise RuntimeError("the ring did not converge in 3n pushes")
