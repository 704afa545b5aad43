"""The exchange: an immutable request, an immutable response, and the mutable attributes between
(Spring WebFlux's ``ServerWebExchange``; Spring Cloud Gateway's ``ServerWebExchangeUtils``
attribute names).

Filters never edit a request in place: ``request.mutate(path=...)`` returns a new one, as
``exchange.getRequest().mutate()`` does. ``time_ms`` is the virtual time the request arrives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

# ServerWebExchangeUtils attribute names
GATEWAY_ROUTE_ATTR = "gatewayRoute"
GATEWAY_REQUEST_URL_ATTR = "gatewayRequestUrl"
URI_TEMPLATE_VARIABLES_ATTR = "uriTemplateVariables"
WEIGHT_ATTR = "routeWeight"
CIRCUITBREAKER_EXECUTION_EXCEPTION_ATTR = "circuitBreakerExecutionException"
GATEWAY_LOADBALANCER_RESPONSE_ATTR = "gatewayLoadBalancerResponse"

Pairs = tuple[tuple[str, str], ...]


def _pairs(what: str, value: Any) -> Pairs:
    if isinstance(value, dict):
        value = tuple(value.items())
    if not isinstance(value, tuple) or not all(isinstance(p, tuple) and len(p) == 2
                                               and all(isinstance(x, str) for x in p) for p in value):
        raise allowed(what, value, "a dict or tuple of (name, value) string pairs")
    return value


@dataclass(frozen=True)
class Request:
    """An HTTP request at the gateway: ``method``, ``path``, ``host`` (the Host header, with port
    if not the default), ``headers``/``query``/``cookies`` as (name, value) pairs (names may
    repeat), ``remote_addr`` and arrival ``time_ms`` (virtual)."""

    method: str = "GET"
    path: str = "/"
    host: str = "localhost"
    headers: Pairs = ()
    query: Pairs = ()
    cookies: Pairs = ()
    remote_addr: str = "127.0.0.1"
    time_ms: float = 0.0
    body: str = ""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise allowed("method", self.method, f"one of {', '.join(METHODS)}")
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise allowed("path", self.path, "a string starting with '/'")
        for name in ("headers", "query", "cookies"):
            object.__setattr__(self, name, _pairs(name, getattr(self, name)))

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive, as HTTP header names are)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def cookie(self, name: str) -> list[str]:
        return [v for k, v in self.cookies if k == name]

    def mutate(self, **changes: Any) -> Request:
        """A copy with ``changes`` (``ServerHttpRequest.mutate()``)."""
        return dataclasses.replace(self, **changes)

    def with_header(self, name: str, value: str) -> Request:
        return self.mutate(headers=(*self.headers, (name, value)))


@dataclass(frozen=True)
class Response:
    """An HTTP response: ``status``, ``headers`` (pairs), ``body``, and ``served_by`` (the
    upstream instance or handler that produced it, for the book's tables)."""

    status: int = 200
    headers: Pairs = ()
    body: str = ""
    served_by: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise allowed("status", self.status, "an HTTP status code from 100 to 599")
        object.__setattr__(self, "headers", _pairs("headers", self.headers))

    def header(self, name: str) -> str | None:
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return vals[-1] if vals else None

    def with_headers(self, **more: str) -> Response:
        extra = tuple((k.replace("_", "-"), v) for k, v in more.items())
        return dataclasses.replace(self, headers=(*self.headers, *extra))

    def mutate(self, **changes: Any) -> Response:
        return dataclasses.replace(self, **changes)


@dataclass
class Exchange:
    """One request's passage through the gateway: the current ``request``, ``attributes``
    (``ServerWebExchangeUtils`` names), the virtual clock ``now_ms`` (advanced by upstream
    latency and retry backoff) and ``trace`` (which filters ran, pre and post, in order)."""

    request: Request
    now_ms: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.now_ms:
            self.now_ms = float(self.request.time_ms)
