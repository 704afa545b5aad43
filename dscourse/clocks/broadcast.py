"""Broadcast with ordering guarantees: none, FIFO, causal (vector clocks), total (Lamport).

Every node of a :class:`Group` broadcasts with ``bcast(payload)`` and *delivers* messages
(to its application) in an order set by ``order``:

* ``"none"`` -- on receipt.
* ``"fifo"`` -- per sender in send order (per-sender sequence numbers, buffered).
* ``"causal"`` -- Birman, Schiper and Stephenson, "Lightweight causal and atomic group
  multicast", TOCS 9(3), 1991: a message from ``s`` stamped ``V_m`` is delivered when
  ``V_m[s] = V[s] + 1`` and ``V_m[k] ≤ V[k]`` for every other ``k``, where ``V`` counts the
  messages delivered per sender (the vector-clock delivery condition, :func:`deliverable`).
* ``"total"`` -- Lamport's total order (CACM 1978, "Ordering the Events Totally"): messages are stamped with Lamport
  clocks, every receiver acknowledges with a (later) stamp, and a node delivers the queued
  message with the smallest ``(stamp, sender)`` once it has heard a later stamp from every
  node other than its sender (FIFO links mean nothing earlier from the sender is on the
  way). Ties break by node id. It needs FIFO links and every node alive.

A node delivers its own broadcasts at once (in the orders' own rules). Every message carries
its vector stamp in all modes, so :func:`violations` can judge any run against any order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed
from ..sim import Constant, Network, Node, Simulation
from .logical import happens_before

ORDERS = ("none", "fifo", "causal", "total")


@dataclass(frozen=True)
class Bcast:
    """A broadcast: ``sender``'s ``seq``-th, its vector stamp ``vc`` and Lamport ``ts``."""

    sender: str
    seq: int
    vc: dict[str, int]
    ts: int
    payload: Any


@dataclass(frozen=True)
class Ack:
    """Total order: ``sender`` has seen messages up to Lamport time ``ts``."""

    sender: str
    ts: int


@dataclass(frozen=True)
class Delivery:
    time: float
    node: str
    sender: str
    seq: int
    payload: Any
    vc: dict[str, int] = field(compare=False)


def deliverable(vc: Mapping[str, int], sender: str, delivered: Mapping[str, int]) -> bool:
    """The causal delivery condition (Birman et al. 1991): next from ``sender``, and nothing
    it depends on is missing."""
    return vc.get(sender, 0) == delivered.get(sender, 0) + 1 and all(
        c <= delivered.get(k, 0) for k, c in vc.items() if k != sender)


class GroupNode(Node):
    """A member of a broadcast group with delivery order ``order`` (see module docstring).

    ``rule(vc, sender, delivered) -> bool`` replaces :func:`deliverable` for ``"causal"``
    (the exercise plugs a student's rule in here). Delivered messages go to ``log``.
    """

    def __init__(self, id: str, order: str = "causal", log: list | None = None,
                 rule: Callable[..., bool] | None = None) -> None:
        super().__init__(id)
        if order not in ORDERS:
            raise allowed("order", order, f"one of {', '.join(ORDERS)}")
        self.order = order
        self.rule = rule or deliverable
        self.log = log if log is not None else []
        self.sent = 0
        self.delivered: dict[str, int] = {}   # per sender, how many delivered (the causal V)
        self.buffer: list[Bcast] = []
        self.lamport = 0
        self.heard: dict[str, int] = {}       # total order: latest stamp heard from each node

    def bcast(self, payload: Any) -> None:
        """Broadcast ``payload`` to the group (and deliver it here)."""
        self.sent += 1
        self.lamport += 1
        vc = dict(self.delivered)
        vc[self.id] = self.sent
        msg = Bcast(self.id, self.sent, vc, self.lamport, payload)
        self.broadcast(msg)
        self._receive(msg)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Ack):
            self.lamport = max(self.lamport, msg.ts) + 1
            self.heard[msg.sender] = max(self.heard.get(msg.sender, 0), msg.ts)
            self._drain()
            return
        self._receive(msg)

    def _receive(self, msg: Bcast) -> None:
        if self.order == "total":
            self.lamport = max(self.lamport, msg.ts) + 1
            self.heard[msg.sender] = max(self.heard.get(msg.sender, 0), msg.ts)
            if msg.sender != self.id:
                self.broadcast(Ack(self.id, self.lamport))
        self.buffer.append(msg)
        self._drain()

    def _ready(self, m: Bcast) -> bool:
        if self.order == "none":
            return True
        if self.order == "fifo":
            return m.seq == self.delivered.get(m.sender, 0) + 1
        if self.order == "causal":
            return m.sender == self.id or bool(self.rule(dict(m.vc), m.sender, dict(self.delivered)))
        head = min(self.buffer, key=lambda b: (b.ts, b.sender))
        if m is not head:
            return False
        self.heard[self.id] = self.lamport
        return all(self.heard.get(n, 0) > m.ts for n in (self.id, *self.peers) if n != m.sender)

    def _drain(self) -> None:
        progress = True
        while progress:
            progress = False
            for m in list(self.buffer):
                if self._ready(m):
                    self.buffer.remove(m)
                    self.delivered[m.sender] = self.delivered.get(m.sender, 0) + 1
                    self.log.append(Delivery(self.now, self.id, m.sender, m.seq, m.payload, m.vc))
                    self.annotate(deliver=m.payload)
                    progress = True
                    break


def violations(log: Sequence[Delivery], order: str) -> list[str]:
    """What ``log`` (every node's deliveries) violates of ``order``'s guarantee."""
    if order not in ORDERS:
        raise allowed("order", order, f"one of {', '.join(ORDERS)}")
    by_node: dict[str, list[Delivery]] = {}
    for d in log:
        by_node.setdefault(d.node, []).append(d)
    out = []
    if order in ("fifo", "causal"):
        for node, ds in by_node.items():
            for i, a in enumerate(ds):
                for b in ds[i + 1:]:
                    if a.sender == b.sender and b.seq < a.seq:
                        out.append(f"{node} delivered {b.payload!r} after {a.payload!r}, both from "
                                   f"{a.sender}, against send order")
                    elif order == "causal" and happens_before(b.vc, a.vc):
                        out.append(f"{node} delivered {a.payload!r} before {b.payload!r}, which "
                                   "happened before it")
    if order == "total":
        position = {n: {(d.sender, d.seq): i for i, d in enumerate(ds)} for n, ds in by_node.items()}
        nodes = list(position)
        for i, n in enumerate(nodes):
            for m in nodes[i + 1:]:
                common = [k for k in position[n] if k in position[m]]
                for x in common:
                    for y in common:
                        if position[n][x] < position[n][y] and position[m][x] > position[m][y]:
                            out.append(f"{n} and {m} delivered {x} and {y} in opposite orders")
    return out


class Group:
    """A broadcast group: ``.sim``, ``.nodes``, ``log`` (every delivery), ``run``/``run_until``,
    ``violations(order)``. Links are FIFO (Lamport's total order assumes it)."""

    def __init__(self, order: str = "causal", *, n: int = 3, seed: int = 1,
                 latency: float = 10.0, rule: Callable[..., bool] | None = None) -> None:
        self.order = order
        self.sim = Simulation(seed, network=Network(latency=Constant(latency), fifo=True))
        self.log: list[Delivery] = []
        names = [chr(ord("a") + i) for i in range(n)]
        self.nodes: dict[str, GroupNode] = {}
        for x in names:
            self.nodes[x] = GroupNode(x, order, self.log, rule)
            self.sim.add_node(self.nodes[x])

    def run(self, until: float | None = None) -> None:
        self.sim.run(until)

    def run_until(self, predicate: Callable[..., bool], timeout: float) -> bool:
        return self.sim.run_until(predicate, timeout)

    def violations(self, order: str | None = None) -> list[str]:
        return violations(self.log, order or self.order)

    def deliveries(self) -> dict[str, list[Any]]:
        """Each node's delivered payloads, in order."""
        out: dict[str, list[Any]] = {x: [] for x in self.nodes}
        for d in self.log:
            out[d.node].append(d.payload)
        return out


def question_answer(order: str, *, seed: int = 1, rule: Callable[..., bool] | None = None) -> Group:
    """The classic causality race: ``a`` broadcasts a question ``"Q"``, ``b`` answers ``"A"``
    as soon as it delivers it, and ``c`` hears the answer first because the link a→c is slow;
    meanwhile ``c`` broadcasts ``"C"``, concurrent with both."""
    g = Group(order, n=3, seed=seed, rule=rule)
    sim = g.sim
    sim.set_link("a", "c", latency=Constant(40.0))
    sim.set_link("c", "a", latency=Constant(25.0))
    sim.run(until=1)
    g.nodes["a"].bcast("Q")
    g.nodes["c"].bcast("C")
    sim.run_until(lambda: any(d.node == "b" and d.payload == "Q" for d in g.log), 100)
    g.nodes["b"].bcast("A")
    sim.run(until=200)
    return g
