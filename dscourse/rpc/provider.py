"""The server side: a provider process with its server stub (decode, dispatch, encode).

:class:`DemoService` is the chapter's service: ``sayHello(name)`` (read-only, idempotent),
``placeOrder(order_id, item)`` (a side effect: it appends to the provider's order log, so a
retried call whose first attempt did run creates a duplicate) and ``fail(msg)`` (raises: a
business exception). A :class:`ProviderNode` executes a request when it arrives (the side
effect happens then) and replies after its service time, drawn from ``latency`` times
``slowdown``.
"""

from __future__ import annotations

from typing import Any

from ..sim import Constant, Dist, Node
from .codec import codec
from .messages import Heartbeat, HeartbeatAck, Request, Response

FIVE_MS = Constant(5.0)


class BizError(Exception):
    """Raised by a service method: travels back as a business exception."""


class DemoService:
    """``DemoService``: ``sayHello``, ``placeOrder`` and ``fail``. ``orders`` lives in the
    provider's ``stable`` storage (a database survives a crash)."""

    interface = "DemoService"
    methods = ("sayHello", "placeOrder", "fail")
    idempotent = frozenset({"sayHello", "fail"})

    def __init__(self, node: ProviderNode) -> None:
        self.node = node

    def sayHello(self, name: Any) -> str:
        return f"Hello {name}, from {self.node.id}"

    def placeOrder(self, order_id: Any, item: Any = "book") -> str:
        self.node.stable.setdefault("orders", []).append([order_id, item, self.node.now])
        return f"order {order_id} placed at {self.node.id}"

    def fail(self, message: Any = "boom") -> Any:
        raise BizError(str(message))


class ProviderNode(Node):
    """A provider at ``address`` (its node id): ``latency`` is the service time (ms), scaled by
    ``slowdown`` (the chapter's "slow provider" toggle)."""

    def __init__(self, id: str, latency: Dist = FIVE_MS, service: type = DemoService) -> None:
        super().__init__(id)
        self.latency = latency
        self.slowdown = 1.0
        self.service = service(self)
        self.executed = 0

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Heartbeat):
            self.send(src, HeartbeatAck(msg.seq))
        elif isinstance(msg, Request):
            self.executed += 1
            c = codec(msg.codec)
            status, value = "ok", None
            try:
                body = c.decode(msg.payload)
                method = body["method"]
                if method not in self.service.methods:
                    raise BizError(f"no method {method!r} in {self.service.interface}")
                value = getattr(self.service, method)(*body["args"])
            except BizError as e:
                status, value = "biz", str(e)
            delay = self.latency.sample(self.rng.random) * self.slowdown
            self.set_timer(delay, "reply", (src, Response(msg.rid, status, c.encode(value))))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "reply":
            dst, response = payload
            self.send(dst, response)

    @property
    def orders(self) -> list[list[Any]]:
        return self.stable.get("orders", [])
