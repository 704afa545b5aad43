"""Rate limiters: Spring Cloud Gateway's ``RedisRateLimiter`` running its own token-bucket Lua
script on ``ds.redis`` (``ds.redis.SCG_RATE_LIMITER``, unchanged), and for comparison a fixed
window, a sliding-window log, a sliding-window counter and a leaky bucket (as a meter).

Every limiter is ``is_allowed(key, now_ms) -> Decision``. ``RedisRateLimiter`` follows
``org.springframework.cloud.gateway.filter.ratelimit.RedisRateLimiter``: keys
``request_rate_limiter.{<key>}.tokens`` and ``.timestamp``, arguments (replenish rate per
second, burst capacity, now in seconds, requested tokens), and the ``X-RateLimit-*`` headers;
when Redis is unreachable it lets the request through with remaining ``-1`` (fail open).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from .. import redis as ds_redis
from ..errors import allowed
from ..sim import Simulation

REMAINING_HEADER = "X-RateLimit-Remaining"
REPLENISH_RATE_HEADER = "X-RateLimit-Replenish-Rate"
BURST_CAPACITY_HEADER = "X-RateLimit-Burst-Capacity"
REQUESTED_TOKENS_HEADER = "X-RateLimit-Requested-Tokens"


@dataclass(frozen=True)
class Decision:
    """A limiter's answer: ``allowed``, ``tokens_left`` (-1 when unknown) and response headers."""

    allowed: bool
    tokens_left: float
    headers: tuple[tuple[str, str], ...] = ()


def _positive_int(what: str, v: Any, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise allowed(what, v, f"an int >= {low}")
    return v


def redis_keys(key: str) -> tuple[str, str]:
    """``RedisRateLimiter.getKeys``: a hash tag around the key keeps both in one cluster slot."""
    prefix = "request_rate_limiter.{" + key
    return prefix + "}.tokens", prefix + "}.timestamp"


class RedisRateLimiter:
    """``RedisRateLimiter(replenish_rate, burst_capacity, requested_tokens=1)`` on ``redis``
    (a redis-py-compatible client: ``ds.redis.client(sim, id)`` or a real ``redis.Redis``);
    without one it starts its own ``ds.redis`` server on a private simulation."""

    def __init__(self, replenish_rate: int, burst_capacity: int, requested_tokens: int = 1,
                 redis: Any = None, include_headers: bool = True) -> None:
        self.replenish_rate = _positive_int("replenish_rate", replenish_rate)
        self.burst_capacity = _positive_int("burst_capacity", burst_capacity)
        self.requested_tokens = _positive_int("requested_tokens", requested_tokens)
        if self.burst_capacity < self.replenish_rate:
            # SCG's validation: "BurstCapacity must be greater than or equal to replenishRate"
            raise allowed("burst_capacity", burst_capacity, f"an int >= replenish_rate ({replenish_rate})")
        if redis is None:
            sim = Simulation(0)
            sim.add_node(ds_redis.RedisServer("redis", persistence="none"))
            redis = ds_redis.client(sim, "redis", decode_responses=True)
        self.redis = redis
        self.include_headers = include_headers
        self.calls = 0

    def __repr__(self) -> str:
        return (f"RedisRateLimiter(replenish_rate={self.replenish_rate}, burst_capacity={self.burst_capacity}, "
                f"requested_tokens={self.requested_tokens})")

    def headers(self, tokens_left: float) -> tuple[tuple[str, str], ...]:
        if not self.include_headers:
            return ()
        return ((REMAINING_HEADER, str(int(tokens_left))), (REPLENISH_RATE_HEADER, str(self.replenish_rate)),
                (BURST_CAPACITY_HEADER, str(self.burst_capacity)),
                (REQUESTED_TOKENS_HEADER, str(self.requested_tokens)))

    def is_allowed(self, key: str, now_ms: float) -> Decision:
        """Run the script for ``key`` at virtual ``now_ms`` (passed as seconds, ``ARGV[3]``)."""
        self.calls += 1
        tokens, stamp = redis_keys(key)
        try:
            reply = self.redis.eval(ds_redis.SCG_RATE_LIMITER, 2, tokens, stamp, self.replenish_rate,
                                    self.burst_capacity, now_ms / 1000.0, self.requested_tokens)
        except ConnectionError:
            return Decision(True, -1, self.headers(-1))
        ok, left = int(reply[0]), int(reply[1])
        return Decision(bool(ok), left, self.headers(left))


class FixedWindowLimiter:
    """At most ``limit`` requests per key in each aligned window of ``window_ms`` (the burst at a
    window edge: up to ``2 * limit`` in ``window_ms`` straddling the boundary)."""

    def __init__(self, limit: int, window_ms: float = 1000.0) -> None:
        self.limit = _positive_int("limit", limit)
        if not window_ms > 0:
            raise allowed("window_ms", window_ms, "a positive number of ms")
        self.window_ms = window_ms
        self.counts: dict[tuple[str, int], int] = {}

    def is_allowed(self, key: str, now_ms: float) -> Decision:
        w = int(now_ms // self.window_ms)
        n = self.counts.get((key, w), 0)
        if n >= self.limit:
            return Decision(False, 0)
        self.counts[(key, w)] = n + 1
        return Decision(True, self.limit - n - 1)


class SlidingWindowLogLimiter:
    """At most ``limit`` admitted requests per key in any window ``(now - window_ms, now]``."""

    def __init__(self, limit: int, window_ms: float = 1000.0) -> None:
        self.limit = _positive_int("limit", limit)
        if not window_ms > 0:
            raise allowed("window_ms", window_ms, "a positive number of ms")
        self.window_ms = window_ms
        self.logs: dict[str, deque[float]] = {}

    def is_allowed(self, key: str, now_ms: float) -> Decision:
        log = self.logs.setdefault(key, deque())
        while log and log[0] <= now_ms - self.window_ms:
            log.popleft()
        if len(log) >= self.limit:
            return Decision(False, 0)
        log.append(now_ms)
        return Decision(True, self.limit - len(log))


class SlidingWindowCounterLimiter:
    """Two fixed-window counters blended: the estimate at ``now`` is the current window's count
    plus the previous window's count weighted by how much of it still overlaps
    ``(now - window_ms, now]``; admit while the estimate is below ``limit``."""

    def __init__(self, limit: int, window_ms: float = 1000.0) -> None:
        self.limit = _positive_int("limit", limit)
        if not window_ms > 0:
            raise allowed("window_ms", window_ms, "a positive number of ms")
        self.window_ms = window_ms
        self.counts: dict[tuple[str, int], int] = {}

    def estimate(self, key: str, now_ms: float) -> float:
        w = int(now_ms // self.window_ms)
        overlap = 1.0 - (now_ms - w * self.window_ms) / self.window_ms
        return self.counts.get((key, w), 0) + self.counts.get((key, w - 1), 0) * overlap

    def is_allowed(self, key: str, now_ms: float) -> Decision:
        est = self.estimate(key, now_ms)
        if est + 1 > self.limit:
            return Decision(False, 0)
        w = int(now_ms // self.window_ms)
        self.counts[(key, w)] = self.counts.get((key, w), 0) + 1
        return Decision(True, int(self.limit - est - 1))


class LeakyBucketLimiter:
    """A leaky bucket as a meter: each request adds one unit to a bucket of ``capacity`` that
    drains at ``leak_rate`` per second; a request that would overflow it is rejected."""

    def __init__(self, leak_rate: float, capacity: int) -> None:
        if isinstance(leak_rate, bool) or not isinstance(leak_rate, (int, float)) or not leak_rate > 0:
            raise allowed("leak_rate", leak_rate, "a positive number per second")
        self.leak_rate, self.capacity = float(leak_rate), _positive_int("capacity", capacity)
        self.level: dict[str, tuple[float, float]] = {}

    def is_allowed(self, key: str, now_ms: float) -> Decision:
        level, at = self.level.get(key, (0.0, now_ms))
        level = max(0.0, level - (now_ms - at) / 1000.0 * self.leak_rate)
        if level + 1 > self.capacity:
            self.level[key] = (level, now_ms)
            return Decision(False, 0)
        self.level[key] = (level + 1, now_ms)
        return Decision(True, int(self.capacity - level - 1))


LIMITERS = {"redis": RedisRateLimiter, "fixed_window": FixedWindowLimiter,
            "sliding_log": SlidingWindowLogLimiter, "sliding_counter": SlidingWindowCounterLimiter,
            "leaky_bucket": LeakyBucketLimiter}
