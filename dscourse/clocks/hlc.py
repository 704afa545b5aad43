"""Hybrid logical clocks (Kulkarni, Demirbas, Madappa, Avva, Leone, "Logical Physical Clocks",
OPODIS 2014; the technical report "Logical Physical Clocks and Consistent Snapshots in Globally
Distributed Databases", 2014, the HLC algorithm).

A timestamp is ``(l, c)``: ``l`` the largest physical time the node has heard of, ``c`` a
counter that orders events sharing the same ``l``. Compared lexicographically, stamps respect
happens-before like Lamport's (e → f ⇒ (l, c).e < (l, c).f), while ``l`` stays close to
physical time: if every two physical clocks differ by at most ε, then ``l − pt ≤ ε`` at every
event, and if each node's physical clock advances at least one tick between its events then
``c < N·(ε + 1)`` for N nodes (the paper's bounds). CockroachDB and YugabyteDB use HLCs.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import allowed


class HLCStamp(NamedTuple):
    """An HLC timestamp; tuples compare lexicographically, which is the HLC order."""

    l: int  # noqa: E741 - the paper's name
    c: int


def _int(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise allowed(what, value, "an int (physical time in clock ticks)")
    return value


class HLC:
    """One node's hybrid logical clock. Pass the node's physical clock reading ``pt`` (int
    ticks, e.g. whole ms of ``Node.clock()``) to each call."""

    def __init__(self) -> None:
        self.l = 0
        self.c = 0

    def __repr__(self) -> str:
        return f"HLC(l={self.l}, c={self.c})"

    @property
    def stamp(self) -> HLCStamp:
        return HLCStamp(self.l, self.c)

    def local(self, pt: int) -> HLCStamp:
        """A send or local event at physical time ``pt`` (the first rule)."""
        pt = _int("pt", pt)
        old = self.l
        self.l = max(old, pt)
        self.c = self.c + 1 if self.l == old else 0
        return self.stamp

    send = local

    def receive(self, msg: tuple[int, int], pt: int) -> HLCStamp:
        """Receipt of a message stamped ``msg = (l, c)`` at physical time ``pt`` (second rule)."""
        pt = _int("pt", pt)
        if not isinstance(msg, tuple) or len(msg) != 2:
            raise allowed("HLC message stamp", msg, "a pair (l, c) of ints")
        ml, mc = _int("message l", msg[0]), _int("message c", msg[1])
        old = self.l
        self.l = max(old, ml, pt)
        if self.l == old == ml:
            self.c = max(self.c, mc) + 1
        elif self.l == old:
            self.c += 1
        elif self.l == ml:
            self.c = mc + 1
        else:
            self.c = 0
        return self.stamp
