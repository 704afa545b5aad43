"""Chapter 13's seeded experiments: load through a rate limiter, a breaker in front of a
failing upstream, a weighted canary. Pure functions of their arguments and seed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..notebook import default_seed
from ..sim import stream
from .exchange import Request, Response
from .gateway import Backend, Gateway
from .ratelimit import LIMITERS


def poisson_arrivals(rate_per_s: float, duration_ms: float, seed: int, name: str = "gateway:load",
                     burst: tuple[float, float, float] | None = None) -> list[float]:
    """Arrival times (ms) of a Poisson process; ``burst=(start, end, rate)`` raises the rate there."""
    rng, t = stream(seed, name), 0.0
    out: list[float] = []
    while True:
        r = burst[2] if burst and burst[0] <= t < burst[1] else rate_per_s
        t += float(rng.exponential(1000.0 / r))
        if t >= duration_ms:
            return out
        out.append(round(t, 3))


@dataclass(frozen=True)
class LimiterRun:
    times: tuple[float, ...]
    admitted: tuple[bool, ...]
    tokens: tuple[float, ...]


def limiter_run(limiter: str = "redis", rate: int = 10, burst: int = 20, load: float = 15.0,
                duration_ms: float = 10_000, seed: int | None = None) -> LimiterRun:
    """Seeded Poisson load (``load``/s, with a 4x burst in [3 s, 5 s)) through one limiter for one key."""
    seed = default_seed(seed)
    times = poisson_arrivals(load, duration_ms, seed, burst=(3000, 5000, 4 * load))
    if limiter == "redis":
        lim: Any = LIMITERS["redis"](rate, burst)
    elif limiter == "leaky_bucket":
        lim = LIMITERS[limiter](rate, burst)
    else:
        lim = LIMITERS[limiter](rate, 1000.0)
    admitted, tokens = [], []
    for t in times:
        d = lim.is_allowed("client-1", t)
        admitted.append(d.allowed)
        tokens.append(d.tokens_left)
    return LimiterRun(tuple(times), tuple(admitted), tuple(tokens))


def per_second(run: LimiterRun, duration_ms: float = 10_000) -> list[tuple[int, int, int]]:
    """(second, admitted, rejected) rows."""
    rows = []
    for s in range(int(duration_ms // 1000)):
        sel = [a for t, a in zip(run.times, run.admitted, strict=True) if s * 1000 <= t < (s + 1) * 1000]
        rows.append((s, sum(sel), len(sel) - sum(sel)))
    return rows


BREAKER_ROUTES = [{"id": "orders", "uri": "http://orders:8080", "predicates": ["Path=/orders/**"],
                   "filters": [{"name": "CircuitBreaker",
                                "args": {"name": "orders", "fallbackUri": "forward:/fallback/orders"}}]}]
BREAKER_CONFIG = {"orders": dict(sliding_window_size=20, minimum_number_of_calls=10, failure_rate_threshold=50,
                                 wait_duration_in_open_state_ms=2000,
                                 permitted_number_of_calls_in_half_open_state=3)}


@dataclass(frozen=True)
class BreakerRun:
    times: tuple[float, ...]
    statuses: tuple[int, ...]
    served_by: tuple[str, ...]
    transitions: tuple[Any, ...]
    upstream_calls: int


def breaker_run(fail_from_ms: float = 3000, fail_until_ms: float = 9000, load: float = 20.0,
                duration_ms: float = 14_000, seed: int | None = None) -> BreakerRun:
    """A gateway with a CircuitBreaker route; the upstream fails every call in the window."""
    seed = default_seed(seed)
    orders = Backend("orders:8080", latency_ms=15, error_status=None, seed=seed)
    gw = Gateway(BREAKER_ROUTES, [orders], breakers=BREAKER_CONFIG, seed=seed,
                 forwards={"/fallback/orders": lambda ex: Response(200, body="cached menu", served_by="fallback")})
    statuses, served = [], []
    times = poisson_arrivals(load, duration_ms, seed, name="gateway:breaker-load")
    for t in times:
        orders.down = fail_from_ms <= t < fail_until_ms
        r = gw.handle(Request(path="/orders/1", time_ms=t))
        statuses.append(r.status)
        served.append(r.served_by)
    return BreakerRun(tuple(times), tuple(statuses), tuple(served), tuple(gw.breakers["orders"].transitions),
                      orders.calls)


CANARY_ROUTES = [{"id": "v1", "uri": "http://v1:8080", "predicates": ["Path=/shop/**", "Weight=shop,8"]},
                 {"id": "v2-canary", "uri": "http://v2:8080", "predicates": ["Path=/shop/**", "Weight=shop,2"]},
                 {"id": "v2-testers", "uri": "http://v2:8080", "order": -1,
                  "predicates": ["Path=/shop/**", "Header=X-Canary,true"]}]


def canary_run(n: int = 10_000, seed: int | None = None) -> Counter[str]:
    """``n`` requests through an 8:2 Weight group (plus a header route for testers): routes hit."""
    gw = Gateway(CANARY_ROUTES, [Backend("v1:8080"), Backend("v2:8080")], seed=default_seed(seed))
    hits: Counter[str] = Counter()
    for i in range(n):
        headers = (("X-Canary", "true"),) if i % 100 == 0 else ()
        gw.handle(Request(path="/shop/cart", headers=headers, time_ms=i))
        hits[gw.log[-1].route_id] += 1
    return hits
