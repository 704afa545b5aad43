"""A circuit breaker with Resilience4j's state machine and parameter names in snake case
(Resilience4j docs, "CircuitBreaker"; ``CircuitBreakerStateMachine``, ``CircuitBreakerMetrics``).

* CLOSED: every call is permitted; outcomes go into a sliding window, COUNT_BASED (the last
  ``sliding_window_size`` calls) or TIME_BASED (the calls of the last ``sliding_window_size``
  seconds, in one-second buckets). Rates are computed only once ``minimum_number_of_calls``
  are recorded (count-based: at most the window size). The breaker opens when the failure rate
  or the slow-call rate (calls longer than ``slow_call_duration_threshold_ms``) is *equal to or
  greater than* its threshold.
* OPEN: calls are rejected (``CallNotPermittedException``) until ``wait_duration_in_open_state_ms``
  has passed; then the next ``try_acquire`` (or, with ``automatic_transition_from_open_to_half_open``,
  the time itself) moves it to HALF_OPEN.
* HALF_OPEN: exactly ``permitted_number_of_calls_in_half_open_state`` calls are let through; once
  all have completed, the breaker closes if both rates are below their thresholds, else reopens.
* DISABLED (always permit, record nothing) and FORCED_OPEN (always reject), set by hand.

No threads, no wall clock: every method takes the virtual time ``now_ms``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from ..errors import allowed

CLOSED, OPEN, HALF_OPEN, DISABLED, FORCED_OPEN = "CLOSED", "OPEN", "HALF_OPEN", "DISABLED", "FORCED_OPEN"
STATES = (CLOSED, OPEN, HALF_OPEN, DISABLED, FORCED_OPEN)
COUNT_BASED, TIME_BASED = "COUNT_BASED", "TIME_BASED"


@dataclass(frozen=True)
class Transition:
    """A state change at ``time_ms``: ``from_state`` -> ``to_state``."""

    time_ms: float
    from_state: str
    to_state: str


class _Window:
    """Outcomes of recent calls: (failed, slow) pairs, count- or time-based."""

    def __init__(self, kind: str, size: int) -> None:
        self.kind, self.size = kind, size
        self.calls: deque[tuple[bool, bool]] = deque()
        self.buckets: dict[int, list[int]] = {}   # epoch second -> [calls, failed, slow]

    def record(self, failed: bool, slow: bool, now_ms: float) -> None:
        if self.kind == COUNT_BASED:
            self.calls.append((failed, slow))
            if len(self.calls) > self.size:
                self.calls.popleft()
        else:
            b = self.buckets.setdefault(int(now_ms // 1000), [0, 0, 0])
            b[0], b[1], b[2] = b[0] + 1, b[1] + failed, b[2] + slow

    def totals(self, now_ms: float) -> tuple[int, int, int]:
        if self.kind == COUNT_BASED:
            return len(self.calls), sum(f for f, _ in self.calls), sum(s for _, s in self.calls)
        now_s = int(now_ms // 1000)
        for sec in [s for s in self.buckets if s <= now_s - self.size]:
            del self.buckets[sec]
        vals = list(self.buckets.values())
        return sum(v[0] for v in vals), sum(v[1] for v in vals), sum(v[2] for v in vals)


def _number(what: str, v: Any, low: float, high: float | None = None, integer: bool = False) -> Any:
    ok = not isinstance(v, bool) and isinstance(v, int if integer else (int, float))
    if not ok or v < low or (high is not None and v > high):
        kind = "an int" if integer else "a number"
        raise allowed(what, v, f"{kind} >= {low}" + (f" and <= {high}" if high is not None else ""))
    return v


class CircuitBreaker:
    """Resilience4j's breaker; defaults are Resilience4j's (``CircuitBreakerConfig.ofDefaults()``)."""

    def __init__(self, name: str = "default", *, failure_rate_threshold: float = 50.0,
                 slow_call_rate_threshold: float = 100.0, slow_call_duration_threshold_ms: float = 60_000,
                 sliding_window_type: str = COUNT_BASED, sliding_window_size: int = 100,
                 minimum_number_of_calls: int = 100, wait_duration_in_open_state_ms: float = 60_000,
                 permitted_number_of_calls_in_half_open_state: int = 10,
                 automatic_transition_from_open_to_half_open: bool = False) -> None:
        self.name = name
        self.failure_rate_threshold = _number("failure_rate_threshold", failure_rate_threshold, 1e-9, 100)
        self.slow_call_rate_threshold = _number("slow_call_rate_threshold", slow_call_rate_threshold, 1e-9, 100)
        self.slow_call_duration_threshold_ms = _number("slow_call_duration_threshold_ms",
                                                       slow_call_duration_threshold_ms, 1)
        if sliding_window_type not in (COUNT_BASED, TIME_BASED):
            raise allowed("sliding_window_type", sliding_window_type, "COUNT_BASED or TIME_BASED")
        self.sliding_window_type = sliding_window_type
        self.sliding_window_size = _number("sliding_window_size", sliding_window_size, 1, integer=True)
        self.minimum_number_of_calls = _number("minimum_number_of_calls", minimum_number_of_calls, 1, integer=True)
        self.wait_duration_in_open_state_ms = _number("wait_duration_in_open_state_ms",
                                                      wait_duration_in_open_state_ms, 1)
        self.permitted_number_of_calls_in_half_open_state = _number(
            "permitted_number_of_calls_in_half_open_state", permitted_number_of_calls_in_half_open_state, 1,
            integer=True)
        self.automatic_transition_from_open_to_half_open = bool(automatic_transition_from_open_to_half_open)
        self.transitions: list[Transition] = []
        self.not_permitted = 0
        self.state: str = CLOSED
        self.opened_at = 0.0
        self.window = _Window(sliding_window_type, sliding_window_size)
        self.min_calls = 0
        self.half_open_permits = 0
        self._enter(CLOSED, 0.0, record=False)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state}>"

    # -- state --------------------------------------------------------------------------------
    def _enter(self, state: str, now_ms: float, record: bool = True) -> None:
        if record:
            self.transitions.append(Transition(now_ms, self.state, state))
        self.state = state
        self.opened_at = now_ms
        if state == CLOSED:
            self.window = _Window(self.sliding_window_type, self.sliding_window_size)
            self.min_calls = (min(self.minimum_number_of_calls, self.sliding_window_size)
                              if self.sliding_window_type == COUNT_BASED else self.minimum_number_of_calls)
        elif state == HALF_OPEN:
            n = self.permitted_number_of_calls_in_half_open_state
            self.window = _Window(COUNT_BASED, n)
            self.min_calls = n
            self.half_open_permits = n

    def transition_to_disabled(self, now_ms: float = 0.0) -> None:
        self._enter(DISABLED, now_ms)

    def transition_to_forced_open(self, now_ms: float = 0.0) -> None:
        self._enter(FORCED_OPEN, now_ms)

    def transition_to_closed(self, now_ms: float = 0.0) -> None:
        self._enter(CLOSED, now_ms)

    def tick(self, now_ms: float) -> str:
        """The state at ``now_ms``: with automatic transition, OPEN becomes HALF_OPEN on its own."""
        if (self.state == OPEN and self.automatic_transition_from_open_to_half_open
                and now_ms >= self.opened_at + self.wait_duration_in_open_state_ms):
            self._enter(HALF_OPEN, self.opened_at + self.wait_duration_in_open_state_ms)
        return self.state

    def try_acquire(self, now_ms: float) -> bool:
        """``tryAcquirePermission``: may a call start now? (A False is a ``CallNotPermittedException``.)"""
        self.tick(now_ms)
        if self.state == OPEN and now_ms > self.opened_at + self.wait_duration_in_open_state_ms:
            self._enter(HALF_OPEN, now_ms)
        if self.state in (CLOSED, DISABLED):
            return True
        if self.state == HALF_OPEN and self.half_open_permits > 0:
            self.half_open_permits -= 1
            return True
        self.not_permitted += 1
        return False

    # -- outcomes -----------------------------------------------------------------------------
    def on_success(self, duration_ms: float, now_ms: float) -> None:
        self._record(False, duration_ms, now_ms)

    def on_error(self, duration_ms: float, now_ms: float) -> None:
        self._record(True, duration_ms, now_ms)

    def _record(self, failed: bool, duration_ms: float, now_ms: float) -> None:
        if self.state in (DISABLED, FORCED_OPEN):
            return
        self.window.record(failed, duration_ms > self.slow_call_duration_threshold_ms, now_ms)
        if self.state == OPEN:   # a call admitted before the breaker opened: recorded, no transition
            return
        failure, slow = self.rates(now_ms)
        if failure < 0:
            return
        above = failure >= self.failure_rate_threshold or slow >= self.slow_call_rate_threshold
        if above:
            self._enter(OPEN, now_ms)
        elif self.state == HALF_OPEN:
            self._enter(CLOSED, now_ms)

    def rates(self, now_ms: float) -> tuple[float, float]:
        """(failure rate %, slow-call rate %) of the window, or (-1, -1) below the minimum calls."""
        calls, failed, slow = self.window.totals(now_ms)
        if calls < self.min_calls or calls == 0:
            return -1.0, -1.0
        return failed * 100.0 / calls, slow * 100.0 / calls
