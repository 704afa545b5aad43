"""``ds.rpc.cluster(...)``: providers, a consumer and a ZooKeeper registry on one simulation.

:class:`RpcCluster` has ``.sim``, ``.nodes``, ``run``/``run_until`` (:class:`~dscourse.sim.cluster.Cluster`),
``proxy()`` (the client stub), ``zk`` (the ``ds.zk`` ensemble behind the registry), faults
(``crash_provider``, ``registry_outage``, ``slow``), and its checks: ``side_effects()``,
``duplicates()`` and the consumer's monitor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from .. import zk as zookeeper
from ..errors import allowed
from ..notebook import default_seed
from ..sim import Constant, Dist, Network, Simulation
from ..sim.cluster import Cluster
from .cluster import Result
from .consumer import ConsumerNode, Filter
from .model import Invocation, Provider, RpcError, provider_url
from .provider import DemoService, ProviderNode
from .registry import ZookeeperRegistry


class RpcFuture:
    """The result of an asynchronous call; ``get()`` drives the simulation until it is done."""

    def __init__(self, system: RpcCluster) -> None:
        self.system = system
        self.result: Result | None = None

    def set(self, r: Result) -> None:
        self.result = r

    @property
    def done(self) -> bool:
        return self.result is not None

    def get(self, timeout: float = 60_000) -> Any:
        """The value, or raise the call's :class:`RpcError`."""
        if self.result is None:
            self.system.sim.run_until(lambda: self.result is not None, timeout)
        if self.result is None:
            raise RpcError("timeout", f"the call did not finish in {timeout:g} ms of virtual time")
        if self.result.error is not None:
            raise self.result.error
        return self.result.value


class ReferenceProxy:
    """The client stub (Dubbo's ``ReferenceConfig.get()``): ``proxy.sayHello("alice")`` builds
    an :class:`Invocation`, runs it through the consumer and drives the simulation until the
    result arrives; ``proxy.call_async("sayHello", "alice")`` returns an :class:`RpcFuture`."""

    def __init__(self, system: RpcCluster, interface: str) -> None:
        self._system = system
        self._interface = interface

    def call_async(self, method: str, *args: Any) -> RpcFuture:
        fut = RpcFuture(self._system)
        self._system.consumer.invoke(Invocation(self._interface, method, tuple(args)), fut.set)
        return fut

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args: self.call_async(method, *args).get()


class RpcCluster(Cluster):
    """See the module docstring."""

    def __init__(self, sim: Simulation, nodes: dict[str, Any], consumer: ConsumerNode,
                 providers: dict[str, ProviderNode], ensemble: Any, registries: dict[str, ZookeeperRegistry],
                 specs: dict[str, Provider], zk_clients: dict[str, Any]) -> None:
        super().__init__(sim, nodes)
        self.consumer = consumer
        self.providers = providers
        self.zk = ensemble
        self.registries = registries
        self.specs = specs
        self.zk_clients = zk_clients

    def proxy(self, interface: str = "DemoService") -> ReferenceProxy:
        return ReferenceProxy(self, interface)

    @property
    def monitor(self) -> Any:
        return self.consumer.monitor

    # -- faults -------------------------------------------------------------------------------
    def crash_provider(self, address: str) -> None:
        """The provider's process dies: its server and its ZooKeeper session's connection (its
        ephemeral znode stays until the session expires)."""
        self._check(address)
        self.sim.crash(address)
        if address in self.zk_clients:
            self.sim.crash(self.zk_clients[address].id)

    def slow(self, address: str, factor: float) -> None:
        self._check(address)
        self.providers[address].slowdown = factor

    def registry_outage(self) -> None:
        """Every ZooKeeper server crashes."""
        if self.zk is None:
            raise allowed("registry_outage()", None, "a cluster built with registry=True")
        for s in self.zk.nodes:
            if self.zk.up(s):
                self.sim.crash(s)

    def restore_registry(self) -> None:
        for s in self.zk.nodes:
            if not self.zk.up(s):
                self.sim.recover(s)

    def registered(self) -> list[str]:
        """The provider znodes the registry holds now (read by a fresh look, not the consumer)."""
        leader = self.zk.leader() if self.zk else None
        if leader is None:
            return []
        tree = self.zk.nodes[leader].tree
        path = "/dubbo/DemoService/providers"
        return sorted(unquote(c) for c in tree.children(path))

    def _check(self, address: str) -> None:
        if address not in self.providers:
            raise allowed("provider", address, f"one of {', '.join(self.providers)}")

    # -- checks ---------------------------------------------------------------------------------
    def side_effects(self) -> dict[str, int]:
        """How many times each order id was placed, over all providers."""
        out: dict[str, int] = {}
        for p in self.providers.values():
            for order_id, _item, _t in p.orders:
                out[order_id] = out.get(order_id, 0) + 1
        return out

    def duplicates(self) -> int:
        """Orders placed more than once (the hazard of retrying a non-idempotent call)."""
        return sum(n - 1 for n in self.side_effects().values() if n > 1)


def _spec(i: int, p: Any) -> tuple[Provider, Dist]:
    if isinstance(p, Provider):
        return p, Constant(5.0)
    if isinstance(p, dict):
        extra = set(p) - {"address", "weight", "latency", "timestamp", "warmup"}
        if extra:
            raise allowed("provider spec keys", sorted(extra), "address, weight, latency, timestamp, warmup")
        prov = Provider(p.get("address", f"10.0.0.{i + 1}:20880"), p.get("weight", 100), p.get("timestamp"),
                        p.get("warmup", 600_000))
        return prov, p.get("latency", Constant(5.0))
    raise allowed("provider", p, "a Provider or a dict(address=, weight=, latency=, timestamp=, warmup=)")


def cluster(providers: int | Sequence[Any] = 3, seed: int | None = None, *, loadbalance: str = "random",
            cluster: str = "failover", codec: str = "hessianlike", registry: bool = True,
            timeout: float = 1_000, heartbeat: float | None = None, retries: int | None = None, forks: int = 2,
            session_timeout_ms: int = 4_000, method_retries: dict[str, int] | None = None,
            routers: Sequence[Any] = (), filters: Sequence[Filter] = (), network: Network | None = None,
            zk_servers: int = 1) -> RpcCluster:
    """Build the system: ``providers`` (a count, or Providers / dicts with ``latency`` Dists),
    one consumer ``consumer``; with ``registry``, a ``zk_servers``-node ``ds.zk`` ensemble where
    each provider registers its URL ephemerally and the consumer subscribes (else the consumer
    connects directly to the list)."""
    if isinstance(providers, bool) or (isinstance(providers, int) and not 1 <= providers <= 16):
        raise allowed("providers", providers, "an int from 1 to 16, or a list of Providers or dicts")
    items = [{} for _ in range(providers)] if isinstance(providers, int) else list(providers)
    specs = [_spec(i, p) for i, p in enumerate(items)]
    seed = default_seed(seed)
    nodes: dict[str, Any] = {}
    registries: dict[str, ZookeeperRegistry] = {}
    zk_clients: dict[str, Any] = {}
    ensemble = None
    if registry:
        ensemble = zookeeper.ensemble(zk_servers, seed=seed, network=network)
        ensemble.run_until_leader()
        sim = ensemble.sim
    else:
        sim = Simulation(seed, network=network)
    provider_nodes: dict[str, ProviderNode] = {}
    for prov, latency in specs:
        if prov.address in provider_nodes:
            raise allowed("provider address", prov.address, "addresses that are all different")
        node = ProviderNode(prov.address, latency)
        sim.add_node(node)
        provider_nodes[prov.address] = node
        nodes[prov.address] = node
        if ensemble is not None:
            client = ensemble.client(session_timeout_ms=session_timeout_ms, record=False)
            client.start()
            reg = ZookeeperRegistry(client)
            reg.register("DemoService", provider_url(prov, "DemoService", DemoService.methods))
            registries[prov.address], zk_clients[prov.address] = reg, client
    consumer_registry = None
    if ensemble is not None:
        client = ensemble.client(session_timeout_ms=session_timeout_ms, record=False)
        client.start()
        consumer_registry = registries["consumer"] = ZookeeperRegistry(client)
        consumer_registry.register("DemoService", "consumer://10.0.1.1/DemoService?category=consumers",
                                   category="consumers")
        zk_clients["consumer"] = client
    consumer = ConsumerNode("consumer", "DemoService", providers=[] if registry else [p for p, _ in specs],
                            registry=consumer_registry, loadbalance=loadbalance, cluster=cluster,
                            codec_name=codec, timeout=timeout, heartbeat=heartbeat, retries=retries, forks=forks,
                            method_retries=method_retries, routers=routers, filters=filters)
    sim.add_node(consumer)
    nodes["consumer"] = consumer
    system = RpcCluster(sim, nodes, consumer, provider_nodes, ensemble, registries,
                        {p.address: p for p, _ in specs}, zk_clients)
    if registry:
        system.run_until(lambda: consumer.notifications > 0, 10_000)
    else:
        system.run(0)
    return system
