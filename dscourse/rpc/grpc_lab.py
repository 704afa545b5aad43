"""The chapter's demo service over real gRPC on a loopback port (``grpcio``, no code generation).

The server registers ``dscourse.DemoService`` with a *generic handler*
(``grpc.method_handlers_generic_handler``) whose methods take and return JSON bytes through
this package's :class:`~dscourse.rpc.codec.JsonCodec`, so no ``.proto`` file or ``protoc``
step is needed. The client shows what gRPC gives out of the box (gRPC docs, "Deadlines",
"Status codes", "Retry"): a deadline per call (``DEADLINE_EXCEEDED``), status codes
(``INVALID_ARGUMENT``, ``UNIMPLEMENTED``), and transparent retries configured in the channel's
*service config* (``retryPolicy``) only for the methods listed there, so the
non-idempotent ``PlaceOrder`` is never retried.

This is the one part of ``ds.rpc`` that runs real threads and a real socket (gRPC's own); the
simulation never does. Latencies here are wall-clock and vary run to run; statuses do not.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

from .codec import JsonCodec

SERVICE = "dscourse.DemoService"
RETRY_CONFIG = {
    "methodConfig": [{
        "name": [{"service": SERVICE, "method": "SayHello"}, {"service": SERVICE, "method": "Flaky"}],
        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
    }],
}


@dataclass
class DemoServer:
    """A running server: ``port`` on 127.0.0.1, per-method ``attempts`` it saw, ``orders``."""

    server: Any
    port: int
    attempts: Counter[str] = field(default_factory=Counter)
    orders: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stopping.set()
        self.server.stop(grace=None).wait()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(flaky_failures: int = 2, slow_s: float = 1.0) -> DemoServer:
    """Start the server on a free loopback port. ``Flaky`` answers ``UNAVAILABLE`` to its first
    ``flaky_failures`` calls per key; ``Slow`` takes ``slow_s`` seconds."""
    import grpc

    codec = JsonCodec()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    demo = DemoServer(server, 0)
    lock = threading.Lock()
    seen: Counter[str] = Counter()

    def count(method: str) -> None:
        with lock:
            demo.attempts[method] += 1

    def say_hello(req: Any, ctx: Any) -> Any:
        count("SayHello")
        name = req.get("name") if isinstance(req, dict) else None
        if not isinstance(name, str) or not name:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "name must be a non-empty string")
        return {"message": f"Hello {name}"}

    def place_order(req: Any, ctx: Any) -> Any:
        count("PlaceOrder")
        with lock:
            demo.orders.append(str(req.get("order_id")))
        return {"placed": req.get("order_id")}

    def flaky(req: Any, ctx: Any) -> Any:
        count("Flaky")
        key = str(req.get("key"))
        with lock:
            seen[key] += 1
            n = seen[key]
        if n <= flaky_failures:
            ctx.abort(grpc.StatusCode.UNAVAILABLE, f"attempt {n}: try again")
        return {"key": key, "attempt": n}

    def slow(req: Any, ctx: Any) -> Any:
        count("Slow")
        demo.stopping.wait(slow_s)
        return {"slept": slow_s}

    handlers = {name: grpc.unary_unary_rpc_method_handler(fn, request_deserializer=codec.decode,
                                                          response_serializer=codec.encode)
                for name, fn in (("SayHello", say_hello), ("PlaceOrder", place_order), ("Flaky", flaky),
                                 ("Slow", slow))}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    demo.port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return demo


class DemoClient:
    """A channel to ``127.0.0.1:port`` with the retry service config; ``call(method, request,
    timeout)`` returns ``("OK", reply)`` or ``(status name, details)``."""

    def __init__(self, port: int, retries: bool = True) -> None:
        import grpc

        options: list[tuple[str, Any]] = [("grpc.enable_retries", 1 if retries else 0)]
        if retries:
            options.append(("grpc.service_config", json.dumps(RETRY_CONFIG)))
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
        self.codec = JsonCodec()

    def call(self, method: str, request: Any, timeout: float = 5.0) -> tuple[str, Any]:
        import grpc

        stub = self.channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=self.codec.encode,
                                        response_deserializer=self.codec.decode)
        try:
            return "OK", stub(request, timeout=timeout)
        except grpc.RpcError as e:
            return e.code().name, e.details()

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> DemoClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def tour() -> list[tuple[str, str, str]]:
    """The chapter's gRPC tour: rows ``(call, status, what it shows)`` from one real server."""
    rows = []
    with serve(flaky_failures=2, slow_s=1.0) as server, DemoClient(server.port) as client:
        status, reply = client.call("SayHello", {"name": "alice"})
        rows.append(("SayHello(alice)", status, str(reply)))
        status, detail = client.call("SayHello", {"name": ""})
        rows.append(("SayHello('')", status, detail))
        status, detail = client.call("Slow", {}, timeout=0.1)
        rows.append(("Slow, deadline 0.1 s", status, "the client gave up at its deadline"))
        status, reply = client.call("Flaky", {"key": "k1"})
        rows.append(("Flaky (fails twice)", status, f"server saw {server.attempts['Flaky']} attempts: "
                                                     "retried by the service config"))
        status, detail = client.call("Nope", {})
        rows.append(("Nope", status, "no such method"))
    with serve(flaky_failures=2) as server, DemoClient(server.port, retries=False) as client:
        status, detail = client.call("Flaky", {"key": "k1"})
        rows.append(("Flaky, retries off", status, f"server saw {server.attempts['Flaky']} attempt"))
    return rows
