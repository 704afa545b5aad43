"""A choreographed Saga: services react to each other's events; no orchestrator
(Richardson, *Microservices Patterns*, 2018, §4.2.1 "Choreography-based sagas";
Garcia-Molina & Salem, "Sagas", SIGMOD 1987, §5 backward recovery).

The order saga of :mod:`.saga`, as events. Each service has its own SQLite database with
its business table, ``processed_event`` (the idempotent consumer) and ``outbox`` (the
events it emits, written in the **same** local transaction as the change, :mod:`.outbox`):

* ``order``: creates the order ``PENDING`` and emits ``OrderCreated``; on
  ``InventoryReserved`` approves it; on ``PaymentFailed`` or ``PaymentRefunded`` rejects it.
* ``payment``: on ``OrderCreated`` charges the customer (``PaymentCharged``) or refuses
  (``PaymentFailed``); on ``InventoryFailed`` refunds (``PaymentRefunded``).
* ``inventory``: on ``PaymentCharged`` reserves stock (``InventoryReserved``) or refuses
  (``InventoryFailed``).

The broker delivers every published event to every subscriber *at least once*, in any
order between sagas (the nemesis reorders and duplicates). :data:`SUBSCRIPTIONS` is the
whole design: who reacts to what; nobody knows the saga as a whole.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "OrderCreated": ("payment",),
    "PaymentCharged": ("inventory",),
    "PaymentFailed": ("order",),
    "InventoryReserved": ("order",),
    "InventoryFailed": ("payment",),
    "PaymentRefunded": ("order",),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS business (saga_id TEXT PRIMARY KEY, state TEXT NOT NULL, effect INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS processed_event (event_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL,
                                   type TEXT NOT NULL, saga_id TEXT NOT NULL, published INTEGER DEFAULT 0);
"""


class Service:
    """One choreographed service: :meth:`handle` one event in one local transaction."""

    def __init__(self, path: str | Path, name: str, *, dedupe: bool = True, refuse: frozenset[str] = frozenset()):
        self.name, self.dedupe, self.refuse = name, dedupe, refuse
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(SCHEMA)

    def _emit(self, kind: str, saga_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO outbox (event_id, type, saga_id) VALUES (?, ?, ?)",
                          (f"{kind}:{saga_id}", kind, saga_id))

    def _set(self, saga_id: str, state: str, effect: int) -> None:
        self.conn.execute("INSERT INTO business VALUES (?, ?, ?) ON CONFLICT(saga_id) DO UPDATE "
                          "SET state = excluded.state, effect = effect + excluded.effect", (saga_id, state, effect))

    def begin(self, saga_id: str) -> None:
        """The order service starts a saga: the order row and ``OrderCreated`` together."""
        self.conn.execute("BEGIN IMMEDIATE")
        self._set(saga_id, "PENDING", 0)
        self._emit("OrderCreated", saga_id)
        self.conn.execute("COMMIT")

    def handle(self, event_id: str, kind: str, saga_id: str) -> None:
        """React to one event: skip it if already processed, else change the business row,
        record the event id and the reaction's event, all in one local transaction."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            if self.dedupe and c.execute("SELECT 1 FROM processed_event WHERE event_id = ?", (event_id,)).fetchone():
                c.execute("COMMIT")
                return
            c.execute("INSERT OR IGNORE INTO processed_event VALUES (?)", (event_id,))
            self.react(kind, saga_id)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def react(self, kind: str, saga_id: str) -> None:
        if self.name == "payment":
            if kind == "OrderCreated":
                ok = saga_id not in self.refuse
                if ok:
                    self._set(saga_id, "CHARGED", 1)
                self._emit("PaymentCharged" if ok else "PaymentFailed", saga_id)
            elif kind == "InventoryFailed":
                self._set(saga_id, "REFUNDED", -1)                 # the compensation
                self._emit("PaymentRefunded", saga_id)
        elif self.name == "inventory" and kind == "PaymentCharged":
            ok = saga_id not in self.refuse
            if ok:
                self._set(saga_id, "RESERVED", 1)
            self._emit("InventoryReserved" if ok else "InventoryFailed", saga_id)
        elif self.name == "order":
            if kind == "InventoryReserved":
                self._set(saga_id, "APPROVED", 0)
            elif kind in ("PaymentFailed", "PaymentRefunded"):
                self._set(saga_id, "REJECTED", 0)

    def unpublished(self) -> list[tuple[int, str, str, str]]:
        return self.conn.execute("SELECT seq, event_id, type, saga_id FROM outbox WHERE published = 0 "
                                 "ORDER BY seq").fetchall()

    def mark_published(self, seq: int) -> None:
        self.conn.execute("UPDATE outbox SET published = 1 WHERE seq = ?", (seq,))

    def rows(self) -> dict[str, tuple[str, int]]:
        return {s: (st, e) for s, st, e in self.conn.execute("SELECT saga_id, state, effect FROM business")}

    def close(self) -> None:
        self.conn.close()


def run_choreography(folder: str | Path, *, seed: int, sagas: int = 6, dedupe: bool = True,
                     p_fail: float = 0.3, p_dup: float = 0.3, p_relay_crash: float = 0.2) -> dict[str, Any]:
    """Run ``sagas`` orders through the choreography. The nemesis (stream
    ``"choreography-nemesis"``): payment or inventory refuses a saga with ``p_fail`` each;
    the broker delivers pending events in random order and duplicates with ``p_dup``; a
    relay crashes after publishing but before marking the outbox row with
    ``p_relay_crash`` (published again). Returns the services' rows, the message flow
    ``(from, event, to)`` and the invariants ``all_settled`` (every order APPROVED or
    REJECTED), ``approved_iff_effects`` (an approved order is charged once and reserved
    once; a rejected one has net charge 0 and no reservation)."""
    from ..sim import stream

    rng = stream(seed, "choreography-nemesis")
    folder = Path(folder)
    ids = [f"s{i}" for i in range(sagas)]
    pay_refuse = frozenset(s for s in ids if rng.random() < p_fail)
    inv_refuse = frozenset(s for s in ids if rng.random() < p_fail)
    services = {"order": Service(folder / "order.sqlite", "order", dedupe=dedupe),
                "payment": Service(folder / "payment.sqlite", "payment", dedupe=dedupe, refuse=pay_refuse),
                "inventory": Service(folder / "inventory.sqlite", "inventory", dedupe=dedupe, refuse=inv_refuse)}
    queue: list[tuple[str, str, str, str, str]] = []        # (from, to, event_id, type, saga)
    flow: list[tuple[str, str, str]] = []
    try:
        for s in ids:
            services["order"].begin(s)

        def relay() -> None:
            for name, svc in services.items():
                for seq, eid, kind, saga in svc.unpublished():
                    for sub in SUBSCRIPTIONS[kind]:
                        queue.append((name, sub, eid, kind, saga))
                        flow.append((name, kind, sub))
                    if rng.random() >= p_relay_crash:        # else: crashed; published again next time
                        svc.mark_published(seq)

        relay()
        while queue:
            _src, dst, eid, kind, saga = queue.pop(int(rng.integers(len(queue))))
            services[dst].handle(eid, kind, saga)
            if rng.random() < p_dup:
                services[dst].handle(eid, kind, saga)
            relay()
        rows = {n: s.rows() for n, s in services.items()}
        settled = all(rows["order"].get(s, ("",))[0] in ("APPROVED", "REJECTED") for s in ids)
        ok = True
        for s in ids:
            state = rows["order"].get(s, ("",))[0]
            charge = rows["payment"].get(s, ("", 0))[1]
            reserved = rows["inventory"].get(s, ("", 0))[1]
            ok &= (charge, reserved) == ((1, 1) if state == "APPROVED" else (0, 0))
        return {"rows": rows, "flow": flow, "all_settled": settled, "approved_iff_effects": ok,
                "json": json.dumps(rows, sort_keys=True)}
    finally:
        for svc in services.values():
            svc.close()
