"""Dubbo's load balancers, by name and algorithm (Dubbo docs, "Load Balancing"; the classes
``org.apache.dubbo.rpc.cluster.loadbalance.*``).

Every balancer is ``select(providers, invocation) -> Provider``. Weights go through
:meth:`AbstractLoadBalance.get_weight`, Dubbo's warm-up ramp: a provider that started
``uptime`` ms ago with warm-up ``warmup`` gets ``max(1, min(weight, int(uptime / (warmup /
weight))))`` until it is warm. Randomness comes from the balancer's own named stream (never
the global ``random``); a draw ``nextInt(bound)`` is ``int(u * bound)`` from one uniform
``u``, whose bit stream numpy keeps stable across versions.

* :class:`RandomLoadBalance` -- weighted random (uniform when all weights are equal).
* :class:`RoundRobinLoadBalance` -- Nginx's smooth weighted round robin.
* :class:`LeastActiveLoadBalance` -- fewest calls in flight; ties by weighted random.
* :class:`ShortestResponseLoadBalance` -- least ``mean succeeded elapsed × (active + 1)`` in a
  30 s sliding window; ties by weighted random.
* :class:`ConsistentHashLoadBalance` -- Ketama-style MD5 ring with 160 virtual nodes.
"""

from __future__ import annotations

import bisect
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import allowed
from ..notebook import default_seed
from ..sim import stream
from .model import Invocation, Provider, RpcError
from .status import RpcStatus

Clock = Callable[[], float]


def calculate_warmup_weight(uptime: float, warmup: float, weight: int) -> int:
    """Dubbo's ``AbstractLoadBalance.calculateWarmupWeight``: the weight grows linearly with
    uptime, never below 1 nor above the configured weight."""
    ww = int(uptime / (warmup / weight))
    return 1 if ww < 1 else min(ww, weight)


class AbstractLoadBalance(ABC):
    """Shared parts: the weight with warm-up, the random stream, the empty and single cases.

    ``clock`` returns the virtual time in ms (the cluster passes its simulation's); without
    one, providers count as warm. ``rng`` defaults to the stream ``"rpc:lb:<name>"`` of the
    notebook's seed; ``status`` is the consumer's :class:`RpcStatus` (active counts)."""

    name = "abstract"

    def __init__(self, rng: np.random.Generator | None = None, clock: Clock | None = None,
                 status: RpcStatus | None = None) -> None:
        self.rng = rng if rng is not None else stream(default_seed(None), f"rpc:lb:{self.name}")
        self.clock = clock
        self.status = status if status is not None else RpcStatus()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def next_int(self, bound: int) -> int:
        """Java's ``nextInt(bound)``: uniform in ``[0, bound)``."""
        return min(int(self.rng.random() * bound), bound - 1)

    def get_weight(self, p: Provider, invocation: Invocation) -> int:
        """Dubbo's ``AbstractLoadBalance.getWeight``: the configured weight, ramped while the
        provider warms up; a clock earlier than the start time gives 1; never negative."""
        weight = p.weight
        if weight > 0 and p.timestamp is not None and self.clock is not None:
            uptime = self.clock() - p.timestamp
            if uptime < 0:
                return 1
            if 0 < uptime < p.warmup:
                weight = calculate_warmup_weight(uptime, p.warmup, weight)
        return max(weight, 0)

    def select(self, providers: Sequence[Provider], invocation: Invocation) -> Provider:
        """One provider for ``invocation``; :class:`RpcError` ``no_invoker`` when there is none."""
        if not providers:
            raise RpcError("no_invoker", f"no provider available for {invocation.service}.{invocation.method}")
        if len(providers) == 1:
            return providers[0]
        return self.do_select(list(providers), invocation)

    @abstractmethod
    def do_select(self, providers: list[Provider], invocation: Invocation) -> Provider:
        """The balancer's own choice among two or more providers."""

    def weighted_among(self, providers: list[Provider], indexes: list[int], weights: list[int],
                       same_weight: bool, total: int) -> Provider:
        """The tie-break LeastActive and ShortestResponse share: weighted random over the tied
        ``indexes`` (uniform when their weights are equal or all zero)."""
        if len(indexes) == 1:
            return providers[indexes[0]]
        if not same_weight and total > 0:
            offset = self.next_int(total)
            for i in indexes:
                offset -= weights[i]
                if offset < 0:
                    return providers[i]
        return providers[indexes[self.next_int(len(indexes))]]


class RandomLoadBalance(AbstractLoadBalance):
    """Weighted random: draw ``offset`` in ``[0, total)`` and walk the cumulative weights."""

    name = "random"

    def do_select(self, providers: list[Provider], invocation: Invocation) -> Provider:
        cumulative, total, same = [], 0, True
        for i, p in enumerate(providers):
            w = self.get_weight(p, invocation)
            total += w
            cumulative.append(total)
            if same and total != w * (i + 1):
                same = False
        if total > 0 and not same:
            offset = self.next_int(total)
            for i, c in enumerate(cumulative):
                if offset < c:
                    return providers[i]
        return providers[self.next_int(len(providers))]


class WeightedRoundRobin:
    """One provider's state in :class:`RoundRobinLoadBalance`: its weight and ``current``."""

    __slots__ = ("weight", "current", "last_update")

    def __init__(self, weight: int) -> None:
        self.weight = weight
        self.current = 0
        self.last_update = 0.0

    def __repr__(self) -> str:
        return f"WRR(weight={self.weight}, current={self.current})"


class RoundRobinLoadBalance(AbstractLoadBalance):
    """Smooth weighted round robin (Nginx's, as Dubbo 2.7+): every provider's ``current`` grows
    by its weight, the largest (the first on ties) is picked and loses the total weight.
    Weights a=5, b=1, c=1 give ``a a b a c a a`` per cycle of 7. State is per
    ``service.method``; an entry unseen for ``RECYCLE_PERIOD`` ms is dropped, and a changed
    weight restarts that provider's ``current`` at 0 (Dubbo's ``setWeight``)."""

    name = "roundrobin"
    RECYCLE_PERIOD = 60_000

    def __init__(self, rng: np.random.Generator | None = None, clock: Clock | None = None,
                 status: RpcStatus | None = None) -> None:
        super().__init__(rng, clock, status)
        self.method_weights: dict[str, dict[str, WeightedRoundRobin]] = {}

    def do_select(self, providers: list[Provider], invocation: Invocation) -> Provider:
        key = f"{invocation.service}.{invocation.method}"
        table = self.method_weights.setdefault(key, {})
        now = self.clock() if self.clock is not None else 0.0
        total, best, best_current = 0, None, None
        for p in providers:
            w = self.get_weight(p, invocation)
            wrr = table.get(p.address)
            if wrr is None:
                wrr = table[p.address] = WeightedRoundRobin(w)
            if w != wrr.weight:
                wrr.weight, wrr.current = w, 0
            wrr.current += w
            wrr.last_update = now
            if best_current is None or wrr.current > best_current:
                best, best_current = p, wrr.current
            total += w
        if len(table) != len(providers):
            for address in [a for a, s in table.items() if now - s.last_update > self.RECYCLE_PERIOD]:
                del table[address]
        assert best is not None
        table[best.address].current -= total
        return best


class LeastActiveLoadBalance(AbstractLoadBalance):
    """The provider with the fewest calls in flight (``RpcStatus`` active, per provider and
    method); ties go to weighted random among the tied (uniform when their weights are equal)."""

    name = "leastactive"

    def do_select(self, providers: list[Provider], invocation: Invocation) -> Provider:
        least, indexes, weights, total, first, same = -1, [], [], 0, 0, True
        for i, p in enumerate(providers):
            active = self.status.active(p.address, invocation.method)
            w = self.get_weight(p, invocation)
            weights.append(w)
            if least == -1 or active < least:
                least, indexes, total, first, same = active, [i], w, w, True
            elif active == least:
                indexes.append(i)
                total += w
                if same and w != first:
                    same = False
        return self.weighted_among(providers, indexes, weights, same, total)


class ShortestResponseLoadBalance(AbstractLoadBalance):
    """The provider whose estimated response, mean succeeded elapsed time in the current
    window × (active + 1), is shortest; ties by weighted random. The window restarts every
    ``slide_period`` ms (Dubbo's 30 s), forgetting old latencies (Dubbo 3's ``SlideWindowData``)."""

    name = "shortestresponse"

    def __init__(self, rng: np.random.Generator | None = None, clock: Clock | None = None,
                 status: RpcStatus | None = None, slide_period: float = 30_000) -> None:
        super().__init__(rng, clock, status)
        self.slide_period = slide_period
        self.offsets: dict[tuple[str, str], tuple[int, float]] = {}
        self.window_start = 0.0

    def estimate(self, address: str, method: str) -> float:
        s = self.status.get(address, method)
        n0, e0 = self.offsets.get((address, method), (0, 0.0))
        n = s.succeeded - n0
        mean = (s.succeeded_elapsed - e0) / n if n else 0.0
        return mean * (s.active + 1)

    def do_select(self, providers: list[Provider], invocation: Invocation) -> Provider:
        shortest, indexes, weights, total, first, same = None, [], [], 0, 0, True
        for i, p in enumerate(providers):
            est = self.estimate(p.address, invocation.method)
            w = self.get_weight(p, invocation)
            weights.append(w)
            if shortest is None or est < shortest:
                shortest, indexes, total, first, same = est, [i], w, w, True
            elif est == shortest:
                indexes.append(i)
                total += w
                if same and w != first:
                    same = False
        now = self.clock() if self.clock is not None else 0.0
        if now - self.window_start > self.slide_period:
            self.window_start = now
            self.offsets = {k: (s.succeeded, s.succeeded_elapsed) for k, s in self.status.table.items()}
        return self.weighted_among(providers, indexes, weights, same, total)


def ketama_word(digest: bytes, h: int) -> int:
    """Dubbo's ``ConsistentHashSelector.hash(digest, h)``: the little-endian 32-bit word of
    ``digest[4h:4h+4]``."""
    return int.from_bytes(digest[4 * h:4 * h + 4], "little")


def md5(text: str) -> bytes:
    return hashlib.md5(text.encode("utf-8")).digest()


class ConsistentHashRing:
    """Dubbo's ``ConsistentHashSelector``: for each address, ``replicas // 4`` MD5 digests of
    ``address + str(i)``, four ring points per digest. A key's point is the first word of
    MD5(key); its provider owns the first point at or after it, wrapping around."""

    def __init__(self, providers: Sequence[Provider], replicas: int = 160) -> None:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 4:
            raise allowed("replicas", replicas, "an int >= 4 (hash.nodes; Dubbo's default is 160)")
        self.replicas = replicas
        self.identity = tuple(p.address for p in providers)
        points: dict[int, Provider] = {}
        for p in providers:
            for i in range(replicas // 4):
                digest = md5(p.address + str(i))
                for h in range(4):
                    points[ketama_word(digest, h)] = p
        self.points = sorted(points)
        self.owners = [points[k] for k in self.points]

    def locate(self, key: str) -> Provider:
        point = ketama_word(md5(key), 0)
        i = bisect.bisect_left(self.points, point)
        return self.owners[i if i < len(self.points) else 0]


class ConsistentHashLoadBalance(AbstractLoadBalance):
    """Consistent hashing on the call's arguments: by default the first (``hash.arguments=0``),
    as a string, so the same argument reaches the same provider while membership holds, and a
    join or leave moves only about 1/n of the keys. The ring is rebuilt when the provider list
    changes (Dubbo compares the list's identity hash)."""

    name = "consistenthash"

    def __init__(self, rng: np.random.Generator | None = None, clock: Clock | None = None,
                 status: RpcStatus | None = None, replicas: int = 160, arguments: tuple[int, ...] = (0,)) -> None:
        super().__init__(rng, clock, status)
        if not arguments or not all(isinstance(a, int) and a >= 0 for a in arguments):
            raise allowed("arguments", arguments, "a non-empty tuple of argument indexes (hash.arguments)")
        ConsistentHashRing([], replicas)  # validates replicas
        self.replicas = replicas
        self.arguments = arguments
        self.rings: dict[str, ConsistentHashRing] = {}

    def key(self, invocation: Invocation) -> str:
        """Dubbo's ``toKey``: the chosen arguments, as strings, concatenated."""
        return "".join(str(invocation.args[i]) for i in self.arguments if i < len(invocation.args))

    def do_select(self, providers: list[Provider], invocation: Invocation) -> Provider:
        key = f"{invocation.service}.{invocation.method}"
        ring = self.rings.get(key)
        if ring is None or ring.identity != tuple(p.address for p in providers):
            ring = self.rings[key] = ConsistentHashRing(providers, self.replicas)
        return ring.locate(self.key(invocation))

BALANCERS: dict[str, type[AbstractLoadBalance]] = {
    c.name: c for c in (RandomLoadBalance, RoundRobinLoadBalance, LeastActiveLoadBalance,
                        ShortestResponseLoadBalance, ConsistentHashLoadBalance)
}
