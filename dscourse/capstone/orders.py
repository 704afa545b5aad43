"""The order service: the part of MiniMall a reader replaces. (Exercise E16.1 asks for the same
role on a plain-data copy of the platform, :mod:`.exercises_platform`, because the grader's
sandbox has no library classes.)

It runs as a Chapter 12 RPC provider (:class:`OrderProvider`, a :class:`ds.rpc.ProviderNode`)
registered in the ZooKeeper registry; the gateway calls its one remote method,
``placeOrder(request_id, user, item, qty, cohort)``, which must answer at once (the RPC
provider's reply leaves after its service time) with ``["accepted", order_no]`` or
``["busy", None]``. Everything after the answer is asynchronous: the order's *workflow*.

**What a replacement plugs into.** ``ds.capstone.minimall(order_service=MyService)`` builds
every order provider with ``MyService(node)``. Subclass :class:`OrderServiceBase`, which gives:

* ``self.node`` (the provider: ``now``, ``stable`` (survives a crash), ``send``,
  ``set_timer``), ``self.settings`` (:class:`Settings`: prices, lease, merchant, defences);
* ``next_order_no()`` -- an order number from the Leaf server (Chapter 10) through a local
  pool refilled in the background, or ``None`` while the pool is empty;
* ``lock(ctx, then)`` / ``unlock(ctx)`` -- the inventory lock on Redis (Chapter 9: ``SET NX
  PX`` and ``INCR`` of a fencing counter in one script; compare-and-delete to release):
  ``then(token)`` with the fencing token, or ``then(None)`` if the lock is taken or Redis
  did not answer;
* ``read_stock(item, order_no, then)`` -- ``then(stock, held)``: the stock and the units
  ``order_no`` holds already (``then(None, None)`` on a timeout);
* ``write_stock(token, Reserve(...), then)`` -- ``then(True)`` accepted, ``then(False)``
  rejected (a stale fencing token), ``then(None)`` no answer;
* ``tcc(xid, branch, action, account, amount, then)`` -- one TCC branch action on the payment
  service (Chapter 14), ``then(True/False/None)``;
* hooks ``on_start()`` (also after a restart) and ``on_timer(name, payload)`` for the
  service's own timers (names not starting with ``call:``).

The monitors never ask the service what it did: they read the inventory's reservation
ledger, the payment database and the gateway's calls (:mod:`.invariants`). So a replacement is
judged by its effects.

:class:`OrderService` is the reference: an orchestrated Saga (Garcia-Molina & Salem 1987)
whose steps are *reserve stock* (a locked, fenced read-modify-write) and *pay* (a TCC
transfer user -> merchant), compensated in reverse (cancel the TCC branches, give the stock
back), with its log in ``stable`` so that a restarted instance resumes every unfinished saga.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..locks import ACQUIRE_FENCED, Write, WriteResult
from ..redis import COMPARE_AND_DELETE, Command, Reply
from ..rpc import ProviderNode
from ..sim import Constant, Dist
from .messages import IdReply, IdRequest, Reserve, StockRead, StockValue, TccCall, TccResult

#: the defences MiniMall can turn off, each protecting one invariant (see :mod:`.invariants`)
DEFENCES = ("fencing", "compensation", "saga_log", "leaf_ids", "stable_gray", "registry_watch")
LOCK_KEY = "lock:inventory"
SERVICE_TIME = Constant(2.0)
TERMINAL = ("completed", "compensated", "rejected", "abandoned")


@dataclass(frozen=True)
class Settings:
    """What every order service instance knows: prices (per unit), the merchant's account, the
    lock lease, timeouts and retry limits, and which defences are on."""

    prices: dict[str, int] = field(default_factory=lambda: {"book": 10, "pen": 3})
    merchant: str = "merchant"
    lease_ms: float = 150.0
    timeout_ms: float = 60.0
    attempts: int = 6
    id_batch: int = 5
    defences: frozenset[str] = frozenset(DEFENCES)

    def on(self, defence: str) -> bool:
        return defence in self.defences


class OrderServiceBase(ABC):
    """The plumbing a replacement order service builds on (module docstring)."""

    interface = "OrderService"
    methods = ("placeOrder",)
    idempotent = frozenset[str]()

    def __init__(self, node: OrderProvider) -> None:
        self.node = node
        self.settings: Settings = node.settings
        self.calls: dict[int, tuple[Callable[[Any], None], int]] = {}
        self.pool: list[int] = []
        self.refilling = False
        self.lock_owner: dict[Any, str] = {}

    # -- the remote method ---------------------------------------------------------------------
    @abstractmethod
    def placeOrder(self, request_id: str, user: str, item: str, qty: int, cohort: str) -> list[Any]:
        """Accept (``["accepted", order_no]``), or refuse (``["busy", None]``, ``["invalid", None]``)."""

    @abstractmethod
    def status(self, order_no: int) -> str | None:
        """The order's state if this instance knows it (terminal: one of ``TERMINAL``)."""

    @abstractmethod
    def states(self) -> dict[int, str]:
        """Every order this instance knows, with its state."""

    # -- hooks ---------------------------------------------------------------------------------
    def on_start(self) -> None:
        """At start and after every restart (the node was rebuilt; only ``stable`` is kept)."""
        self.refill()

    def on_timer(self, name: str, payload: Any) -> None:
        """The service's own timers."""
        return None                    # a service with no timers of its own ignores them

    # -- plumbing: one request, one reply or a timeout -------------------------------------------
    @property
    def now(self) -> float:
        return self.node.now

    def _call(self, dst: str, make: Callable[[int], Any], then: Callable[[Any], None]) -> None:
        req = self.node.stable.get("next_req", 0)
        self.node.stable["next_req"] = req + 1
        handle = self.node.set_timer(self.settings.timeout_ms, "call:timeout", req)
        self.calls[req] = (then, handle)
        self.node.send(dst, make(req))

    def reply(self, msg: Any) -> None:
        entry = self.calls.pop(getattr(msg, "req", -1), None)
        if entry is not None:
            self.node.cancel_timer(entry[1])
            entry[0](msg)

    def timeout(self, req: int) -> None:
        entry = self.calls.pop(req, None)
        if entry is not None:
            entry[0](None)

    # -- order numbers ---------------------------------------------------------------------------
    def next_order_no(self) -> int | None:
        """An order number, or None while the pool is empty (a refill is then under way).

        With ``leaf_ids`` off, each instance numbers its orders from its own counter (the
        naive "auto-increment per instance" design: two instances collide)."""
        if not self.settings.on("leaf_ids"):
            n = self.node.stable.get("local_counter", 0) + 1
            self.node.stable["local_counter"] = n
            return n
        if len(self.pool) <= self.settings.id_batch // 2:
            self.refill()
        return self.pool.pop(0) if self.pool else None

    def refill(self) -> None:
        if self.refilling or not self.settings.on("leaf_ids"):
            return
        self.refilling = True

        def got(msg: IdReply | None) -> None:
            self.refilling = False
            if msg is not None:
                self.pool.extend(msg.ids)
            if len(self.pool) <= self.settings.id_batch // 2:
                self.refill()

        self._call("leaf", lambda req: IdRequest(req, self.settings.id_batch), got)

    # -- the inventory lock (Chapter 9) ----------------------------------------------------------
    def lock(self, ctx: Any, then: Callable[[int | None], None]) -> None:
        """Try once to take the inventory lock for ``ctx``; ``then(token or None)``."""
        attempt = self.node.stable.get("lock_attempt", 0) + 1
        self.node.stable["lock_attempt"] = attempt
        owner = f"{self.node.id}:{attempt}"
        self.lock_owner[ctx] = owner
        lease = int(self.settings.lease_ms)

        def got(msg: Reply | None) -> None:
            ok = msg is not None and msg.error is None and msg.value is not None
            then(int(msg.value) if ok and msg is not None else None)

        self._call("redis", lambda req: Command(req, ("EVAL", ACQUIRE_FENCED, 2, LOCK_KEY, f"{LOCK_KEY}:fence",
                                                      owner, lease)), got)

    def unlock(self, ctx: Any) -> None:
        """Release the lock taken for ``ctx`` (compare-and-delete: never someone else's)."""
        owner = self.lock_owner.pop(ctx, None)
        if owner is not None:
            self._call("redis", lambda req: Command(req, ("EVAL", COMPARE_AND_DELETE, 1, LOCK_KEY, owner)),
                       lambda msg: None)

    # -- inventory and payment -----------------------------------------------------------------
    def read_stock(self, item: str, order_no: int, then: Callable[[int | None, int | None], None]) -> None:
        def got(msg: StockValue | None) -> None:
            then(None, None) if msg is None else then(msg.stock, msg.held)

        self._call("inventory", lambda req: StockRead(req, item, order_no), got)

    def write_stock(self, token: int | None, value: Reserve, then: Callable[[bool | None], None]) -> None:
        def got(msg: WriteResult | None) -> None:
            then(None if msg is None else msg.accepted)

        self._call("inventory", lambda req: Write(req, self.node.id, token, value.order_no, value), got)

    def tcc(self, xid: str, branch: str, action: str, account: str, amount: int,
            then: Callable[[bool | None], None]) -> None:
        def got(msg: TccResult | None) -> None:
            then(None if msg is None else msg.ok)

        self._call("payment", lambda req: TccCall(req, xid, branch, action, account, amount), got)

    def later(self, delay_ms: float, name: str, payload: Any = None) -> None:
        """A timer of the service's own (``on_timer(name, payload)``)."""
        self.node.set_timer(delay_ms, name, payload)


class OrderService(OrderServiceBase):
    """The reference order service: a Saga with a durable log (module docstring).

    Saga states: ``reserving`` -> ``paying`` -> ``confirming`` -> ``completed``; on a failure
    ``compensating`` -> ``compensated``; ``rejected`` when the stock is short. With
    ``compensation`` off a failure ends in ``abandoned`` (nothing undone); with ``saga_log``
    off the log lives in memory and a crash forgets the orders in flight.
    """

    @property
    def log(self) -> dict[int, dict[str, Any]]:
        if self.settings.on("saga_log"):
            return self.node.stable.setdefault("saga", {})
        return self.__dict__.setdefault("_volatile_log", {})

    def status(self, order_no: int) -> str | None:
        entry = self.log.get(order_no)
        return None if entry is None else str(entry["state"])

    def states(self) -> dict[int, str]:
        return {n: str(o["state"]) for n, o in sorted(self.log.items())}

    def on_start(self) -> None:
        super().on_start()
        for order_no in sorted(self.log):   # resume every unfinished saga from its log entry
            if self.log[order_no]["state"] not in TERMINAL:
                self.step(order_no)

    def placeOrder(self, request_id: str, user: str, item: str, qty: int, cohort: str) -> list[Any]:
        if item not in self.settings.prices or not isinstance(qty, int) or qty < 1:
            return ["invalid", None]
        order_no = self.next_order_no()
        if order_no is None:
            return ["busy", None]
        self.log[order_no] = {"state": "reserving", "request": request_id, "user": user, "item": item,
                              "qty": qty, "amount": qty * self.settings.prices[item], "cohort": cohort,
                              "tries": 0, "branches": {}}
        self.step(order_no)
        return ["accepted", order_no]

    # -- the saga ----------------------------------------------------------------------------
    def set_state(self, order_no: int, state: str) -> None:
        self.log[order_no]["state"] = state
        self.node.annotate(order=order_no, saga=state)

    def step(self, order_no: int) -> None:
        o = self.log.get(order_no)
        if o is None:
            return
        state = o["state"]
        if state == "reserving":
            self.adjust(order_no, +1)
        elif state == "paying":
            self.pay(order_no)
        elif state == "confirming":
            self.finish(order_no, "confirm", "completed")
        elif state == "compensating":
            self.finish(order_no, "cancel", "compensated")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "retry":
            self.__dict__.setdefault("retrying", set()).discard(payload)
            self.step(payload)

    def retry(self, order_no: int, delay_ms: float = 20.0) -> None:
        """Run the order's current step again after a jittered delay; one retry per order at a
        time (two calls timing out together must not double the retries, round after round)."""
        retrying: set[int] = self.__dict__.setdefault("retrying", set())
        if order_no in retrying:
            return
        retrying.add(order_no)
        jitter = float(self.node.rng.uniform(0.5, 1.5))
        self.later(delay_ms * jitter, "retry", order_no)

    def fail(self, order_no: int) -> None:
        """A step failed for good: compensate (or, without the defence, give up)."""
        if self.log[order_no]["state"] not in ("reserving", "paying"):
            return
        self.set_state(order_no, "compensating" if self.settings.on("compensation") else "abandoned")
        if self.settings.on("compensation"):
            self.step(order_no)

    def adjust(self, order_no: int, sign: int) -> None:
        """Take (``sign`` +1) or give back (-1) the order's units: lock, read, write, unlock.

        The read also returns what the order already holds, so a repeated step (after a lost
        reply or a restart) neither takes twice nor gives back what it never took."""
        o = self.log[order_no]
        ctx = (order_no, sign)

        def locked(token: int | None) -> None:
            if token is None:
                return again()
            self.read_stock(o["item"], order_no, lambda stock, held: read(token, stock, held))

        def read(token: int, stock: int | None, held: int | None) -> None:
            if stock is None or held is None:
                return again()
            if sign > 0 and held >= o["qty"]:
                return done(True)             # an earlier attempt's write did land
            if sign < 0 and held <= 0:
                return done(True)             # nothing to give back
            if sign > 0 and stock < o["qty"]:
                self.unlock(ctx)
                return self.set_state(order_no, "rejected")
            units = o["qty"] if sign > 0 else held
            value = Reserve(o["item"], stock - sign * units, order_no, sign * units)
            self.write_stock(token, value, lambda ok: written(ok))

        def written(ok: bool | None) -> None:
            if ok:
                return done(True)
            again()                           # rejected (a stale token) or no answer: start over

        def done(_: bool) -> None:
            self.unlock(ctx)
            o["tries"] = 0
            if sign > 0:
                self.set_state(order_no, "paying")
                self.step(order_no)
            else:
                self.set_state(order_no, "compensated")

        def again() -> None:
            self.unlock(ctx)
            o["tries"] += 1
            if sign > 0 and o["tries"] >= self.settings.attempts:
                return self.fail(order_no)
            self.retry(order_no)

        self.lock(ctx, locked)

    def pay(self, order_no: int) -> None:
        """TCC Try on both branches (debit the user, credit the merchant); both yes -> confirm."""
        o = self.log[order_no]
        legs = (("debit", o["user"], -o["amount"]), ("credit", self.settings.merchant, o["amount"]))
        for branch, account, amount in legs:
            if branch in o["branches"]:
                continue

            def tried(ok: bool | None, branch: str = branch) -> None:
                if o["state"] != "paying" or branch in o["branches"]:
                    return
                if ok is None:                # no answer: try again; a second Try is refused (fence)
                    o["tries"] += 1
                    if o["tries"] >= self.settings.attempts:
                        return self.fail(order_no)
                    return self.retry(order_no)
                o["branches"][branch] = ok
                if not ok:
                    return self.fail(order_no)
                if all(o["branches"].get(b) for b, _, _ in legs):
                    self.set_state(order_no, "confirming")
                    self.step(order_no)

            self.tcc(str(order_no), branch, "try", account, amount, tried)

    def finish(self, order_no: int, action: str, final: str) -> None:
        """Confirm (or cancel) both branches until the payment service answers each."""
        o = self.log[order_no]
        legs = (("debit", o["user"], -o["amount"]), ("credit", self.settings.merchant, o["amount"]))
        pending = {b for b, _, _ in legs if o.get(f"{action}:{b}") is None}
        if not pending:
            return self.after(order_no, action, final)
        for branch, account, amount in legs:
            if branch not in pending:
                continue

            def answered(ok: bool | None, branch: str = branch) -> None:
                if ok is None:
                    return self.retry(order_no, 50.0)
                if o.get(f"{action}:{branch}") is None:
                    o[f"{action}:{branch}"] = ok
                    if all(o.get(f"{action}:{b}") is not None for b, _, _ in legs):
                        self.after(order_no, action, final)

            self.tcc(str(order_no), branch, action, account, amount, answered)

    def after(self, order_no: int, action: str, final: str) -> None:
        o = self.log[order_no]
        if o["state"] in TERMINAL:
            return
        if action == "confirm":
            self.set_state(order_no, final)
        else:
            self.adjust(order_no, -1)         # give the stock back; ends in "compensated"


class OrderProvider(ProviderNode):
    """A ``ds.rpc`` provider whose service is an order service; replies from the back ends and
    the service's own timers go to the service.

    ``zk`` is the process's ZooKeeper client and ``znode`` its provider znode: at every start
    the provider registers its listener and starts the client, as a new process would (after a
    restart the client is already reconnecting with a new session and keeps its listeners, as a
    kazoo client object does; registering again is a no-op), and on every connection creates
    the ephemeral znode again if its session lost it (Dubbo's registry recovery); a restarted
    process is thus found again."""

    def __init__(self, id: str, *, settings: Settings, service: type[OrderServiceBase] = OrderService,
                 latency: Dist = SERVICE_TIME, zk: Any = None, znode: str | None = None) -> None:
        self.settings = settings
        self.zk, self.znode = zk, znode
        super().__init__(id, latency, service=service)

    def on_start(self) -> None:
        if self.zk is not None and self.znode is not None:
            self.zk.add_listener(self.on_session)
            self.zk.start_async()
        self.service.on_start()

    def on_session(self, state: str) -> None:
        if state == "CONNECTED" and self.znode is not None and self.zk is not None:
            self.zk.create_async(self.znode, ephemeral=True)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, (IdReply, StockValue, WriteResult, Reply, TccResult)):
            self.service.reply(msg)
        else:
            super().on_message(src, msg)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "call:timeout":
            self.service.timeout(payload)
        elif name == "reply":
            super().on_timer(name, payload)
        else:
            self.service.on_timer(name, payload)
