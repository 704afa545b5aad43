"""Byzantine Generals with oral messages: algorithm OM(1) and a general who lies.

Lamport, Shostak and Pease 1982, §3: a commander sends an order to ``n - 1`` lieutenants;
in OM(1) each lieutenant relays the value it received to every other lieutenant (OM(0)), then
decides the *majority* of the values it holds (its own from the commander and one relayed by
each other lieutenant; a tie or a missing value counts as RETREAT, the default). The
interactive consistency conditions:

* **IC1** (agreement): all loyal lieutenants obey the same order;
* **IC2** (validity): if the commander is loyal, every loyal lieutenant obeys its order.

A *traitor* (a Byzantine node) sends whatever it likes: here a traitorous commander
*equivocates* (a different order to different lieutenants) and a traitorous lieutenant relays
the opposite of what it received. OM(1) meets IC1 and IC2 with one traitor when ``n >= 4``;
with ``n = 3`` no algorithm can (the paper's Theorem 1), and :func:`run` shows the run that
breaks OM(1) there. The links are reliable: lying, not loss, is the fault.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation, Uniform
from ..sim.network import Network

ATTACK, RETREAT = "attack", "retreat"
ORDERS = (ATTACK, RETREAT)


@dataclass(frozen=True)
class Order:
    """Commander -> lieutenant: the order."""

    value: str


@dataclass(frozen=True)
class Relay:
    """Lieutenant -> lieutenant (OM(0)): "the commander told me ``value``"."""

    value: str


def _other(value: str) -> str:
    return RETREAT if value == ATTACK else ATTACK


def majority(values: list[str]) -> str:
    """The strict majority of ``values``; RETREAT (the default) on a tie."""
    top = Counter(values).most_common()
    if not top or (len(top) > 1 and top[0][1] == top[1][1]):
        return RETREAT
    return top[0][0]


class Commander(Node):
    """Sends ``order`` to every lieutenant. A traitor equivocates: ATTACK to the first half of
    the lieutenants, RETREAT to the rest."""

    def __init__(self, id: str, order: str, lieutenants: list[str], traitor: bool = False) -> None:
        super().__init__(id)
        self.order, self.lieutenants, self.traitor = order, list(lieutenants), traitor

    def on_start(self) -> None:
        self.annotate(role="traitor" if self.traitor else "commander")
        half = (len(self.lieutenants) + 1) // 2
        for i, lt in enumerate(self.lieutenants):
            said = (ATTACK if i < half else RETREAT) if self.traitor else self.order
            self.send(lt, Order(said))


class Lieutenant(Node):
    """Relays the commander's order to the other lieutenants (a traitor relays the opposite)
    and decides the majority of what it holds at ``decide_ms``."""

    def __init__(self, id: str, lieutenants: list[str], traitor: bool = False,
                 decide_ms: float = 50.0) -> None:
        super().__init__(id)
        self.others = [x for x in lieutenants if x != id]
        self.traitor, self.decide_ms = traitor, decide_ms
        self.heard: dict[str, str] = {}
        self.decision: str | None = None

    def on_start(self) -> None:
        self.annotate(role="traitor" if self.traitor else "lieutenant")
        self.set_timer(self.decide_ms, "decide")

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Order):
            self.heard[src] = msg.value
            relayed = _other(msg.value) if self.traitor else msg.value
            for other in self.others:
                self.send(other, Relay(relayed))
        elif isinstance(msg, Relay):
            self.heard[src] = msg.value

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "decide":
            self.decision = majority(list(self.heard.values()))
            self.annotate(decision=self.decision)


@dataclass(frozen=True)
class Outcome:
    """One OM(1) run: each loyal lieutenant's values held and decision, and the verdicts."""

    n: int
    traitor: str
    order: str
    held: dict[str, dict[str, str]]
    decisions: dict[str, str]
    ic1: bool
    ic2: bool
    sim: Simulation


def run(n: int = 4, traitor: str = "L2", order: str = ATTACK, seed: int = 1) -> Outcome:
    """OM(1) with commander ``C`` and lieutenants ``L1 .. L{n-1}``; ``traitor`` is ``"C"``, a
    lieutenant id, or ``""`` for none. Links are reliable, 1-5 ms."""
    if isinstance(n, bool) or not isinstance(n, int) or not 3 <= n <= 9:
        raise allowed("n", n, "an int from 3 to 9 (commander included)")
    if order not in ORDERS:
        raise allowed("order", order, f"one of {ORDERS}")
    lts = [f"L{i}" for i in range(1, n)]
    if traitor not in ("", "C", *lts):
        raise allowed("traitor", traitor, f"'', 'C' or one of {lts}")
    sim = Simulation(seed=seed, network=Network(latency=Uniform(1.0, 5.0)))
    sim.add_node(Commander("C", order, lts, traitor=traitor == "C"))
    nodes = [Lieutenant(lt, lts, traitor=traitor == lt) for lt in lts]
    for node in nodes:
        sim.add_node(node)
    sim.run(until=100.0)
    loyal = [x for x in nodes if not x.traitor]
    held = {x.id: dict(sorted(x.heard.items())) for x in loyal}
    decisions = {x.id: x.decision or RETREAT for x in loyal}
    ic1 = len(set(decisions.values())) <= 1
    ic2 = traitor == "C" or all(d == order for d in decisions.values())
    return Outcome(n, traitor, order, held, decisions, ic1, ic2, sim)


__all__ = ["ATTACK", "RETREAT", "Commander", "Lieutenant", "Order", "Outcome", "Relay", "majority", "run"]
