"""Cluster invokers: what one logical call does with the provider list (Dubbo docs, "Fault
tolerance strategy"; ``org.apache.dubbo.rpc.cluster.support.*ClusterInvoker``).

Each strategy's ``invoke(consumer, invocation, done)`` calls ``done(result)`` exactly once.

* :class:`FailoverCluster` (default) -- on a non-business failure try another provider, up to
  ``retries`` more times (default 2: at most 3 attempts). Safe only for idempotent methods: a
  timed-out first attempt may have run, and the retry runs it again.
* :class:`FailfastCluster` -- one attempt; report the failure at once (non-idempotent writes).
* :class:`FailsafeCluster` -- one attempt; swallow a failure, return an empty result (logging).
* :class:`FailbackCluster` -- one attempt; on failure return empty and retry in the background
  every ``failback_period`` ms (Dubbo's 5 s), at most ``retries`` times (Dubbo's 3).
* :class:`ForkingCluster` -- call ``forks`` providers (default 2) in parallel; the first
  success wins; fail only when all fail (reads that need low latency; doubles load).
* :class:`BroadcastCluster` -- call every provider one after another; any failure fails the
  call (after all were called), e.g. refreshing every provider's cache.
* :class:`AvailableCluster` -- call the first available provider, no load balancing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import allowed
from .model import Invocation, Provider, RpcError

if TYPE_CHECKING:
    from .consumer import ConsumerNode


@dataclass(frozen=True)
class Result:
    """A finished call: ``value`` or ``error`` (an :class:`RpcError`), and the provider that
    answered (None for an empty result)."""

    value: Any = None
    error: RpcError | None = None
    provider: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Done = Callable[[Result], None]


class AbstractClusterInvoker(ABC):
    name = "abstract"

    def __init__(self, retries: int = 2, forks: int = 2, failback_period: float = 5_000) -> None:
        for what, v in (("retries", retries), ("forks", forks)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise allowed(what, v, "an int >= 0")
        self.retries, self.forks, self.failback_period = retries, forks, failback_period

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @abstractmethod
    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        """Call ``inv`` by this strategy and report through ``done``."""

    def select(self, c: ConsumerNode, providers: list[Provider], inv: Invocation,
               invoked: list[Provider]) -> Provider:
        """``AbstractClusterInvoker.select``: ask the balancer; if it picks one already tried or
        one whose channel is closed, re-select among the untried available ones, then among the
        tried available ones, else take the next provider in the list."""
        p = c.lb.select(providers, inv)
        if len(providers) == 1 or (p not in invoked and c.available(p)):
            return p
        fresh = [q for q in providers if q not in invoked and c.available(q)]
        if fresh:
            return c.lb.select(fresh, inv)
        tried = [q for q in providers if q in invoked and c.available(q)]
        if tried:
            return c.lb.select(tried, inv)
        return providers[(providers.index(p) + 1) % len(providers)]

    @staticmethod
    def no_provider(c: ConsumerNode, inv: Invocation) -> Result:
        code = "forbidden" if c.forbidden else "no_invoker"
        return Result(error=RpcError(code, f"no provider available for {inv.service}.{inv.method} "
                                           f"on consumer {c.id}"))


class FailoverCluster(AbstractClusterInvoker):
    name = "failover"

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        attempts = c.method_retries.get(inv.method, self.retries) + 1
        invoked: list[Provider] = []

        def attempt(i: int) -> None:
            providers = c.list_providers(inv)
            if not providers:
                return done(self.no_provider(c, inv))
            p = self.select(c, providers, inv, invoked)
            invoked.append(p)
            c.call(p, inv, lambda r: after(i, r))

        def after(i: int, r: Result) -> None:
            assert r.error is not None or r.ok
            if r.ok or r.error is None or r.error.is_biz:
                return done(r)
            if i + 1 < attempts:
                c.count("failover_retry")
                return attempt(i + 1)
            done(Result(error=RpcError(r.error.code, f"failed {attempts} times, last: {r.error}"),
                        provider=r.provider))

        attempt(0)


class FailfastCluster(AbstractClusterInvoker):
    name = "failfast"

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        providers = c.list_providers(inv)
        if not providers:
            return done(self.no_provider(c, inv))
        c.call(self.select(c, providers, inv, []), inv, done)


class FailsafeCluster(AbstractClusterInvoker):
    name = "failsafe"

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        providers = c.list_providers(inv)
        if not providers:
            c.count("failsafe_ignored")
            return done(Result())

        def after(r: Result) -> None:
            if r.ok:
                return done(r)
            c.count("failsafe_ignored")
            done(Result())

        c.call(self.select(c, providers, inv, []), inv, after)


class FailbackCluster(AbstractClusterInvoker):
    """Failback's default retry budget is 3 (Dubbo's ``DEFAULT_FAILBACK_TIMES``), not 2."""

    name = "failback"

    def __init__(self, retries: int = 3, forks: int = 2, failback_period: float = 5_000) -> None:
        super().__init__(retries, forks, failback_period)

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        providers = c.list_providers(inv)
        if not providers:
            c.schedule_failback(inv, self.retries, None)
            return done(Result())
        p = self.select(c, providers, inv, [])

        def after(r: Result) -> None:
            if r.ok:
                return done(r)
            c.schedule_failback(inv, self.retries, p.address)
            done(Result())

        c.call(p, inv, after)

    def retry(self, c: ConsumerNode, inv: Invocation, left: int, last: str | None) -> None:
        """One background retry (Dubbo's ``RetryTimerTask``): avoid the last provider if possible."""
        providers = c.list_providers(inv)
        tried = [p for p in providers if p.address == last]

        def after(r: Result) -> None:
            c.count("failback_retry")
            if r.ok:
                c.count("failback_recovered")
            elif left > 1:
                c.schedule_failback(inv, left - 1, r.provider)
            else:
                c.count("failback_given_up")

        if not providers:
            return after(self.no_provider(c, inv))
        c.call(self.select(c, providers, inv, tried), inv, after)


class ForkingCluster(AbstractClusterInvoker):
    name = "forking"

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        providers = c.list_providers(inv)
        if not providers:
            return done(self.no_provider(c, inv))
        if self.forks <= 0 or self.forks >= len(providers):
            selected = list(providers)
        else:
            selected = []
            while len(selected) < self.forks:
                p = self.select(c, providers, inv, selected)
                if p in selected:
                    break
                selected.append(p)
        state = {"failed": 0, "done": False}

        def after(r: Result) -> None:
            if state["done"]:
                return
            if r.ok:
                state["done"] = True
                return done(r)
            state["failed"] += 1
            if state["failed"] >= len(selected):
                state["done"] = True
                done(r)

        for p in selected:
            c.call(p, inv, after)


class BroadcastCluster(AbstractClusterInvoker):
    name = "broadcast"

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        providers = c.list_providers(inv)
        if not providers:
            return done(self.no_provider(c, inv))
        results: list[Result] = []

        def step(i: int) -> None:
            if i == len(providers):
                failed = [r for r in results if not r.ok]
                return done(failed[-1] if failed else results[-1])

            def after(r: Result) -> None:
                results.append(r)
                step(i + 1)

            c.call(providers[i], inv, after)

        step(0)


class AvailableCluster(AbstractClusterInvoker):
    name = "available"

    def invoke(self, c: ConsumerNode, inv: Invocation, done: Done) -> None:
        for p in c.list_providers(inv):
            if c.available(p):
                return c.call(p, inv, done)
        done(self.no_provider(c, inv))


CLUSTERS: dict[str, type[AbstractClusterInvoker]] = {
    k.name: k for k in (FailoverCluster, FailfastCluster, FailsafeCluster, FailbackCluster, ForkingCluster,
                        BroadcastCluster, AvailableCluster)
}
