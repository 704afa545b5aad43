"""Logical clocks: Lamport's scalar clock and vector clocks, with the happens-before tests.

* :class:`LamportClock` -- Lamport, "Time, Clocks, and the Ordering of Events in a Distributed
  System", CACM 21(7), 1978, rules IR1 and IR2: tick before every event; on receipt, move past
  the message's timestamp. It satisfies the *clock condition* (a → b ⇒ C(a) < C(b)) but not
  its converse: C(a) < C(b) says nothing about causality.
* :class:`VectorClock` -- Fidge (1988) and Mattern (1989): one counter per node; the stamps
  characterise causality exactly, a → b ⇔ V(a) < V(b), so :func:`happens_before` and
  :func:`concurrent` decide the relation from two stamps alone.

Stamps are plain data: an ``int`` for Lamport, a ``dict`` node id → count for vectors
(missing entries are 0), so they travel in messages and traces unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import allowed

VectorStamp = Mapping[str, int]


class LamportClock:
    """A Lamport clock. ``tick()`` for a local or send event; ``receive(stamp)`` on delivery."""

    def __init__(self, time: int = 0) -> None:
        if isinstance(time, bool) or not isinstance(time, int) or time < 0:
            raise allowed("Lamport time", time, "an int >= 0")
        self.time = time

    def __repr__(self) -> str:
        return f"LamportClock({self.time})"

    def tick(self) -> int:
        """IR1: advance before a local or send event; returns the event's stamp."""
        self.time += 1
        return self.time

    send = tick

    def receive(self, stamp: int) -> int:
        """IR2: on receiving a message stamped ``stamp``, jump past it; returns the receive stamp."""
        if isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < 0:
            raise allowed("Lamport stamp", stamp, "an int >= 0")
        self.time = max(self.time, stamp) + 1
        return self.time


class VectorClock:
    """A vector clock owned by node ``node``. Stamps are dicts; ``stamp`` is the current one."""

    def __init__(self, node: str, nodes: Iterable[str] = ()) -> None:
        if not isinstance(node, str) or not node:
            raise allowed("node id", node, "a non-empty str")
        self.node = node
        self.counts: dict[str, int] = {n: 0 for n in nodes}
        self.counts.setdefault(node, 0)

    def __repr__(self) -> str:
        return f"VectorClock({self.node!r}, {self.counts})"

    @property
    def stamp(self) -> dict[str, int]:
        """A copy of the current vector (safe to put in a message)."""
        return dict(self.counts)

    def tick(self) -> dict[str, int]:
        """A local or send event: increment the own entry; returns the event's stamp."""
        self.counts[self.node] += 1
        return self.stamp

    send = tick

    def receive(self, stamp: VectorStamp) -> dict[str, int]:
        """Merge (pointwise max) the message's vector, then tick; returns the receive stamp."""
        for n, c in _check(stamp).items():
            if c > self.counts.get(n, 0):
                self.counts[n] = c
        return self.tick()


def _check(stamp: object) -> VectorStamp:
    if not isinstance(stamp, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in stamp.items()):
        raise allowed("vector stamp", stamp, "a dict of node id -> int >= 0")
    return stamp


def leq(a: VectorStamp, b: VectorStamp) -> bool:
    """``a ≤ b`` pointwise (missing entries are 0)."""
    return all(v <= b.get(n, 0) for n, v in _check(a).items())


def happens_before(a: VectorStamp, b: VectorStamp) -> bool:
    """``a → b``: ``a ≤ b`` pointwise and ``a ≠ b`` (Mattern 1989)."""
    return leq(a, b) and not leq(_check(b), a)


def concurrent(a: VectorStamp, b: VectorStamp) -> bool:
    """``a ∥ b``: neither happened before the other, and they differ."""
    return not leq(a, b) and not leq(b, a)


def compare(a: VectorStamp, b: VectorStamp) -> str:
    """``"->"`` (a → b), ``"<-"`` (b → a), ``"||"`` (concurrent) or ``"=="`` (the same event)."""
    ab, ba = leq(a, b), leq(b, a)
    return "==" if ab and ba else "->" if ab else "<-" if ba else "||"
