"""Database locks on real SQLite (the standard library's ``sqlite3``), and the failure of each.

* :class:`RowLock` -- the ``SELECT ... FOR UPDATE`` style: the lock *is* a write transaction
  (MySQL InnoDB locks the selected row until commit; SQLite has no ``FOR UPDATE`` and its
  ``BEGIN IMMEDIATE`` takes the whole database's RESERVED lock, SQLite docs, "File Locking
  And Concurrency", §3). Released by commit, or by rollback when the connection dies. Its
  failure: it has no lease -- a holder that hangs with its transaction open blocks every
  other writer for as long as it hangs (waiters get ``database is locked``).
* :class:`UniqueKeyLock` -- a row in a table whose primary key is the lock's name: ``INSERT``
  acquires (a second insert violates the key), ``DELETE ... WHERE owner = ?`` releases. Its
  failure: a holder that crashes never deletes its row, so the lock is held forever; adding an
  ``expires_at`` column and reaping expired rows brings back a lease, and with it the paused
  holder who still believes (fencing tokens again).

Connections use ``timeout=0`` (fail at once instead of waiting on the wall clock) and
autocommit (``isolation_level=None``); "now" is passed in as virtual ms, never read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY = "database is locked"


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection that fails at once when the database is locked, in autocommit mode."""
    return sqlite3.connect(str(path), timeout=0, isolation_level=None)


class RowLock:
    """``BEGIN IMMEDIATE`` + ``SELECT`` (the ``SELECT ... FOR UPDATE`` recipe) on one connection."""

    def __init__(self, path: str | Path, name: str = "resource") -> None:
        self.conn, self.name = connect(path), name
        self.conn.execute("CREATE TABLE IF NOT EXISTS resources (name TEXT PRIMARY KEY, value TEXT)")
        self.conn.execute("INSERT OR IGNORE INTO resources VALUES (?, '')", (name,))
        self.held = False

    def acquire(self) -> bool:
        """Open the write transaction; False (``database is locked``) while another holds it."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if BUSY not in str(e):
                raise
            return False
        self.conn.execute("SELECT value FROM resources WHERE name = ?", (self.name,)).fetchone()
        self.held = True
        return True

    def write(self, value: str) -> None:
        self.conn.execute("UPDATE resources SET value = ? WHERE name = ?", (value, self.name))

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.held = False

    def crash(self) -> None:
        """The holder's process dies: its connection closes and SQLite rolls the transaction back."""
        self.conn.close()
        self.held = False


class UniqueKeyLock:
    """``INSERT INTO locks (name, owner, expires_at)`` acquires; the primary key excludes a second."""

    def __init__(self, path: str | Path, name: str = "resource") -> None:
        self.conn, self.name = connect(path), name
        self.conn.execute("CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                          "expires_at REAL, token INTEGER NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS fence (name TEXT PRIMARY KEY, counter INTEGER NOT NULL)")

    def acquire(self, owner: str, now: float, lease_ms: float | None = None) -> int | None:
        """The fencing token (a per-lock counter bumped in the same transaction) or None if held."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if BUSY not in str(e):
                raise
            return None
        try:
            self.conn.execute("INSERT INTO fence VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET counter = counter + 1",
                              (self.name,))
            token = self.conn.execute("SELECT counter FROM fence WHERE name = ?", (self.name,)).fetchone()[0]
            expires = None if lease_ms is None else now + lease_ms
            self.conn.execute("INSERT INTO locks VALUES (?, ?, ?, ?)", (self.name, owner, expires, token))
        except sqlite3.IntegrityError:  # UNIQUE constraint failed: someone holds it
            self.conn.execute("ROLLBACK")
            return None
        self.conn.execute("COMMIT")
        return int(token)

    def release(self, owner: str) -> bool:
        """Delete the row only if ``owner`` holds it (a compare-and-delete, in SQL)."""
        cur = self.conn.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (self.name, owner))
        return cur.rowcount == 1

    def reap(self, now: float) -> int:
        """Delete expired rows (the cleanup job an expiry column needs); how many went."""
        cur = self.conn.execute("DELETE FROM locks WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        return cur.rowcount

    def holder(self) -> str | None:
        row = self.conn.execute("SELECT owner FROM locks WHERE name = ?", (self.name,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self.conn.close()
