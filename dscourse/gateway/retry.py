"""Retries that do not become a retry storm: exponential backoff with jitter, and a retry budget
(AWS Architecture Blog, "Exponential Backoff and Jitter", 2015; Envoy's and Finagle's retry
budgets: retries may add at most a fixed fraction of the requests).

:func:`backoff_ms` gives the wait before retry ``n`` (full jitter: uniform in ``[0, min(cap,
base * 2**n))``). :class:`RetryBudget` is a token bucket of retries: each first attempt deposits
``ratio`` tokens (at most ``max_tokens``), each retry spends one, so retries never exceed
``ratio`` of the traffic plus the initial reserve. :func:`amplification` measures how many
upstream attempts each client request causes when the upstream fails with probability ``p``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import allowed
from ..notebook import default_seed
from ..sim import stream


def backoff_ms(n: int, base_ms: float, cap_ms: float, rng: np.random.Generator | None = None) -> float:
    """The wait before retry ``n`` (0-based): ``min(cap, base * 2**n)``, times a uniform draw with ``rng``."""
    if n < 0 or base_ms <= 0 or cap_ms < base_ms:
        raise allowed("backoff", (n, base_ms, cap_ms), "n >= 0, base_ms > 0, cap_ms >= base_ms")
    ceiling = min(cap_ms, base_ms * 2.0 ** n)
    return ceiling if rng is None else float(rng.uniform(0, ceiling))


class RetryBudget:
    """Retries limited to ``ratio`` of first attempts (plus ``min_retries`` in reserve)."""

    def __init__(self, ratio: float = 0.1, min_retries: int = 10) -> None:
        if not 0 <= ratio <= 1:
            raise allowed("ratio", ratio, "a fraction from 0 to 1")
        if min_retries < 0:
            raise allowed("min_retries", min_retries, "an int >= 0")
        self.ratio, self.tokens, self.max_tokens = ratio, float(min_retries), float(min_retries) + 100 * ratio

    def on_request(self) -> None:
        self.tokens = min(self.max_tokens, self.tokens + self.ratio)

    def try_retry(self) -> bool:
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class Amplification:
    requests: int
    attempts: int
    succeeded: int

    @property
    def factor(self) -> float:
        return self.attempts / self.requests


def amplification(p_fail: float, retries: int = 3, budget: RetryBudget | None = None, requests: int = 10_000,
                  layers: int = 1, seed: int | None = None) -> Amplification:
    """Attempts reaching the upstream per client request, through ``layers`` services that each
    retry up to ``retries`` times (retries multiply across layers: up to ``(retries+1)**layers``)."""
    rng = stream(default_seed(seed), "gateway:retry-storm")

    def call(layer: int) -> tuple[bool, int]:
        attempts, tries = 0, 0
        while True:
            if layer == layers:
                attempts += 1
                ok = bool(rng.random() >= p_fail)
            else:
                ok, n = call(layer + 1)
                attempts += n
            if ok or tries >= retries or (budget is not None and not budget.try_retry()):
                return ok, attempts
            tries += 1

    total = good = 0
    for _ in range(requests):
        if budget is not None:
            budget.on_request()
        ok, n = call(1)
        total, good = total + n, good + ok
    return Amplification(requests, total, good)
