"""The same gateway on real HTTP: the route table served as an ASGI application (Starlette) by
uvicorn on a loopback port, in front of two small real backends, driven by ``httpx``.

This is the one part of ``ds.gateway`` that runs real threads and sockets (uvicorn's); the
simulation never does. Virtual time here is the wall clock since the gateway started (ms), so
the limiter refills in real time. Latencies vary run to run; with a bounded load loop faster than
the refill, statuses do not. The limiter runs on ``ds.redis`` unless a redis-py client of a real
server is passed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import PlainTextResponse
from starlette.responses import Response as HttpResponse
from starlette.routing import Route as HttpRoute

from .discovery import StaticDiscovery
from .errors import UpstreamError, UpstreamTimeout
from .exchange import METHODS, Request, Response
from .gateway import Gateway

ALL_METHODS = list(METHODS)


def backend_app(name: str, controls: dict[str, Any]) -> Starlette:
    """A tiny upstream: answers ``hello from <name> <path>``, or 500 while ``controls['fail']``."""

    async def hello(request: HttpRequest) -> PlainTextResponse:
        if controls.get("fail"):
            return PlainTextResponse("upstream error", status_code=500)
        return PlainTextResponse(f"hello from {name} {request.url.path}", headers={"X-Served-By": name})

    return Starlette(routes=[HttpRoute("/{path:path}", hello, methods=ALL_METHODS)])


class HttpBackend:
    """An upstream reached over HTTP at ``base_url`` (the gateway's routing filter calls ``handle``)."""

    def __init__(self, name: str, base_url: str, timeout_s: float = 2.0) -> None:
        self.name, self.base_url = name, base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout_s)
        self.calls = 0

    def handle(self, request: Request, now_ms: float) -> tuple[Response, float]:
        self.calls += 1
        start = time.perf_counter()
        try:
            r = self.client.request(request.method, self.base_url + request.path, params=list(request.query),
                                    headers=[(k, v) for k, v in request.headers if k.lower() != "host"])
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{self.name} timed out") from None
        except httpx.TransportError as e:
            raise UpstreamError(f"connection to {self.name} failed: {e}") from None
        latency = (time.perf_counter() - start) * 1000
        headers = tuple((k, v) for k, v in r.headers.items() if k.lower() == "x-served-by")
        return Response(r.status_code, headers, r.text, self.name), latency


def gateway_app(gw: Gateway) -> Starlette:
    """``gw`` as an ASGI app: every request becomes a :class:`Request` at the wall-clock ms since start."""
    t0 = time.monotonic()

    async def handle(request: HttpRequest) -> HttpResponse:
        req = Request(request.method, request.url.path, request.headers.get("host", "localhost"),
                      tuple(request.headers.items()), tuple(request.query_params.multi_items()),
                      tuple(request.cookies.items()), request.client.host if request.client else "127.0.0.1",
                      (time.monotonic() - t0) * 1000)
        resp = gw.handle(req)
        return HttpResponse(resp.body, status_code=resp.status, headers=dict(resp.headers))

    return Starlette(routes=[HttpRoute("/{path:path}", handle, methods=ALL_METHODS)])


@dataclass
class Served:
    """A uvicorn server on 127.0.0.1 in a thread: ``url``; ``stop()`` shuts it down."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: Starlette, timeout_s: float = 10.0) -> Served:
    """Run ``app`` on a free loopback port (port 0, the OS chooses)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start on 127.0.0.1")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return Served(server, thread, f"http://127.0.0.1:{port}")


def lab_routes() -> list[dict[str, Any]]:
    return [
        {"id": "api", "uri": "lb://demo", "predicates": ["Path=/api/**"], "filters": ["StripPrefix=1"]},
        {"id": "limited", "uri": "http://a", "predicates": ["Path=/limited/**"],
         "filters": [{"name": "RequestRateLimiter", "args": {"redis-rate-limiter.replenishRate": 1,
                                                             "redis-rate-limiter.burstCapacity": 3,
                                                             "key-resolver": "user"}}]},
        {"id": "flaky", "uri": "http://b", "predicates": ["Path=/flaky/**"],
         "filters": [{"name": "CircuitBreaker", "args": {"name": "b", "statusCodes": "500",
                                                         "fallbackUri": "forward:/fallback"}}]},
    ]


def tour(requests: int = 12, redis: Any = None) -> dict[str, Any]:
    """Two real backends and the gateway on loopback; ``requests`` calls per route (bounded).

    Returns what each route did: instances hit on ``/api``, statuses on ``/limited`` (one user,
    faster than the refill) and on ``/flaky`` once backend b fails, the breaker's transitions,
    and how many calls reached b."""
    controls_a: dict[str, Any] = {}
    controls_b: dict[str, Any] = {}
    servers = [serve(backend_app("a", controls_a)), serve(backend_app("b", controls_b))]
    try:
        a, b = HttpBackend("a", servers[0].url), HttpBackend("b", servers[1].url)
        gw = Gateway(lab_routes(), {"a": a, "b": b}, discovery=StaticDiscovery({"demo": ["a:80", "b:80"]}),
                     redis=redis, breakers={"b": dict(sliding_window_size=4, minimum_number_of_calls=4,
                                                      wait_duration_in_open_state_ms=60_000)},
                     forwards={"/fallback": lambda ex: Response(200, body="fallback", served_by="fallback")},
                     seed=0)
        gw.backends.update({"a:80": a, "b:80": b})
        served = serve(gateway_app(gw))
        servers.append(served)
        with httpx.Client(base_url=served.url, timeout=5.0) as client:
            api = Counter(client.get(f"/api/item/{i}").headers.get("X-Served-By", "?") for i in range(requests))
            limited = [client.get("/limited/x", headers={"X-User": "ann"}).status_code for _ in range(requests)]
            controls_b["fail"] = True
            flaky = [client.get("/flaky/x").text for _ in range(requests)]
        breaker = gw.breakers["b"]
        return {"url": served.url, "api": dict(api), "limited": Counter(limited), "flaky": Counter(flaky),
                "breaker": [(t.from_state, t.to_state) for t in breaker.transitions], "calls_to_b": b.calls,
                "log": gw.log[-3:]}
    finally:
        for s in servers:
            s.stop()
