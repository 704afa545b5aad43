"""Resource managers: a participant's local data, its durable transaction log and row locks.

A resource manager (X/Open DTP's RM) does each step of the commit protocol as **one local
transaction** (Bernstein, Hadzilacos & Goodman 1987, ch. 7.3-7.4; Gray & Reuter,
*Transaction Processing*, 1993, §10.3):

* ``prepare(txid, writes)`` checks the work can be done (no row locked by another
  transaction, no balance below zero), then makes the *prepared* record durable with the
  redo information (the writes) and takes the row locks; it returns the vote. A participant
  that answered yes can commit after any crash: the redo record and the locks are durable.
* ``commit(txid)`` applies the redo, records *committed* and releases the locks;
  ``abort(txid)`` records *aborted* and releases the locks. Both are idempotent.

Two stores with the same interface: :class:`SQLiteRM` keeps everything in real SQLite
tables (``accounts``, ``txn_log``, ``row_locks``) in a database file, so a crash (closing the
connection) loses exactly the work of an open, uncommitted local transaction, as a real
crash would; :class:`MemoryRM` keeps the same records in the node's ``stable`` dict, as plain
data the model checker can copy and compare (a SQLite file cannot be rolled back with the
simulation's checkpoints).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ..errors import allowed
from .messages import Write

STATES = ("prepared", "committed", "aborted")


def check_writes(writes: Any) -> tuple[Write, ...]:
    """``writes`` as a tuple of ``(key, delta)`` pairs, or a clear error."""
    try:
        out = tuple((k, d) for k, d in writes)
    except (TypeError, ValueError):
        raise allowed("writes", writes, "a sequence of (key, delta) pairs") from None
    for k, d in out:
        if not isinstance(k, str) or isinstance(d, bool) or not isinstance(d, int):
            raise allowed("write", (k, d), "a (str key, int delta) pair")
    return out


class ResourceManager(Protocol):
    """What a participant needs from its store (see the module docstring)."""

    def prepare(self, txid: str, writes: tuple[Write, ...]) -> bool: ...
    def commit(self, txid: str) -> None: ...
    def abort(self, txid: str) -> None: ...
    def outcome(self, txid: str) -> str | None: ...
    def rows(self) -> dict[str, int]: ...
    def locks(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class MemoryRM:
    """The resource manager on plain data in ``stable`` (``rows``, ``log``): for model checking."""

    def __init__(self, stable: dict[str, Any], rows: Mapping[str, int] | None = None) -> None:
        self.stable = stable
        stable.setdefault("rows", dict(rows or {}))
        stable.setdefault("log", {})

    def prepare(self, txid: str, writes: tuple[Write, ...]) -> bool:
        log = self.stable["log"]
        if txid in log:
            return bool(log[txid][0] != "aborted")
        held = self.locks()
        rows = self.stable["rows"]
        if any(held.get(k, txid) != txid or rows.get(k, 0) + d < 0 for k, d in writes):
            log[txid] = ("aborted", writes)      # a no vote is a unilateral abort
            return False
        log[txid] = ("prepared", writes)
        return True

    def commit(self, txid: str) -> None:
        state, writes = self.stable["log"].get(txid, (None, ()))
        if state != "prepared":
            if state == "aborted":
                raise allowed("commit of", txid, "a prepared transaction (this one aborted)")
            return
        rows = self.stable["rows"]
        for k, d in writes:
            rows[k] = rows.get(k, 0) + d
        self.stable["log"][txid] = ("committed", writes)

    def abort(self, txid: str) -> None:
        state, writes = self.stable["log"].get(txid, (None, ()))
        if state == "committed":
            raise allowed("abort of", txid, "a transaction not committed (this one committed)")
        self.stable["log"][txid] = ("aborted", writes)

    def outcome(self, txid: str) -> str | None:
        entry = self.stable["log"].get(txid)
        return None if entry is None else str(entry[0])

    def rows(self) -> dict[str, int]:
        return dict(self.stable["rows"])

    def locks(self) -> dict[str, str]:
        return {k: t for t, (s, w) in self.stable["log"].items() if s == "prepared" for k, _ in w}

    def close(self) -> None:
        pass


SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (key TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
CREATE TABLE IF NOT EXISTS txn_log (txid TEXT PRIMARY KEY, state TEXT NOT NULL, redo TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS row_locks (key TEXT PRIMARY KEY, txid TEXT NOT NULL);
"""


class SQLiteRM:
    """The resource manager on a real SQLite database file (tables: :data:`SCHEMA`).

    Autocommit connection; every step is ``BEGIN IMMEDIATE ... COMMIT``, so the log record,
    the locks and the row updates of a step become durable together or not at all."""

    def __init__(self, path: str | Path, rows: Mapping[str, int] | None = None) -> None:
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        self.conn.executescript(SCHEMA)
        if rows:
            self.conn.executemany("INSERT OR IGNORE INTO accounts VALUES (?, ?)", sorted(rows.items()))

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        row = self.conn.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def prepare(self, txid: str, writes: tuple[Write, ...]) -> bool:
        c = self.conn
        state = self._one("SELECT state FROM txn_log WHERE txid = ?", (txid,))
        if state is not None:
            return bool(state != "aborted")
        c.execute("BEGIN IMMEDIATE")
        try:
            ok = True
            for k, d in writes:
                holder = self._one("SELECT txid FROM row_locks WHERE key = ?", (k,))
                balance = self._one("SELECT balance FROM accounts WHERE key = ?", (k,)) or 0
                if (holder is not None and holder != txid) or balance + d < 0:
                    ok = False
                    break
                c.execute("INSERT OR IGNORE INTO row_locks VALUES (?, ?)", (k, txid))
            if not ok:
                c.execute("DELETE FROM row_locks WHERE txid = ?", (txid,))
            c.execute("INSERT INTO txn_log VALUES (?, ?, ?)",
                      (txid, "prepared" if ok else "aborted", json.dumps(list(writes))))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return ok

    def commit(self, txid: str) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute("SELECT state, redo FROM txn_log WHERE txid = ?", (txid,)).fetchone()
            if row is None or row[0] == "committed":
                c.execute("COMMIT")
                return
            if row[0] == "aborted":
                raise allowed("commit of", txid, "a prepared transaction (this one aborted)")
            for k, d in json.loads(row[1]):
                c.execute("INSERT OR IGNORE INTO accounts VALUES (?, 0)", (k,))
                c.execute("UPDATE accounts SET balance = balance + ? WHERE key = ?", (d, k))
            c.execute("UPDATE txn_log SET state = 'committed' WHERE txid = ?", (txid,))
            c.execute("DELETE FROM row_locks WHERE txid = ?", (txid,))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def abort(self, txid: str) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            state = self._one("SELECT state FROM txn_log WHERE txid = ?", (txid,))
            if state == "committed":
                raise allowed("abort of", txid, "a transaction not committed (this one committed)")
            if state is None:
                c.execute("INSERT INTO txn_log VALUES (?, 'aborted', '[]')", (txid,))
            else:
                c.execute("UPDATE txn_log SET state = 'aborted' WHERE txid = ?", (txid,))
            c.execute("DELETE FROM row_locks WHERE txid = ?", (txid,))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def outcome(self, txid: str) -> str | None:
        state = self._one("SELECT state FROM txn_log WHERE txid = ?", (txid,))
        return None if state is None else str(state)

    def rows(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT key, balance FROM accounts ORDER BY key").fetchall())

    def locks(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, txid FROM row_locks ORDER BY key").fetchall())

    def close(self) -> None:
        """Close the connection: SQLite rolls back any open local transaction (a crash)."""
        self.conn.close()
