"""Service discovery for ``lb://`` routes, on ``ds.rpc``'s registry (Spring Cloud's
``DiscoveryClient``; ``DiscoveryClientRouteDefinitionLocator`` for discovery-driven routes).

* :class:`StaticDiscovery` -- a fixed ``{service: [address, ...]}`` map (``SimpleDiscoveryClient``).
* :class:`RegistryDiscovery` -- instances read from a ``ds.rpc.ZookeeperRegistry`` (providers'
  ephemeral znodes on ``ds.zk``): an instance disappears only when its znode does, that is on
  unregister or when its session expires (erratum H3).
* :func:`discovery_routes` -- one route per service: ``Path=/<service>/**`` and
  ``RewritePath=/<service>/?(?<remaining>.*), /${remaining}`` to ``lb://<service>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ..errors import DscourseError, allowed
from ..rpc import Provider, parse_provider_url
from .routes import Definition, RouteDefinition


class DiscoveryClient(Protocol):
    def services(self) -> list[str]: ...

    def get_instances(self, service: str) -> list[Provider]: ...


class StaticDiscovery:
    """``{service: [address or Provider, ...]}``; ``deregister``/``register`` change it."""

    def __init__(self, instances: dict[str, Iterable[str | Provider]]) -> None:
        if not isinstance(instances, dict):
            raise allowed("instances", instances, "a dict {service: [address, ...]}")
        self.instances = {s: [p if isinstance(p, Provider) else Provider(p) for p in ps]
                          for s, ps in instances.items()}

    def services(self) -> list[str]:
        return sorted(self.instances)

    def get_instances(self, service: str) -> list[Provider]:
        return list(self.instances.get(service, []))

    def register(self, service: str, address: str, weight: int = 100) -> None:
        self.instances.setdefault(service, []).append(Provider(address, weight))

    def deregister(self, service: str, address: str) -> None:
        self.instances[service] = [p for p in self.instances.get(service, []) if p.address != address]


class RegistryDiscovery:
    """Instances of ``services`` from a ``ds.rpc.ZookeeperRegistry`` (``lookup`` runs the
    simulation until ZooKeeper answers: a notebook cell or setup, not a node's handler)."""

    def __init__(self, registry: Any, services: Iterable[str]) -> None:
        self.registry, self._services = registry, sorted(services)

    def services(self) -> list[str]:
        return list(self._services)

    def get_instances(self, service: str) -> list[Provider]:
        try:
            urls = self.registry.lookup(service)
        except DscourseError:   # ds.zk's NoNodeError: no provider ever registered the service
            return []
        return [parse_provider_url(u)[0] for u in urls]


def discovery_routes(discovery: DiscoveryClient, order: int = 0) -> list[RouteDefinition]:
    """``spring.cloud.gateway.discovery.locator.enabled=true``: a route per registered service."""
    return [RouteDefinition(f"ReactiveCompositeDiscoveryClient_{s}", f"lb://{s}",
                            (Definition("Path", (f"/{s}/**",)),),
                            (Definition("RewritePath", (f"/{s}/?(?<remaining>.*)", "/${remaining}")),),
                            order)
            for s in discovery.services()]
