"""RedisRateLimiter runs Spring Cloud Gateway's Lua token bucket on ds.redis: its decisions match
the script's arithmetic (Lua numbers stored as %.14g strings, replies truncated to integers),
bursts and refills, requested_tokens > 1, per-key isolation, headers, fail-open; the comparison
limiters' window semantics."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.gateway import (
    FixedWindowLimiter,
    LeakyBucketLimiter,
    RedisRateLimiter,
    SlidingWindowCounterLimiter,
    SlidingWindowLogLimiter,
    redis_keys,
)


class ScriptReference:
    """request_rate_limiter.lua's arithmetic, written out independently in Python."""

    def __init__(self, rate, capacity, requested):
        self.rate, self.capacity, self.requested = rate, capacity, requested
        self.state = {}

    def __call__(self, key, now_s):
        ttl = math.floor(self.capacity / self.rate * 2)
        last_tokens, last_refreshed = self.state.get(key, (self.capacity, 0.0))
        delta = max(0.0, now_s - last_refreshed)
        filled = min(self.capacity, last_tokens + delta * self.rate)
        allowed = filled >= self.requested
        new = filled - self.requested if allowed else filled
        if ttl > 0:   # SETEX stores Lua's tostring: 14 significant digits
            self.state[key] = (float(f"{new:.14g}"), float(f"{now_s:.14g}"))
        return allowed, math.trunc(new)


def test_burst_then_refill_sequence():
    lim = RedisRateLimiter(replenish_rate=2, burst_capacity=4)
    got = [lim.is_allowed("u", t).allowed for t in (0, 0, 0, 0, 0, 250, 500, 500, 2000)]
    assert got == [True, True, True, True, False, False, True, False, True]


def test_requested_tokens_and_over_capacity():
    lim = RedisRateLimiter(replenish_rate=1, burst_capacity=5, requested_tokens=3)
    assert [lim.is_allowed("k", 0).allowed for _ in range(2)] == [True, False]
    d = lim.is_allowed("k", 1000)   # 2 + 1 = 3 tokens: enough for one request of 3
    assert d.allowed and d.tokens_left == 0
    with pytest.raises(ValueError, match="burst_capacity"):
        RedisRateLimiter(replenish_rate=10, burst_capacity=5)
    never = RedisRateLimiter(1, 2, requested_tokens=3)
    assert not any(never.is_allowed("x", t * 10_000).allowed for t in range(5))


def test_keys_isolated_and_headers():
    lim = RedisRateLimiter(1, 1)
    assert lim.is_allowed("alice", 0).allowed and lim.is_allowed("bob", 0).allowed
    d = lim.is_allowed("alice", 0)
    assert not d.allowed
    assert dict(d.headers) == {"X-RateLimit-Remaining": "0", "X-RateLimit-Replenish-Rate": "1",
                               "X-RateLimit-Burst-Capacity": "1", "X-RateLimit-Requested-Tokens": "1"}
    assert redis_keys("alice") == ("request_rate_limiter.{alice}.tokens", "request_rate_limiter.{alice}.timestamp")
    assert lim.redis.get(redis_keys("alice")[0]) == "0"


def test_fail_open_when_redis_is_down():
    sim = ds.sim.Simulation(3)
    sim.add_node(ds.redis.RedisServer("r", persistence="none"))
    lim = RedisRateLimiter(1, 1, redis=ds.redis.client(sim, "r", decode_responses=True))
    assert lim.is_allowed("u", 0).allowed and not lim.is_allowed("u", 0).allowed
    sim.crash("r")
    d = lim.is_allowed("u", 0)
    assert d.allowed and d.tokens_left == -1   # RedisRateLimiter lets traffic through on a Redis error


@settings(max_examples=40, deadline=None)
@given(rate=st.integers(1, 5), extra=st.integers(0, 5), requested=st.integers(1, 4),
       arrivals=st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 1500)), max_size=60))
def test_matches_script_arithmetic(rate, extra, requested, arrivals):
    lim = RedisRateLimiter(rate, rate + extra, requested)
    ref = ScriptReference(rate, rate + extra, requested)
    now = 0
    for key, gap in arrivals:
        now += gap
        d = lim.is_allowed(key, now)
        assert (d.allowed, d.tokens_left) == ref(key, now / 1000.0)


@settings(max_examples=30, deadline=None)
@given(rate=st.integers(1, 4), cap=st.integers(0, 4), gaps=st.lists(st.integers(0, 400), min_size=1, max_size=80))
def test_admitted_never_exceeds_capacity_plus_refill(rate, cap, gaps):
    lim = RedisRateLimiter(rate, rate + cap)
    times, now = [], 0
    for g in gaps:
        now += g
        if lim.is_allowed("k", now).allowed:
            times.append(now)
    for i, t0 in enumerate(times):   # in any interval [t0, t1]: at most burst + rate * (t1 - t0) admitted
        for j in range(i, len(times)):
            assert j - i + 1 <= rate + cap + rate * (times[j] - t0) / 1000 + 1e-9


def test_fixed_window_admits_double_at_the_edge_but_sliding_log_does_not():
    fixed, log = FixedWindowLimiter(5, 1000), SlidingWindowLogLimiter(5, 1000)
    times = [990 + i for i in range(5)] + [1000 + i for i in range(5)]   # 10 requests within 15 ms
    assert sum(fixed.is_allowed("k", t).allowed for t in times) == 10
    assert sum(log.is_allowed("k", t).allowed for t in times) == 5


def test_leaky_bucket_meters_at_leak_rate():
    lb = LeakyBucketLimiter(leak_rate=10, capacity=2)
    assert [lb.is_allowed("k", 0).allowed for _ in range(3)] == [True, True, False]
    assert lb.is_allowed("k", 100).allowed and not lb.is_allowed("k", 100).allowed
    with pytest.raises(ValueError, match="leak_rate"):
        LeakyBucketLimiter(0, 1)


def test_sliding_counter_blends_the_previous_window():
    lim = SlidingWindowCounterLimiter(10, 1000)
    assert sum(lim.is_allowed("k", 900).allowed for _ in range(12)) == 10
    assert lim.estimate("k", 1250) == pytest.approx(7.5)   # 10 * 0.75 still overlapping
    assert sum(lim.is_allowed("k", 1250).allowed for _ in range(5)) == 2
    assert sum(lim.is_allowed("k", 3500).allowed for _ in range(20)) == 10   # windows 1 and 2 are gone


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(1, 8), gaps=st.lists(st.integers(0, 300), max_size=80))
def test_sliding_counter_admits_at_most_twice_the_limit_in_any_window(limit, gaps):
    lim, now, admitted = SlidingWindowCounterLimiter(limit, 1000), 0, []
    for g in gaps:
        now += g
        if lim.is_allowed("k", now).allowed:
            admitted.append(now)
    for t0 in admitted:
        assert sum(1 for t in admitted if t0 <= t < t0 + 1000) <= 2 * limit
    for w in {t // 1000 for t in admitted}:   # and at most the limit inside one aligned window
        assert sum(1 for t in admitted if t // 1000 == w) <= limit
