"""Sagas are ACD, not ACID: the anomalies between concurrent sagas and the countermeasures
(Garcia-Molina & Salem, "Sagas", SIGMOD 1987, §1 and §7: a saga's intermediate states are
visible; Richardson, *Microservices Patterns*, 2018, §4.3 "Handling the lack of isolation":
semantic lock, commutative updates, pessimistic view, reread value, version file, by value).

The setting: one ``account`` row in a SQLite database shared by concurrent sagas. Saga
``i`` runs T1 (add ``delta_i`` to the balance, a local transaction) and then T2 in another
service, which fails with some probability; a failed saga runs C1, the compensation of T1.
*Readers* read the balance to make a decision (approve a loan if it is high enough). A
scheduler interleaves the sagas' steps at random (stream ``"saga-isolation"``).

Two anomalies:

* **lost update** -- C1 written as "restore the balance saved by T1" overwrites the
  updates other sagas committed in between (the invariant: final balance = initial + the
  deltas of the completed sagas);
* **dirty read** -- a reader sees a T1 that is later compensated: it decided on a balance
  that never "really" existed.

Countermeasures (``countermeasure``): ``"none"`` (restore-style compensation);
``"commutative"`` (C1 subtracts ``delta``: updates commute, so no update is lost; dirty
reads stay); ``"semantic_lock"`` (T1 also sets ``pending`` to the saga's id -- an
application-level lock, like an order's ``*_PENDING`` state; other sagas' T1 and readers
wait until the saga completes or compensates, which releases it); ``"pessimistic_view"``
(reorder the saga: the step that may fail runs first, and the account update last, so it is
never compensated).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import allowed

COUNTERMEASURES = ("none", "commutative", "semantic_lock", "pessimistic_view")

SCHEMA = """
CREATE TABLE IF NOT EXISTS account (id TEXT PRIMARY KEY, balance INTEGER NOT NULL, pending TEXT);
CREATE TABLE IF NOT EXISTS saga_image (saga_id TEXT PRIMARY KEY, before INTEGER NOT NULL);
"""


class Account:
    """The account service's local transactions for one ``countermeasure``."""

    def __init__(self, path: str | Path, balance: int, countermeasure: str) -> None:
        self.cm = countermeasure
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(SCHEMA)
        self.conn.execute("DELETE FROM saga_image")                     # a fresh run
        self.conn.execute("INSERT OR REPLACE INTO account VALUES ('acct', ?, NULL)", (balance,))

    def balance(self) -> int:
        return int(self.conn.execute("SELECT balance FROM account").fetchone()[0])

    def locked_by(self) -> str | None:
        row = self.conn.execute("SELECT pending FROM account").fetchone()
        return None if row[0] is None else str(row[0])

    def may_touch(self, saga: str) -> bool:
        """Under a semantic lock, only the holder (or anyone, if free) may read or update."""
        holder = self.locked_by()
        return self.cm != "semantic_lock" or holder is None or holder == saga

    def t1(self, saga: str, delta: int) -> None:
        """T1: save the before image, apply ``delta`` (and take the semantic lock)."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO saga_image VALUES (?, ?)", (saga, self.balance()))
        c.execute("UPDATE account SET balance = balance + ?", (delta,))
        if self.cm == "semantic_lock":
            c.execute("UPDATE account SET pending = ?", (saga,))
        c.execute("COMMIT")

    def c1(self, saga: str, delta: int) -> None:
        """C1: restore the before image (``none``, ``semantic_lock``) or subtract ``delta``."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        if self.cm == "commutative":
            c.execute("UPDATE account SET balance = balance - ?", (delta,))
        else:
            before = c.execute("SELECT before FROM saga_image WHERE saga_id = ?", (saga,)).fetchone()[0]
            c.execute("UPDATE account SET balance = ?", (before,))
        c.execute("UPDATE account SET pending = NULL WHERE pending = ?", (saga,))
        c.execute("COMMIT")

    def release(self, saga: str) -> None:
        """The saga completed: drop its semantic lock."""
        self.conn.execute("UPDATE account SET pending = NULL WHERE pending = ?", (saga,))

    def close(self) -> None:
        self.conn.close()


def run_isolation(folder: str | Path, *, seed: int, countermeasure: str = "none", sagas: int = 4,
                  readers: int = 3, p_fail: float = 0.4, balance: int = 100) -> dict[str, Any]:
    """Interleave ``sagas`` sagas and ``readers`` reads at random on one account. Returns
    the final and expected balances, the reads (``(reader, balance, sagas in flight)``) and
    the invariants ``no_lost_update`` and ``no_dirty_read``."""
    if countermeasure not in COUNTERMEASURES:
        raise allowed("countermeasure", countermeasure, f"one of {', '.join(COUNTERMEASURES)}")
    from ..sim import stream

    rng = stream(seed, "saga-isolation")
    acct = Account(Path(folder) / f"account-{countermeasure}.sqlite", balance, countermeasure)
    deltas = {f"s{i}": int(rng.choice([-30, -20, 20, 30, 50])) for i in range(sagas)}
    fails = {s: bool(rng.random() < p_fail) for s in deltas}
    order = ("t2", "t1") if countermeasure == "pessimistic_view" else ("t1", "t2")
    todo: dict[str, list[str]] = {s: list(order) for s in deltas}
    todo.update({f"r{i}": ["read"] for i in range(readers)})
    applied: set[str] = set()                  # sagas whose T1 is visible and not yet final
    reads: list[tuple[str, int, tuple[str, ...]]] = []
    completed: list[str] = []
    compensated: list[str] = []
    try:
        while todo:
            ready = sorted(a for a, steps in todo.items() if acct.may_touch(a)
                           or steps[0] not in ("t1", "read"))
            actor = ready[int(rng.integers(len(ready)))]
            step = todo[actor].pop(0)
            if step == "read":
                reads.append((actor, acct.balance(), tuple(sorted(applied))))
            elif step == "t1":
                acct.t1(actor, deltas[actor])
                applied.add(actor)
            elif step == "t2" and fails[actor]:
                if actor in applied:
                    todo[actor] = ["c1"]
                else:
                    todo[actor] = []                                # pessimistic view: nothing to undo
                    compensated.append(actor)
            elif step == "c1":
                acct.c1(actor, deltas[actor])
                applied.discard(actor)
                compensated.append(actor)
            if not todo[actor]:
                del todo[actor]
                if actor in deltas and actor not in compensated:
                    completed.append(actor)
                    applied.discard(actor)
                    acct.release(actor)
        expected = balance + sum(deltas[s] for s in completed)
        final = acct.balance()
        dirty = [r for r in reads if set(r[2]) & set(compensated)]
        return {"deltas": deltas, "completed": completed, "compensated": compensated, "reads": reads,
                "final": final, "expected": expected, "no_lost_update": final == expected,
                "no_dirty_read": not dirty, "dirty_reads": dirty}
    finally:
        acct.close()
