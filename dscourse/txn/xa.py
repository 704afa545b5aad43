"""The X/Open XA model: application program (AP), resource managers (RM), transaction
manager (TM), with MySQL's XA statements and heuristic outcomes.

X/Open CAE Specification *Distributed Transaction Processing: The XA Specification* (C193,
1991): §2 (the DTP model: the AP uses RMs and asks the TM to commit; the TM drives each RM
through ``xa_start``, ``xa_end``, ``xa_prepare``, ``xa_commit``, ``xa_rollback``,
``xa_recover``, ``xa_forget``), §2.3.3 (heuristic decisions: an RM that "decides alone"
on a prepared branch must remember it until ``xa_forget``), §5 (return codes ``XA_OK``,
``XA_RDONLY``, ``XA_HEURCOM``, ``XA_HEURRB``, ``XA_HEURMIX``, ``XAER_NOTA``,
``XAER_PROTO``, ``XAER_DUPID``).

Statement semantics follow MySQL 8.0's "XA Transaction SQL Statements" and "XA
Transaction States": ``XA START xid`` puts a branch ACTIVE (an existing xid:
``XAER_DUPID``); ``XA END`` makes it IDLE; ``XA PREPARE`` makes it PREPARED (durable: it
survives a crash or disconnect and is listed by ``XA RECOVER``); ``XA COMMIT xid ONE
PHASE`` commits an IDLE branch without a prepare; ``XA COMMIT`` commits a PREPARED one;
``XA ROLLBACK`` works on IDLE or PREPARED; any statement in the wrong state is
``XAER_RMFAIL`` ("cannot be executed when global transaction is in the ... state"); an
unknown xid is ``XAER_NOTA``. An ACTIVE or IDLE branch is rolled back when the session ends.

:class:`XaResource` is one RM on a SQLite file (the prepared state, redo and row locks are
:class:`~.rm.SQLiteRM`'s; heuristic decisions in ``xa_heuristic``).
:class:`TransactionManager` runs global transactions over named RMs, logs its commit
decision before phase 2, recovers, and reports the outcome the RMs' return codes imply --
including ``heuristic mixed`` when some RM decided alone against the decision (JTA's
``HeuristicMixedException``). :class:`TrustingTransactionManager` is the broken variant: it
ignores heuristic return codes and reports what it decided.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DscourseError, allowed
from .messages import Write
from .rm import SQLiteRM, check_writes

XA_OK, XA_RDONLY, XA_HEURCOM, XA_HEURRB = "XA_OK", "XA_RDONLY", "XA_HEURCOM", "XA_HEURRB"


class XaError(DscourseError):
    """An XA error return: ``code`` is ``XAER_NOTA``, ``XAER_RMFAIL``, ``XAER_DUPID`` or
    ``XAER_PROTO``; the message is MySQL's wording."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code


HEURISTIC_SCHEMA = "CREATE TABLE IF NOT EXISTS xa_heuristic (xid TEXT PRIMARY KEY, outcome TEXT NOT NULL)"


class XaResource:
    """One resource manager (say, a MySQL server) on SQLite file ``path``.

    ``branches`` holds the volatile ACTIVE/IDLE branches and their buffered writes (lost by
    :meth:`crash`, as MySQL rolls them back); PREPARED and later states are durable."""

    def __init__(self, path: str | Path, rows: Mapping[str, int] | None = None) -> None:
        self.path = str(path)
        self.initial = dict(rows or {})
        self.rm = SQLiteRM(self.path, self.initial)
        self.rm.conn.execute(HEURISTIC_SCHEMA)
        self.branches: dict[str, tuple[str, list[Write]]] = {}

    # -- the XA interface (xa_* in the specification, XA ... in MySQL) ---------------------
    def state(self, xid: str) -> str | None:
        """ACTIVE, IDLE, PREPARED, COMMITTED, ROLLED BACK, HEURISTIC COMMIT/ROLLBACK or None."""
        if xid in self.branches:
            return self.branches[xid][0]
        h = self.rm.conn.execute("SELECT outcome FROM xa_heuristic WHERE xid = ?", (xid,)).fetchone()
        if h is not None:
            return f"HEURISTIC {h[0].upper()}"
        return {"prepared": "PREPARED", "committed": "COMMITTED", "aborted": "ROLLED BACK"}.get(
            self.rm.outcome(xid) or "", None)

    def _wrong(self, xid: str, state: str | None) -> XaError:
        if state is None:
            return XaError("XAER_NOTA", "Unknown XID")
        return XaError("XAER_RMFAIL", f"The command cannot be executed when global transaction is in the {state} state")

    def start(self, xid: str) -> None:
        """``XA START xid``: a new ACTIVE branch."""
        if self.state(xid) is not None:
            raise XaError("XAER_DUPID", "The XID already exists")
        if any(s == "ACTIVE" for s, _ in self.branches.values()):
            raise self._wrong(xid, "ACTIVE")
        self.branches[xid] = ("ACTIVE", [])

    def update(self, xid: str, key: str, delta: int) -> None:
        """``UPDATE accounts SET balance = balance + delta WHERE key = ...`` inside the branch."""
        state = self.state(xid)
        if state != "ACTIVE":
            raise self._wrong(xid, state)
        self.branches[xid][1].extend(check_writes([(key, delta)]))

    def end(self, xid: str) -> None:
        """``XA END xid``: ACTIVE -> IDLE."""
        state = self.state(xid)
        if state != "ACTIVE":
            raise self._wrong(xid, state)
        self.branches[xid] = ("IDLE", self.branches[xid][1])

    def prepare(self, xid: str) -> str:
        """``XA PREPARE xid``: IDLE -> PREPARED (durable redo and row locks), ``XA_OK``; if the
        work cannot be done the branch rolls back and this raises ``XA_RBROLLBACK``."""
        state = self.state(xid)
        if state != "IDLE":
            raise self._wrong(xid, state)
        _, writes = self.branches.pop(xid)
        if not writes:
            return XA_RDONLY                    # nothing to commit: the RM leaves the transaction
        if not self.rm.prepare(xid, tuple(writes)):
            raise XaError("XA_RBROLLBACK", "the branch was rolled back (a lock conflict or a CHECK failed)")
        return XA_OK

    def commit(self, xid: str, one_phase: bool = False) -> str:
        """``XA COMMIT xid [ONE PHASE]``; returns ``XA_OK``, or ``XA_HEURCOM``/``XA_HEURRB``
        if this RM already decided alone (the branch is kept until :meth:`forget`)."""
        state = self.state(xid)
        if state is not None and state.startswith("HEURISTIC"):
            return XA_HEURCOM if state.endswith("COMMIT") else XA_HEURRB
        if one_phase and state == "IDLE":
            self.prepare(xid)
            state = "PREPARED"
        if state == "COMMITTED":
            return XA_OK                        # a repeated commit (the TM recovering)
        if state != "PREPARED":
            raise self._wrong(xid, state)
        self.rm.commit(xid)
        return XA_OK

    def rollback(self, xid: str) -> str:
        """``XA ROLLBACK xid`` (IDLE or PREPARED); heuristic return codes as :meth:`commit`."""
        state = self.state(xid)
        if state is not None and state.startswith("HEURISTIC"):
            return XA_HEURCOM if state.endswith("COMMIT") else XA_HEURRB
        if state == "IDLE":
            self.branches.pop(xid)
            self.rm.abort(xid)
            return XA_OK
        if state == "ROLLED BACK":
            return XA_OK
        if state != "PREPARED":
            raise self._wrong(xid, state)
        self.rm.abort(xid)
        return XA_OK

    def recover(self) -> list[str]:
        """``XA RECOVER``: the PREPARED and heuristically completed branches."""
        prepared = sorted(set(self.rm.locks().values()))
        heur = [x for (x,) in self.rm.conn.execute("SELECT xid FROM xa_heuristic ORDER BY xid")]
        return sorted(set(prepared) | set(heur))

    def heuristic(self, xid: str, commit: bool) -> None:
        """The RM (an operator, a timeout) decides a PREPARED branch alone (§2.3.3): it
        commits or rolls back and remembers the decision until :meth:`forget`."""
        state = self.state(xid)
        if state != "PREPARED":
            raise self._wrong(xid, state)
        self.rm.conn.execute("INSERT INTO xa_heuristic VALUES (?, ?)", (xid, "commit" if commit else "rollback"))
        if commit:
            self.rm.commit(xid)
        else:
            self.rm.abort(xid)

    def forget(self, xid: str) -> None:
        """``xa_forget``: the TM has seen the heuristic outcome; the RM may drop it."""
        state = self.state(xid)
        if state is None or not state.startswith("HEURISTIC"):
            raise XaError("XAER_NOTA" if state is None else "XAER_PROTO", "no heuristically completed branch")
        self.rm.conn.execute("DELETE FROM xa_heuristic WHERE xid = ?", (xid,))

    def crash(self) -> None:
        """The server crashes and restarts: ACTIVE/IDLE branches are gone, PREPARED ones stay."""
        self.branches.clear()
        self.rm.close()
        self.rm = SQLiteRM(self.path, self.initial)

    def rows(self) -> dict[str, int]:
        return self.rm.rows()

    def close(self) -> None:
        self.rm.close()

    # -- MySQL statements ------------------------------------------------------------------
    _STMT = re.compile(r"\s*XA\s+(START|BEGIN|END|PREPARE|COMMIT|ROLLBACK|RECOVER)\s*(?:'([^']*)')?"
                       r"\s*(ONE\s+PHASE)?\s*;?\s*$", re.IGNORECASE)

    def sql(self, statement: str) -> Any:
        """Run one MySQL XA statement (``XA START 'x1'``, ``XA COMMIT 'x1' ONE PHASE``,
        ``XA RECOVER`` ...); returns what the statement returns (codes, a list)."""
        m = self._STMT.match(statement) if isinstance(statement, str) else None
        if m is None or (m[1].upper() != "RECOVER" and m[2] is None):
            raise allowed("XA statement", statement, "XA START|END|PREPARE|COMMIT|ROLLBACK 'xid' or XA RECOVER")
        verb, xid = m[1].upper(), m[2]
        if m[3] and verb != "COMMIT":
            raise allowed("XA statement", statement, "ONE PHASE only after XA COMMIT")
        if verb == "RECOVER":
            return self.recover()
        if verb in ("START", "BEGIN"):
            return self.start(xid)
        if verb == "END":
            return self.end(xid)
        if verb == "PREPARE":
            return self.prepare(xid)
        if verb == "COMMIT":
            return self.commit(xid, one_phase=bool(m[3]))
        return self.rollback(xid)


OUTCOMES = ("committed", "rolled back", "heuristic commit", "heuristic rollback", "heuristic mixed")


def classify(decision: bool, branch_outcomes: Mapping[str, bool]) -> str:
    """The global outcome the TM reports (JTA's names): the decision, if every branch
    followed it; ``heuristic mixed`` if branches differ; ``heuristic commit``/``rollback`` if
    every branch went the other way."""
    done = set(branch_outcomes.values())
    if done <= {decision}:
        return "committed" if decision else "rolled back"
    if len(done) == 2:
        return "heuristic mixed"
    return "heuristic commit" if decision is False else "heuristic rollback"


class TransactionManager:
    """The TM: ``run(xid, work)`` drives every RM in ``rms`` (name -> :class:`XaResource`)
    through both phases; its commit decisions are logged in SQLite (``tm_log``) before phase
    2, so :meth:`recover` finishes them after a TM crash (presumed abort otherwise)."""

    def __init__(self, path: str | Path, rms: Mapping[str, XaResource]) -> None:
        self.rms = dict(rms)
        self.log = sqlite3.connect(str(path), isolation_level=None)
        self.log.execute("CREATE TABLE IF NOT EXISTS tm_log (xid TEXT PRIMARY KEY, decision TEXT NOT NULL)")
        self.reports: dict[str, str] = {}

    def run(self, xid: str, work: Mapping[str, Any], *, crash_after_prepare: bool = False) -> str | None:
        """The AP's global transaction ``xid``: ``work`` maps RM names to ``(key, delta)``
        writes. Returns the reported outcome, or None if the TM "crashed" after phase 1."""
        bad = sorted(set(work) - set(self.rms))
        if bad:
            raise allowed("resource manager", bad[0], f"one of {', '.join(sorted(self.rms))}")
        names = sorted(work)
        writes = {n: check_writes(work[n]) for n in names}
        for n in names:                                  # the AP's work, each branch ACTIVE then IDLE
            self.rms[n].start(xid)
            for k, d in writes[n]:
                self.rms[n].update(xid, k, d)
            self.rms[n].end(xid)
        if len(names) == 1:                              # one RM: XA COMMIT ... ONE PHASE
            try:
                self.rms[names[0]].commit(xid, one_phase=True)
            except XaError:
                return self._report(xid, False, {names[0]: False})
            return self._report(xid, True, {names[0]: True})
        voted: list[str] = []
        commit = True
        for n in names:                                  # phase 1
            try:
                if self.rms[n].prepare(xid) == XA_OK:
                    voted.append(n)
            except XaError:
                commit = False
                break
        if commit:
            self.log.execute("INSERT INTO tm_log VALUES (?, 'commit')", (xid,))   # forced before phase 2
        else:
            for n in names:                              # branches not prepared yet: XA ROLLBACK
                if self.rms[n].state(xid) == "IDLE":
                    self.rms[n].rollback(xid)
        if crash_after_prepare:
            return None
        return self.phase2(xid, commit, voted)

    def phase2(self, xid: str, commit: bool, branches: list[str]) -> str:
        """Send the decision to every prepared branch, read the return codes, forget the
        heuristic branches, report."""
        done: dict[str, bool] = {}
        for n in branches:
            rc = self.rms[n].commit(xid) if commit else self.rms[n].rollback(xid)
            done[n] = commit if rc == XA_OK else rc == XA_HEURCOM
            if rc in (XA_HEURCOM, XA_HEURRB):
                self.rms[n].forget(xid)
        return self._report(xid, commit, done)

    def _report(self, xid: str, commit: bool, done: Mapping[str, bool]) -> str:
        self.reports[xid] = classify(commit, done)
        return self.reports[xid]

    def recover(self) -> dict[str, str]:
        """After a TM restart: ``XA RECOVER`` on every RM; a logged commit is committed, any
        other in-doubt branch is rolled back (presumed abort). Returns the reports."""
        logged = {x for (x,) in self.log.execute("SELECT xid FROM tm_log WHERE decision = 'commit'")}
        found: dict[str, list[str]] = {}
        for n, rm in sorted(self.rms.items()):
            for xid in rm.recover():
                found.setdefault(xid, []).append(n)
        return {xid: self.phase2(xid, xid in logged, names) for xid, names in sorted(found.items())}

    def close(self) -> None:
        self.log.close()


class TrustingTransactionManager(TransactionManager):
    """Broken on purpose: reports its own decision and never looks at heuristic return
    codes (nor forgets the heuristic branches)."""

    def phase2(self, xid: str, commit: bool, branches: list[str]) -> str:
        for n in branches:
            self.rms[n].commit(xid) if commit else self.rms[n].rollback(xid)
        return self._report(xid, commit, {n: commit for n in branches})


def truth(rms: Mapping[str, XaResource], xid: str) -> dict[str, bool]:
    """What each RM's durable state says happened to ``xid`` (True: committed)."""
    out = {}
    for n, rm in sorted(rms.items()):
        state = rm.state(xid) or ""
        if state in ("COMMITTED", "ROLLED BACK") or state.startswith("HEURISTIC"):
            out[n] = state in ("COMMITTED", "HEURISTIC COMMIT")
        elif rm.rm.outcome(xid) is not None:
            out[n] = rm.rm.outcome(xid) == "committed"
    return out
