"""Gateway filter factories with Spring Cloud Gateway's names and semantics (Spring Cloud Gateway
reference, "GatewayFilter Factories"), and the chain that runs them.

A filter is ``filter(exchange, chain) -> Response``: code before ``chain(exchange)`` is its
"pre" part, code after it the "post" part, so post parts run in reverse order. Route filters are
ordered by position (``OrderedGatewayFilter(filter, i + 1)``) and merged with the global
filters by order; the sort is stable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import allowed
from .breaker import CircuitBreaker
from .errors import CallNotPermitted, GatewayError, UpstreamError, UpstreamTimeout
from .exchange import (
    CIRCUITBREAKER_EXECUTION_EXCEPTION_ATTR,
    METHODS,
    URI_TEMPLATE_VARIABLES_ATTR,
    Exchange,
    Response,
)
from .patterns import java_regex
from .ratelimit import RedisRateLimiter

if TYPE_CHECKING:
    from .gateway import Gateway

Chain = Callable[[Exchange], Response]


@dataclass(frozen=True)
class GatewayFilter:
    """A named, ordered filter: ``run(exchange, chain) -> Response``."""

    name: str
    args: str
    order: int
    run: Callable[[Exchange, Chain], Response]

    def __str__(self) -> str:
        return f"{self.name}={self.args}" if self.args else self.name


def run_chain(filters: Sequence[GatewayFilter], exchange: Exchange) -> Response:
    """``DefaultGatewayFilterChain``: each filter calls the next; the last one is the proxy."""

    def step(i: int) -> Chain:
        def call(ex: Exchange) -> Response:
            if i == len(filters):
                raise GatewayError("the filter chain ended without a routing filter")
            f = filters[i]
            ex.trace.append(f"pre {f.name}")
            resp = f.run(ex, step(i + 1))
            ex.trace.append(f"post {f.name}")
            return resp
        return call
    return step(0)(exchange)


def expand(template: str, exchange: Exchange) -> str:
    """``ServerWebExchangeUtils.expand``: ``{name}`` from the URI template variables."""
    vars_ = exchange.attributes.get(URI_TEMPLATE_VARIABLES_ATTR, {})
    return re.sub(r"\{([^{}]+)\}", lambda m: vars_.get(m.group(1), m.group(0)), template)


def java_replacement(text: str) -> str:
    """A Java ``replaceAll`` replacement (``${name}``, ``$1``; YAML's ``$\\{name}``) in Python's form."""
    text = text.replace("$\\{", "${")
    text = re.sub(r"\$\{([A-Za-z][A-Za-z0-9]*)\}", r"\\g<\1>", text)
    return re.sub(r"\$(\d+)", r"\\g<\1>", text)


def _need(name: str, args: Sequence[str], n: int, shape: str) -> None:
    if len(args) != n:
        raise allowed(f"{name} arguments", list(args), shape)


# -- simple filters ----------------------------------------------------------------------------
def add_request_header(args: Sequence[str], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    _need("AddRequestHeader", args, 2, "name,value")
    name, value = args

    def run(ex: Exchange, chain: Chain) -> Response:
        ex.request = ex.request.with_header(name, expand(value, ex))
        return chain(ex)
    return run


def add_response_header(args: Sequence[str], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    _need("AddResponseHeader", args, 2, "name,value")
    name, value = args

    def run(ex: Exchange, chain: Chain) -> Response:
        resp = chain(ex)
        return resp.mutate(headers=(*resp.headers, (name, expand(value, ex))))
    return run


def strip_prefix(args: Sequence[str], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    _need("StripPrefix", args, 1, "parts (an int >= 0)")
    if not args[0].isdigit():
        raise allowed("StripPrefix parts", args[0], "an int >= 0")
    parts = int(args[0])

    def run(ex: Exchange, chain: Chain) -> Response:
        ex.request = ex.request.mutate(path=strip(ex.request.path, parts))
        return chain(ex)
    return run


def strip(path: str, parts: int) -> str:
    """``StripPrefixGatewayFilterFactory``: drop the first ``parts`` segments; keep a trailing slash."""
    segs = [s for s in path.split("/") if s]
    new = "/" + "/".join(segs[parts:])
    if len(new) > 1 and path.endswith("/"):
        new += "/"
    return new


def prefix_path(args: Sequence[str], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    _need("PrefixPath", args, 1, "prefix")

    def run(ex: Exchange, chain: Chain) -> Response:
        ex.request = ex.request.mutate(path=expand(args[0], ex) + ex.request.path)
        return chain(ex)
    return run


def rewrite_path(args: Sequence[str], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    _need("RewritePath", args, 2, "regexp,replacement")
    try:
        rx = re.compile(java_regex(args[0]))
    except re.error as e:
        raise allowed("RewritePath regexp", args[0], f"a valid regular expression ({e})") from None
    repl = java_replacement(args[1])

    def run(ex: Exchange, chain: Chain) -> Response:
        ex.request = ex.request.mutate(path=rewrite(rx, repl, ex.request.path))
        return chain(ex)
    return run


def rewrite(rx: re.Pattern[str], repl: str, path: str) -> str:
    """Java's ``String.replaceAll`` with a translated replacement."""
    out = rx.sub(repl, path)
    return out if out.startswith("/") else "/" + out


HTTP_STATUS = {"OK": 200, "CREATED": 201, "NO_CONTENT": 204, "MOVED_PERMANENTLY": 301, "FOUND": 302,
               "BAD_REQUEST": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404,
               "TOO_MANY_REQUESTS": 429, "INTERNAL_SERVER_ERROR": 500, "BAD_GATEWAY": 502,
               "SERVICE_UNAVAILABLE": 503, "GATEWAY_TIMEOUT": 504}


def http_status(value: Any) -> int:
    """A status as an int from an int, digits, or an ``HttpStatus`` name."""
    text = str(value).strip()
    if text.isdigit() and 100 <= int(text) <= 599:
        return int(text)
    if text in HTTP_STATUS:
        return HTTP_STATUS[text]
    raise allowed("HTTP status", value, f"100-599 or one of {', '.join(HTTP_STATUS)}")


def set_status(args: Sequence[str], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    _need("SetStatus", args, 1, "status (an int or HttpStatus name)")
    status = http_status(args[0])

    def run(ex: Exchange, chain: Chain) -> Response:
        return chain(ex).mutate(status=status)
    return run


# -- Retry -------------------------------------------------------------------------------------
SERIES = {"INFORMATIONAL": 1, "SUCCESSFUL": 2, "REDIRECTION": 3, "CLIENT_ERROR": 4, "SERVER_ERROR": 5}


@dataclass(frozen=True)
class Backoff:
    """``RetryGatewayFilterFactory.BackoffConfig``: the n-th retry (n = 0, 1, ...) waits
    ``first_backoff_ms * factor**n``, at most ``max_backoff_ms``."""

    first_backoff_ms: float = 5.0
    max_backoff_ms: float | None = None
    factor: int = 2
    based_on_previous_value: bool = True

    def delay(self, n: int) -> float:
        d = self.first_backoff_ms * self.factor ** n
        return min(d, self.max_backoff_ms) if self.max_backoff_ms is not None else d


def _ms(value: Any, what: str) -> float:
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", text)
    if not m:
        raise allowed(what, value, "a duration such as '10ms', '1s' or 50")
    return float(m.group(1)) * (1000 if m.group(2) == "s" else 1)


def retry(args: dict[str, Any], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    """``Retry``: re-run the rest of the chain on a matching status or an I/O error or timeout,
    for the listed methods (default GET), at most ``retries`` (default 3) more times."""
    unknown = set(args) - {"retries", "statuses", "series", "methods", "exceptions", "backoff"}
    if unknown:
        raise allowed("Retry argument", sorted(unknown)[0], "retries, statuses, series, methods, backoff")
    retries = int(args.get("retries", 3))
    if retries < 0:
        raise allowed("Retry retries", retries, "an int >= 0")
    statuses = {http_status(s) for s in _list(args.get("statuses", []))}
    series = set()
    for s in _list(args.get("series", ["SERVER_ERROR"] if "statuses" not in args else [])):
        if s not in SERIES:
            raise allowed("Retry series", s, f"one of {', '.join(SERIES)}")
        series.add(SERIES[s])
    methods = {m.upper() for m in _list(args.get("methods", ["GET"]))}
    for m in methods:
        if m not in METHODS:
            raise allowed("Retry method", m, f"one of {', '.join(METHODS)}")
    b = args.get("backoff")
    backoff = None
    if b is not None:
        backoff = Backoff(_ms(b.get("firstBackoff", "5ms"), "firstBackoff"),
                          _ms(b["maxBackoff"], "maxBackoff") if b.get("maxBackoff") is not None else None,
                          int(b.get("factor", 2)), str(b.get("basedOnPreviousValue", True)).lower() == "true")

    def run(ex: Exchange, chain: Chain) -> Response:
        if ex.request.method not in methods:
            return chain(ex)
        request, attempt = ex.request, 0
        while True:
            ex.request = request
            try:
                resp = chain(ex)
                retryable = resp.status in statuses or resp.status // 100 in series
                if not retryable or attempt >= retries:
                    return resp
            except (UpstreamError, UpstreamTimeout):
                if attempt >= retries:
                    raise
            if backoff is not None:
                ex.now_ms += backoff.delay(attempt)
            attempt += 1
            ex.attributes["retryIteration"] = attempt
    return run


def _list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    return [str(x) for x in v]


# -- RequestRateLimiter ------------------------------------------------------------------------
def request_rate_limiter(args: dict[str, Any], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    """``RequestRateLimiter``: resolve the key (``key-resolver``, a name in the gateway's
    ``key_resolvers``), ask the limiter, answer 429 with the ``X-RateLimit-*`` headers when
    denied; an empty key is denied with 403 (``deny-empty-key``, ``empty-key-status-code``)."""
    rr = {k.removeprefix("redis-rate-limiter."): v for k, v in args.items()}
    known = {"replenishRate", "burstCapacity", "requestedTokens", "key-resolver", "deny-empty-key",
             "empty-key-status-code", "status-code"}
    unknown = set(rr) - known
    if unknown:
        raise allowed("RequestRateLimiter argument", sorted(unknown)[0], ", ".join(sorted(known)))
    limiter = RedisRateLimiter(int(rr.get("replenishRate", 1)), int(rr.get("burstCapacity", 1)),
                               int(rr.get("requestedTokens", 1)), redis=gw.redis)
    resolver_name = str(rr.get("key-resolver", "remote_addr")).strip("#{}@ ")
    if resolver_name not in gw.key_resolvers:
        raise allowed("key-resolver", resolver_name, f"one of {', '.join(gw.key_resolvers)}")
    resolver = gw.key_resolvers[resolver_name]
    deny_empty = str(rr.get("deny-empty-key", True)).lower() == "true"
    empty_status = http_status(rr.get("empty-key-status-code", 403))
    denied_status = http_status(rr.get("status-code", 429))

    def run(ex: Exchange, chain: Chain) -> Response:
        key = resolver(ex)
        if not key:
            if deny_empty:
                return Response(empty_status, served_by="RequestRateLimiter")
            return chain(ex)
        d = limiter.is_allowed(key, ex.now_ms)   # SCG keys by the resolved key alone (getKeys(id))
        ex.attributes["rateLimited"] = not d.allowed
        if not d.allowed:
            return Response(denied_status, d.headers, served_by="RequestRateLimiter")
        resp = chain(ex)
        return resp.mutate(headers=(*resp.headers, *d.headers))
    run.limiter = limiter  # type: ignore[attr-defined]
    return run


# -- CircuitBreaker ----------------------------------------------------------------------------
def circuit_breaker(args: dict[str, Any], gw: Gateway) -> Callable[[Exchange, Chain], Response]:
    """``CircuitBreaker`` (Spring Cloud CircuitBreaker over Resilience4j): the breaker ``name``
    comes from the gateway's registry; errors, timeouts and the listed ``statusCodes`` count as
    failures; when the call is not permitted or fails, ``fallbackUri`` (``forward:/path``) is
    served, else the error propagates (503 when not permitted)."""
    unknown = set(args) - {"name", "fallbackUri", "statusCodes", "resumeWithoutError"}
    if unknown:
        raise allowed("CircuitBreaker argument", sorted(unknown)[0], "name, fallbackUri, statusCodes")
    breaker: CircuitBreaker = gw.breaker(str(args.get("name", "default")))
    fallback = args.get("fallbackUri")
    if fallback is not None and not str(fallback).startswith("forward:"):
        raise allowed("fallbackUri", fallback, "'forward:/path' (a local handler)")
    codes = {http_status(c) for c in _list(args.get("statusCodes", []))}

    def run(ex: Exchange, chain: Chain) -> Response:
        start = ex.now_ms
        if not breaker.try_acquire(start):
            err: GatewayError = CallNotPermitted(f"CircuitBreaker {breaker.name!r} is {breaker.state}")
        else:
            try:
                resp = chain(ex)
                if resp.status in codes:
                    breaker.on_error(ex.now_ms - start, ex.now_ms)
                    err = GatewayError(f"status {resp.status} counted as a failure", resp.status)
                else:
                    breaker.on_success(ex.now_ms - start, ex.now_ms)
                    return resp
            except (UpstreamError, UpstreamTimeout) as e:
                breaker.on_error(ex.now_ms - start, ex.now_ms)
                err = e
        ex.attributes[CIRCUITBREAKER_EXECUTION_EXCEPTION_ATTR] = err
        if fallback is None:
            raise err
        return gw.forward(str(fallback)[len("forward:"):], ex)
    run.breaker = breaker  # type: ignore[attr-defined]
    return run


SHORTCUT_FILTERS: dict[str, Callable[[Sequence[str], Any], Callable[[Exchange, Chain], Response]]] = {
    "AddRequestHeader": add_request_header, "AddResponseHeader": add_response_header,
    "PrefixPath": prefix_path, "RewritePath": rewrite_path, "SetStatus": set_status, "StripPrefix": strip_prefix,
}
NAMED_FILTERS: dict[str, Callable[[dict[str, Any], Any], Callable[[Exchange, Chain], Response]]] = {
    "CircuitBreaker": circuit_breaker, "RequestRateLimiter": request_rate_limiter, "Retry": retry,
}
SHORTCUT_NAMES = {"CircuitBreaker": ("name", "fallbackUri"), "Retry": ("retries",),
                  "RequestRateLimiter": ()}
FILTERS = sorted([*SHORTCUT_FILTERS, *NAMED_FILTERS])


def build_filter(name: str, args: Sequence[str] | dict[str, Any], order: int, gw: Gateway) -> GatewayFilter:
    """The filter ``name`` with positional (shortcut) or named ``args``, at ``order``."""
    if name in SHORTCUT_FILTERS:
        pos = list(args.values()) if isinstance(args, dict) else list(args)
        run = SHORTCUT_FILTERS[name]([str(a) for a in pos], gw)
        return GatewayFilter(name, ",".join(str(a) for a in pos), order, run)
    if name in NAMED_FILTERS:
        named = dict(args) if isinstance(args, dict) else dict(zip(SHORTCUT_NAMES[name], args, strict=False))
        run = NAMED_FILTERS[name](named, gw)
        shown = ",".join(f"{k}={v}" for k, v in named.items())
        return GatewayFilter(name, shown, order, run)
    raise allowed("filter", name, f"one of {', '.join(FILTERS)}")
