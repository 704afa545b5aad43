"""TCC (Try-Confirm-Cancel) branches on real SQLite, with and without Seata's fence table.

Seata's TCC mode ("TCC Mode", seata.apache.org docs; ``TCCFenceHandler`` and the
``tcc_fence_log`` table, Seata 1.5+): Try reserves resources, Confirm uses the reservation,
Cancel releases it. Three anomalies come from retries and reordering:

* **empty rollback** (空回滚): Cancel arrives for a branch whose Try never ran (it was lost
  or is late) and "releases" a reservation that was never made;
* **idempotency** (幂等): a retried Confirm or Cancel runs twice;
* **suspension / hanging** (悬挂): Try arrives *after* Cancel, reserves, and nobody will ever
  confirm or cancel it: the reservation leaks.

The fence is a row per (xid, branch) in ``tcc_fence_log`` written **in the same local
transaction** as the business change: Try inserts it as TRIED (a duplicate key means Try
already ran, or Cancel ran first and left SUSPENDED: refuse); Confirm and Cancel move it to
COMMITTED / ROLLBACKED only from TRIED and return quietly if it is already there; a Cancel
that finds no row inserts SUSPENDED (the empty rollback is recorded, so a late Try is
refused). :class:`TccAccount` with ``fenced=False`` is the naive service, for comparison.

A branch is a debit (``amount < 0``: Try freezes, Confirm takes, Cancel unfreezes) or a
credit (``amount > 0``: Try books an incoming amount, Confirm adds it, Cancel drops it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import allowed

TRIED, COMMITTED, ROLLBACKED, SUSPENDED = 1, 2, 3, 4   # Seata's TCCFenceConstant status values

SCHEMA = """
CREATE TABLE IF NOT EXISTS account (id TEXT PRIMARY KEY, balance INTEGER NOT NULL,
                                    frozen INTEGER NOT NULL DEFAULT 0, incoming INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tcc_fence_log (xid TEXT NOT NULL, branch_id TEXT NOT NULL,
                                          action_name TEXT NOT NULL, status INTEGER NOT NULL,
                                          PRIMARY KEY (xid, branch_id));
"""


class TccAccount:
    """An account service's TCC branch handlers on one SQLite database (see module docstring)."""

    def __init__(self, path: str | Path, balances: dict[str, int] | None = None, *, fenced: bool = True) -> None:
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(SCHEMA)
        self.fenced = fenced
        for k, v in sorted((balances or {}).items()):
            self.conn.execute("INSERT OR IGNORE INTO account (id, balance) VALUES (?, ?)", (k, v))

    # -- one local transaction per call ---------------------------------------------------
    def _fence(self, xid: str, branch: str) -> int | None:
        row = self.conn.execute("SELECT status FROM tcc_fence_log WHERE xid = ? AND branch_id = ?",
                                (xid, branch)).fetchone()
        return None if row is None else int(row[0])

    def _run(self, xid: str, branch: str, action: str, account: str, amount: int) -> bool:
        if action not in ("try", "confirm", "cancel"):
            raise allowed("action", action, "try, confirm or cancel")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise allowed("amount", amount, "a non-zero int (< 0 debit, > 0 credit)")
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            ok = self._fenced(xid, branch, action, account, amount) if self.fenced else \
                self._business(action, account, amount)
            c.execute("COMMIT" if ok else "ROLLBACK")
            return ok
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def _fenced(self, xid: str, branch: str, action: str, account: str, amount: int) -> bool:
        status = self._fence(xid, branch)
        if action == "try":
            if status is not None:              # Try again, or Try after Cancel (hanging): refuse
                return False
            self.conn.execute("INSERT INTO tcc_fence_log VALUES (?, ?, ?, ?)", (xid, branch, "transfer", TRIED))
            return self._business("try", account, amount)
        if status is None:
            if action == "confirm":
                return False                    # Confirm without Try never happens in Seata
            self.conn.execute("INSERT INTO tcc_fence_log VALUES (?, ?, ?, ?)",
                              (xid, branch, "transfer", SUSPENDED))   # empty rollback, recorded
            return True
        done = COMMITTED if action == "confirm" else ROLLBACKED
        if status == done or (action == "cancel" and status == SUSPENDED):
            return True                         # idempotent: already done
        if status != TRIED:
            return False
        self.conn.execute("UPDATE tcc_fence_log SET status = ? WHERE xid = ? AND branch_id = ?",
                          (done, xid, branch))
        return self._business(action, account, amount)

    def _business(self, action: str, account: str, amount: int) -> bool:
        c = self.conn
        row = c.execute("SELECT balance, frozen FROM account WHERE id = ?", (account,)).fetchone()
        if row is None:
            raise allowed("account", account, "an existing account")
        balance, frozen = row
        a = abs(amount)
        if amount < 0:
            if action == "try":
                if balance - frozen < a:
                    return False
                c.execute("UPDATE account SET frozen = frozen + ? WHERE id = ?", (a, account))
            elif action == "confirm":
                c.execute("UPDATE account SET balance = balance - ?, frozen = frozen - ? WHERE id = ?", (a, a, account))
            else:
                c.execute("UPDATE account SET frozen = frozen - ? WHERE id = ?", (a, account))
        else:
            if action == "try":
                c.execute("UPDATE account SET incoming = incoming + ? WHERE id = ?", (a, account))
            elif action == "confirm":
                c.execute("UPDATE account SET balance = balance + ?, incoming = incoming - ? WHERE id = ?",
                          (a, a, account))
            else:
                c.execute("UPDATE account SET incoming = incoming - ? WHERE id = ?", (a, account))
        return True

    def try_(self, xid: str, branch: str, account: str, amount: int) -> bool:
        """Try: reserve (freeze a debit, book a credit as incoming)."""
        return self._run(xid, branch, "try", account, amount)

    def confirm(self, xid: str, branch: str, account: str, amount: int) -> bool:
        """Confirm: use the reservation."""
        return self._run(xid, branch, "confirm", account, amount)

    def cancel(self, xid: str, branch: str, account: str, amount: int) -> bool:
        """Cancel: release the reservation."""
        return self._run(xid, branch, "cancel", account, amount)

    def accounts(self) -> dict[str, tuple[int, int, int]]:
        """id -> (balance, frozen, incoming)."""
        rows = self.conn.execute("SELECT id, balance, frozen, incoming FROM account ORDER BY id").fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def fence(self) -> list[tuple[str, str, int]]:
        """The ``tcc_fence_log`` rows (xid, branch_id, status)."""
        return self.conn.execute("SELECT xid, branch_id, status FROM tcc_fence_log ORDER BY xid, branch_id").fetchall()

    def close(self) -> None:
        self.conn.close()


def run_transfers(folder: str | Path, *, seed: int, fenced: bool = True, transfers: int = 10,
                  amount: int = 10, p_lost: float = 0.2, p_late: float = 0.2, p_dup: float = 0.3) -> dict[str, object]:
    """Transfers from ``alice`` (service A) to ``bob`` (service B) by a transaction manager
    that confirms both branches only if both Tries answered yes in time, and otherwise
    cancels both, re-sending phase 2 until it is acknowledged (at least once). The nemesis,
    drawn from the stream ``"tcc-nemesis"``: a Try may be lost (never arrives), late (arrives
    after phase 2: hanging), and any call may be duplicated. Returns the final accounts, the
    fence rows and the invariants: ``conserved`` (balances sum to the start), ``no_leak``
    (nothing frozen or incoming left), ``no_negative``."""
    from ..sim import stream

    rng = stream(seed, "tcc-nemesis")
    folder = Path(folder)
    a = TccAccount(folder / "a.sqlite", {"alice": 1000}, fenced=fenced)
    b = TccAccount(folder / "b.sqlite", {"bob": 0}, fenced=fenced)
    try:
        for i in range(transfers):
            xid = f"x{i}"
            branches = [(a, "a", "alice", -amount), (b, "b", "bob", amount)]
            replies, late = [], []
            for svc, br, acct, amt in branches:
                fate = rng.random()
                if fate < p_lost:
                    replies.append(False)
                elif fate < p_lost + p_late:
                    replies.append(False)
                    late.append((svc, br, acct, amt))
                else:
                    ok = svc.try_(xid, br, acct, amt)
                    if rng.random() < p_dup:
                        svc.try_(xid, br, acct, amt)       # a duplicated Try
                    replies.append(ok)
            phase2 = "confirm" if all(replies) else "cancel"
            for svc, br, acct, amt in branches:
                for _ in range(1 + int(rng.random() < p_dup)):   # retried until acknowledged
                    getattr(svc, phase2)(xid, br, acct, amt)
            for svc, br, acct, amt in late:                    # the late Try: after Cancel
                svc.try_(xid, br, acct, amt)
        accounts = {**a.accounts(), **b.accounts()}
        total = sum(v[0] for v in accounts.values())
        return {"accounts": accounts, "fence": a.fence() + b.fence(), "conserved": total == 1000,
                "no_leak": all(v[1] == 0 and v[2] == 0 for v in accounts.values()),
                "no_negative": all(min(v) >= 0 for v in accounts.values())}
    finally:
        a.close()
        b.close()
