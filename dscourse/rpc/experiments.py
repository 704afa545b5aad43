"""The chapter's experiments, as data (the figures in :mod:`.labs` draw them).

* :func:`arena` -- the load-balancer arena: four providers, the same seeded workload, one
  balancer; toggles make provider 4 slow (×6 service time) or give provider 1 triple weight.
* :func:`strategy_matrix` -- every cluster strategy on the same non-idempotent workload with
  one provider slower than the timeout: outcomes, attempts, duplicate side effects.
* :func:`remap_fraction` -- the share of keys that move when a provider joins the ring.
* :func:`outage` -- a registry outage: calls keep working from the consumer's cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Constant, LogNormal
from .cluster import CLUSTERS
from .loadbalance import BALANCERS, ConsistentHashRing
from .model import Provider
from .monitor import percentile
from .system import RpcCluster, cluster

ARENA = ("10.0.0.1:20880", "10.0.0.2:20880", "10.0.0.3:20880", "10.0.0.4:20880")


def arena(loadbalance: str = "random", slow: bool = False, weight_change: bool = False, seed: int = 1,
          calls: int = 800, interval: float = 1.0) -> RpcCluster:
    """Run ``calls`` ``sayHello`` calls (one per ``interval`` ms, keys from 100 users) through
    ``loadbalance`` and return the finished system (its ``monitor`` holds the numbers)."""
    if loadbalance not in BALANCERS:
        raise allowed("loadbalance", loadbalance, f"one of {', '.join(BALANCERS)}")
    specs = [{"address": a, "weight": 300 if weight_change and i == 0 else 100,
              "latency": LogNormal(8.0, 0.5)} for i, a in enumerate(ARENA)]
    c = cluster(specs, seed=seed, registry=False, loadbalance=loadbalance, cluster="failfast", timeout=2_000)
    if slow:
        c.slow(ARENA[3], 6.0)
    c.consumer.start_load(calls, interval, "sayHello", keys=100)
    c.run_until(lambda: len(c.consumer.completed) == calls, calls * interval + 60_000)
    return c


def arena_rows(c: RpcCluster) -> list[dict[str, Any]]:
    """Per provider: calls, share of calls, p50 and p99 (ms); plus the overall p99."""
    rows = c.monitor.table(list(ARENA))
    total = sum(int(r["calls"]) for r in rows) or 1
    for r in rows:
        r["share"] = int(r["calls"]) / total
    return rows


def overall_p99(c: RpcCluster) -> float:
    return percentile([end - start for start, end, *_ in c.consumer.completed], 99)


@dataclass(frozen=True)
class StrategyOutcome:
    """One cluster strategy on ``calls`` ``placeOrder`` calls: how they ended and what it cost."""

    strategy: str
    ok: int
    failed: int
    empty: int
    attempts: int
    duplicates: int
    mean_ms: float
    background_retries: int


def strategy_run(strategy: str, seed: int = 1, calls: int = 60, timeout: float = 200) -> StrategyOutcome:
    """``calls`` ``placeOrder`` calls through ``strategy`` (round robin over three providers,
    the first slower than ``timeout``); runs until background retries are over."""
    if strategy not in CLUSTERS:
        raise allowed("strategy", strategy, f"one of {', '.join(CLUSTERS)}")
    specs = [{"latency": Constant(timeout * 1.5)}, {"latency": LogNormal(10.0, 0.3)},
             {"latency": LogNormal(10.0, 0.3)}]
    c = cluster(specs, seed=seed, registry=False, loadbalance="roundrobin", cluster=strategy, timeout=timeout)
    c.consumer.start_load(calls, 50.0, "placeOrder")
    c.run_until(lambda: len(c.consumer.completed) == calls, calls * 50 + 10 * timeout)
    c.run(30_000)       # Failback's background retries
    done = c.consumer.completed
    ok = sum(1 for _s, _e, p, good, _code in done if good and p is not None)
    empty = sum(1 for _s, _e, p, good, _code in done if good and p is None)
    return StrategyOutcome(strategy, ok, sum(1 for d in done if not d[3]), empty, c.consumer.counters["attempts"],
                           c.duplicates(), sum(e - s for s, e, *_ in done) / len(done),
                           c.consumer.counters["failback_retry"])


def strategy_matrix(seed: int = 1) -> list[StrategyOutcome]:
    return [strategy_run(s, seed) for s in CLUSTERS]


def remap_fraction(n: int, keys: int = 10_000, replicas: int = 160, leave: bool = False) -> float:
    """The share of ``keys`` whose provider changes when one joins ``n`` providers (or, with
    ``leave``, when the last of ``n`` leaves)."""
    ps = [Provider(f"10.0.0.{i + 1}:20880") for i in range(n + (0 if leave else 1))]
    before, after = (ps, ps[:-1]) if leave else (ps[:-1], ps)
    r0, r1 = ConsistentHashRing(before, replicas), ConsistentHashRing(after, replicas)
    names = [f"user-{i}" for i in range(keys)]
    return sum(r0.locate(k) != r1.locate(k) for k in names) / keys


@dataclass(frozen=True)
class OutageRun:
    """The registry outage: what the consumer saw and what its calls did."""

    providers_before: int
    providers_during: int
    calls_ok_during: int
    calls_during: int
    providers_after: int
    registered_after: int


def outage(seed: int = 1) -> OutageRun:
    """Every ZooKeeper server crashes; the consumer keeps its cached list and calls succeed;
    a provider then dies; after the registry returns, its expired session removes it."""
    c = cluster(3, seed=seed, heartbeat=1_000)
    before = len(c.consumer.providers)
    c.registry_outage()
    c.run(20_000)
    proxy = c.proxy()
    results = [proxy.call_async("sayHello", f"u{i}") for i in range(20)]
    c.run(5_000)
    during = len(c.consumer.providers)
    ok = sum(1 for f in results if f.result is not None and f.result.ok)
    c.crash_provider(ARENA[2])
    c.restore_registry()
    c.run_until(lambda: len(c.consumer.providers) == 2, 60_000)
    return OutageRun(before, during, ok, len(results), len(c.consumer.providers), len(c.registered()))
