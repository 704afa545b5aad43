"""dscourse.gateway: an API gateway with Spring Cloud Gateway's model (Chapter 13).

* the exchange (:class:`Request`, :class:`Response`, :class:`Exchange`) and route definitions as
  plain data (:class:`RouteDefinition`, :func:`load_routes` from ``spring.cloud.gateway.routes``);
* predicate factories (:data:`PREDICATES`: After, Before, Between, Cookie, Header, Host, Method,
  Path, Query, RemoteAddr, and Weight) and Spring's URL patterns (:class:`PathPattern`,
  :class:`HostPattern`);
* filter factories (:data:`FILTERS`: AddRequestHeader, AddResponseHeader, PrefixPath,
  RewritePath, SetStatus, StripPrefix, Retry, RequestRateLimiter, CircuitBreaker);
* :class:`Gateway` -- the ordered first-match route locator, global filters (``lb://`` through
  ``ds.rpc``'s balancers), error handler and ``traceparent`` access log; :class:`Backend`, a
  simulated upstream; discovery (:class:`StaticDiscovery`, :class:`RegistryDiscovery` on
  ``ds.rpc``'s ZooKeeper registry, :func:`discovery_routes`);
* :class:`RedisRateLimiter` (Spring Cloud Gateway's Lua token bucket on ``ds.redis``) and, for
  comparison, fixed-window, sliding-log and leaky-bucket limiters;
* :class:`CircuitBreaker` -- Resilience4j's state machine; :mod:`.retry` (backoff with jitter,
  :class:`RetryBudget`, :func:`amplification` of a retry storm);
* :mod:`.experiments`, :mod:`.labs`, :mod:`.exercises` (E13.1-E13.4 harnesses) and :mod:`.http_lab`
  (the same gateway on real HTTP: Starlette + uvicorn on loopback, driven by httpx) load on first use.
"""

from .._lazy import lazy
from .breaker import (
    CLOSED,
    COUNT_BASED,
    DISABLED,
    FORCED_OPEN,
    HALF_OPEN,
    OPEN,
    STATES,
    TIME_BASED,
    CircuitBreaker,
    Transition,
)
from .discovery import DiscoveryClient, RegistryDiscovery, StaticDiscovery, discovery_routes
from .errors import CallNotPermitted, GatewayError, NoInstanceError, NoRouteError, UpstreamError, UpstreamTimeout
from .exchange import Exchange, Request, Response
from .filters import FILTERS, Backoff, GatewayFilter, java_replacement, run_chain, strip
from .gateway import Backend, Gateway, LogRecord, Route
from .patterns import HostPattern, PathPattern, java_regex
from .predicates import PREDICATES, Predicate, build_predicate, parse_zoned
from .ratelimit import (
    LIMITERS,
    Decision,
    FixedWindowLimiter,
    LeakyBucketLimiter,
    RedisRateLimiter,
    SlidingWindowCounterLimiter,
    SlidingWindowLogLimiter,
    redis_keys,
)
from .retry import Amplification, RetryBudget, amplification, backoff_ms
from .routes import Definition, RouteDefinition, load_routes

__all__ = [
    "CLOSED",
    "COUNT_BASED",
    "DISABLED",
    "FILTERS",
    "FORCED_OPEN",
    "HALF_OPEN",
    "LIMITERS",
    "OPEN",
    "PREDICATES",
    "STATES",
    "TIME_BASED",
    "Amplification",
    "Backend",
    "Backoff",
    "CallNotPermitted",
    "CircuitBreaker",
    "Decision",
    "Definition",
    "DiscoveryClient",
    "Exchange",
    "FixedWindowLimiter",
    "Gateway",
    "GatewayError",
    "GatewayFilter",
    "HostPattern",
    "LeakyBucketLimiter",
    "LogRecord",
    "NoInstanceError",
    "NoRouteError",
    "PathPattern",
    "Predicate",
    "RedisRateLimiter",
    "RegistryDiscovery",
    "Request",
    "Response",
    "RetryBudget",
    "Route",
    "RouteDefinition",
    "SlidingWindowCounterLimiter",
    "SlidingWindowLogLimiter",
    "StaticDiscovery",
    "Transition",
    "UpstreamError",
    "UpstreamTimeout",
    "amplification",
    "backoff_ms",
    "build_predicate",
    "discovery_routes",
    "java_regex",
    "java_replacement",
    "load_routes",
    "parse_zoned",
    "redis_keys",
    "run_chain",
    "strip",
]

__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises", "experiments", "http_lab"))
