"""Best-effort notification: WeChat Pay's payment-result callback, its back-off schedule, the
order-query API for reconciliation, and an idempotent receiver on SQLite.

WeChat Pay, "支付结果通知" (payment result notification; pay.weixin.qq.com, API v2/v3):
after a payment the platform POSTs the result to the merchant's ``notify_url``; an answer
that is not a success, or none in time, counts as a failure and the notice is sent again,
"通知频率为15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h - 总计 24h4m" --
:data:`SCHEDULE_S` -- "但微信不保证通知最终一定能成功" (no guarantee it ever arrives). The
same notice may arrive several times, so the merchant must check the order's state first
and process a notice once; and when an order's state is unknown the merchant should call
the query-order API (查询订单) itself. That is the whole pattern (最大努力通知): the sender
tries hard for a bounded time, the receiver deduplicates, and a pull closes the gap.

Our reading of the schedule: the first notice goes out when the payment succeeds; after a
failed notice the next one follows after the next interval of :data:`SCHEDULE_S`, so there
are at most 16 notices and the last one 24 h 4 min after the first.

* :class:`PaymentPlatform` (node ``wxpay``): pays ``payments`` at their times, notifies,
  re-notifies on the schedule until a :class:`NotifyAck` comes back, answers
  :class:`QueryOrder` from its own records.
* :class:`Merchant` (node ``shop``): its ``orders`` and ``deliveries`` tables in SQLite;
  :meth:`Merchant.paid` marks an order paid and ships it **in one local transaction, only if
  the order is not paid yet** (``idempotent=False`` ships on every notice); with
  ``reconcile_ms`` it queries every order still unpaid that often.
* :func:`run_notify` -- a nemesis run (message loss, merchant outages) and its invariants.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation, lossy, reliable

SCHEDULE_S: tuple[int, ...] = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                               10800, 10800, 10800, 21600, 21600)
"""Seconds between notices: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m)."""


@dataclass(frozen=True)
class Notify:
    """The payment result (``out_trade_no`` is the merchant's order number)."""

    out_trade_no: str
    transaction_id: str
    amount: int


@dataclass(frozen=True)
class NotifyAck:
    """The merchant's answer: ``ok`` is HTTP 200 with ``SUCCESS``."""

    out_trade_no: str
    ok: bool


@dataclass(frozen=True)
class QueryOrder:
    """The query-order API: "what is the state of my order?"."""

    out_trade_no: str


@dataclass(frozen=True)
class OrderStatus:
    """The answer: ``trade_state`` ``SUCCESS`` or ``NOTPAY``."""

    out_trade_no: str
    trade_state: str
    transaction_id: str
    amount: int


def offsets_ms(schedule: Sequence[int] = SCHEDULE_S) -> list[int]:
    """When each notice goes out, in ms after the first, if none is answered."""
    out, t = [0], 0
    for s in schedule:
        t += s * 1000
        out.append(t)
    return out


class PaymentPlatform(Node):
    """WeChat Pay's side: ``payments`` are ``(out_trade_no, amount, at_ms)``."""

    def __init__(self, id: str = "wxpay", payments: Sequence[tuple[str, int, float]] = (), *,
                 merchant: str = "shop", schedule: Sequence[int] = SCHEDULE_S) -> None:
        super().__init__(id)
        self.payments = tuple(payments)
        self.merchant = merchant
        self.schedule = tuple(schedule)

    def on_start(self) -> None:
        self.stable.setdefault("paid", {})          # out_trade_no -> (transaction_id, amount)
        self.stable.setdefault("notices", {})       # out_trade_no -> send times (ms)
        self.stable.setdefault("acked", set())
        for order, amount, at in self.payments:
            self.set_timer(at, "pay", (order, amount))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "pay":
            order, amount = payload
            self.stable["paid"][order] = (f"42000{len(self.stable['paid']):05d}", amount)
            self.notify(order)
        elif name == "retry" and payload not in self.stable["acked"]:
            self.notify(payload)

    def notify(self, order: str) -> None:
        """Send the notice and, unless it was the last, arm the next interval's retry."""
        times = self.stable["notices"].setdefault(order, [])
        times.append(self.now)
        tx, amount = self.stable["paid"][order]
        self.send(self.merchant, Notify(order, tx, amount))
        if len(times) <= len(self.schedule):
            self.set_timer(self.schedule[len(times) - 1] * 1000, "retry", order)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, NotifyAck) and msg.ok:
            self.stable["acked"] = self.stable["acked"] | {msg.out_trade_no}
        elif isinstance(msg, QueryOrder):
            tx, amount = self.stable["paid"].get(msg.out_trade_no, ("", 0))
            self.send(src, OrderStatus(msg.out_trade_no, "SUCCESS" if tx else "NOTPAY", tx, amount))


MERCHANT_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (out_trade_no TEXT PRIMARY KEY, amount INTEGER NOT NULL,
                                   state TEXT NOT NULL, transaction_id TEXT);
CREATE TABLE IF NOT EXISTS deliveries (out_trade_no TEXT NOT NULL, transaction_id TEXT NOT NULL);
"""


class Merchant(Node):
    """The merchant's server on a SQLite file ``db`` with ``orders`` (created unpaid)."""

    def __init__(self, id: str = "shop", db: str = "", orders: Sequence[tuple[str, int]] = (), *,
                 platform: str = "wxpay", idempotent: bool = True,
                 reconcile_ms: float | None = None) -> None:
        super().__init__(id)
        self.stable["db"] = db
        self.orders = tuple(orders)
        self.platform = platform
        self.idempotent = idempotent
        self.reconcile_ms = reconcile_ms
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.stable["db"], timeout=0, isolation_level=None)
            self._conn.executescript(MERCHANT_SCHEMA)
            self._conn.executemany("INSERT OR IGNORE INTO orders VALUES (?, ?, 'NOTPAY', NULL)", self.orders)
        return self._conn

    def on_start(self) -> None:
        self.conn                                        # noqa: B018 (open and create)
        if self.reconcile_ms is not None:
            self.set_timer(self.reconcile_ms, "reconcile")

    def on_recover(self) -> None:
        self._conn = None
        self.on_start()

    def on_crash(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def paid(self, order: str, transaction_id: str, amount: int) -> bool:
        """Mark ``order`` paid and ship it, in one local transaction; first check the state
        (the documented rule: a notice already processed is answered SUCCESS, nothing else)."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute("SELECT state, amount FROM orders WHERE out_trade_no = ?", (order,)).fetchone()
            if row is None or row[1] != amount:          # unknown order or wrong amount: refuse
                c.execute("ROLLBACK")
                return False
            if row[0] != "SUCCESS" or not self.idempotent:
                c.execute("UPDATE orders SET state = 'SUCCESS', transaction_id = ? WHERE out_trade_no = ?",
                          (transaction_id, order))
                c.execute("INSERT INTO deliveries VALUES (?, ?)", (order, transaction_id))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return True

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Notify):
            ok = self.paid(msg.out_trade_no, msg.transaction_id, msg.amount)
            self.send(src, NotifyAck(msg.out_trade_no, ok))
        elif isinstance(msg, OrderStatus) and msg.trade_state == "SUCCESS":
            self.paid(msg.out_trade_no, msg.transaction_id, msg.amount)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "reconcile" and self.reconcile_ms is not None:
            for (order,) in self.conn.execute("SELECT out_trade_no FROM orders WHERE state = 'NOTPAY' "
                                              "ORDER BY out_trade_no").fetchall():
                self.send(self.platform, QueryOrder(order))
            self.set_timer(self.reconcile_ms, "reconcile")

    def close(self) -> None:
        self.on_crash()


def run_notify(seed: int, *, orders: int = 6, idempotent: bool = True, reconcile_ms: float | None = None,
               drop: float = 0.3, duplicate: float = 0.1, outage_ms: tuple[float, float] | None = None,
               horizon_ms: float = 2 * 86_400_000, folder: str | Path | None = None) -> dict[str, Any]:
    """Pay ``orders`` orders (one a minute) over a lossy link (``drop``, ``duplicate``); the
    merchant is down during ``outage_ms`` ``(from, to)``. Returns the notice times per order,
    the merchant's rows, and the invariants ``all_paid`` (every paid order is SUCCESS at the
    merchant by ``horizon_ms``) and ``exactly_once`` (each paid order shipped exactly once).
    The SQLite file lives in ``folder`` (default: a temporary folder removed afterwards)."""
    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 1:
        raise allowed("orders", orders, "an int >= 1")
    if outage_ms is not None and not (len(outage_ms) == 2 and 0 <= outage_ms[0] < outage_ms[1]):
        raise allowed("outage_ms", outage_ms, "None or (from_ms, to_ms) with 0 <= from < to")
    tmp = None if folder is not None else tempfile.mkdtemp(prefix="dscourse-notify-")
    db = str(Path(folder or tmp or ".") / "shop.sqlite")
    ids = [(f"o{i}", 100 + i) for i in range(orders)]
    net = lossy(drop=drop, duplicate=duplicate) if drop or duplicate else reliable()
    sim = Simulation(seed=seed, network=net)
    sim.add_node(PaymentPlatform("wxpay", [(o, a, 60_000.0 * i) for i, (o, a) in enumerate(ids)]))
    shop = Merchant("shop", db, ids, idempotent=idempotent, reconcile_ms=reconcile_ms)
    sim.add_node(shop)
    try:
        if outage_ms is not None:
            sim.run(until=outage_ms[0])
            sim.crash("shop")
            sim.run(until=outage_ms[1])
            sim.recover("shop")
        sim.run(until=horizon_ms)
        rows = dict(shop.conn.execute("SELECT out_trade_no, state FROM orders").fetchall())
        shipped: dict[str, int] = {}
        for (o,) in shop.conn.execute("SELECT out_trade_no FROM deliveries").fetchall():
            shipped[o] = shipped.get(o, 0) + 1
        paid = sorted(sim.nodes["wxpay"].stable["paid"])
        notices = {o: list(t) for o, t in sim.nodes["wxpay"].stable["notices"].items()}
        return {"notices": notices, "orders": rows, "shipped": shipped, "sim": sim,
                "all_paid": all(rows.get(o) == "SUCCESS" for o in paid),
                "exactly_once": all(shipped.get(o, 0) == 1 for o in paid)
                and set(shipped) <= set(paid)}
    finally:
        shop.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
