"""A TrueTime-style interval clock and commit wait (Corbett et al., "Spanner: Google's
Globally-Distributed Database", OSDI 2012: TrueTime and commit wait).

``TT.now()`` returns an interval ``[earliest, latest]`` guaranteed to contain true time,
given a bound ε on the clock's error. A transaction takes commit timestamp
``s = TT.now().latest`` and *waits* until ``TT.after(s)`` (true time has certainly passed ``s``)
before making its writes visible. Then any transaction that starts after the commit is visible,
on any node, gets a larger timestamp: timestamps respect real-time order (external
consistency), at the price of about 2ε of waiting per commit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import allowed


@dataclass(frozen=True)
class TTInterval:
    earliest: float
    latest: float


class TrueTime:
    """An interval clock over ``clock`` (a function returning local ms, e.g. ``node.clock``)
    whose error is at most ``epsilon_ms``."""

    def __init__(self, clock: Callable[[], float], epsilon_ms: float) -> None:
        if not callable(clock):
            raise allowed("clock", clock, "a function returning the local time in ms")
        if isinstance(epsilon_ms, bool) or not isinstance(epsilon_ms, (int, float)) \
                or not math.isfinite(epsilon_ms) or epsilon_ms < 0:
            raise allowed("epsilon_ms", epsilon_ms, "a number of ms >= 0")
        self.clock, self.epsilon = clock, float(epsilon_ms)

    def now(self) -> TTInterval:
        t = self.clock()
        return TTInterval(t - self.epsilon, t + self.epsilon)

    def after(self, t: float) -> bool:
        """True time has certainly passed ``t``."""
        return self.now().earliest > t

    def before(self, t: float) -> bool:
        """True time has certainly not reached ``t``."""
        return self.now().latest < t


@dataclass(frozen=True)
class CommitOrder:
    """Two transactions: T1 commits on node a, T2 starts on node b once T1 is visible."""

    s1: float            # T1's commit timestamp
    visible_at: float    # true time T1's writes became visible
    s2: float            # T2's timestamp
    waited_ms: float

    @property
    def externally_consistent(self) -> bool:
        return self.s2 > self.s1


def commit_order(offset_a_ms: float, offset_b_ms: float, epsilon_ms: float, *,
                 commit_wait: bool = True, start_ms: float = 100.0) -> CommitOrder:
    """T1 on node a (clock offset ``offset_a_ms``) takes ``s1 = TT.now().latest`` at true time
    ``start_ms`` and, with ``commit_wait``, waits until ``TT.after(s1)``; T2 starts on node b
    (offset ``offset_b_ms``) the moment T1 is visible and takes ``s2 = TT.now().latest``.
    Offsets must lie within ±ε for TrueTime's guarantee (otherwise the demo shows it failing)."""
    true = [float(start_ms)]
    tt_a = TrueTime(lambda: true[0] + offset_a_ms, epsilon_ms)
    tt_b = TrueTime(lambda: true[0] + offset_b_ms, epsilon_ms)
    s1 = tt_a.now().latest
    waited = 0.0
    if commit_wait:
        # the wait ends when earliest > s1, i.e. after s1 - earliest(now) of true time (+1 µs)
        waited = max(0.0, s1 - tt_a.now().earliest + 0.001)
        true[0] += waited
    visible = true[0]
    return CommitOrder(s1, visible, tt_b.now().latest, waited)
