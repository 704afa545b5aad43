"""The gateway's dynamic routes fed from the configuration center (Spring Cloud Gateway + Nacos).

Spring Cloud Alibaba's recipe: the route definitions live in one Nacos configuration (here the
dataId :data:`ROUTES_DATA_ID`, YAML shaped like ``spring.cloud.gateway.routes``). Each gateway
instance is a Nacos client listening to it; on a change its listener parses the new definitions
and publishes a ``RefreshRoutesEvent``, and the ``CachingRouteLocator`` rebuilds its routes
(Spring Cloud Gateway reference, "Actuator API: refreshing the route cache"; Nacos docs, "Nacos
Spring Cloud: dynamic configuration"). ``ds.gateway.Gateway.refresh_routes`` is that refresh:
it builds every route before swapping, so a definition that fails to load is rejected and the
old routes keep serving.

:class:`GatewayInstance` is a Nacos 1.x long-polling client (:class:`~.client.NacosClient`)
that owns a :class:`ds.gateway.Gateway` and serves its own steady request stream on virtual
time, so a change can be watched propagating while requests flow. A restarted instance loads
its routes from the local snapshot before its first poll returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..gateway import Backend, Gateway, Request
from ..notebook import default_seed
from ..sim import Network, Simulation, reliable
from .client import NacosClient
from .server import NacosConfigServer
from .system import ConfigCluster

#: the Nacos dataId holding the route definitions
ROUTES_DATA_ID = "gateway-routes.yaml"


@dataclass(frozen=True)
class Refresh:
    """One attempt to apply a published route configuration on one gateway instance."""

    time: float
    gateway: str
    accepted: bool
    routes: tuple[str, ...]  # the routes serving after the attempt, as "id -> uri"
    error: str = ""


@dataclass(frozen=True)
class Served:
    """One request through a gateway instance: when, which path, which route, what came back."""

    time: float
    gateway: str
    path: str
    route: str
    status: int
    served_by: str


class GatewayInstance(NacosClient):
    """A gateway instance listening to :data:`ROUTES_DATA_ID`; it handles one request every
    ``interval`` ms, cycling through ``paths``. ``refreshes`` and ``served`` are its logs (kept in
    ``stable``, so a crash does not erase what happened before it)."""

    def __init__(self, id: str, server: str, routes: Any, backends: Sequence[str],
                 paths: Sequence[str] = ("/api/orders/1",), interval: float = 50.0) -> None:
        super().__init__(id, server, (ROUTES_DATA_ID,))
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise allowed("interval", interval, "a request interval > 0 ms")
        if not paths:
            raise allowed("paths", paths, "one or more request paths")
        self.paths, self.interval, self.backend_names = tuple(paths), float(interval), tuple(backends)
        self.gateway = Gateway(routes, [Backend(b, latency_ms=2.0, seed=0) for b in backends], seed=0)
        self.listeners = (self.on_routes,)
        self.turn = 0

    @property
    def refreshes(self) -> list[Refresh]:
        return self.stable.setdefault("refreshes", [])

    @property
    def served(self) -> list[Served]:
        return self.stable.setdefault("served", [])

    def on_start(self) -> None:
        cached = self.get(ROUTES_DATA_ID)
        if cached is not None:  # a restart: the snapshot file has the last good routes
            self.on_routes(self.id, ROUTES_DATA_ID, cached)
        super().on_start()
        self.set_timer(self.interval, "request")

    def on_routes(self, client: str, key: str, content: str) -> None:
        """The config listener: ``RefreshRoutesEvent`` with the new definitions, or a rejection."""
        if key != ROUTES_DATA_ID:
            return
        import yaml  # ds.gateway parses YAML with it too

        try:
            self.gateway.refresh_routes(content)
            ok, error = True, ""
        except (ValueError, TypeError, KeyError, yaml.YAMLError) as e:  # config errors are ValueErrors
            ok, error = False, f"{type(e).__name__}: {e}"
        self.refreshes.append(Refresh(self.now, self.id, ok, tuple(f"{r.id} -> {r.uri}" for r in self.gateway.routes),
                                      error))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "request":
            path = self.paths[self.turn % len(self.paths)]
            self.turn += 1
            resp = self.gateway.handle(Request("GET", path, time_ms=self.now))
            rec = self.gateway.log[-1]
            self.served.append(Served(self.now, self.id, path, rec.route_id, resp.status, resp.served_by))
            self.set_timer(self.interval, "request")
        else:
            super().on_timer(name, payload)


class RouteCluster(ConfigCluster):
    """A Nacos server and gateway instances ``g0``...; ``publish_routes`` publishes a new route
    configuration; :meth:`served` and :meth:`refreshes` merge the instances' logs in time order."""

    clients: dict[str, GatewayInstance]  # type: ignore[assignment]

    def publish_routes(self, routes: str, at: float | None = None) -> None:
        self.publish(ROUTES_DATA_ID, routes, at=at)

    def served(self) -> list[Served]:
        return sorted((s for g in self.clients.values() for s in g.served), key=lambda s: (s.time, s.gateway))

    def refreshes(self) -> list[Refresh]:
        return sorted((r for g in self.clients.values() for r in g.refreshes), key=lambda r: (r.time, r.gateway))

    def routes(self) -> dict[str, tuple[str, ...]]:
        """Each up instance's route ids, in matching order."""
        return {g: tuple(r.id for r in n.gateway.routes) for g, n in self.clients.items() if self.up(g)}


def route_cluster(routes: str, gateways: int = 3, seed: int | None = None,
                  backends: Sequence[str] = ("orders-v1:80", "orders-v2:80"),
                  paths: Sequence[str] = ("/api/orders/1",), interval: float = 50.0,
                  network: Network | None = None,
                  boot_routes: Any = None) -> RouteCluster:
    """A Nacos server holding ``routes`` under :data:`ROUTES_DATA_ID` and ``gateways`` gateway
    instances listening to it. Each instance boots with ``boot_routes`` (its static
    ``application.yml`` routes; default: the same ``routes``) and replaces them with the
    configured ones as soon as its first long poll fetches them."""
    if isinstance(gateways, bool) or not isinstance(gateways, int) or gateways < 1:
        raise allowed("gateways", gateways, "an int >= 1")
    sim = Simulation(seed=default_seed(seed), network=network or reliable(latency=1.0))
    server = NacosConfigServer("server")
    sim.add_node(server)
    server.publish(ROUTES_DATA_ID, routes)
    nodes: dict[str, GatewayInstance] = {}
    for i in range(gateways):
        g = GatewayInstance(f"g{i}", "server", routes if boot_routes is None else boot_routes,
                            backends, paths, interval)
        nodes[g.id] = g
        sim.add_node(g)
    return RouteCluster(sim, server, dict(nodes), "nacos", (ROUTES_DATA_ID,))
