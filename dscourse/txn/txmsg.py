"""RocketMQ-style transactional messages on SQLite: half message, local transaction, commit or
rollback, and the broker's check-back (RocketMQ docs, "Transaction Message": the producer
sends a *half* message invisible to consumers, runs its local transaction, then sends
COMMIT or ROLLBACK; if that second message never arrives, the broker asks the producer's
``checkLocalTransaction`` for the state, up to ``transactionCheckMax`` (default 15) times,
then discards the message).

The producer records each transaction in ``txn_record`` **in the same local transaction** as
its business row, so the check-back answers from the database, not from memory: COMMIT if the
row exists, ROLLBACK if the local transaction is known to have failed or never ran.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

CHECK_MAX = 15   # RocketMQ's transactionCheckMax default

BROKER_SCHEMA = """
CREATE TABLE IF NOT EXISTS half_message (msg_id TEXT PRIMARY KEY, body TEXT NOT NULL,
                                         state TEXT NOT NULL, checks INTEGER NOT NULL DEFAULT 0);
"""
PRODUCER_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS txn_record (msg_id TEXT PRIMARY KEY);
"""


class Broker:
    """The broker's half-message store: ``half`` -> ``committed`` (visible) or ``rolled_back``."""

    def __init__(self, path: str | Path) -> None:
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(BROKER_SCHEMA)

    def send_half(self, msg_id: str, body: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO half_message (msg_id, body, state) VALUES (?, ?, 'half')",
                          (msg_id, body))

    def end(self, msg_id: str, commit: bool) -> None:
        self.conn.execute("UPDATE half_message SET state = ? WHERE msg_id = ? AND state = 'half'",
                          ("committed" if commit else "rolled_back", msg_id))

    def check_back(self, producer: Producer, *, answers: int = CHECK_MAX) -> None:
        """One round of check-back for every half message (``answers``: how many checks the
        producer answers before it is unreachable, to model a long outage)."""
        rows = self.conn.execute("SELECT msg_id, checks FROM half_message WHERE state = 'half' ORDER BY msg_id")
        for msg_id, checks in rows.fetchall():
            if checks >= CHECK_MAX:
                self.end(msg_id, False)                       # discarded after the last check
                continue
            self.conn.execute("UPDATE half_message SET checks = checks + 1 WHERE msg_id = ?", (msg_id,))
            if checks < answers:
                self.end(msg_id, producer.check(msg_id))

    def visible(self) -> list[str]:
        """Bodies a consumer can read (committed messages only)."""
        sql = "SELECT body FROM half_message WHERE state = 'committed' ORDER BY body"
        return [r[0] for r in self.conn.execute(sql)]

    def pending(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM half_message WHERE state = 'half'").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


class Producer:
    """The order service: its local transaction writes ``orders`` and ``txn_record`` together."""

    def __init__(self, path: str | Path) -> None:
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(PRODUCER_SCHEMA)

    def local_transaction(self, msg_id: str, order_id: str, fail: bool = False) -> bool:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO orders VALUES (?)", (order_id,))
        c.execute("INSERT INTO txn_record VALUES (?)", (msg_id,))
        c.execute("ROLLBACK" if fail else "COMMIT")
        return not fail

    def check(self, msg_id: str) -> bool:
        """``checkLocalTransaction``: commit if the local transaction committed."""
        return self.conn.execute("SELECT 1 FROM txn_record WHERE msg_id = ?", (msg_id,)).fetchone() is not None

    def orders(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM orders ORDER BY id")]

    def close(self) -> None:
        self.conn.close()


def run_txmsg(folder: str | Path, *, seed: int, orders: int = 10, check_back: bool = True,
              p_fail: float = 0.2, p_crash: float = 0.3, p_lost: float = 0.2) -> dict[str, object]:
    """Orders through half message, local transaction and commit/rollback under the nemesis
    (stream ``"txmsg-nemesis"``): the local transaction may fail; the producer may crash
    after the half message (before or after its local commit); the COMMIT/ROLLBACK may be
    lost. Then the broker checks back (unless ``check_back=False``). Invariants:
    ``consistent`` (the visible messages are exactly the committed orders) and ``settled``
    (no half message left)."""
    from ..sim import stream

    rng = stream(seed, "txmsg-nemesis")
    folder = Path(folder)
    broker, producer = Broker(folder / "broker.sqlite"), Producer(folder / "producer.sqlite")
    try:
        for i in range(orders):
            msg_id, order_id = f"m{i}", f"o{i}"
            broker.send_half(msg_id, order_id)
            if rng.random() < p_crash / 2:
                continue                                     # crashed before the local transaction
            ok = producer.local_transaction(msg_id, order_id, fail=rng.random() < p_fail)
            if rng.random() < p_crash / 2 or rng.random() < p_lost:
                continue                                     # crashed, or the end message was lost
            broker.end(msg_id, ok)
        if check_back:
            broker.check_back(producer)
        return {"visible": broker.visible(), "orders": producer.orders(),
                "consistent": broker.visible() == producer.orders(), "settled": broker.pending() == 0}
    finally:
        broker.close()
        producer.close()
