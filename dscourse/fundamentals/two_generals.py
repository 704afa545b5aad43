"""Two Generals (coordinated attack): the "k confirmations" protocols and their adversary.

Two generals, ``A`` (who decides the plan) and ``B``, talk only by messengers that may be
captured (a lossy link). Protocol *k* sends a chain of ``k + 1`` messengers: ``m0`` is the
order from ``A``; each ``m(i)``, on arrival, is confirmed by ``m(i+1)`` in the other
direction, up to ``m(k)``. At a deadline each general attacks iff every messenger addressed
to it arrived, so with no loss both attack.

The impossibility argument (Akkoyunlu, Ekanadham & Huber, SOSP 1975; Gray, "Notes on Data
Base Operating Systems", 1978, §5.8.3.3) looks at the *last* messenger: its sender cannot
know whether it arrived, so it decides the same either way; if the protocol is correct the
receiver must too, and the last messenger was unnecessary. Induction removes every
messenger. :func:`adversary` runs that argument on the simulator: it replays the protocol
with each single messenger lost (through the controlled-scheduling API ``sim.drop``) and
reports the final one whose loss leaves the generals in disagreement -- for every *k*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation, Trace, Uniform, jsonable
from ..sim.network import Network

ATTACK, RETREAT = "attack", "retreat"


@dataclass(frozen=True)
class Messenger:
    """Messenger ``index`` of the chain (0: the order, 1: its confirmation, ...)."""

    index: int


class General(Node):
    """A general of protocol *k*: relays the chain and decides at ``deadline_ms``.

    ``initiator`` sends ``m0``; messengers with even index go from the initiator to the
    other general, odd ones back. ``expected`` is the set of indices addressed to this
    general; it attacks iff all of them arrived.
    """

    def __init__(self, id: str, *, peer: str, k: int, initiator: bool, deadline_ms: float) -> None:
        super().__init__(id)
        self.peer, self.k, self.initiator, self.deadline_ms = peer, k, initiator, deadline_ms
        first = 1 if initiator else 0
        self.expected = frozenset(range(first, k + 1, 2))
        self.received: set[int] = set()
        self.decision: str | None = None

    def on_start(self) -> None:
        if self.initiator:
            self.send(self.peer, Messenger(0))
        self.set_timer(self.deadline_ms, "decide")

    def on_message(self, src: str, msg: Messenger) -> None:
        self.received.add(msg.index)
        if msg.index < self.k:
            self.send(src, Messenger(msg.index + 1))

    def on_timer(self, name: str, payload: Any) -> None:
        self.decision = ATTACK if self.expected <= self.received else RETREAT
        self.annotate(decision=self.decision)


def protocol(k: int, seed: int = 1, *, latency: Any = None, deadline_ms: float | None = None) -> Simulation:
    """A simulation of protocol *k*: generals ``A`` (initiator) and ``B`` over one FIFO link.

    Default latency ``Uniform(1, 5)`` ms and deadline ``5 * (k + 2)`` ms, after the longest
    possible loss-free chain.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise allowed("k", k, "an int >= 0 (the number of confirmations)")
    latency = Uniform(1, 5) if latency is None else latency
    sim = Simulation(seed=seed, network=Network(latency=latency, fifo=True))
    deadline = 5.0 * (k + 2) if deadline_ms is None else deadline_ms
    sim.add_node(General("A", peer="B", k=k, initiator=True, deadline_ms=deadline))
    sim.add_node(General("B", peer="A", k=k, initiator=False, deadline_ms=deadline))
    return sim


@dataclass(frozen=True)
class Outcome:
    """One run: which messenger (chain position) was lost, if any, and what each general did."""

    lost: int | None
    decisions: dict[str, str | None]
    trace: Trace

    @property
    def agree(self) -> bool:
        """True if both generals made the same decision."""
        return len(set(self.decisions.values())) == 1


def _decisions(sim: Simulation) -> dict[str, str | None]:
    return {node_id: getattr(node, "decision", None) for node_id, node in sim.nodes.items()}


def run_with_loss(make_sim: Callable[[], Simulation], lost: int | None) -> Outcome:
    """Run ``make_sim()`` to the end, losing the ``lost``-th message sent (``None``: none).

    The loss is injected with the controlled-scheduling API: after the event that sends
    that message, its newly queued deliveries (every copy, if the network duplicated it)
    are dropped (trace reason ``"debugger"``).
    """
    sim = make_sim()
    sends: list[Any] = []
    seen = 0
    while True:
        before = {p.id for p in sim.pending()}
        if sim.step() is None:
            break
        events = sim.trace.events
        start, seen = seen, len(events)
        sends += [e for e in events[start:] if e.kind == "send"]
        if lost is not None and lost < len(sends) and sends[lost].seq >= start:   # sent just now
            target = sends[lost]
            for p in sim.pending():
                if (p.id not in before and p.kind == "deliver" and p.peer == target.node
                        and p.node == target.peer and jsonable(p.msg) == target.data):
                    sim.drop(p.id)
    return Outcome(lost, _decisions(sim), sim.trace)


@dataclass(frozen=True)
class AdversaryResult:
    """The adversary's findings for protocol *k*."""

    k: int
    baseline: Outcome                  # no loss
    single_losses: tuple[Outcome, ...]  # one run per lost messenger, in chain order
    critical: int | None               # the last messenger whose loss causes disagreement

    @property
    def messengers(self) -> int:
        """How many messengers a loss-free run sends."""
        return len(self.single_losses)


def adversary(k: int, seed: int = 1, *, make_sim: Callable[[], Simulation] | None = None) -> AdversaryResult:
    """Find, for protocol *k*, the final messenger whose loss makes the generals disagree.

    Runs the protocol without loss, then once per messenger with just that one lost, from
    the last messenger backwards; ``critical`` is the first (i.e. latest) that breaks
    agreement, or ``None`` if no single loss does. ``make_sim`` replaces the protocol (any
    two-node simulation whose nodes have a ``decision`` attribute).
    """
    build = make_sim or (lambda: protocol(k, seed))
    baseline = run_with_loss(build, None)
    count = sum(1 for e in baseline.trace.events if e.kind == "send")
    losses = tuple(run_with_loss(build, j) for j in range(count))
    critical = next((j for j in reversed(range(count)) if not losses[j].agree), None)
    return AdversaryResult(k, baseline, losses, critical)


def adversary_table(ks: Iterable[int] = range(5), seed: int = 1) -> list[dict[str, Any]]:
    """One row per *k*: messengers sent, the critical messenger and the decisions after its loss."""
    rows = []
    for k in ks:
        r = adversary(k, seed)
        lost = r.single_losses[r.critical] if r.critical is not None else None
        rows.append({"k": k, "messengers": r.messengers, "no loss": r.baseline.decisions,
                     "critical messenger": r.critical,
                     "decisions after its loss": None if lost is None else lost.decisions,
                     "other single losses agree": all(o.agree for j, o in enumerate(r.single_losses)
                                                      if j != r.critical)})
    return rows
