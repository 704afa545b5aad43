"""Paxos Commit (Gray & Lamport, "Consensus on Transaction Commit", ACM TODS 31(1), 2006, §4)
on the acceptors of ``ds.paxos``.

2PC's weak point is one process, the coordinator, deciding alone. Paxos Commit makes each
resource manager's *vote* a consensus instance: instance ``p`` chooses ``"prepared"`` or
``"aborted"`` for RM ``p``, on ``2F + 1`` acceptors, and the transaction commits iff every
instance chose ``"prepared"`` (§4.2). Any leader that learns every instance's value can
announce the outcome, so the protocol progresses with up to ``F`` acceptors down and the
leader replaced (non-blocking).

* Normal case (§4.2): the leader sends ``Prepare`` (2PC's) to every RM; RM ``p`` prepares
  locally and sends Paxos's phase 2a, ``Accept(ballot 0, value)``, straight to its
  instance's acceptors -- ballot 0 belongs to ``p`` alone, so no phase 1 is needed; each
  acceptor answers ``Accepted`` (phase 2b) to the leader, which learns ``p``'s value from
  ``F + 1`` of them.
* Recovery (§4.3): a leader that has not learned an instance in time -- the first leader
  on its timeout, a backup when an in-doubt RM asks it -- runs full Paxos on it with a
  higher ballot (phase 1 ``Prepare``/``Promise``, then ``Accept``), proposing
  ``"aborted"`` unless a promise reports an accepted value (rule P2c), which it must adopt.

Acceptors are ``ds.paxos.Acceptor`` nodes, one per (acceptor process ``a<j>``, instance
``p``), named ``a<j>.<p>``; :func:`crash_acceptor` crashes a whole process. The paper's
acceptors bundle the 2b messages of all instances into one message per acceptor; ours send
one per instance, and :func:`normal_case` counts both ways. :class:`NoAdoptLeader` is the
broken variant (its recovery ignores the values reported in promises).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import allowed
from ..paxos import Accept, Accepted, Acceptor, Ballot, Promise, quorum
from ..paxos import Prepare as Phase1a
from ..sim import Node, Simulation, reliable
from .messages import Decision, DecisionRequest, Prepare, Write
from .twopc import Participant, atomicity, commit_validity, outcomes, transfer

PREPARED, ABORTED = "prepared", "aborted"


def acceptor_id(j: int, rm: str) -> str:
    """The node of acceptor process ``a<j>`` for ``rm``'s instance."""
    return f"a{j}.{rm}"


class InstanceAcceptor(Acceptor):
    """A ``ds.paxos`` acceptor of one RM's instance: its 2b goes to the leader (a learner);
    a recovering leader's ``Accept`` is answered to that leader as well."""

    def __init__(self, id: str, rm: str, leaders: Sequence[str]) -> None:
        super().__init__(id, learners=leaders[:1], nack=False, reply_accepted=False)
        self.rm = rm

    def on_message(self, src: str, msg: Any) -> None:
        self.reply_accepted = src != self.rm          # the RM itself needs no 2b
        super().on_message(src, msg)


class CommitRM(Participant):
    """A resource manager in Paxos Commit: prepares, then proposes its vote in its own
    instance with ballot 0 (no phase 1); in doubt, it asks every leader."""

    def __init__(self, id: str, leaders: Sequence[str], acceptors: int, **kw: Any) -> None:
        super().__init__(id, leaders[0], **kw, cooperative=False)
        self.leaders = tuple(leaders)
        self.acceptors = acceptors

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Prepare):
            yes = self.rm.prepare(msg.txid, msg.writes)
            self.annotate(txid=msg.txid, state=PREPARED if yes else ABORTED)
            for j in range(1, self.acceptors + 1):
                self.send(acceptor_id(j, self.id), Accept(Ballot(0, self.id), PREPARED if yes else ABORTED))
            if yes:
                self._doubt(msg.txid, self.timeout_ms)
        elif isinstance(msg, Decision):
            super().on_message(src, msg)

    def in_doubt(self, txid: str) -> None:
        self.asked[txid] = self.asked.get(txid, 0) + 1
        for leader in self.leaders:
            self.send(leader, DecisionRequest(txid))
        self._doubt(txid, self.timeout_ms)


class CommitLeader(Node):
    """A Paxos Commit leader (the TM). ``primary`` starts the transaction; a backup only
    runs recovery when an RM asks it for an outcome it does not know."""

    def __init__(self, id: str, txid: str, work: Mapping[str, tuple[Write, ...]], acceptors: int, *,
                 primary: bool = True, timeout_ms: float = 100.0) -> None:
        super().__init__(id)
        self.txid, self.work = txid, dict(work)
        self.rms = sorted(work)
        self.stable["txn"] = (txid, tuple(self.rms))   # constant; readable while crashed
        self.acceptors = acceptors
        self.quorum = quorum(acceptors)
        self.primary = primary
        self.timeout_ms = timeout_ms
        self.learned: dict[str, str] = {}
        self.accepted: dict[str, dict[Ballot, dict[int, str]]] = {}   # rm -> ballot -> acceptor -> value
        self.promises: dict[str, dict[int, Any]] = {}
        self.ballots: dict[str, Ballot] = {}
        self.decision: bool | None = None

    def state(self) -> tuple[Any, ...]:
        return (self.stable.get("round"), self.learned, self.decision, self.ballots, self.promises, self.accepted)

    def on_start(self) -> None:
        self.stable.setdefault("round", 0)
        if self.primary:
            for p in self.rms:
                self.send(p, Prepare(self.txid, self.work[p]))
            self.set_timer(self.timeout_ms, "recover")

    def on_recover(self) -> None:
        self.set_timer(0, "recover")              # volatile knowledge is gone: learn again

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "recover" and self.decision is None:
            self.recover()
            self.set_timer(self.timeout_ms, "recover")

    def recover(self) -> None:
        """§4.3: phase 1 with a new ballot on every instance not learned yet."""
        self.stable["round"] = self.stable["round"] + 1           # persisted before use
        ballot = Ballot(self.stable["round"], self.id)
        for p in self.rms:
            if p not in self.learned:
                self.ballots[p] = ballot
                self.promises[p] = {}
                for j in range(1, self.acceptors + 1):
                    self.send(acceptor_id(j, p), Phase1a(ballot))

    def propose(self, p: str, reported: Sequence[Any]) -> str:
        """P2c: the value of the highest-ballot vote reported, else ``"aborted"``."""
        votes = [v for v in reported if v is not None]
        return max(votes, key=lambda v: v.ballot).value if votes else ABORTED

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, DecisionRequest):
            if self.decision is not None:
                self.send(src, Decision(msg.txid, self.decision))
            elif not self.primary and not self.ballots:
                self.annotate(takeover=True)
                self.recover()
                self.set_timer(self.timeout_ms, "recover")
            return
        if not isinstance(msg, (Promise, Accepted)) or "." not in src:
            return
        j, p = int(src.split(".")[0][1:]), src.split(".", 1)[1]
        if isinstance(msg, Promise) and self.ballots.get(p) == msg.ballot and p in self.promises:
            self.promises[p][j] = msg.accepted
            if len(self.promises[p]) == self.quorum:
                value = self.propose(p, list(self.promises[p].values()))
                for k in range(1, self.acceptors + 1):
                    self.send(acceptor_id(k, p), Accept(msg.ballot, value))
        elif isinstance(msg, Accepted):
            votes = self.accepted.setdefault(p, {}).setdefault(msg.ballot, {})
            votes[j] = msg.value
            if len(votes) >= self.quorum and p not in self.learned:
                self.learn(p, msg.value)

    def learn(self, p: str, value: str) -> None:
        self.learned[p] = value
        if self.decision is None and (value == ABORTED or len(self.learned) == len(self.rms)):
            self.decision = value != ABORTED and all(v == PREPARED for v in self.learned.values())
            self.annotate(txid=self.txid, decision="commit" if self.decision else "abort")
            for q in self.rms:
                self.send(q, Decision(self.txid, self.decision))


class NoAdoptLeader(CommitLeader):
    """Broken on purpose: recovery proposes ``"aborted"`` whatever the promises report."""

    def propose(self, p: str, reported: Sequence[Any]) -> str:
        return ABORTED


LEADERS = ("c", "c2")


def simulation(seed: int = 0, *, participants: int = 3, f: int = 1, network: Any = None,
               timeout_ms: float = 100.0, broken: bool = False, amount: int = 10) -> Simulation:
    """Paxos Commit of the transfer :func:`~.twopc.transfer`: leaders ``c`` (primary) and
    ``c2`` (backup), RMs ``p1..``, ``2f + 1`` acceptor processes ``a1..``."""
    if isinstance(f, bool) or not isinstance(f, int) or not 0 <= f <= 3:
        raise allowed("f", f, "an int from 0 to 3")
    txid, work = transfer(participants, amount)
    n_acc = 2 * f + 1
    sim = Simulation(seed=seed, network=network)
    cls = NoAdoptLeader if broken else CommitLeader
    sim.add_node(cls("c", txid, work, n_acc, timeout_ms=timeout_ms))
    sim.add_node(cls("c2", txid, work, n_acc, primary=False, timeout_ms=timeout_ms))
    for p in sorted(work):
        sim.add_node(CommitRM(p, LEADERS, n_acc, rows={k: 100 for k, _ in work[p]}, timeout_ms=timeout_ms))
        for j in range(1, n_acc + 1):
            sim.add_node(InstanceAcceptor(acceptor_id(j, p), p, LEADERS))
    return sim


def crash_acceptor(sim: Simulation, j: int) -> None:
    """Crash acceptor process ``a<j>`` (its node in every instance)."""
    for n in sorted(sim.nodes):
        if n.startswith(f"a{j}.") and sim.status(n) != "crashed":
            sim.crash(n)


def in_doubt(sim: Simulation) -> list[str]:
    """The RMs holding a prepared transaction with no outcome (blocked, locks held)."""
    return sorted(p for o in outcomes_of(sim).values() for p, s in o.items() if s == PREPARED)


def nemesis(seed: int, *, f: int = 1, crashes: int | None = None, broken: bool = False,
            drop: float = 0.1, duplicate: float = 0.05, window_ms: float = 150.0,
            horizon_ms: float = 5000.0) -> Simulation:
    """A lossy run where the primary leader and ``crashes`` acceptor processes (default: a
    random number up to ``f``, stream ``"paxos-commit-nemesis"``) crash for good at random
    times in ``[0, window_ms)``; the backup leader ``c2`` stays up."""
    from ..sim import lossy, stream

    rng = stream(seed, "paxos-commit-nemesis")
    k = int(rng.integers(0, f + 1)) if crashes is None else crashes
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 2 * f + 1:
        raise allowed("crashes", crashes, f"None or an int from 0 to {2 * f + 1}")
    sim = simulation(seed, f=f, broken=broken, network=lossy(drop=drop, duplicate=duplicate))
    plan = sorted([(float(rng.uniform(0, window_ms)), 0)]
                  + [(float(rng.uniform(0, window_ms)), j) for j in range(1, k + 1)])
    for t, who in plan:
        sim.run(until=t)
        if who == 0:
            sim.crash("c")
        else:
            crash_acceptor(sim, who)
    sim.run(until=horizon_ms)
    return sim


def outcomes_of(sim: Simulation) -> dict[str, dict[str, str | None]]:
    """txid -> RM -> its state (the leaders play 2PC's coordinator for :func:`~.twopc.outcomes`)."""
    txid, rms = sim.nodes["c"].stable["txn"]
    return {txid: {p: (sim.nodes[p].stable.get("log", {}).get(txid) or (None,))[0] for p in rms}}


def safe(sim: Simulation) -> bool:
    """Atomicity and commit validity over the RMs."""
    o = outcomes_of(sim)
    return not any({"committed", "aborted"} <= set(v.values()) for v in o.values()) and all(
        None not in v.values() for v in o.values() if "committed" in v.values())


def normal_case(protocol: str = "paxos", *, participants: int = 3, f: int = 1) -> dict[str, Any]:
    """Run one transaction with no failure on 1 ms links and measure: message delays until
    every RM knows the outcome, messages sent until then (``messages``) and, for Paxos
    Commit, the count with each acceptor's 2b bundled into one message (``bundled``)."""
    if protocol not in ("2pc", "paxos"):
        raise allowed("protocol", protocol, "'2pc' or 'paxos'")
    if protocol == "2pc":
        from .modelcheck import simulation as two_pc

        sim = two_pc(0, participants=participants, network=reliable(), inquiries=0)
    else:
        sim = simulation(0, participants=participants, f=f, network=reliable())
    sim.run(until=50)
    events = sim.trace.events
    done = max(e.time for e in events if e.kind == "deliver" and e.label == "Decision")
    sent = [e for e in events if e.kind == "send" and e.time < done]
    twob = [e for e in sent if e.label == "Accepted"]
    bundled = len(sent) - len(twob) + len({(str(e.node).split(".")[0], e.time) for e in twob})
    ok = (atomicity(sim) and commit_validity(sim)) if protocol == "2pc" else safe(sim)
    return {"delays": round(done / 1000), "messages": len(sent), "bundled": bundled, "safe": ok,
            "outcome": sorted({s for o in (outcomes(sim) if protocol == "2pc" else outcomes_of(sim)).values()
                               for s in o.values() if s})}
