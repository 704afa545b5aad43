"""Injectable clocks: every time-based generator reads one of these, never the wall clock.

A clock answers ``ms()`` (integer milliseconds on its own, possibly wrong, timeline) and
``sleep(ms)``. :class:`FakeClock` is a settable clock whose ``sleep`` just advances it, so a
generator that "waits for the next millisecond" runs instantly and deterministically.
:class:`NodeClock` reads a simulated node's clock (``Node.clock()``, moved by the nemesis's
``clock_jump``); it cannot sleep, so generators on simulation nodes use the step API
(``Snowflake.next_at``) and set a timer instead. :class:`WallClock` is the explicit
production option and is never used by the library's deterministic paths.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from ..errors import allowed


@runtime_checkable
class Clock(Protocol):
    """What a time-based generator needs from a clock."""

    def ms(self) -> int:
        """The current reading in integer milliseconds since the Unix epoch."""

    def sleep(self, ms: int) -> None:
        """Block for ``ms`` milliseconds (a fake clock just advances)."""


def _int_ms(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise allowed(what, value, "an int number of milliseconds")
    return value


class FakeClock:
    """A settable clock in integer ms: ``advance``, ``step_back`` (an NTP step) or ``set``.

    ``sleep(ms)`` advances the clock, so waiting costs no wall time. ``sleeps`` records the
    total time slept, which the clock-rollback drill reports.
    """

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = _int_ms("start_ms", start_ms)
        self.slept = 0

    def ms(self) -> int:
        return self._now

    def sleep(self, ms: int) -> None:
        ms = _int_ms("sleep ms", ms)
        if ms < 0:
            raise allowed("sleep ms", ms, "a duration >= 0")
        self._now += ms
        self.slept += ms

    def advance(self, ms: int = 1) -> int:
        """Move forward by ``ms`` (>= 0); returns the new reading."""
        ms = _int_ms("advance ms", ms)
        if ms < 0:
            raise allowed("advance ms", ms, "a duration >= 0 (use step_back to go back)")
        self._now += ms
        return self._now

    def step_back(self, ms: int) -> int:
        """Jump back by ``ms`` (> 0), like an NTP step correction; returns the new reading."""
        ms = _int_ms("step_back ms", ms)
        if ms <= 0:
            raise allowed("step_back ms", ms, "a duration > 0")
        self._now -= ms
        return self._now

    def set(self, ms: int) -> None:
        """Set the reading to ``ms`` exactly."""
        self._now = _int_ms("clock ms", ms)

    def __repr__(self) -> str:
        return f"FakeClock({self._now})"


class NodeClock:
    """The clock of a simulated node: ``epoch_ms`` plus the node's local clock (virtual ms).

    Reading it follows the simulation (including ``clock_jump`` faults). It cannot sleep:
    on a simulation node, wait with a timer (see ``Snowflake.next_at``).
    """

    def __init__(self, node: Any, epoch_ms: int = 1_700_000_000_000) -> None:
        self.node = node
        self.epoch_ms = _int_ms("epoch_ms", epoch_ms)

    def ms(self) -> int:
        return self.epoch_ms + int(self.node.clock() // 1)

    def sleep(self, ms: int) -> None:
        raise allowed("NodeClock.sleep", ms, "no sleeping inside a simulation: set a timer and "
                      "retry with next_at()")


class WallClock:
    """The machine's real clock, for production-like use only (explicit opt-in)."""

    def ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep(self, ms: int) -> None:
        time.sleep(ms / 1000)


def valid_clock(clock: object) -> Clock:
    """Return ``clock`` if it has ``ms()`` and ``sleep()``, else raise a ConfigError."""
    if not isinstance(clock, Clock):
        raise allowed("clock", clock, "an object with ms() and sleep(ms), e.g. "
                      "ds.ids.FakeClock() or ds.ids.NodeClock(node)")
    return clock
