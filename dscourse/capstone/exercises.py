"""Trusted harness for Chapter 16's graded exercise E16.1, "MiniMall under a nemesis", loaded
lazily as ``ds.capstone.exercises``.

The student writes MiniMall's **order service**: a :class:`dscourse.sim.Node` class that
places an order end to end as an orchestrated Saga (Garcia-Molina & Salem, "Sagas", SIGMOD
1987, backward recovery): an order number from a Leaf-style segment service (Leaf's
"segment" mode: one round trip per range of ids, the range's top durable at the id service),
a charge at the payment service, the SKU's fenced lock (Kleppmann, "How to do distributed
locking", 2016: a lease plus a fencing token the storage checks; Burrows, "Chubby", OSDI 2006,
sequencers), a read and a fenced write of the stock, the refund when the stock is short, and
the answer to the client. Every request carries an idempotency key, so a retry after a lost
reply is applied once (Helland, "Idempotence is not a medical condition", CACM 55(5), 2012).

The harness owns everything else (:class:`Platform`): the clients behind the gateway (each
user's requests go to one of two order-service instances, ``o1`` and ``o2``, and are retried
with the same request id until answered), the id service, the lock service, the inventory and
the payment service. They speak plain data (dicts of str, int and lists), because the
student's node runs in the grader's sandbox, where no library class exists. A combined
nemesis (loss, duplication and reordering on every link, crashes and restarts, stop-the-world
pauses longer than the lock's lease, partitions, clock jumps) runs until the global
stabilization time (GST); then the network heals and every client must have its answer by a
deadline.

The monitors judge the platform's own state, never what the student's node says about itself:

* ``no oversell`` (safety, after every event): stock plus the units of completed orders never
  exceeds the initial stock, and no stock level is negative;
* ``money conserved`` (safety, after every event): no order's net charge (charges minus
  refunds) ever leaves ``[0, price]``: no double charge, no refund of money never taken;
* ``completed or compensated`` (liveness, by the deadline after GST): every request is
  answered; a completed order was charged, every other order made for the request (a
  rejected one, a duplicate) was refunded and took no stock, and a request is rejected only
  when the payment service declined it or its stock is short;
* ``unique order numbers`` (safety, after every event): an order number serves one request;
* ``efficiency``: ids fetched a segment at a time, and no retry storm.

With no order completed, the safety properties and efficiency fail as held only vacuously.

The curriculum's two other end-to-end invariants (gray cohorts stable; the gateway never
routes to a provider whose registry session expired) belong to the platform's gateway and
registry, which the student's order service does not touch; Chapter 16 checks them on
``ds.capstone.minimall``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import ConfigError, allowed
from ..history import Recorder
from ..sim import Network, Node, Simulation, Uniform, lossy, stream

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
DEADLINE_MS = 3000.0      # after GST, for every answer
MAX_SENDS_PER_REQUEST = 60   # efficiency: messages the order services send per request
LATENCY = Uniform(1.0, 8.0)    # every link's latency (ms) outside a slow_link fault
KINDS = ("pause", "pause", "slow_link", "slow_link", "crash", "partition", "clock_jump")
Make = Callable[..., Node]


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


def _instrument(node: Node, world: Platform) -> Node:
    send = node.send

    def counted(dst: str, msg: Any) -> int:
        world.sends += 1
        return send(dst, msg)

    node.__dict__["send"] = counted
    return node


def combined_nemesis(world: Platform) -> list[tuple[float, tuple[Any, ...]]]:
    """The order services' faults until GST (stream ``E16.1/nemesis``), one at a time: crashes
    and restarts, partitions from the platform, clock jumps, a slow link to the inventory
    (200-400 ms each way: a read outlives the lock's lease, the delayed-packet case of
    Kleppmann's example), and stop-the-world pauses longer than the lease, each started 16-30
    ms after a request reaches the victim (when it is likely to hold a lock: the GC pause of
    the same example). Besides these, each instance crashes once for 60-150 ms."""
    rng = stream(world.seed, "E16.1/nemesis")
    out: list[tuple[float, tuple[Any, ...]]] = []
    busy: dict[str, list[tuple[float, float]]] = {n: [] for n in ORDER_SERVICES}   # paused or down
    t = float(int(rng.uniform(50, 200)))
    while True:
        victim = ORDER_SERVICES[int(rng.integers(2))]
        kind = KINDS[int(rng.integers(len(KINDS)))]
        dur = float(int(rng.uniform(150, 450)))
        if kind == "pause":
            due = sorted(r["at"] for r in world.requests.values() if r["to"] == victim and r["at"] >= t)
            t = due[0] + float(int(rng.uniform(16, 30))) if due else t
        if t + dur > GST_MS - 100:
            break
        if kind in ("pause", "crash"):
            busy[victim].append((t, t + dur))
        if kind == "pause":
            out.append((t, ("pause", victim, dur)))
        elif kind == "crash":
            out += [(t, ("crash", victim)), (t + dur, ("recover", victim))]
        elif kind == "partition":
            out += [(t, ("partition", [[victim], [n for n in (*SERVICES, *ORDER_SERVICES) if n != victim]])),
                    (t + dur, ("heal",))]
        elif kind == "slow_link":
            out += [(t, ("slow_link", victim, "stock", Uniform(200.0, 400.0))),
                    (t + dur, ("slow_link", victim, "stock", LATENCY))]
        else:
            out.append((t, ("clock_jump", victim, float(int(rng.uniform(-200, 200))))))
        t += dur + float(int(rng.uniform(10, 60)))
    for n in ORDER_SERVICES:                    # and each instance crashes and restarts once more
        for _ in range(20):
            at, down = float(int(rng.uniform(200, GST_MS - 400))), float(int(rng.uniform(60, 150)))
            if all(e < at - 1 or b > at + down + 1 for b, e in busy[n]):
                out += [(at, ("crash", n)), (at + down, ("recover", n))]
                break
    return sorted(out, key=lambda entry: entry[0])


def build(OrderService: Any, seed: int, *, make: Make | None = None, requests: int = 30,
          nemesis: bool = True) -> tuple[Platform, Simulation, Recorder]:
    """One MiniMall, not yet run, with the student's ``OrderService`` as ``o1`` and ``o2``
    (``make(cls, node_id)`` builds them: the sandbox's ``make_node`` in the grader). Until
    ``GST_MS`` links lose 5% and duplicate 5% of messages with 1-8 ms latency and the
    :func:`combined_nemesis` runs (``nemesis=False``: a quiet network, no faults)."""
    world = Platform(seed, requests)
    sim = Simulation(seed=seed, network=lossy(drop=0.05, duplicate=0.05, latency=LATENCY)
                     if nemesis else Network(latency=LATENCY, name="quiet"))
    history = Recorder(sim)
    sim.add_node(Clients("gw", world, history))
    for cls, name in ((IdService, "ids"), (LockService, "lock"), (StockService, "stock"), (PaymentService, "pay")):
        sim.add_node(cls(name, world))
    build_node = make or (lambda cls, node_id: cls(node_id))
    for n in ORDER_SERVICES:
        sim.add_node(_instrument(build_node(OrderService, n), world))
    if nemesis:
        sim.schedule_nemesis(combined_nemesis(world))
    return world, sim, history


def finish(world: Platform, sim: Simulation) -> None:
    """Run to GST, heal the network (no loss, no duplicates, crashed services restarted) and
    run ``DEADLINE_MS`` more."""
    sim.run(until=GST_MS)
    sim.heal()
    names = (*SERVICES, *ORDER_SERVICES)
    for a in names:
        for b in names:
            if a != b:
                sim.set_link(a, b, drop=0.0, duplicate=0.0)
    for n in ORDER_SERVICES:
        if sim.status(n) == "crashed":
            sim.recover(n)
    world.restarts = sum(1 for e in sim.trace.events if e.kind == "recover")
    sim.run(until=GST_MS + DEADLINE_MS)


def run(OrderService: Any, seed: int, *, make: Make | None = None, requests: int = 30,
        nemesis: bool = True) -> tuple[Platform, Simulation, Recorder]:
    """:func:`build` and :func:`finish`: one whole run."""
    world, sim, history = build(OrderService, seed, make=make, requests=requests, nemesis=nemesis)
    finish(world, sim)
    return world, sim, history


def _outcomes(world: Platform) -> None:
    """``completed or compensated`` at the deadline (liveness)."""
    end = GST_MS + DEADLINE_MS
    missing = [r for r in world.requests if r not in world.answers]
    if missing:
        world.violate("completed or compensated", f"{len(missing)} request(s) never answered by the "
                      f"deadline ({DEADLINE_MS:g} ms after GST), e.g. {missing[0]} "
                      f"{ {k: world.requests[missing[0]][k] for k in ('user', 'sku', 'qty')} }", end, missing[0])
        return
    by_req: dict[str, list[int]] = {}
    for n, of in world.order_req.items():
        by_req.setdefault(of, []).append(n)
    for req, a in world.answers.items():
        r = world.requests[req]
        for n in sorted(by_req.get(req, [])):
            units = world.units.get(n, 0)
            charges, refunds = world.charges.get(n, 0), world.refunds.get(n, 0)
            if a["status"] == "completed" and n == a["order"]:
                if charges == 0 or refunds:
                    world.violate("completed or compensated", f"{req} was answered completed (order {n}), "
                                  f"but the payment service applied {charges} charge(s) and {refunds} "
                                  "refund(s) for it: a completed order is paid for", end, req)
            elif (charges and not refunds) or units:
                why = "rejected" if a["status"] == "rejected" else \
                    f"answered with order {a['order']}, so order {n} is a second order for it"
                world.violate("completed or compensated", f"{req} was {why}, yet order {n} was charged "
                              f"{charges} time(s) and refunded {refunds} time(s), and holds {units} unit(s) "
                              f"of {r['sku']}: not compensated", end, req)


def _vacuous(world: Platform) -> None:
    """With no order completed, the safety properties and efficiency held only vacuously: a
    service must sell to earn them (as a channel must deliver to earn "in order")."""
    if any(a["status"] == "completed" for a in world.answers.values()):
        return
    for p in ("no oversell", "money conserved", "unique order numbers", "efficiency"):
        world.violate(p, "no order was completed, so this held only vacuously (a service must sell "
                      "to earn it)", GST_MS + DEADLINE_MS)


def _efficiency(world: Platform) -> None:
    numbered = len(world.order_req)
    budget = math.ceil(numbered / STEP) + 2 * world.restarts + 4
    end = GST_MS + DEADLINE_MS
    if world.segments > budget:
        world.violate("efficiency", f"the id service was asked for {world.segments} segments for "
                      f"{numbered} order numbers ({STEP} ids each, {world.restarts} restart(s)): at most "
                      f"{budget}; take numbers from the segment you hold", end)
    per = world.sends / max(1, len(world.requests))
    if per > MAX_SENDS_PER_REQUEST:
        world.violate("efficiency", f"the order services sent {world.sends} messages for "
                      f"{len(world.requests)} requests ({per:.0f} each, at most {MAX_SENDS_PER_REQUEST}): "
                      "a retry storm? retry on a timer of tens of ms, not on every message", end)


def order_trial(OrderService: Any, seed: int, *, make: Make | None = None, requests: int = 30,
                properties: Iterable[str] = PROPERTIES) -> Trial:
    """E16.1 on one seed: the :func:`run`, judged on ``properties`` (of :data:`PROPERTIES`).
    A message the platform cannot use ends the trial with a violation that names it; an
    exception in the student's code propagates (the grader reports it)."""
    props = selected(properties, PROPERTIES)
    if isinstance(requests, bool) or not isinstance(requests, int) or not 1 <= requests <= 200:
        raise allowed("requests", requests, "an int from 1 to 200")
    trial = Trial(seed)
    world, sim, _ = build(OrderService, seed, make=make, requests=requests)
    trial.trace = sim.trace
    try:
        finish(world, sim)
    except AnswerError as exc:
        return trial.fail(f"unusable message (seed {seed}, t={sim.now:g} ms): {exc}")
    _outcomes(world)
    _efficiency(world)
    _vacuous(world)
    trial.facts.update(answered=len(world.answers),
                       completed=sum(a["status"] == "completed" for a in world.answers.values()),
                       segments=world.segments, sends=world.sends, restarts=world.restarts,
                       stock=dict(world.stock))
    replay = f"see the run: print(ds.capstone.exercises.story(OrderService, seed={seed}))"
    for p in props:
        for m in world.problems[p]:
            trial.violate(f"{p}: seed {seed}, {m}; {replay}", world.at)
    return trial


NEMESIS_EVENTS = ("crash", "recover", "pause", "resume", "partition", "heal", "clock_jump", "link")


def story(OrderService: Any, seed: int, *, requests: int = 30, around: float | None = None,
          window_ms: float = 400.0, req: str | None = None) -> str:
    """What happened in one run, as the platform saw it: the faults, every message the order
    services sent or received (``drop``: lost on the way), and the monitors' findings.
    Only the ``window_ms`` before ``around`` (default: the first violation; the whole run if
    none) is shown, or with ``req`` (default: the request of a failed liveness property) only
    that request's messages (its order numbers too)."""
    world, sim, _ = build(OrderService, seed, requests=requests)
    error = None
    try:
        finish(world, sim)
        _outcomes(world)
        _efficiency(world)
        _vacuous(world)
    except AnswerError as exc:
        error = f"unusable message at t={sim.now:g} ms: {exc}"
    if req is None and around is None:
        req = world.focus
    at = around if around is not None else world.at if world.at is not None else sim.now
    lo = -math.inf if req is not None or (around is None and world.at is None) else at - window_ms
    numbers = {n for n, r in world.order_req.items() if r == req}
    lines = []
    for e in sim.trace.events:
        t = e.time / 1000
        if t < lo or t > at + 1:
            continue
        if e.kind in NEMESIS_EVENTS and e.node in (*ORDER_SERVICES, None) and req is None:
            what = f"{e.node} <-> {e.peer} latency {e.data['latency']}" if e.kind == "link" else \
                f"{e.node or ''} {'' if e.data is None else e.data}"
            if e.kind != "link" or e.peer == "stock":
                lines.append(f"{t:9.1f} ms  ** {e.kind} {what}".rstrip())
        elif e.kind in ("deliver", "drop") and ORDER_SERVICES.count(e.node) + ORDER_SERVICES.count(e.peer):
            try:
                msg = plain(e.data, "")
            except AnswerError:
                continue
            if req is not None and msg.get("req") != req and msg.get("order", msg.get("owner")) not in numbers:
                continue
            body = ", ".join(f"{k}={v}" for k, v in msg.items() if k != "type")
            lost = "  (lost)" if e.kind == "drop" else ""
            lines.append(f"{t:9.1f} ms  {e.peer} -> {e.node}  {msg['type']}({body}){lost}")
    found = [f"{p}: {m}" for p in PROPERTIES for m in world.problems[p]]
    return "\n".join([*lines, *([error] if error else []), *(found or ["every property held"])])
