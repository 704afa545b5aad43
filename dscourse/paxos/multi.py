"""Multi-Paxos: a replicated log with a stable leader and a key-value state machine.

Lamport, "Paxos Made Simple" (2001), §3: each log slot is an instance of Paxos; a leader
runs Phase 1 *once* for all slots from the first one it does not know to be decided
(``MPrepare(ballot, first)``), fills the gaps the promises reveal with no-ops, and then runs
only Phase 2 per command (``MAccept`` / ``MAccepted``), then tells the others the slot is
decided (``MDecide``): 3(n-1) messages per command in steady state, 2(n-1) where decisions
ride on the next ``MAccept`` (Chapter 5 counts them). Every replica is proposer, acceptor and
learner; leaders are elected by randomized timeouts on the leader's heartbeats (§2.4, and "Paxos Made Live", Chandra,
Griesemer & Redstone, PODC 2007, §5.1 on master leases and heartbeats).

Durable state (``stable``), written before any reply: ``promised`` (one ballot for all
slots), ``accepted`` (slot -> :class:`~dscourse.paxos.messages.Vote`), ``round`` and the
``decided`` log. The key-value store and the client sessions are volatile: a recovering
replica re-applies its decided log. Commands carry ``(client, seq)`` so a retried command
runs once (sessions, as in Raft §8 and Paxos Made Live §5.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import allowed
from ..history import Recorder
from ..sim import Node
from .basic import quorum
from .messages import (
    NOOP,
    ZERO,
    Ballot,
    Command,
    MAccept,
    MAccepted,
    MCatchup,
    MDecide,
    MHeartbeat,
    MNack,
    MPrepare,
    MPromise,
    Reply,
    Request,
    Vote,
)


def apply_command(kv: dict[str, str], op: tuple) -> Any:
    """Run ``op`` on the key-value store ``kv``; returns its result (for ``get``)."""
    match op:
        case ("get", key):
            return kv.get(key, "")
        case ("put", key, value):
            kv[key] = value
            return None
        case ("append", key, value):
            kv[key] = kv.get(key, "") + value
            return None
    raise allowed("kv operation", op, '("get", k), ("put", k, v) or ("append", k, v)')


class Replica(Node):
    """One Multi-Paxos server (see module docstring). ``replicas`` lists every server id."""

    def __init__(self, id: str, replicas: Sequence[str], *, heartbeat_ms: float = 10.0,
                 election_ms: tuple[float, float] = (40.0, 80.0), batch: int = 64) -> None:
        super().__init__(id)
        if id not in replicas:
            raise allowed("replicas", replicas, f"a list of server ids that includes {id!r}")
        self.replicas = tuple(replicas)
        self.others = tuple(r for r in self.replicas if r != id)
        self.quorum = quorum(len(self.replicas))
        self.heartbeat_ms, self.election_ms, self.batch = heartbeat_ms, election_ms, batch
        self.role = "follower"              # follower, candidate, leader
        self.leader: str | None = None
        self.ballot: Ballot | None = None   # this replica's ballot while candidate or leader
        self.first = 0                      # Phase 1 covers slots >= first
        self.promises: dict[str, tuple] = {}
        self.next_slot = 0
        self.proposals: dict[int, Any] = {}
        self.acks: dict[int, frozenset[str]] = {}
        self.sent_at: dict[int, float] = {}
        self.kv: dict[str, str] = {}
        self.sessions: dict[str, tuple[int, Any]] = {}
        self.waiting: dict[tuple[str, int], str] = {}
        self.applied = 0
        self.last_heard = 0.0

    # -- durable state ---------------------------------------------------------------------
    @property
    def decided(self) -> dict[int, Any]:
        return self.stable["decided"]

    @property
    def promised(self) -> Ballot:
        return self.stable["promised"]

    def on_start(self) -> None:
        self.stable.setdefault("promised", ZERO)
        self.stable.setdefault("accepted", {})
        self.stable.setdefault("decided", {})
        self.stable.setdefault("round", 0)
        self.last_heard = self.now
        self.apply_decided()
        self.annotate(role="follower")
        self._arm_election()

    def log(self) -> list[Any]:
        """The applied prefix of the decided log."""
        return [self.decided[s] for s in range(self.applied)]

    def commit_index(self) -> int:
        """How many slots in a row, from slot 0, are decided here."""
        n = 0
        while n in self.decided:
            n += 1
        return n

    # -- timers ----------------------------------------------------------------------------
    def _arm_election(self) -> None:
        lo, hi = self.election_ms
        self.set_timer(lo + float(self.rng.random()) * (hi - lo), "election")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "election":
            lo, _ = self.election_ms
            if self.role != "leader" and self.now - self.last_heard >= lo:
                self.campaign()
            self._arm_election()
        elif name == "heartbeat" and self.role == "leader":
            assert self.ballot is not None  # campaign() set it before this replica could lead
            commit = self.commit_index()
            for r in self.others:
                self.send(r, MHeartbeat(self.ballot, commit))
            for slot, value in sorted(self.proposals.items()):   # retransmit what is not chosen
                if slot not in self.decided and self.now - self.sent_at[slot] >= self.heartbeat_ms:
                    for r in self.others:
                        if r not in self.acks.get(slot, ()):
                            self.send(r, MAccept(self.ballot, slot, value))
            self.set_timer(self.heartbeat_ms, "heartbeat")

    # -- Phase 1, once per leadership (§3) ---------------------------------------------------
    def campaign(self) -> None:
        """Become a candidate with a ballot above every round seen; ``MPrepare`` to all."""
        rnd = max(self.stable["round"], self.promised.round) + 1
        self.stable["round"] = rnd
        self.ballot = Ballot(rnd, self.id)
        self.role, self.leader = "candidate", None
        self.first = self.commit_index()
        self.stable["promised"] = self.ballot              # vote for ourselves, durably
        self.promises = {self.id: self._votes_from(self.first)}
        self.last_heard = self.now
        self.annotate(role="candidate", ballot=str(self.ballot))
        for r in self.others:
            self.send(r, MPrepare(self.ballot, self.first))
        self._maybe_lead()

    def _votes_from(self, first: int) -> tuple[tuple[int, Ballot, Any], ...]:
        return tuple((s, v.ballot, v.value) for s, v in sorted(self.stable["accepted"].items())
                     if s >= first)

    def recover(self, first: int, promises: list[tuple[tuple[int, Ballot, Any], ...]]) -> dict[int, Any]:
        """What a new leader proposes in slots ``first..top`` (top: the highest slot any promise
        reports): per slot, P2c over the reported votes, or a no-op for a gap (§3)."""
        best: dict[int, tuple[Ballot, Any]] = {}
        for votes in promises:
            for slot, ballot, value in votes:
                if slot not in best or ballot > best[slot][0]:
                    best[slot] = (ballot, value)
        top = max([first - 1, *best])
        return {slot: best[slot][1] if slot in best else NOOP for slot in range(first, top + 1)}

    def _maybe_lead(self) -> None:
        if self.role != "candidate" or len(self.promises) < self.quorum:
            return
        values = self.recover(self.first, [self.promises[r] for r in sorted(self.promises)])
        top = max([self.first - 1, *values, *self.decided])
        self.role, self.leader = "leader", self.id
        self.annotate(role="leader", ballot=str(self.ballot))
        self.proposals, self.acks = {}, {}
        self.next_slot = top + 1
        for slot in range(self.first, top + 1):
            if slot not in self.decided:
                self.propose(slot, values.get(slot, NOOP))
        self.set_timer(0.0, "heartbeat")

    # -- Phase 2 per command ---------------------------------------------------------------
    def propose(self, slot: int, value: Any) -> None:
        """Phase 2a for ``slot``: our own acceptor votes first, then ``MAccept`` to the others."""
        assert self.ballot is not None  # only a leader proposes, and campaign() set its ballot
        self.proposals[slot] = value
        self.sent_at[slot] = self.now
        self._accept(self.ballot, slot, value)
        self.acks[slot] = frozenset({self.id})
        for r in self.others:
            self.send(r, MAccept(self.ballot, slot, value))
        self._maybe_decide(slot)

    def _accept(self, ballot: Ballot, slot: int, value: Any) -> None:
        self.stable["promised"] = ballot
        accepted = dict(self.stable["accepted"])
        accepted[slot] = Vote(ballot, value)
        self.stable["accepted"] = accepted

    def _maybe_decide(self, slot: int) -> None:
        if slot not in self.decided and len(self.acks.get(slot, ())) >= self.quorum:
            value = self.proposals[slot]
            self.learn(slot, value)
            for r in self.others:
                self.send(r, MDecide(slot, value))

    def learn(self, slot: int, value: Any) -> None:
        """Record a chosen value durably and apply what is now contiguous."""
        if slot in self.decided:
            return
        decided = dict(self.decided)
        decided[slot] = value
        self.stable["decided"] = decided
        self.apply_decided()

    def apply_decided(self) -> None:
        """Apply decided slots in order to the key-value store; answer waiting clients."""
        while self.applied in self.decided:
            cmd = self.decided[self.applied]
            self.applied += 1
            if not isinstance(cmd, Command):
                continue
            last = self.sessions.get(cmd.client)
            if last is not None and last[0] >= cmd.seq:
                result = last[1] if last[0] == cmd.seq else None
            else:
                result = apply_command(self.kv, cmd.op)
                self.sessions[cmd.client] = (cmd.seq, result)
            client = self.waiting.pop((cmd.client, cmd.seq), None)
            if client is not None:
                self.send(client, Reply(cmd.seq, True, result))

    def _step_down(self, higher: Ballot) -> None:
        if self.role != "follower":
            self.role = "follower"
            self.annotate(role="follower")
        self.leader = higher.node or None
        self.stable["round"] = max(self.stable["round"], higher.round)
        for (_client, seq), src in list(self.waiting.items()):
            self.send(src, Reply(seq, False, hint=self.leader))
        self.waiting = {}

    # -- messages --------------------------------------------------------------------------
    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Request):
            self.on_request(src, msg.command)
        elif isinstance(msg, MPrepare):
            if msg.ballot >= self.promised:
                self.stable["promised"] = msg.ballot
                if self.ballot is None or msg.ballot > self.ballot:
                    self._step_down(msg.ballot)
                self.last_heard = self.now
                self.send(src, MPromise(msg.ballot, self._votes_from(msg.first)))
            else:
                self.send(src, MNack(msg.ballot, self.promised))
        elif isinstance(msg, MPromise):
            if self.role == "candidate" and msg.ballot == self.ballot:
                self.promises[src] = msg.votes
                self._maybe_lead()
        elif isinstance(msg, MAccept):
            if msg.ballot >= self.promised:
                if self.ballot is None or msg.ballot > self.ballot:
                    self._step_down(msg.ballot)
                self._accept(msg.ballot, msg.slot, msg.value)
                self.leader, self.last_heard = msg.ballot.node, self.now
                self.send(src, MAccepted(msg.ballot, msg.slot))
            else:
                self.send(src, MNack(msg.ballot, self.promised))
        elif isinstance(msg, MAccepted):
            if self.role == "leader" and msg.ballot == self.ballot and msg.slot in self.proposals:
                self.acks[msg.slot] = self.acks.get(msg.slot, frozenset()) | {src}
                self._maybe_decide(msg.slot)
        elif isinstance(msg, MNack):
            if msg.ballot == self.ballot and msg.promised > msg.ballot:
                self._step_down(msg.promised)
        elif isinstance(msg, MDecide):
            self.learn(msg.slot, msg.value)
        elif isinstance(msg, MHeartbeat):
            if msg.ballot >= self.promised:
                if self.ballot is None or msg.ballot > self.ballot:
                    self._step_down(msg.ballot)
                self.leader, self.last_heard = msg.ballot.node, self.now
                if self.commit_index() < msg.decided:
                    self.send(src, MCatchup(self.commit_index()))
        elif isinstance(msg, MCatchup):
            for slot in range(msg.first, min(msg.first + self.batch, self.commit_index())):
                self.send(src, MDecide(slot, self.decided[slot]))

    def on_request(self, client: str, cmd: Command) -> None:
        """A client command: the leader proposes it once (sessions dedupe retries)."""
        if self.role != "leader":
            self.send(client, Reply(cmd.seq, False, hint=self.leader))
            return
        last = self.sessions.get(cmd.client)
        if last is not None and last[0] >= cmd.seq:
            if last[0] == cmd.seq:
                self.send(client, Reply(cmd.seq, True, last[1]))
            return
        self.waiting[(cmd.client, cmd.seq)] = client
        if cmd in self.proposals.values():
            return                                       # already in flight: wait for it
        slot = self.next_slot
        self.next_slot += 1
        self.propose(slot, cmd)


class Client(Node):
    """Runs ``ops`` one at a time against the replicas, retrying (same ``seq``) on a timeout
    or a redirect. Each operation is recorded in ``history`` (a
    :class:`~dscourse.history.Recorder`, shared by a cluster's clients): ``invoke`` when it is
    first sent (``f`` is the op, ``value`` the key or ``(key, value)``), ``ok`` with the
    result when a replica answers. ``stable`` keeps the index of the next operation and of
    the one in flight, so a recovered client retries the same operation."""

    def __init__(self, id: str, replicas: Sequence[str], ops: Sequence[tuple], *,
                 timeout_ms: float = 30.0, think_ms: float = 2.0,
                 history: Recorder | None = None) -> None:
        super().__init__(id)
        self.replicas = tuple(replicas)
        self.ops = tuple(ops)
        self.timeout_ms, self.think_ms = timeout_ms, think_ms
        self.history = Recorder() if history is None else history
        self.target = 0
        self.timer: int | None = None

    def on_start(self) -> None:
        self.stable.setdefault("next", 0)
        self.stable.setdefault("current", None)
        self.target = int(self.rng.integers(len(self.replicas)))
        if self.stable["current"] is not None:
            self._send_current()
        else:
            self.set_timer(self.think_ms, "next")

    def _send_current(self) -> None:
        seq = self.stable["current"]
        self.send(self.replicas[self.target], Request(Command(self.id, seq, self.ops[seq])))
        if self.timer is not None:
            self.cancel_timer(self.timer)
        self.timer = self.set_timer(self.timeout_ms, "timeout", seq)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "next":
            seq = self.stable["next"]
            if seq < len(self.ops) and self.stable["current"] is None:
                op = self.ops[seq]
                self.stable["current"] = seq
                self.history.invoke(self.id, op[0], op[1] if len(op) == 2 else tuple(op[1:]),
                                    self.now)
                self._send_current()
        elif name == "timeout" and self.stable["current"] == payload:
            self.target = (self.target + 1) % len(self.replicas)
            self._send_current()

    def on_message(self, src: str, msg: Any) -> None:
        seq = self.stable.get("current")
        if not isinstance(msg, Reply) or seq is None or msg.seq != seq:
            return
        if msg.ok:
            self.history.ok(self.id, msg.result, self.now)
            self.stable["current"] = None
            self.stable["next"] = seq + 1
            assert self.timer is not None  # _send_current armed it when it sent this seq
            self.cancel_timer(self.timer)
            self.timer = None
            self.set_timer(self.think_ms, "next")
        else:
            hinted = msg.hint in self.replicas
            self.target = (self.replicas.index(msg.hint) if hinted
                           else (self.target + 1) % len(self.replicas))
            self._send_current()
