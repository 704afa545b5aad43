"""Three-phase commit (Skeen, "Nonblocking Commit Protocols", SIGMOD 1981, central-site
version) with the timeout rules that make it non-blocking -- and unsafe without a perfect
failure detector.

* CanCommit: as 2PC's prepare (:class:`~.twopc.Participant` prepares and votes; Skeen's
  participant that votes yes must already be able to commit).
* PreCommit: once every vote is yes, the coordinator logs *pre-commit* and sends
  ``PreCommit``; a participant logs it and answers ``PreAck``. No state is adjacent to both
  commit and abort: a pre-committed participant knows everyone voted yes.
* DoCommit: with every ``PreAck`` (or, Skeen's rule, on a timeout: every participant voted
  yes, so it may commit), the coordinator logs commit and sends ``Decision(commit=True)``.
* Timeouts (the termination rule of the seed and of most textbooks): a participant that
  voted yes and times out **waiting for PreCommit aborts**; one that times out **after
  PreCommit commits**.

When a timeout only means "slow" or "cut off" -- a partition, or plain asynchrony -- a
participant behind the partition aborts while one that received the PreCommit commits:
:func:`~.modelcheck.check_3pc` finds the shortest such schedule. The rules are not safe even
when a timeout always means a crash (the coordinator dies with one ``PreCommit`` delivered);
Skeen's non-blocking 3PC adds the termination protocol, :mod:`.threepc_fd`.
"""

from __future__ import annotations

from typing import Any

from .messages import Decision, PreAck, PreCommit, Prepare, Vote
from .twopc import Coordinator, Participant


class ThreePCParticipant(Participant):
    """A 3PC participant: 2PC's prepare and decisions, plus ``PreCommit`` and the timeout rule."""

    def state(self) -> tuple[Any, ...]:
        return (self.stable.get("log"), self.stable.get("rows"), self.stable.get("pre"))

    def on_start(self) -> None:
        self.stable.setdefault("pre", set())
        self.stable.setdefault("db", self.db)
        for txid in self.prepared(self.rm):
            self._doubt(txid, self.timeout_ms)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, PreCommit):
            if self.rm.outcome(msg.txid) == "prepared":
                self.stable["pre"] = self.stable["pre"] | {msg.txid}
                self.annotate(txid=msg.txid, state="pre-committed")
                self.send(src, PreAck(msg.txid))
        elif isinstance(msg, (Prepare, Decision)):
            super().on_message(src, msg)

    def in_doubt(self, txid: str) -> None:
        """The timeout rule: pre-committed -> commit; only prepared -> abort."""
        commit = txid in self.stable["pre"]
        if commit:
            self.rm.commit(txid)
        else:
            self.rm.abort(txid)
        self.annotate(txid=txid, state="committed" if commit else "aborted", timeout=True)


class ThreePCCoordinator(Coordinator):
    """The 3PC coordinator: votes, then ``PreCommit`` to all, then commit."""

    def __init__(self, id: str = "c", txns: Any = (), *, timeout_ms: float = 100.0, halt: bool = False) -> None:
        super().__init__(id, txns, timeout_ms=timeout_ms, halt=halt)
        self.preacks: dict[str, set[str]] = {}

    def state(self) -> tuple[Any, ...]:
        return (*super().state(), self.preacks)

    def on_start(self) -> None:
        self.stable.setdefault("pre", set())
        super().on_start()

    def on_message(self, src: str, msg: Any) -> None:
        if self.stable.get("halted"):
            return
        if isinstance(msg, Vote) and msg.txid in self.votes and msg.txid not in self.decided \
                and msg.txid not in self.preacks:
            self.votes[msg.txid][src] = msg.yes
            if not msg.yes:
                self.decide(msg.txid, False)
            elif len(self.votes[msg.txid]) == len(self.participants(msg.txid)):
                self.stable["pre"] = self.stable["pre"] | {msg.txid}
                self.preacks[msg.txid] = set()
                for p in self.participants(msg.txid):
                    self.send(p, PreCommit(msg.txid))
                self.set_timer(self.timeout_ms, "ack-timeout", msg.txid)
        elif isinstance(msg, PreAck) and msg.txid in self.preacks and msg.txid not in self.decided:
            self.preacks[msg.txid].add(src)
            if len(self.preacks[msg.txid]) == len(self.participants(msg.txid)):
                self.decide(msg.txid, True)
        else:
            super().on_message(src, msg)

    def on_timer(self, name: str, payload: Any) -> None:
        if self.stable.get("halted"):
            return
        if name == "ack-timeout" and payload not in self.decided:
            self.decide(payload, True)                 # everyone voted yes (Skeen's rule)
        elif name == "vote-timeout" and payload in self.preacks:
            return                                     # past the votes: the ack timeout rules
        else:
            super().on_timer(name, payload)
