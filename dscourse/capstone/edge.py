"""MiniMall's edge: the gateway process and the shoppers.

:class:`EdgeGateway` is one process built from three chapters' parts:

* Chapter 13's :class:`ds.gateway.Gateway` holds the route table and matches each request
  (``POST /orders/**`` -> ``lb://OrderService``); its routes come from the config center;
* Chapter 15's config center: a :class:`ds.config.NacosClient` (long polling) feeds the routes
  and the gray rule (``gray.percentage`` of users get the ``new-checkout`` flag); with
  ``stable_gray`` the cohort is :class:`ds.config.GrayRule`'s stable hash of the user, without
  it a fresh coin per request (users flip between cohorts);
* Chapter 12's RPC consumer (this class *is* a :class:`ds.rpc.ConsumerNode`, ``failfast``: a
  non-idempotent ``placeOrder`` is never retried on another provider) whose directory is the
  ZooKeeper registry (Chapters 7-8). With ``registry_watch`` it re-reads the providers on every
  child event and after every reconnection, and it refuses to route (503) while its own
  registry session is not connected (it cannot know who left); without it the directory is the
  static list it started with.

:class:`Shopper` is one user buying ``orders`` times, each purchase retried with the same
idempotency key on 503/504, its history recorded in a :class:`ds.history.Recorder`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..config import GrayRule, md5
from ..gateway import Exchange, Gateway, Request
from ..history import Recorder
from ..rpc import ConsumerNode, Filter, Invocation, Provider, Result, ZookeeperRegistry
from ..sim import Node
from .messages import OrderRequest, OrderResponse

FEATURE = "new-checkout"
CONFIG_KEY = "minimall.json"


def default_config(percentage: float = 30.0) -> str:
    """The config center's content: the gateway's routes and the gray rule (JSON)."""
    return json.dumps({
        "routes": [{"id": "orders", "uri": "lb://OrderService",
                    "predicates": ["Path=/orders/**", "Method=POST"]}],
        "gray": {"feature": FEATURE, "percentage": percentage},
    }, sort_keys=True)


@dataclass(frozen=True)
class Dispatch:
    """One call the gateway sent: when, to which provider, for whom, in which cohort, under
    which release of the gray rule (its MD5)."""

    time: float
    provider: str
    request_id: str
    user: str
    cohort: str
    release: str


class DispatchLog(Filter):
    """A consumer filter recording every attempt's provider (what the registry monitor reads)."""

    def __init__(self, sink: list[Dispatch]) -> None:
        self.sink = sink

    def on_invoke(self, c: ConsumerNode, p: Provider, inv: Invocation) -> None:
        assert isinstance(c, EdgeGateway)
        request_id, user, _item, _qty, cohort = inv.args
        self.sink.append(Dispatch(c.now, p.address, request_id, user, cohort, c.release))


class EdgeGateway(ConsumerNode):
    """The gateway process (module docstring). ``zk`` is its registry session's client (None
    without ``registry_watch``), ``static`` the provider list it starts with."""

    def __init__(self, id: str = "gateway", *, zk: Any = None, static: tuple[str, ...] = (),
                 dispatches: list[Dispatch], stable_gray: bool = True, timeout: float = 600.0) -> None:
        registry = ZookeeperRegistry(zk) if zk is not None else None
        super().__init__(id, "OrderService", providers=[] if zk is not None else [Provider(a) for a in static],
                         registry=registry, loadbalance="roundrobin", cluster="failfast", timeout=timeout,
                         filters=[DispatchLog(dispatches)])
        self.zk, self.stable_gray = zk, stable_gray
        self.gateway = Gateway([], seed=0)
        self.rule: GrayRule | None = None
        self.release = ""
        self.fresh = zk is None   # with a registry: no routing until a read after (re)connecting
        self.answered: list[OrderResponse] = []

    # -- configuration (the config center's listener) -------------------------------------------
    def configure(self, content: str) -> None:
        """Apply a release of ``minimall.json``: all-or-nothing (a bad route keeps the old table)."""
        conf = json.loads(content)
        self.gateway.refresh_routes(conf["routes"])
        self.rule = GrayRule(percentage=float(conf["gray"]["percentage"]))
        self.release = md5(content)
        self.stable["config"] = content   # the release applied: a restarted gateway starts from it

    def on_config(self, client_id: str, key: str, content: str) -> None:
        if key == CONFIG_KEY:
            self.configure(content)

    def on_start(self) -> None:
        if "config" in self.stable:   # a Nacos listener is not called with the client's snapshot
            self.configure(self.stable["config"])   # on a restart (ds.config.client), so keep ours
        if self.zk is not None:       # as a new process does; kazoo's listeners are a set, and a
                                      # restarted client is already reconnecting (ds.zk.client)
            self.zk.add_listener(self.on_session)
            self.zk.start_async()
        super().on_start()

    def on_session(self, state: str) -> None:
        """ZooKeeper connection state: on every (re)connection read the providers again (a
        new session has no watches; an old one may have missed events while away)."""
        if self.registry is None:
            return
        if state == "CONNECTED":
            self.subscribe()
        else:
            self.fresh = False

    def notify(self, urls: list[str]) -> None:
        super().notify(urls)
        self.fresh = self.zk is not None and self.zk.state == "CONNECTED"

    # -- requests ------------------------------------------------------------------------------
    def cohort(self, user: str) -> str:
        if self.rule is None:
            return "stable"
        if self.stable_gray:
            gray = self.rule.matches(user, FEATURE)
        else:
            gray = float(self.rng.random()) < self.rule.percentage / 100
        return "gray" if gray else "stable"

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, OrderRequest):
            self.on_order(src, msg)
        else:
            super().on_message(src, msg)

    def respond(self, dst: str, resp: OrderResponse) -> None:
        self.answered.append(resp)
        self.send(dst, resp)

    def on_order(self, src: str, msg: OrderRequest) -> None:
        request = Request("POST", "/orders", headers=(("X-User", msg.user),), time_ms=self.now)
        route = self.gateway.lookup_route(Exchange(request))
        if route is None:
            return self.respond(src, OrderResponse(msg.request_id, 404, reason="no route"))
        if self.zk is not None and (self.zk.state != "CONNECTED" or not self.fresh):
            return self.respond(src, OrderResponse(msg.request_id, 503, reason="registry session not connected"))
        inv = Invocation("OrderService", "placeOrder", (msg.request_id, msg.user, msg.item, msg.qty,
                                                        self.cohort(msg.user)))

        def done(r: Result) -> None:
            if r.error is not None:
                status = 504 if r.error.code == "timeout" else 503
                return self.respond(src, OrderResponse(msg.request_id, status, reason=r.error.code))
            verdict, order_no = r.value
            status = {"accepted": 200, "busy": 503}.get(verdict, 400)
            self.respond(src, OrderResponse(msg.request_id, status, order_no, verdict))

        self.invoke(inv, done)


class Shopper(Node):
    """User ``id`` buys ``orders`` times, ``think_ms`` apart on average; each purchase is one
    operation in ``history`` (ok with the order number, fail, or info when unanswered)."""

    def __init__(self, id: str, *, history: Recorder, orders: int = 3, items: tuple[str, ...] = ("book", "pen"),
                 think_ms: float = 400.0, timeout_ms: float = 1_500.0, retries: int = 3) -> None:
        super().__init__(id)
        self.history, self.orders, self.items = history, orders, items
        self.think_ms, self.timeout_ms, self.retries = think_ms, timeout_ms, retries
        self.k = 0
        self.attempt = 0
        self.current: OrderRequest | None = None

    def on_start(self) -> None:
        if self.k < self.orders:
            self.set_timer(float(self.rng.uniform(0, 2 * self.think_ms)), "buy")

    def on_recover(self) -> None:
        pass   # a shopper is never crashed by the nemesis

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "buy":
            item = self.items[int(self.rng.random() * len(self.items))]
            qty = 1 + int(self.rng.random() * 2)
            self.current = OrderRequest(f"{self.id}-{self.k}", self.id, item, qty)
            self.attempt = 0
            self.history.invoke(self.id, "order", (item, qty))
            self.send_current()
        elif self.current is None or payload != (self.current.request_id, self.attempt):
            return                            # a timer of an earlier attempt
        elif name == "timeout":
            self.again("timeout")
        elif name == "resend":
            self.send_current()

    def send_current(self) -> None:
        assert self.current is not None
        self.send("gateway", self.current)
        self.set_timer(self.timeout_ms, "timeout", (self.current.request_id, self.attempt))

    def again(self, why: str) -> None:
        self.attempt += 1
        if self.attempt > self.retries:
            self.history.info(self.id, why)
            return self.next()
        assert self.current is not None
        self.set_timer(float(self.rng.uniform(100, 300)), "resend", (self.current.request_id, self.attempt))

    def on_message(self, src: str, msg: Any) -> None:
        if not isinstance(msg, OrderResponse) or self.current is None or msg.request_id != self.current.request_id:
            return
        if msg.status == 200:
            self.history.ok(self.id, msg.order_no)
            self.next()
        elif msg.status in (503, 504):
            self.again(msg.reason or str(msg.status))
        else:
            self.history.fail(self.id, msg.reason)
            self.next()

    def next(self) -> None:
        self.current = None
        self.k += 1
        if self.k < self.orders:
            self.set_timer(float(self.rng.exponential(self.think_ms)), "buy")
