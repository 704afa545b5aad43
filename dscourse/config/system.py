"""``ds.config.cluster(...)``: a configuration server and its clients on one simulation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import allowed
from ..notebook import default_seed
from ..sim import Network, Simulation, reliable
from ..sim.cluster import Cluster
from .client import ApolloClient, ConfigClient, NacosClient, PollingClient
from .model import Release
from .server import ApolloConfigService, NacosConfigServer, _ConfigServer

DESIGNS = ("nacos", "nacos2", "apollo", "polling")


class ConfigCluster(Cluster):
    """A server ``"server"`` and clients ``"c0"``...; ``publish``/``rollback`` now or at a time;
    checks: :meth:`stale` (clients not at the server's release) and :meth:`converged`."""

    server: _ConfigServer
    clients: dict[str, ConfigClient]

    def __init__(self, sim: Simulation, server: _ConfigServer, clients: dict[str, ConfigClient],
                 design: str, keys: tuple[str, ...]) -> None:
        super().__init__(sim, {server.id: server, **clients})
        self.server, self.clients, self.design, self.keys = server, clients, design, keys

    def publish(self, key: Any, content: str, at: float | None = None) -> Release | None:
        """Publish ``content`` to ``key`` now, or schedule it at virtual time ``at``."""
        if at is None:
            return self.server.publish(str(key), content)
        self.server.set_timer(at - self.sim.now, "publish", (str(key), content))
        return None

    def rollback(self, key: Any, at: float | None = None) -> Release | None:
        if at is None:
            return self.server.rollback(str(key))
        self.server.set_timer(at - self.sim.now, "rollback", str(key))
        return None

    def expected(self, key: str, client: str) -> str:
        """The MD5 ``client`` should hold for ``key`` (its gray release if a rule matches it)."""
        s = self.server
        if isinstance(s, ApolloConfigService):
            c = self.clients[client]
            assert isinstance(c, ApolloClient)
            r = s.effective(key, client, c.ip, c.labels)
        else:
            r = s.store.current(key)
        return "" if r is None else r.md5

    def stale(self) -> list[tuple[str, str]]:
        """(client, key) pairs where an up client's snapshot differs from what the server serves it."""
        return [(c, k) for c, node in self.clients.items() if self.up(c)
                for k in self.keys if node.md5(k) != self.expected(k, c)]

    def converged(self) -> bool:
        return not self.stale()

    def held(self) -> int:
        """Requests the server is holding right now (long polls parked)."""
        return len(self.server.held)


def cluster(design: str = "nacos", clients: int = 3, seed: int | None = None,
            keys: Sequence[Any] = ("application.yaml",), network: Network | None = None,
            compare_on_arrival: bool = True, ips: Sequence[str] | None = None,
            poll_interval_ms: float = 10_000,
            labels: Sequence[tuple[str, ...]] | None = None) -> ConfigCluster:
    """A configuration server and ``clients`` clients of ``design``:

    * ``"nacos"`` -- Nacos 1.x long polling (MD5s posted, 29.5 s hold, changed keys only);
    * ``"nacos2"`` -- Nacos 2.x push over a long-lived connection;
    * ``"apollo"`` -- Apollo ``/notifications/v2`` (60 s hold, 90 s client timeout, 1 s scan);
    * ``"polling"`` -- the baseline: every client fetches every key every ``poll_interval_ms``
      from a Nacos server.

    ``keys`` are strings or :class:`NacosKey`/:class:`ApolloKey`; ``compare_on_arrival=False``
    builds the broken Nacos server that loses a publish racing a poll (Chapter 15). ``ips`` and
    ``labels`` give Apollo clients their IP and labels (for gray rules), client by client."""
    if design not in DESIGNS:
        raise allowed("design", design, f"one of {DESIGNS}")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise allowed("clients", clients, "an int >= 1")
    seed = default_seed(seed)
    names = tuple(str(k) for k in keys)
    sim = Simulation(seed=seed, network=network or reliable(latency=1.0))
    server: _ConfigServer
    if design == "apollo":
        server = ApolloConfigService("server")
    else:
        server = NacosConfigServer("server", compare_on_arrival=compare_on_arrival)
    sim.add_node(server)
    nodes: dict[str, ConfigClient] = {}
    for i in range(clients):
        cid = f"c{i}"
        c: ConfigClient
        if design == "apollo":
            ip = ips[i] if ips is not None and i < len(ips) else f"10.0.{i // 256}.{i % 256}"
            tags = tuple(labels[i]) if labels is not None and i < len(labels) else ()
            c = ApolloClient(cid, "server", names, ip=ip, labels=tags)
        elif design == "polling":
            c = PollingClient(cid, "server", names, interval=poll_interval_ms)
        else:
            c = NacosClient(cid, "server", names, push=design == "nacos2")
        nodes[cid] = c
        sim.add_node(c)
    return ConfigCluster(sim, server, nodes, design, names)

