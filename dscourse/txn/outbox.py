"""The transactional outbox (local message table) with a polling relay and an idempotent
consumer, on SQLite (Richardson, *Microservices Patterns*, 2018, §3.3.7 "Transactional
outbox", "Polling publisher" and "Idempotent consumer"; eBay's local message table,
Pritchett, "BASE: An ACID Alternative", ACM Queue 6(3), 2008).

* The order service writes the ``orders`` row and the ``outbox`` row in **one** local
  transaction: both or neither.
* The relay polls ``outbox`` for unpublished rows, publishes each to the broker, then marks
  it published. A crash between the two publishes it again: delivery is *at least once*.
* The consumer applies a message and inserts its id into ``processed_message`` in **one**
  local transaction; a duplicate violates the primary key and is skipped. A crash before
  the commit loses the effect and the dedupe row together, and the broker redelivers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

ORDER_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, amount INTEGER NOT NULL CHECK (amount > 0));
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, msg_id TEXT UNIQUE NOT NULL,
                                   payload TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0);
"""
CONSUMER_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_message (msg_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS shipment (order_id TEXT NOT NULL);
"""


def _connect(path: Path, schema: str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    conn.executescript(schema)
    return conn


def place_order(conn: sqlite3.Connection, order_id: str, amount: int) -> bool:
    """The order row and its outbox message in one local transaction (False: rejected)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO orders VALUES (?, ?)", (order_id, amount))
        conn.execute("INSERT INTO outbox (msg_id, payload) VALUES (?, ?)", (f"m-{order_id}", order_id))
        conn.execute("COMMIT")
        return True
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK")
        return False


def consume(conn: sqlite3.Connection, msg_id: str, order_id: str, *, dedupe: bool = True,
            crash: bool = False) -> bool:
    """Apply one message; False if it was a duplicate (or the consumer crashed first)."""
    conn.execute("BEGIN IMMEDIATE")
    if dedupe:
        try:
            conn.execute("INSERT INTO processed_message VALUES (?)", (msg_id,))
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            return False
    conn.execute("INSERT INTO shipment VALUES (?)", (order_id,))
    if crash:
        conn.execute("ROLLBACK")                    # the process dies before COMMIT
        return False
    conn.execute("COMMIT")
    return True


def run_outbox(folder: str | Path, *, seed: int, orders: int = 10, dedupe: bool = True,
               p_bad: float = 0.2, p_relay_crash: float = 0.3, p_dup: float = 0.3,
               p_consumer_crash: float = 0.2) -> dict[str, object]:
    """Orders through the outbox, relay, broker and consumer under the nemesis (stream
    ``"outbox-nemesis"``): an order may be rejected (its message must never appear), the
    relay may crash between publishing and marking, the broker may duplicate a delivery,
    the consumer may crash before committing (the broker redelivers). Returns the
    invariants ``all_published``, ``exactly_once`` (one shipment per accepted order) and
    ``no_orphan`` (no message for a rejected order)."""
    from ..sim import stream

    rng = stream(seed, "outbox-nemesis")
    folder = Path(folder)
    db = _connect(folder / "order.sqlite", ORDER_SCHEMA)
    consumer = _connect(folder / "shipping.sqlite", CONSUMER_SCHEMA)
    try:
        accepted = []
        for i in range(orders):
            amount = 0 if rng.random() < p_bad else 10 + i        # amount 0 breaks the CHECK
            if place_order(db, f"o{i}", amount):
                accepted.append(f"o{i}")
        for _ in range(orders * 4):                                 # relay polls until drained
            rows = db.execute("SELECT seq, msg_id, payload FROM outbox WHERE published = 0 ORDER BY seq").fetchall()
            if not rows:
                break
            for seq, msg_id, payload in rows:
                deliveries = 1 + int(rng.random() < p_dup)          # the broker's at-least-once
                for _ in range(deliveries):
                    while True:                                 # redelivered until a consume commits
                        crashed = rng.random() < p_consumer_crash
                        consume(consumer, msg_id, payload, dedupe=dedupe, crash=crashed)
                        if not crashed:
                            break
                if rng.random() < p_relay_crash:
                    break                                           # crash before marking: resend
                db.execute("UPDATE outbox SET published = 1 WHERE seq = ?", (seq,))
        shipped = [r[0] for r in consumer.execute("SELECT order_id FROM shipment ORDER BY order_id")]
        return {"accepted": accepted, "shipped": shipped,
                "all_published": db.execute("SELECT COUNT(*) FROM outbox WHERE published = 0").fetchone()[0] == 0,
                "exactly_once": sorted(shipped) == sorted(accepted),
                "no_orphan": set(shipped) <= set(accepted)}
    finally:
        db.close()
        consumer.close()

