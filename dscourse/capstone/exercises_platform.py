"""The platform around E16.1's order service (see :mod:`.exercises`): the clients behind the
gateway, a Leaf-style segment service, a lease lock per SKU with fencing tokens, an inventory
that checks tokens on every read and write, and an idempotent payment service. They speak plain
data, because the student's node runs in the grader's sandbox, and they keep the ground truth
the monitors judge (:class:`Platform`): stock levels, per-order charges and refunds, which
request each order number served, the clients' answers.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import ConfigError
from ..history import Recorder
from ..sim import Node, stream

PROPERTIES = ("no oversell", "money conserved", "completed or compensated", "unique order numbers",
              "efficiency")
SERVICES = ("gw", "ids", "lock", "stock", "pay")
ORDER_SERVICES = ("o1", "o2")
SKUS = ("sku-1", "sku-2")
HOT = 0.6                # the share of requests for sku-1 (a flash sale)
USERS = ("u1", "u2", "u3", "u4", "u5")
STEP = 10                 # ids per segment (Leaf's "step")
LEASE_MS = 120.0          # the lock's lease
CLIENT_RETRY_MS = 250.0   # a client resends an unanswered request (same request id)
GST_MS = 2500.0           # the nemesis stops, the network heals


class AnswerError(ConfigError):
    """A message from the order service the platform cannot use (named in the feedback)."""


def plain(msg: Any, where: str) -> dict[str, Any]:
    """The student's message as plain data (a dict with a ``type``), whether it came from a
    local node or from the sandbox (tagged JSON: ``{"type": label, "wire": data}``; a tuple
    arrives as ``{"$t": [...]}`` and becomes a list)."""
    if type(msg) is dict and set(msg) == {"type", "wire"}:
        msg = msg["wire"]
    data = _plain(msg, 0)
    if type(data) is not dict or type(data.get("type")) is not str:
        raise AnswerError(f"{where}: the message {str(data)[:80]} is not a dict with a 'type'")
    return data


def _plain(v: Any, depth: int) -> Any:
    if depth > 8:
        raise AnswerError("a message nested deeper than 8 levels")
    t = type(v)
    if v is None or t in (bool, int, float, str):
        return v
    if t in (list, tuple):
        return [_plain(x, depth + 1) for x in v]
    if t is dict:
        if set(v) == {"$t"} and type(v["$t"]) is list:
            return [_plain(x, depth + 1) for x in v["$t"]]
        if all(type(k) is str and not k.startswith("$") for k in v):
            return {k: _plain(x, depth + 1) for k, x in v.items()}
    raise AnswerError(f"messages must be plain data (dicts with str keys, lists, str, int), not "
                      f"{str(v)[:60]}")


def _need(msg: dict[str, Any], where: str, **kinds: type) -> None:
    for name, kind in kinds.items():
        v = msg.get(name)
        if type(v) is not kind:
            raise AnswerError(f"{where}: the {msg['type']!r} message {str(msg)[:120]} needs {name!r} "
                              f"({kind.__name__}), got {v!r}")


class Platform:
    """What the harness knows about one run: the workload and the platform services' state;
    the monitors record violations in ``problems`` (property -> messages)."""

    def __init__(self, seed: int, requests: int) -> None:
        rng = stream(seed, "E16.1/workload")
        self.seed = seed
        self.stock0 = {"sku-1": int(rng.integers(12, 17)), "sku-2": int(rng.integers(4, 8))}
        self.balance0 = {u: int(rng.integers(150, 400)) for u in USERS}
        home = {u: ORDER_SERVICES[int(hashlib.sha256(f"{seed}/{u}".encode()).digest()[0]) % 2] for u in USERS}
        self.requests: dict[str, dict[str, Any]] = {}
        for i in range(requests):
            user = USERS[int(rng.integers(len(USERS)))]
            qty = int(rng.integers(1, 3))
            self.requests[f"r{i + 1}"] = {
                "req": f"r{i + 1}", "user": user, "sku": SKUS[int(rng.random() >= HOT)], "qty": qty,
                "price": qty * int(rng.integers(20, 61)), "at": float(int(rng.uniform(0, GST_MS - 700))),
                "to": home[user]}
        self.stock = dict(self.stock0)
        self.balance = dict(self.balance0)
        self.answers: dict[str, dict[str, Any]] = {}        # req -> first final answer
        self.order_req: dict[int, str] = {}                 # order number -> its request
        self.net: dict[int, int] = {}                       # order -> charges - refunds
        self.charges: dict[int, int] = {}                   # order -> charges applied
        self.refunds: dict[int, int] = {}                   # order -> refunds applied
        self.declined: set[str] = set()                     # requests a charge was declined for
        self.short: set[str] = set()                        # requests a read showed short stock for
        self.price: dict[int, int] = {}
        self.units: dict[int, int] = {}                     # order -> units its writes took
        self.segments = 0
        self.sends = 0
        self.restarts = 0
        self.problems: dict[str, list[str]] = {p: [] for p in PROPERTIES}
        self.at: float | None = None
        self.focus: str | None = None                       # the request of a liveness failure

    def violate(self, prop: str, message: str, now: float, req: str | None = None) -> None:
        """Record ``prop``'s first violation (``req``: the request it is about, for a liveness
        failure: :func:`story` then follows that request)."""
        if not self.problems[prop]:
            if self.at is None or now < self.at:
                self.at, self.focus = now, req
            self.problems[prop].append(f"at t={now:g} ms: {message}")

    def order(self, n: int, req: str, now: float) -> None:
        """Order number ``n`` is used for ``req`` (unique order numbers)."""
        first = self.order_req.setdefault(n, req)
        if first != req:
            self.violate("unique order numbers", f"order number {n} was used for request {first} "
                         f"and again for request {req}", now)

    def completed_units(self, sku: str) -> int:
        return sum(self.requests[r]["qty"] for r, a in self.answers.items()
                   if a["status"] == "completed" and self.requests[r]["sku"] == sku)

    def check_stock(self, sku: str, now: float) -> None:
        sold = self.completed_units(sku)
        if self.stock[sku] < 0 or self.stock[sku] + sold > self.stock0[sku]:
            self.violate("no oversell", f"{sku} started with {self.stock0[sku]} units; now {self.stock[sku]} "
                         f"are in stock and completed orders hold {sold}: "
                         f"{self.stock[sku] + sold - self.stock0[sku] if self.stock[sku] >= 0 else -self.stock[sku]} "
                         "unit(s) sold twice (a stale write overwrote a newer stock level?)", now)


class _Service(Node):
    """A platform service: checks and answers the order service's requests."""

    def __init__(self, id: str, world: Platform) -> None:
        super().__init__(id)
        self.world = world

    def on_message(self, src: str, msg: Any) -> None:
        if src not in ORDER_SERVICES:
            return
        data = plain(msg, f"{src} -> {self.id}")
        handler = getattr(self, "on_" + data["type"], None)
        if handler is None:
            raise AnswerError(f"{src} sent {self.id} a {data['type']!r} message; {self.id} "
                              f"understands {self.understands}")
        handler(src, data)

    understands: tuple[str, ...] = ()


class IdService(_Service):
    """Leaf segment mode: each ``segment`` request moves the durable top by ``STEP`` and
    answers ``{"type": "range", "lo": a, "hi": b}`` (ids ``a .. b - 1``)."""

    understands = ("segment",)

    def on_segment(self, src: str, msg: dict[str, Any]) -> None:
        top = self.stable.get("max_id", 1000)
        self.stable["max_id"] = top + STEP
        self.world.segments += 1
        self.send(src, {"type": "range", "lo": top, "hi": top + STEP})


class LockService(_Service):
    """One lease lock per SKU with a fencing token (a counter that grows with every grant).
    ``lock`` (``sku``, ``owner``: the order number) queues the owner; the owner at the head is
    granted ``{"type": "granted", "sku", "owner", "token"}`` for ``LEASE_MS``; a repeated
    request of the holder is answered with the same grant. ``unlock`` (``sku``, ``owner``,
    ``token``) ends the lease; so does its expiry."""

    understands = ("lock", "unlock")

    def __init__(self, id: str, world: Platform) -> None:
        super().__init__(id, world)
        self.holder: dict[str, Any] = {}       # sku -> [owner, token, src, expires]
        self.queue: dict[str, list[tuple[int, str]]] = {s: [] for s in SKUS}
        self.token = 0

    def on_lock(self, src: str, msg: dict[str, Any]) -> None:
        _need(msg, f"{src} -> lock", sku=str, owner=int)
        sku, owner = msg["sku"], msg["owner"]
        if sku not in self.queue:
            raise AnswerError(f"{src} asked for the lock of {sku!r}; the SKUs are {list(SKUS)}")
        held = self.holder.get(sku)
        if held is not None and held[0] == owner and held[2] == src and held[3] > self.now:
            self.send(src, {"type": "granted", "sku": sku, "owner": owner, "token": held[1]})
        elif (owner, src) not in self.queue[sku]:
            self.queue[sku].append((owner, src))
            self._grant(sku)

    def on_unlock(self, src: str, msg: dict[str, Any]) -> None:
        _need(msg, f"{src} -> lock", sku=str, owner=int)
        held = self.holder.get(msg["sku"])
        if held is not None and held[0] == msg["owner"] and held[1] == msg.get("token"):
            del self.holder[msg["sku"]]
            self._grant(msg["sku"])

    def on_timer(self, name: str, payload: Any) -> None:
        sku, token = payload
        held = self.holder.get(sku)
        if held is not None and held[1] == token:
            del self.holder[sku]
            self._grant(sku)

    def _grant(self, sku: str) -> None:
        if sku in self.holder or not self.queue[sku]:
            return
        owner, src = self.queue[sku].pop(0)
        self.token += 1
        self.holder[sku] = [owner, self.token, src, self.now + LEASE_MS]
        self.set_timer(LEASE_MS, "lease", (sku, self.token))
        self.send(src, {"type": "granted", "sku": sku, "owner": owner, "token": self.token})


class StockService(_Service):
    """The inventory: plain storage with reads and fenced writes (it checks tokens, it does
    not lock). ``read`` (``sku``, ``order``, ``token``) answers ``{"type": "stock", "sku",
    "order", "token", "stock"}``; ``write`` (``sku``, ``order``, ``stock``, ``token``, ``key``)
    sets the level and answers ``written``, and a ``key`` already applied is answered
    ``written`` again, not applied twice. A ``token`` below the highest one seen for the SKU
    (on a read or a write) is refused with ``{"type": "fenced", "sku", "order", "key" (None for
    a read), "token" (the request's), "fence" (the highest)}``; a request without a token is
    served unchecked (the legacy path a fenced client must not use)."""

    understands = ("read", "write")

    def on_read(self, src: str, msg: dict[str, Any]) -> None:
        _need(msg, f"{src} -> stock", sku=str, order=int)
        sku, token = self._sku(src, msg), msg.get("token")
        if not self._admit(sku, token):
            self.send(src, {"type": "fenced", "sku": sku, "order": msg["order"], "key": None,
                            "token": token, "fence": self.stable["fence"][sku]})
            return
        w = self.world
        req = w.order_req.get(msg["order"])
        if req is not None and w.stock[sku] < w.requests[req]["qty"] and w.requests[req]["sku"] == sku:
            w.short.add(req)
        self.send(src, {"type": "stock", "sku": sku, "order": msg["order"], "token": token,
                        "stock": w.stock[sku]})

    def _admit(self, sku: str, token: Any) -> bool:
        """The fence: a token below the highest seen for ``sku`` is refused; a higher one
        raises it (reads too: a holder whose lease expired must not write after a newer
        holder has read)."""
        fence = self.stable.setdefault("fence", {})
        if token is None:
            return True
        if type(token) is not int or token < fence.get(sku, 0):
            fence.setdefault(sku, 0)
            return False
        fence[sku] = token
        return True

    def _sku(self, src: str, msg: dict[str, Any]) -> str:
        if msg["sku"] not in SKUS:
            raise AnswerError(f"{src} named the SKU {msg['sku']!r}; the SKUs are {list(SKUS)}")
        return msg["sku"]

    def on_write(self, src: str, msg: dict[str, Any]) -> None:
        _need(msg, f"{src} -> stock", sku=str, order=int, stock=int)
        sku, order, key, token = self._sku(src, msg), msg["order"], msg.get("key"), msg.get("token")
        w = self.world
        applied = self.stable.setdefault("keys", {})
        reply = {"type": "written", "sku": sku, "order": order, "key": key}
        if key is not None and key in applied:
            self.send(src, reply)
            return
        if not self._admit(sku, token):
            self.send(src, {**reply, "type": "fenced", "token": token, "fence": self.stable["fence"][sku]})
            return
        if key is not None:
            applied[key] = True
        w.order(order, w.order_req.get(order, f"(no charge seen for order {order})"), self.now)
        w.units[order] = w.units.get(order, 0) + w.stock[sku] - msg["stock"]
        w.stock[sku] = msg["stock"]
        w.check_stock(sku, self.now)
        self.send(src, reply)


class PaymentService(_Service):
    """Accounts. ``charge`` (``order``, ``req``, ``user``, ``amount``, ``key``) debits the
    user if the balance covers it (``charged``), else ``declined``; ``refund`` (``order``,
    ``user``, ``amount``, ``key``) credits it back (``refunded``). A ``key`` seen before gets
    the same answer again and is not applied twice; a request without a key is applied every
    time it arrives."""

    understands = ("charge", "refund")

    def on_charge(self, src: str, msg: dict[str, Any]) -> None:
        _need(msg, f"{src} -> pay", order=int, req=str, user=str, amount=int)
        w = self.world
        if msg["req"] not in w.requests or w.requests[msg["req"]]["user"] != msg["user"] or \
                msg["amount"] != w.requests[msg["req"]]["price"]:
            raise AnswerError(f"{src} charged {msg['user']!r} {msg['amount']!r} for request {msg['req']!r}, "
                              "which is not that request's user and price")
        done = self.stable.setdefault("keys", {})
        key = msg.get("key")
        if key is not None and key in done:
            self.send(src, {"type": done[key], "order": msg["order"], "key": key})
            return
        w.order(msg["order"], msg["req"], self.now)
        w.price[msg["order"]] = msg["amount"]
        if w.balance[msg["user"]] >= msg["amount"]:
            w.balance[msg["user"]] -= msg["amount"]
            self._net(msg["order"], msg["amount"])
            w.charges[msg["order"]] = w.charges.get(msg["order"], 0) + 1
            answer = "charged"
        else:
            answer = "declined"
            w.declined.add(msg["req"])
        if key is not None:
            done[key] = answer
        self.send(src, {"type": answer, "order": msg["order"], "key": key})

    def on_refund(self, src: str, msg: dict[str, Any]) -> None:
        _need(msg, f"{src} -> pay", order=int, user=str, amount=int)
        if msg["user"] not in self.world.balance or msg["amount"] < 0:
            raise AnswerError(f"{src} refunded {msg['amount']} to {msg['user']!r}: no such user, or a "
                              "negative amount")
        done = self.stable.setdefault("keys", {})
        key = msg.get("key")
        if key is None or key not in done:
            self.world.balance[msg["user"]] += msg["amount"]
            self._net(msg["order"], -msg["amount"])
            self.world.refunds[msg["order"]] = self.world.refunds.get(msg["order"], 0) + 1
            if key is not None:
                done[key] = "refunded"
        self.send(src, {"type": "refunded", "order": msg["order"], "key": key})

    def _net(self, order: int, delta: int) -> None:
        w = self.world
        w.net[order] = w.net.get(order, 0) + delta
        price = w.price.get(order)
        if w.net[order] < 0 or price is None or w.net[order] > price:
            what = "refunded more than it was charged" if w.net[order] < 0 or price is None else \
                "charged more than its price (a retried charge applied twice?)"
            self.world.violate("money conserved", f"order {order} was {what}: net charge "
                               f"{w.net[order]}, price {price}", self.now)


class Clients(Node):
    """The users behind the gateway: each request goes to its user's order-service instance
    and is resent with the same request id every ``CLIENT_RETRY_MS`` until answered."""

    def __init__(self, id: str, world: Platform, history: Recorder) -> None:
        super().__init__(id)
        self.world = world
        self.history = history

    def on_start(self) -> None:
        for req, r in self.world.requests.items():
            self.set_timer(r["at"], "send", req)

    def on_timer(self, name: str, payload: Any) -> None:
        r = self.world.requests[payload]
        if payload in self.world.answers:
            return
        if name == "send":
            self.history.invoke(payload, "place", [r["user"], r["sku"], r["qty"], r["price"]])
        self.send(r["to"], {"type": "place", **{k: r[k] for k in ("req", "user", "sku", "qty", "price")}})
        self.set_timer(CLIENT_RETRY_MS, "resend", payload)

    def on_message(self, src: str, msg: Any) -> None:
        if src not in ORDER_SERVICES:
            return
        data = plain(msg, f"{src} -> client")
        if data["type"] != "placed":
            raise AnswerError(f"{src} sent the client a {data['type']!r} message; it expects 'placed'")
        _need(data, f"{src} -> client", req=str, order=int, status=str)
        w = self.world
        req = data["req"]
        if req not in w.requests or data["status"] not in ("completed", "rejected"):
            raise AnswerError(f"{src} answered {str(data)[:120]}: expected a request id the client sent "
                              "and a status 'completed' or 'rejected'")
        if req in w.answers:
            return
        w.order(data["order"], req, self.now)
        w.answers[req] = {"order": data["order"], "status": data["status"], "at": self.now}
        if data["status"] == "completed":
            self.history.ok(req, data["order"])
            w.check_stock(w.requests[req]["sku"], self.now)
        else:
            self.history.fail(req, data.get("reason"))
            r = w.requests[req]
            if req not in w.declined and req not in w.short:
                w.violate("completed or compensated", f"{req} was rejected (reason {data.get('reason')!r}), "
                          f"but the payment service never declined it and no read of {r['sku']} for it "
                          f"showed fewer than its {r['qty']} unit(s): reject only a declined charge or a "
                          "short stock", self.now, req)
