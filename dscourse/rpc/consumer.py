"""The client side: one consumer process with its directory, routers, balancer, cluster
invoker, filters and transport (the call path proxy → filters → cluster → directory → router
→ load balancer → codec → transport, Dubbo docs "Framework design").

Transport (Dubbo's exchange layer over one channel per provider): a request carries an id;
a timer of ``timeout`` ms (Dubbo's default 1000) fails it with ``timeout`` if no response
came, and a late response is dropped. With ``heartbeat`` set, the consumer pings every
provider each ``heartbeat`` ms and closes a channel silent for ``3 × heartbeat`` ms (Dubbo's
idle timeout): calls in flight on it fail at once with ``network`` (connection loss), and the
provider counts as unavailable until it answers again.

Directory: the provider list comes from the registry (``notify``) and is written to
``stable["registry_cache"]`` each time, Dubbo's local cache file: it survives a registry
outage and a consumer crash. An empty notification forbids calls (Dubbo's ``empty://``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import allowed
from ..sim import Node, stream
from .cluster import CLUSTERS, FailbackCluster, Result
from .codec import codec
from .messages import Heartbeat, HeartbeatAck, Request, Response
from .model import Invocation, Provider, RpcError, parse_provider_url
from .monitor import Monitor
from .registry import ZookeeperRegistry
from .spi import filter_loader, load_balance_loader
from .status import RpcStatus


class Filter:
    """A consumer filter: ``on_invoke`` before the request leaves, ``on_response`` after the
    result (or error) is known; both see the provider and the invocation."""

    def on_invoke(self, c: ConsumerNode, p: Provider, inv: Invocation) -> None:
        pass

    def on_response(self, c: ConsumerNode, p: Provider, inv: Invocation, r: Result, elapsed: float) -> None:
        pass


class ActiveFilter(Filter):
    """``RpcStatus.beginCount`` / ``endCount`` around every call (what ActiveLimitFilter counts):
    the active counts LeastActive and ShortestResponse read."""

    def on_invoke(self, c: ConsumerNode, p: Provider, inv: Invocation) -> None:
        c.status.begin(p.address, inv.method)

    def on_response(self, c: ConsumerNode, p: Provider, inv: Invocation, r: Result, elapsed: float) -> None:
        c.status.end(p.address, inv.method, elapsed, r.ok)


class MonitorFilter(Filter):
    """Dubbo's ``MonitorFilter``: one record per call to the :class:`Monitor`."""

    def on_response(self, c: ConsumerNode, p: Provider, inv: Invocation, r: Result, elapsed: float) -> None:
        c.monitor.record(p.address, inv.method, elapsed, r.ok)


class ConsumerNode(Node):
    """A consumer of ``interface``. ``providers`` (a static list, Dubbo's direct connection)
    or ``registry`` (a :class:`ZookeeperRegistry`) fill the directory; ``loadbalance`` and
    ``cluster`` are SPI names; ``retries`` None keeps the strategy's default; ``method_retries``
    overrides it per method (Dubbo's ``<dubbo:method retries="0">``)."""

    def __init__(self, id: str, interface: str = "DemoService", *, providers: Sequence[Provider] = (),
                 registry: ZookeeperRegistry | None = None, loadbalance: str = "random",
                 cluster: str = "failover", codec_name: str = "hessianlike", timeout: float = 1_000,
                 heartbeat: float | None = None, retries: int | None = None, forks: int = 2,
                 method_retries: dict[str, int] | None = None, routers: Sequence[Any] = (),
                 filters: Sequence[Filter] = (), resubscribe_ms: float = 5_000) -> None:
        super().__init__(id)
        if cluster not in CLUSTERS:
            raise allowed("cluster", cluster, f"one of {', '.join(CLUSTERS)}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise allowed("timeout", timeout, "a positive duration in ms")
        codec(codec_name)
        self.interface = interface
        self.registry = registry
        self.codec_name = codec_name
        self.timeout = timeout
        self.heartbeat = heartbeat
        self.resubscribe_ms = resubscribe_ms
        self.method_retries = dict(method_retries or {})
        self.routers = list(routers)
        self.filters: list[Filter] = [*filter_loader().get_activate_extensions("consumer"), *filters]
        self.status = RpcStatus()
        self.monitor = Monitor(self.status)
        self.lb = load_balance_loader().get_extension(loadbalance, rng=stream(0, "rpc:unattached"),
                                                      clock=lambda: self.now, status=self.status)
        self.loadbalance = loadbalance
        options: dict[str, int] = {"forks": forks} if retries is None else {"forks": forks, "retries": retries}
        self.cluster = CLUSTERS[cluster](**options)   # retries=None: the strategy's own default
        self.providers: list[Provider] = list(providers)
        self.forbidden = False
        self.notifications = 0
        self.counters: Counter[str] = Counter()
        self.next_rid = 0
        self.pending: dict[int, tuple[Provider, Invocation, float, int, Callable[[Result], None]]] = {}
        self.last_read: dict[str, float] = {}
        self.closed: set[str] = set()
        self.failback_tasks: dict[int, tuple[Invocation, int, str | None]] = {}
        self.completed: list[tuple[float, float, str | None, bool, str]] = []

    # -- lifecycle -------------------------------------------------------------------------
    def on_start(self) -> None:
        self.lb.rng = stream(self._sim.seed, f"rpc:lb:{self.id}")
        cached = self.stable.get("registry_cache")
        if cached is not None and not self.providers:
            self.apply_urls(cached, from_cache=True)
        if self.registry is not None:
            self.subscribe()
        if self.heartbeat:
            self.set_timer(self.heartbeat, "heartbeat")

    def subscribe(self) -> None:
        assert self.registry is not None
        self.registry.subscribe(self.interface, self.notify, self.subscribe_failed)

    def subscribe_failed(self) -> None:
        self.count("registry_read_failed")
        self.set_timer(self.resubscribe_ms, "resubscribe")

    def notify(self, urls: list[str]) -> None:
        """The registry's push: replace the directory and write the local cache."""
        self.notifications += 1
        self.stable["registry_cache"] = list(urls)
        self.apply_urls(urls)

    def apply_urls(self, urls: list[str], from_cache: bool = False) -> None:
        self.providers = [parse_provider_url(u)[0] for u in urls]
        self.forbidden = not self.providers and not from_cache

    # -- directory and router --------------------------------------------------------------
    def list_providers(self, inv: Invocation) -> list[Provider]:
        """Directory then router chain (Dubbo's ``Directory.list``)."""
        if self.forbidden:
            return []
        out = list(self.providers)
        for r in self.routers:
            out = r.route(out, inv)
        return out

    def available(self, p: Provider) -> bool:
        return p.address not in self.closed

    def count(self, what: str) -> None:
        self.counters[what] += 1

    # -- invocation --------------------------------------------------------------------------
    def invoke(self, inv: Invocation, done: Callable[[Result], None]) -> None:
        """Run ``inv`` through the cluster invoker; ``done(result)`` once."""
        self.cluster.invoke(self, inv, done)

    def call(self, p: Provider, inv: Invocation, done: Callable[[Result], None]) -> None:
        """One attempt on one provider: filters, codec, transport."""
        for f in self.filters:
            f.on_invoke(self, p, inv)
        rid = self.next_rid
        self.next_rid += 1
        payload = codec(self.codec_name).encode({"service": inv.service, "method": inv.method,
                                                 "args": list(inv.args), "attachments": dict(inv.attachments)})
        timer = self.set_timer(self.timeout, "timeout", rid)
        self.pending[rid] = (p, inv, self.now, timer, done)
        self.count("attempts")
        if p.address in self.closed:
            return self.finish(rid, Result(error=RpcError("network", f"channel to {p.address} is closed"),
                                           provider=p.address))
        self.send(p.address, Request(rid, self.codec_name, payload))

    def finish(self, rid: int, r: Result) -> None:
        p, inv, started, timer, done = self.pending.pop(rid)
        self.cancel_timer(timer)
        elapsed = self.now - started
        for f in reversed(self.filters):
            f.on_response(self, p, inv, r, elapsed)
        done(r)

    def on_message(self, src: str, msg: Any) -> None:
        self.last_read[src] = self.now
        if src in self.closed:
            self.closed.discard(src)
            self.count("reconnected")
        if isinstance(msg, Response):
            if msg.rid not in self.pending:
                self.count("late_responses")
                return
            value = codec(self.codec_name).decode(msg.payload)
            if msg.status == "ok":
                r = Result(value, provider=src)
            else:
                r = Result(error=RpcError("biz", str(value)), provider=src)
            self.finish(msg.rid, r)
        elif isinstance(msg, HeartbeatAck):
            pass

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "timeout" and payload in self.pending:
            p = self.pending[payload][0]
            self.count("timeouts")
            self.finish(payload, Result(error=RpcError("timeout", f"no response from {p.address} in "
                                                                  f"{self.timeout:g} ms"), provider=p.address))
        elif name == "heartbeat" and self.heartbeat:
            self.beat()
            self.set_timer(self.heartbeat, "heartbeat")
        elif name == "resubscribe":
            self.subscribe()
        elif name == "failback":
            inv, left, last = self.failback_tasks.pop(payload)
            assert isinstance(self.cluster, FailbackCluster)
            self.cluster.retry(self, inv, left, last)
        elif name == "load":
            self.fire_load(payload)

    def beat(self) -> None:
        assert self.heartbeat is not None
        for p in self.providers:
            a = p.address
            last = self.last_read.setdefault(a, self.now)
            if a not in self.closed and self.now - last > 3 * self.heartbeat:
                self.closed.add(a)
                self.count("channels_closed")
                for rid in [r for r, v in self.pending.items() if v[0].address == a]:
                    self.finish(rid, Result(error=RpcError("network", f"channel to {a} closed: no heartbeat "
                                                                      f"for {3 * self.heartbeat:g} ms"), provider=a))
            self.send(a, Heartbeat(self.next_rid))

    def schedule_failback(self, inv: Invocation, left: int, last: str | None) -> None:
        assert isinstance(self.cluster, FailbackCluster)
        if left <= 0:
            return
        key = self.next_rid
        self.next_rid += 1
        self.failback_tasks[key] = (inv, left, last)
        self.set_timer(self.cluster.failback_period, "failback", key)

    # -- a workload --------------------------------------------------------------------------
    def start_load(self, calls: int, interval: float, method: str = "sayHello", keys: int = 0) -> None:
        """Issue ``calls`` calls, one every ``interval`` ms. ``placeOrder`` gets unique order
        ids ``o<n>``; other methods get ``user-<k>`` (``k`` uniform below ``keys``, or ``n``)."""
        for n in range(calls):
            self.set_timer(n * interval, "load", [method, n, keys])

    def fire_load(self, payload: list[Any]) -> None:
        method, n, keys = payload
        arg = f"o{n}" if method == "placeOrder" else f"user-{int(self.rng.random() * keys) if keys else n}"
        started = self.now
        inv = Invocation(self.interface, method, (arg,))

        def done(r: Result) -> None:
            self.completed.append((started, self.now, r.provider, r.ok, r.error.code if r.error else ""))

        self.invoke(inv, done)
