"""Seata AT mode on SQLite: before/after images, ``undo_log`` in the same local transaction,
global row locks at the TC, and a phase-2 rollback that detects a dirty write.

After Seata's documentation ("AT Mode", seata.apache.org; the ``undo_log`` and the TC's
``lock_table``):

* Phase 1 (:meth:`AtResource.update`): in one local transaction, select the **before
  image** of the row, run the business ``UPDATE``, select the **after image**, insert both
  into ``undo_log``; register the branch with the TC, which takes the **global lock** on the
  row key (refused if another global transaction holds it: the local transaction rolls
  back); then commit locally. Local locks are released at once; the global lock stays.
* Phase 2 commit: delete the undo log (asynchronously in Seata) and release the global locks.
* Phase 2 rollback: compare the current row with the after image; if equal, restore the
  before image and delete the undo log; if not, someone wrote the row **without** the
  global lock (a dirty write by a non-Seata transaction): the rollback stops and needs a
  person (Seata logs it and retries forever).

Write isolation between global transactions comes from the global lock; reads are
read-uncommitted by default (:meth:`AtResource.balance` sees phase-1 results).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

RM_SCHEMA = """
CREATE TABLE IF NOT EXISTS account (id TEXT PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS undo_log (xid TEXT NOT NULL, branch_id TEXT NOT NULL, rollback_info TEXT NOT NULL,
                                     log_status INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (xid, branch_id));
"""
TC_SCHEMA = ("CREATE TABLE IF NOT EXISTS lock_table "
             "(row_key TEXT PRIMARY KEY, xid TEXT NOT NULL, branch_id TEXT NOT NULL);")


class TransactionCoordinator:
    """Seata's TC, reduced to its global lock table (one SQLite database)."""

    def __init__(self, path: str | Path) -> None:
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(TC_SCHEMA)

    def lock(self, xid: str, branch: str, key: str) -> bool:
        """Branch registration: take the global lock on ``key`` (True if now held by ``xid``)."""
        self.conn.execute("INSERT OR IGNORE INTO lock_table VALUES (?, ?, ?)", (key, xid, branch))
        row = self.conn.execute("SELECT xid FROM lock_table WHERE row_key = ?", (key,)).fetchone()
        return bool(row[0] == xid)

    def release(self, xid: str) -> None:
        self.conn.execute("DELETE FROM lock_table WHERE xid = ?", (xid,))

    def locks(self) -> list[tuple[str, str]]:
        return self.conn.execute("SELECT row_key, xid FROM lock_table ORDER BY row_key").fetchall()

    def close(self) -> None:
        self.conn.close()


class AtResource:
    """One Seata AT resource manager: a SQLite database with ``account`` and ``undo_log``."""

    def __init__(self, path: str | Path, tc: TransactionCoordinator, name: str,
                 balances: dict[str, int] | None = None) -> None:
        self.tc, self.name = tc, name
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(RM_SCHEMA)
        for k, v in sorted((balances or {}).items()):
            self.conn.execute("INSERT OR IGNORE INTO account VALUES (?, ?)", (k, v))

    def _image(self, account: str) -> list[int]:
        row = self.conn.execute("SELECT balance FROM account WHERE id = ?", (account,)).fetchone()
        return [] if row is None else [int(row[0])]

    def update(self, xid: str, branch: str, account: str, delta: int) -> bool:
        """Phase 1: ``UPDATE account SET balance = balance + delta`` as an AT branch."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        before = self._image(account)
        c.execute("UPDATE account SET balance = balance + ? WHERE id = ?", (delta, account))
        after = self._image(account)
        c.execute("INSERT INTO undo_log (xid, branch_id, rollback_info) VALUES (?, ?, ?)",
                  (xid, branch, json.dumps({"table": "account", "pk": account, "before": before, "after": after})))
        if not self.tc.lock(xid, branch, f"{self.name}:account:{account}"):
            c.execute("ROLLBACK")            # global lock held by another global transaction
            return False
        c.execute("COMMIT")
        return True

    def commit(self, xid: str) -> None:
        """Phase 2 commit: drop the undo log."""
        self.conn.execute("DELETE FROM undo_log WHERE xid = ?", (xid,))

    def rollback(self, xid: str) -> bool:
        """Phase 2 rollback from the images, newest first; False if a dirty write is found
        (nothing changed)."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        rows = c.execute("SELECT branch_id, rollback_info FROM undo_log WHERE xid = ? ORDER BY rowid DESC",
                         (xid,)).fetchall()
        for _, info in rows:
            image = json.loads(info)
            if self._image(image["pk"]) != image["after"]:
                c.execute("ROLLBACK")
                return False
            c.execute("UPDATE account SET balance = ? WHERE id = ?", (image["before"][0], image["pk"]))
        c.execute("DELETE FROM undo_log WHERE xid = ?", (xid,))
        c.execute("COMMIT")
        return True

    def plain_update(self, account: str, delta: int) -> None:
        """A local transaction that does not go through Seata (no global lock): a dirty write."""
        self.conn.execute("UPDATE account SET balance = balance + ? WHERE id = ?", (delta, account))

    def balance(self, account: str) -> int:
        return self._image(account)[0]

    def undo_rows(self) -> list[tuple[str, str, str]]:
        sql = "SELECT xid, branch_id, rollback_info FROM undo_log ORDER BY xid, branch_id"
        return self.conn.execute(sql).fetchall()

    def close(self) -> None:
        self.conn.close()


def finish(xid: str, resources: list[AtResource], commit: bool) -> bool:
    """Phase 2 on every resource, then release the global locks (kept if a rollback failed)."""
    ok = True
    for r in resources:
        if commit:
            r.commit(xid)
        else:
            ok = r.rollback(xid) and ok
    if ok:
        resources[0].tc.release(xid)
    return ok
