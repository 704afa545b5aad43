"""Retry policies for proposers that fail to get a value chosen (Lamport 2001, §2.4).

Two proposers that keep pre-empting each other can prevent progress forever (dueling
proposers, a livelock). §2.4's cure is a distinguished proposer; FLP means it must be
chosen with timeouts or randomness. The policies:

* ``"none"``   -- retry at once with a higher ballot (the livelock-prone baseline);
* ``"fixed"``  -- wait the same fixed delay every time (symmetric: it does not break ties);
* ``"random"`` -- randomized exponential backoff: wait ``U(0, min(cap, base * 2**k))`` ms
  after the k-th failure, drawn from the proposer's own stream (breaks symmetry);
* ``"leader"`` -- only the proposer that believes it is the leader proposes (§2.4): the
  live proposer with the smallest id, detected with heartbeats and a timeout;
* ``"custom"`` -- ``custom(failures, u)`` ms, with ``u`` a uniform draw from the proposer's
  stream (for exercise E5.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import allowed

POLICIES = ("none", "fixed", "random", "leader")
CUSTOM = "custom"


@dataclass(frozen=True)
class Backoff:
    """A retry policy (see module docstring); times in ms."""

    policy: str = "none"
    fixed_ms: float = 10.0
    base_ms: float = 5.0
    cap_ms: float = 200.0
    custom: Callable[[int, float], float] | None = None

    def __post_init__(self) -> None:
        if self.policy not in (*POLICIES, CUSTOM):
            raise allowed("backoff", self.policy, f"one of {', '.join(POLICIES)} or {CUSTOM}")
        if (self.policy == CUSTOM) != callable(self.custom):
            raise allowed("custom", self.custom, "a function (failures, u) -> ms exactly when policy='custom'")
        for name in ("fixed_ms", "base_ms", "cap_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise allowed(name, value, "a number of ms >= 0")

    def delay(self, failures: int, rng: np.random.Generator) -> float:
        """The wait in ms before the next attempt after ``failures`` failed ones."""
        if self.custom is not None:
            wait = self.custom(failures, float(rng.random()))
            if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < 1e9:
                raise allowed("custom backoff delay", wait, "a number of ms >= 0")
            return float(wait)
        if self.policy == "fixed":
            return self.fixed_ms
        if self.policy == "random":
            window = min(self.cap_ms, self.base_ms * 2 ** min(failures, 30))
            return float(rng.random()) * window
        return 0.0


def as_backoff(value: Backoff | str) -> Backoff:
    """A :class:`Backoff` from itself or a policy name."""
    if isinstance(value, Backoff):
        return value
    if isinstance(value, str):
        return Backoff(value)
    raise allowed("backoff", value, f"a Backoff or one of {', '.join(POLICIES)}")
