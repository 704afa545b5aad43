"""Two-phase commit with presumed abort, recovery and cooperative termination.

Gray, "Notes on Data Base Operating Systems" (1978), §5.8.3.3; Bernstein, Hadzilacos &
Goodman, *Concurrency Control and Recovery in Database Systems* (1987), §7.4 (2PC),
§7.4 "cooperative termination protocol"; Mohan, Lindsay & Obermarck, "Transaction
Management in the R* Distributed Database Management System", ACM TODS 11(4), 1986,
§2.2 (presumed abort).

* Phase 1: the :class:`Coordinator` sends ``Prepare(txid, writes)``; each
  :class:`Participant` prepares in its resource manager (a durable *prepared* record with
  the redo and the row locks, :mod:`.rm`) and votes yes, or aborts and votes no.
* Phase 2: all yes -- the coordinator force-writes *commit* to ``stable`` **before**
  sending ``Decision(commit=True)``; any no or a vote timeout -- abort, not logged
  (presumed abort: a coordinator with no record answers "abort").
* A participant that voted yes is **in doubt**: it may not decide alone. It asks the
  coordinator (``DecisionRequest``) and, with cooperative termination, the other
  participants; a peer that knows the outcome answers it, a peer that has not voted yet
  aborts and answers abort, a prepared peer cannot help and stays silent. If every peer is in
  doubt and the coordinator is down, the participant **blocks**, holding its locks, until
  the coordinator recovers (:func:`blocked`).
* Recovery: a participant re-reads its log and asks again about every prepared
  transaction; the coordinator re-sends commit for every logged, unacknowledged commit.

:class:`HeuristicParticipant` is the broken variant the chapter's model checker catches: it
aborts on its own after voting yes when its timeout fires (a *heuristic* decision, XA's
``XA_HEURRB``), the only way 2PC loses atomicity; :class:`ForgetfulCoordinator` sends
commit without logging it, so after a restart presumed abort contradicts it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation
from .messages import Ack, Decision, DecisionRequest, Prepare, Vote, Write
from .rm import MemoryRM, ResourceManager, SQLiteRM, check_writes

Work = Mapping[str, tuple[Write, ...]]


class Participant(Node):
    """A 2PC participant (resource manager node); ``db`` a SQLite file path, or None for
    :class:`~.rm.MemoryRM` in ``stable``. ``inquiries`` bounds how often an in-doubt
    participant asks per incarnation (None: forever, every ``timeout_ms``)."""

    def __init__(self, id: str, coordinator: str = "c", cohort: Sequence[str] = (), *,
                 db: str | None = None, rows: Mapping[str, int] | None = None,
                 timeout_ms: float = 100.0, inquiries: int | None = None,
                 cooperative: bool = True) -> None:
        super().__init__(id)
        self.coordinator = coordinator
        self.cohort = tuple(p for p in cohort if p != id)
        self.db = db
        self.initial = dict(rows or {})
        self.timeout_ms = timeout_ms
        self.inquiries = inquiries
        self.cooperative = cooperative
        self.asked: dict[str, int] = {}
        self._timers: dict[str, int] = {}     # txid -> pending in-doubt timer (not part of the state)
        self._sqlite: SQLiteRM | None = None

    def __getstate__(self) -> dict[str, Any]:
        if self.db is not None:
            raise allowed("checkpoint of", self.id, "a participant on MemoryRM (SQLite files are not rolled back)")
        return self.__dict__

    @property
    def rm(self) -> ResourceManager:
        """This node's resource manager (opened on first use after each start)."""
        if self.db is None:
            return MemoryRM(self.stable, self.initial)
        if self._sqlite is None:
            self._sqlite = SQLiteRM(self.db, self.initial)
        return self._sqlite

    def state(self) -> tuple[Any, ...]:
        """The model checker's view: the durable log and rows, and the inquiries made."""
        return (self.stable.get("log"), self.stable.get("rows"), self.asked)

    def on_start(self) -> None:
        self.stable.setdefault("db", self.db)
        rm = self.rm
        for txid in self.prepared(rm):
            self._doubt(txid, 0.0)

    def on_crash(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()           # SQLite rolls back whatever local transaction was open

    @staticmethod
    def prepared(rm: ResourceManager) -> list[str]:
        locks = rm.locks()
        return sorted(set(locks.values()))

    def _doubt(self, txid: str, delay: float) -> None:
        if self.inquiries is None or self.asked.get(txid, 0) < self.inquiries:
            self._timers[txid] = self.set_timer(delay, "in-doubt", txid)

    def _resolved(self, txid: str) -> None:
        handle = self._timers.pop(txid, None)
        if handle is not None:
            self.cancel_timer(handle)

    def on_message(self, src: str, msg: Any) -> None:
        rm = self.rm
        if isinstance(msg, Prepare):
            yes = rm.prepare(msg.txid, msg.writes)
            self.annotate(txid=msg.txid, state="prepared" if yes else "aborted")
            self.send(src, Vote(msg.txid, yes))
            if yes:
                self._doubt(msg.txid, self.timeout_ms)
        elif isinstance(msg, Decision):
            if rm.outcome(msg.txid) in (None, "prepared"):
                if msg.commit:
                    rm.commit(msg.txid)
                else:
                    rm.abort(msg.txid)
                self.annotate(txid=msg.txid, state="committed" if msg.commit else "aborted")
                self._resolved(msg.txid)
            if src == self.coordinator:
                self.send(src, Ack(msg.txid))
        elif isinstance(msg, DecisionRequest):
            state = rm.outcome(msg.txid)
            if state is None:                  # not voted yet: may still abort unilaterally
                rm.abort(msg.txid)
                state = "aborted"
            if state != "prepared":            # an uncertain peer has nothing to say
                self.send(src, Decision(msg.txid, state == "committed"))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "in-doubt":
            self._timers.pop(payload, None)
            if self.rm.outcome(payload) == "prepared":
                self.in_doubt(payload)

    def in_doubt(self, txid: str) -> None:
        """Ask the coordinator (and, cooperatively, the cohort) for the outcome of ``txid``."""
        self.asked[txid] = self.asked.get(txid, 0) + 1
        self.send(self.coordinator, DecisionRequest(txid))
        if self.cooperative:
            for p in self.cohort:
                self.send(p, DecisionRequest(txid))
        self._doubt(txid, self.timeout_ms)


class HeuristicParticipant(Participant):
    """Broken on purpose: after voting yes, a timeout makes it abort unilaterally."""

    def in_doubt(self, txid: str) -> None:
        self.rm.abort(txid)
        self.annotate(txid=txid, state="aborted", heuristic=True)


class Coordinator(Node):
    """The 2PC coordinator (transaction manager) running ``txns``: ``(txid, {participant:
    writes})`` pairs. ``halt=True`` adds a timer that stops it for good (fail-stop) at
    any point, for the model checker's blocking search."""

    def __init__(self, id: str = "c", txns: Sequence[tuple[str, Work]] = (), *,
                 timeout_ms: float = 100.0, halt: bool = False) -> None:
        super().__init__(id)
        self.txns = tuple((txid, {p: check_writes(w) for p, w in work.items()}) for txid, work in txns)
        self.stable["txns"] = self.txns       # constant; kept so monitors can read it while crashed
        self.timeout_ms = timeout_ms
        self.halt = halt
        self.votes: dict[str, dict[str, bool]] = {}
        self._timers: dict[str, int] = {}     # txid -> vote timeout (not part of the state)
        self.decided: dict[str, bool] = {}
        self.acks: dict[str, set[str]] = {}

    def state(self) -> tuple[Any, ...]:
        return (self.stable.get("commit"), self.stable.get("ended"), self.stable.get("halted"),
                self.votes, self.decided, self.acks)

    def participants(self, txid: str) -> list[str]:
        return sorted(dict(self.txns)[txid]) if txid in dict(self.txns) else []

    def on_start(self) -> None:
        self.stable.setdefault("commit", set())
        self.stable.setdefault("ended", set())
        if self.halt:
            self.set_timer(0, "halt")
        for txid, work in self.txns:
            self.votes[txid] = {}
            for p in sorted(work):
                self.send(p, Prepare(txid, work[p]))
            self._timers[txid] = self.set_timer(self.timeout_ms, "vote-timeout", txid)

    def on_recover(self) -> None:
        """Presumed abort: only logged commits are re-sent; anything else is an abort."""
        if self.stable.get("halted"):
            return
        for txid in sorted(self.stable["commit"] - self.stable["ended"]):
            self.decided[txid] = True
            self.acks[txid] = set()
            for p in self.participants(txid):
                self.set_timer(0, "send", (txid, p))

    def on_message(self, src: str, msg: Any) -> None:
        if self.stable.get("halted"):
            return
        if isinstance(msg, Vote) and msg.txid in self.votes and msg.txid not in self.decided:
            self.votes[msg.txid][src] = msg.yes
            if not msg.yes:
                self.decide(msg.txid, False)
            elif len(self.votes[msg.txid]) == len(self.participants(msg.txid)):
                self.decide(msg.txid, True)
        elif isinstance(msg, Ack) and msg.txid in self.acks:
            self.acks[msg.txid].add(src)
            if len(self.acks[msg.txid]) == len(self.participants(msg.txid)) and self.decided.get(msg.txid):
                self.stable["ended"] = self.stable["ended"] | {msg.txid}
        elif isinstance(msg, DecisionRequest):
            if msg.txid in self.stable["commit"]:
                self.send(src, Decision(msg.txid, True))
            elif msg.txid in self.decided:
                self.send(src, Decision(msg.txid, self.decided[msg.txid]))
            elif msg.txid not in self.votes:
                self.send(src, Decision(msg.txid, False))   # no record: presumed abort
            # else: still collecting votes, no answer yet

    def decide(self, txid: str, commit: bool) -> None:
        """Phase 2: log a commit (force-write) before telling anyone; aborts are not logged."""
        if commit:
            self.stable["commit"] = self.stable["commit"] | {txid}
        self.decided[txid] = commit
        self.acks[txid] = set()
        handle = self._timers.pop(txid, None)
        if handle is not None:
            self.cancel_timer(handle)
        self.annotate(txid=txid, decision="commit" if commit else "abort")
        for p in self.participants(txid):
            self.set_timer(0, "send", (txid, p))     # one send per step: a crash can fall between

    def on_timer(self, name: str, payload: Any) -> None:
        if self.stable.get("halted"):
            return
        if name == "halt":
            self.stable["halted"] = True
            self.annotate(halted=True)
        elif name == "vote-timeout" and payload not in self.decided and payload in self.votes:
            self.decide(payload, False)
        elif name == "send":
            txid, p = payload
            self.send(p, Decision(txid, self.decided[txid]))


class ForgetfulCoordinator(Coordinator):
    """Broken on purpose: decides commit without logging it first, so a restart forgets the
    decision and presumed abort answers "abort" to a participant that is still in doubt."""

    def decide(self, txid: str, commit: bool) -> None:
        super().decide(txid, commit)
        self.stable["commit"] = self.stable["commit"] - {txid}


# -- predicates over a simulation (model checker and monitors) ------------------------------
def outcome(node: Node, txid: str) -> str | None:
    """``txid``'s state at participant ``node``, read from durable storage only (so it works
    while the node is crashed): its SQLite ``txn_log`` or its ``stable`` log."""
    db = node.stable.get("db")
    if db is not None:
        conn = sqlite3.connect(db, timeout=0)
        try:
            row = conn.execute("SELECT state FROM txn_log WHERE txid = ?", (txid,)).fetchone()
        except sqlite3.OperationalError:       # the node never started: no tables yet
            row = None
        finally:
            conn.close()
        return None if row is None else str(row[0])
    entry = node.stable.get("log", {}).get(txid)
    return None if entry is None else str(entry[0])


def outcomes(sim: Simulation) -> dict[str, dict[str, str | None]]:
    """txid -> participant -> its resource manager's state (None: never heard of it)."""
    out: dict[str, dict[str, str | None]] = {}
    for c in sim.nodes.values():
        if isinstance(c, Coordinator):
            for txid, work in c.stable.get("txns", ()):
                out[txid] = {p: outcome(sim.nodes[p], txid) for p in sorted(work)}
    return out


def atomicity(sim: Simulation) -> bool:
    """No transaction committed at one participant and aborted at another."""
    return not any({"committed", "aborted"} <= set(o.values()) for o in outcomes(sim).values())


def commit_validity(sim: Simulation) -> bool:
    """A transaction commits only if every participant voted yes (prepared)."""
    return all(None not in o.values() for o in outcomes(sim).values() if "committed" in o.values())


def blocked(sim: Simulation) -> bool:
    """The blocking state: the coordinator is stopped and every participant of a transaction
    is in doubt (prepared, holding its locks), with no decision in flight: no participant
    can tell another the outcome, so all wait for the coordinator."""
    halted = any(isinstance(n, Coordinator) and (n.stable.get("halted") or sim.status(n.id) == "crashed")
                 for n in sim.nodes.values())
    if not halted or any(p.kind == "deliver" and isinstance(p.msg, Decision) for p in sim.pending()):
        return False
    return any(o and set(o.values()) == {"prepared"} for o in outcomes(sim).values())


INVARIANTS = {"atomicity": atomicity, "commit validity": commit_validity}


def transfer(n: int = 3, amount: int = 10) -> tuple[str, dict[str, tuple[Write, ...]]]:
    """Transaction ``t1``: participant ``p1`` pays ``amount`` from row ``x1``; the others
    share it (``p2``.. get ``amount // (n - 1)`` each, the rest to the last)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 9:
        raise allowed("participants", n, "an int from 2 to 9")
    share = amount // (n - 1)
    work: dict[str, tuple[Write, ...]] = {"p1": (("x1", -amount),)}
    for i in range(2, n + 1):
        work[f"p{i}"] = ((f"x{i}", share + (amount - share * (n - 1) if i == n else 0)),)
    return "t1", work
