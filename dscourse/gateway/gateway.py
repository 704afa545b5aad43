"""The gateway: route locator, handler mapping, filter chain, global filters, error handler and
request log (Spring Cloud Gateway reference, "How It Works" and "Global Filters").

``Gateway.handle(request)`` follows SCG's workflow on virtual time: the
``WeightCalculatorWebFilter`` draws one number per Weight group; the
``RoutePredicateHandlerMapping`` takes routes sorted by ``order`` (declaration order breaks ties,
erratum H10) and picks the first whose predicates *all* match; the ``FilteringWebHandler`` runs
the route's filters merged with the global filters by order (pre parts in order, post parts in
reverse): ``RouteToRequestUrlFilter`` (10000), ``ReactiveLoadBalancerClientFilter`` (10150,
``lb://`` through ``ds.rpc``'s balancers; erratum H7: not the Ribbon-era
``LoadBalancerClientFilter``), and the routing filter last (the proxy, or ``forward:`` to a
local handler). Errors become responses in the error handler (``ErrorWebExceptionHandler``).
Each request carries a W3C ``traceparent`` (Chapter 11's ``ds.idesign``): kept from the client
or started here, with a new span id for the hop to the upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import allowed
from ..idesign import TraceParent, new_traceparent, parse_traceparent
from ..notebook import default_seed
from ..rpc import Invocation, Provider, RpcError
from ..rpc import load_balancer as rpc_load_balancer
from ..sim import stream
from .breaker import CircuitBreaker
from .discovery import DiscoveryClient, StaticDiscovery
from .errors import GatewayError, NoInstanceError, NoRouteError, UpstreamError, UpstreamTimeout
from .exchange import (
    GATEWAY_LOADBALANCER_RESPONSE_ATTR,
    GATEWAY_REQUEST_URL_ATTR,
    GATEWAY_ROUTE_ATTR,
    URI_TEMPLATE_VARIABLES_ATTR,
    WEIGHT_ATTR,
    Exchange,
    Request,
    Response,
)
from .filters import GatewayFilter, build_filter, run_chain
from .predicates import Predicate, build_predicate, parse_weight
from .routes import RouteDefinition, load_routes

ROUTE_TO_URL_FILTER_ORDER = 10000
LOAD_BALANCER_CLIENT_FILTER_ORDER = 10150
ROUTING_FILTER_ORDER = 2**31 - 1   # Ordered.LOWEST_PRECEDENCE


class Upstream(Protocol):
    """What the routing filter calls: a simulated :class:`Backend` or a real HTTP one."""

    name: str

    def handle(self, request: Request, now_ms: float) -> tuple[Response, float]: ...


class Backend:
    """A simulated upstream instance: ``latency_ms`` per call, failing with probability
    ``failure_rate`` (status ``error_status``, or a refused connection when ``error_status`` is
    None), or always while ``down``. Randomness from the stream ``gateway:backend:<name>``."""

    def __init__(self, name: str, latency_ms: float = 10.0, failure_rate: float = 0.0,
                 error_status: int | None = 500, seed: int | None = None, body: str = "") -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise allowed("failure_rate", failure_rate, "a probability from 0 to 1")
        if not latency_ms >= 0:
            raise allowed("latency_ms", latency_ms, "a number of ms >= 0")
        self.name, self.latency_ms, self.failure_rate = name, float(latency_ms), failure_rate
        self.error_status, self.body, self.down = error_status, body or f"hello from {name}", False
        self.rng = stream(default_seed(seed), f"gateway:backend:{name}")
        self.calls = 0

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, latency_ms={self.latency_ms}, failure_rate={self.failure_rate})"

    def handle(self, request: Request, now_ms: float) -> tuple[Response, float]:
        """(response, latency in ms); raises :class:`UpstreamError` when the call fails at the connection."""
        self.calls += 1
        failed = self.down or (self.failure_rate > 0 and self.rng.random() < self.failure_rate)
        if failed and (self.error_status is None or self.down):
            raise UpstreamError(f"connection to {self.name} refused")
        if failed:
            return Response(self.error_status or 500, body="upstream error", served_by=self.name), self.latency_ms
        return Response(200, (("X-Served-By", self.name),), f"{self.body} {request.path}", self.name), self.latency_ms


@dataclass(frozen=True)
class Route:
    """A loaded route: its definition with built predicates and filters."""

    id: str
    uri: str
    order: int
    predicates: tuple[Predicate, ...]
    filters: tuple[GatewayFilter, ...]
    definition: RouteDefinition

    def matches(self, exchange: Exchange) -> bool:
        return all(p(exchange) for p in self.predicates)


@dataclass(frozen=True)
class LogRecord:
    """One access-log line: when, which trace, what was asked, which route, what came back."""

    time_ms: float
    trace_id: str
    method: str
    path: str
    route_id: str
    status: int
    served_by: str
    latency_ms: float


def remote_addr_resolver(ex: Exchange) -> str:
    return ex.request.remote_addr


def user_resolver(ex: Exchange) -> str:
    """The ``X-User`` header (a stand-in for ``PrincipalNameKeyResolver``); empty if absent."""
    vals = ex.request.header("X-User")
    return vals[0] if vals else ""


class Gateway:
    """A Spring-Cloud-Gateway-like gateway over ``routes`` (YAML, dicts or definitions).

    ``backends``: ``{address: Backend}`` (``http://address`` or an instance chosen for
    ``lb://service``); ``discovery``: a :class:`DiscoveryClient` (default: each backend address a
    service named after the route's host); ``load_balancer``: a Dubbo balancer name for ``lb://``;
    ``redis``: a redis-py-compatible client for the rate limiter; ``breakers``:
    ``{name: CircuitBreaker kwargs}`` (``resilience4j.circuitbreaker.instances``);
    ``forwards``: ``{path: handler(exchange) -> Response}`` for ``forward:`` URIs;
    ``response_timeout_ms``: ``spring.cloud.gateway.httpclient.response-timeout``.
    """

    def __init__(self, routes: Any, backends: Mapping[str, Upstream] | Iterable[Upstream] = (), *,
                 discovery: DiscoveryClient | None = None, load_balancer: str = "roundrobin",
                 redis: Any = None, breakers: dict[str, dict[str, Any]] | None = None,
                 forwards: dict[str, Callable[[Exchange], Response]] | None = None,
                 key_resolvers: dict[str, Callable[[Exchange], str]] | None = None,
                 response_timeout_ms: float | None = None, seed: int | None = None) -> None:
        seed = default_seed(seed)
        self.backends: dict[str, Upstream] = (dict(backends) if isinstance(backends, Mapping)
                                              else {b.name: b for b in backends})
        self.discovery: DiscoveryClient = discovery if discovery is not None else StaticDiscovery({})
        self.lb = rpc_load_balancer(load_balancer, rng=stream(seed, "gateway:lb"))
        self.redis = redis
        self.breaker_config = dict(breakers or {})
        self.breakers: dict[str, CircuitBreaker] = {}
        self.forwards = dict(forwards or {})
        self.key_resolvers = {"remote_addr": remote_addr_resolver, "user": user_resolver, **(key_resolvers or {})}
        self.response_timeout_ms = response_timeout_ms
        self.weight_rng = stream(seed, "gateway:weight")
        self.trace_rng = stream(seed, "gateway:trace")
        self.log: list[LogRecord] = []
        self.routes: list[Route] = []
        self.refresh_routes(routes)
        self.global_filters = (
            GatewayFilter("RouteToRequestUrlFilter", "", ROUTE_TO_URL_FILTER_ORDER, self._route_to_url),
            GatewayFilter("ReactiveLoadBalancerClientFilter", "", LOAD_BALANCER_CLIENT_FILTER_ORDER, self._lb),
            GatewayFilter("RoutingFilter", "", ROUTING_FILTER_ORDER, self._proxy),
        )

    # -- route locator ----------------------------------------------------------------------
    def refresh_routes(self, routes: Any) -> list[Route]:
        """``RefreshRoutesEvent`` to the ``CachingRouteLocator``: load and build *every* route of
        ``routes`` (YAML, dicts or definitions) first, then swap the table in one step. If any
        definition fails, the error propagates and the old routes stay in place."""
        defs = routes if isinstance(routes, list) and all(isinstance(r, RouteDefinition) for r in routes) \
            else load_routes(routes)
        self.routes = self._locate(defs)
        self.weight_groups = self._weight_groups()
        return self.routes

    def _locate(self, defs: list[RouteDefinition]) -> list[Route]:
        routes = []
        for d in defs:
            preds = tuple(build_predicate(p.name, [str(a) for a in p.arguments()] if isinstance(p.arguments(), dict)
                                          else list(p.arguments()), d.id) for p in d.predicates)
            filters = tuple(build_filter(f.name, f.arguments(), i + 1, self) for i, f in enumerate(d.filters))
            routes.append(Route(d.id, d.uri, d.order, preds, filters, d))
        return sorted(routes, key=lambda r: r.order)   # stable: declaration order breaks ties

    def _weight_groups(self) -> dict[str, list[tuple[str, int]]]:
        groups: dict[str, list[tuple[str, int]]] = {}
        for r in self.routes:
            for p in r.predicates:
                if p.name == "Weight":
                    g, w = parse_weight(p.args)
                    groups.setdefault(g, []).append((r.id, w))
        return groups

    def breaker(self, name: str) -> CircuitBreaker:
        """The named breaker (created on first use from ``breakers[name]``, else Resilience4j's defaults)."""
        if name not in self.breakers:
            self.breakers[name] = CircuitBreaker(name, **self.breaker_config.get(name, {}))
        return self.breakers[name]

    def route_table(self) -> list[dict[str, Any]]:
        """The routes in matching order, as rows (id, order, uri, predicates, filters)."""
        return [{"id": r.id, "order": r.order, "uri": r.uri, "predicates": "; ".join(map(str, r.predicates)),
                 "filters": "; ".join(map(str, r.filters))} for r in self.routes]

    def filters_for(self, route: Route) -> list[GatewayFilter]:
        """Route filters and global filters merged by order (stable)."""
        return sorted([*self.global_filters, *route.filters], key=lambda f: f.order)

    # -- handler ----------------------------------------------------------------------------
    def _draw_weights(self, ex: Exchange) -> None:
        """``WeightCalculatorWebFilter``: one draw in [0, 1) per group, mapped onto the ranges."""
        chosen = {}
        for group, members in self.weight_groups.items():
            total = sum(w for _, w in members)
            r, acc = self.weight_rng.random(), 0.0
            for rid, w in members:
                acc += w / total if total else 0.0
                if r < acc:
                    chosen[group] = rid
                    break
            else:
                chosen[group] = members[-1][0]
        ex.attributes[WEIGHT_ATTR] = chosen

    def lookup_route(self, ex: Exchange) -> Route | None:
        """``RoutePredicateHandlerMapping.lookupRoute``: the first route whose predicates all match."""
        for r in self.routes:
            ex.attributes.pop(URI_TEMPLATE_VARIABLES_ATTR, None)
            if r.matches(ex):
                return r
        return None

    def explain(self, request: Request) -> list[dict[str, Any]]:
        """Every route's predicates' verdicts for ``request`` (weights drawn afresh)."""
        ex = Exchange(request)
        self._draw_weights(ex)
        return [{"route": r.id, **{str(p): p(ex) for p in r.predicates}} for r in self.routes]

    def _traceparent(self, request: Request) -> tuple[TraceParent, Request]:
        vals = request.header("traceparent")
        try:
            incoming = parse_traceparent(vals[0]) if vals else None
        except ValueError:
            incoming = None   # W3C Trace Context: an invalid header restarts the trace
        fresh = new_traceparent(self.trace_rng)
        tp = fresh if incoming is None else TraceParent("00", incoming.trace_id, fresh.parent_id, incoming.flags)
        headers = tuple((k, v) for k, v in request.headers if k.lower() != "traceparent")
        return tp, request.mutate(headers=(*headers, ("traceparent", str(tp))))

    def handle(self, request: Request) -> Response:
        """One request through the gateway at ``request.time_ms``; errors become responses."""
        tp, request = self._traceparent(request)
        ex = Exchange(request)
        route = None
        try:
            self._draw_weights(ex)
            route = self.lookup_route(ex)
            if route is None:
                raise NoRouteError(f"no route matches {request.method} {request.host}{request.path}")
            ex.attributes[GATEWAY_ROUTE_ATTR] = route
            resp = run_chain(self.filters_for(route), ex)
        except GatewayError as e:
            resp = self.error_response(e)
        self.last_exchange = ex
        self.log.append(LogRecord(request.time_ms, tp.trace_id, request.method, request.path,
                                  route.id if route else "", resp.status, resp.served_by, ex.now_ms - request.time_ms))
        return resp

    def error_response(self, error: GatewayError) -> Response:
        """``DefaultErrorWebExceptionHandler``: the error's status and a JSON-ish body."""
        return Response(error.status, (("Content-Type", "application/json"),),
                        f'{{"status": {error.status}, "error": "{type(error).__name__}", "message": "{error}"}}',
                        "gateway")

    def forward(self, path: str, ex: Exchange) -> Response:
        """``forward:`` to a local handler (a fallback endpoint)."""
        if path not in self.forwards:
            raise NoRouteError(f"no local handler for forward:{path} (known: {', '.join(self.forwards) or 'none'})")
        ex.trace.append(f"forward {path}")
        return self.forwards[path](ex)

    # -- global filters ---------------------------------------------------------------------
    def _route_to_url(self, ex: Exchange, chain: Callable[[Exchange], Response]) -> Response:
        route = ex.attributes[GATEWAY_ROUTE_ATTR]
        ex.attributes[GATEWAY_REQUEST_URL_ATTR] = route.uri
        return chain(ex)

    def _lb(self, ex: Exchange, chain: Callable[[Exchange], Response]) -> Response:
        url = ex.attributes[GATEWAY_REQUEST_URL_ATTR]
        if url.startswith("lb://"):
            service = url[len("lb://"):].rstrip("/")
            instance = self.choose(service, ex.request)
            ex.attributes[GATEWAY_LOADBALANCER_RESPONSE_ATTR] = instance
            ex.attributes[GATEWAY_REQUEST_URL_ATTR] = f"http://{instance.address}"
        return chain(ex)

    def choose(self, service: str, request: Request) -> Provider:
        """An instance of ``service`` from discovery through the ``ds.rpc`` balancer."""
        instances = self.discovery.get_instances(service)
        try:
            return self.lb.select(instances, Invocation(service, request.method))
        except RpcError:
            raise NoInstanceError(f"Unable to find instance for {service}") from None

    def _proxy(self, ex: Exchange, chain: Callable[[Exchange], Response]) -> Response:
        url = ex.attributes[GATEWAY_REQUEST_URL_ATTR]
        if url.startswith("forward:"):
            return self.forward(url[len("forward:"):], ex)
        address = url.split("://", 1)[1].rstrip("/")
        backend = self.backends.get(address)
        if backend is None:
            raise UpstreamError(f"connection to {address} refused (no such backend; known: "
                                f"{', '.join(self.backends) or 'none'})")
        resp, latency = backend.handle(ex.request, ex.now_ms)
        if self.response_timeout_ms is not None and latency > self.response_timeout_ms:
            ex.now_ms += self.response_timeout_ms
            raise UpstreamTimeout(f"Response took longer than timeout: {self.response_timeout_ms} ms")
        ex.now_ms += latency
        return resp
