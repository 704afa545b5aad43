"""A ZooKeeper server on the simulator: FastLeaderElection, ZAB, sessions, watches, reads.

One class plays every role (``QuorumPeer``): LOOKING (FastLeaderElection, :mod:`.election`),
LEADING, FOLLOWING or OBSERVING. ZAB's phases (Junqueira, Reed & Serafini, DSN 2011, §III;
ZooKeeper Internals, "Leader Activation" and "Active Messaging"):

* **Discovery.** Each learner sends FOLLOWERINFO with its ``acceptedEpoch``; once a quorum is
  connected the leader picks ``new_epoch`` = max accepted epoch + 1, persists it as its own
  ``acceptedEpoch`` and sends LEADERINFO; a learner persists it and answers ACKEPOCH with its
  ``currentEpoch`` and last zxid (a learner never accepts an older epoch).
* **Synchronization.** After a quorum of ACKEPOCHs the leader sets ``currentEpoch`` and brings
  each learner to its history (``LearnerHandler.syncFollower``): TRUNC when the learner has
  proposals the leader lacks, SNAP when the learner is older than the leader's snapshot, else
  DIFF; the missing transactions follow as PROPOSAL + COMMIT pairs, then NEWLEADER. A learner
  persists ``currentEpoch`` on NEWLEADER and ACKs; after a quorum of those ACKs the leader's
  history is committed, the leader starts serving and sends UPTODATE, on which a learner
  delivers its history and starts serving.
* **Broadcast.** A write goes to the leader (learners forward it as REQUEST), which turns it
  into a transaction (:func:`.datatree.prep`), gives it zxid = epoch << 32 | counter, logs it
  and sends PROPOSAL down each follower's FIFO connection; a follower logs it and ACKs; once a
  quorum has ACKed, and every earlier proposal is committed, the leader sends COMMIT to
  followers and INFORM (the whole proposal) to observers. Exhausting the 32-bit counter forces
  a new election.

ACLs (:mod:`.acl`): each client connection has the identities it authenticated as (its ``ip``
and any ``addauth``); the serving server checks reads, the leader checks writes (forwarded
with the identities) before :func:`.datatree.prep`.

Reads are answered from the local tree, after the session's earlier writes (per-client FIFO
order, ``CommitProcessor``). ``sync`` goes to the leader and returns behind every commit
outstanding when the leader saw it. Sessions are tracked by the leader: learners relay the
sessions their clients touched in their PING replies, and the leader proposes closeSession
when one expires (Programmer's Guide, "ZooKeeper Sessions"). The transaction log, the
snapshot and both epochs live in ``stable``; the tree is rebuilt from them after a crash.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..sim import Node
from . import acl as acls
from .datatree import SPECIAL, CreateTxn, DataTree, ErrorTxn, MultiTxn, prep, prep_multi, validate_path
from .election import FOLLOWING, LEADING, LOOKING, OBSERVING, Election, total_order
from .errors import AuthFailedError, NoAuthError, ZookeeperError
from .messages import (
    Ack,
    AckEpoch,
    ClientPing,
    ClientReply,
    ClientRequest,
    Commit,
    ConnectRequest,
    ConnectResponse,
    Diff,
    Disconnect,
    FollowerInfo,
    Inform,
    LeaderInfo,
    NewLeader,
    Notification,
    Ping,
    PingReply,
    Proposal,
    Request,
    Revalidate,
    RevalidateReply,
    Snap,
    SyncDone,
    Trunc,
    Txn,
    UpToDate,
    WatcherEvent,
    counter_of,
    epoch_of,
    zxid,
)

READS = ("getData", "exists", "getChildren", "getACL", "setWatches", "auth")
MAX_COUNTER = 0xFFFFFFFF


@dataclass(frozen=True)
class ZKOptions:
    """Server settings, with ZooKeeper's names (Administrator's Guide, "Configuration Parameters").

    ``tick_ms`` (tickTime), ``init_limit`` and ``sync_limit`` in ticks, ``finalize_wait_ms`` and
    ``max_notification_ms`` (FastLeaderElection), ``snap_count`` (transactions between
    snapshots), ``max_counter`` (the largest zxid counter; lower it to see epoch rollover)."""

    tick_ms: int = 2000
    init_limit: int = 10
    sync_limit: int = 5
    finalize_wait_ms: int = 200
    max_notification_ms: int = 3200
    snap_count: int = 1000
    max_counter: int = MAX_COUNTER

    def __post_init__(self) -> None:
        from ..errors import allowed
        for name in ("tick_ms", "init_limit", "sync_limit", "finalize_wait_ms", "max_notification_ms",
                     "snap_count", "max_counter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise allowed(name, v, "a positive int")
        if self.max_counter > MAX_COUNTER:
            raise allowed("max_counter", self.max_counter, f"at most {MAX_COUNTER} (32 bits)")


class _Handler:
    """The leader's side of one learner connection (``LearnerHandler``): its FIFO queue of
    proposals not yet acknowledged (what the chapter draws as a conveyor belt)."""

    __slots__ = ("accepted_epoch", "acked_epoch", "conn", "last_heard", "last_zxid", "nl_acked", "observer",
                 "out", "queue", "seq_in", "state")

    def __init__(self, conn: int, observer: bool, accepted_epoch: int, now: float) -> None:
        self.conn, self.observer, self.accepted_epoch = conn, observer, accepted_epoch
        self.out = 0
        self.seq_in = 1
        self.state = "discovery"  # -> "sync" -> "active"
        self.acked_epoch = False
        self.nl_acked = False
        self.last_zxid = 0
        self.last_heard = now
        self.queue: deque[int] = deque()


class ZKServer(Node):
    """One ensemble member. ``myid`` is ZooKeeper's server id; ``ids`` maps ids to node ids;
    ``voters`` and ``observers`` are ids; ``monitor`` (optional) sees every delivery."""

    def __init__(self, id: str, myid: int, ids: dict[int, str], voters: tuple[int, ...],
                 observers: tuple[int, ...] = (), options: ZKOptions | None = None,
                 monitor: Any = None) -> None:
        super().__init__(id)
        self.myid, self.ids = myid, ids
        self.sids = {node: sid for sid, node in ids.items()}
        self.voters, self.observers = frozenset(voters), frozenset(observers)
        self.is_observer = myid in self.observers
        self.opts = options or ZKOptions()
        self.monitor = monitor
        self.role = LOOKING
        self.round = 0
        self.election: Election | None = None
        self.vote: tuple[int, int, int] = (0, 0, myid)
        self.leader_id: int | None = None
        self.phase = "looking"
        self._finalize: int | None = None
        self._fle_timer: int | None = None
        self._fle_delay = self.opts.finalize_wait_ms
        # data: the tree holds delivered (committed) transactions only
        self.tree = DataTree()
        self.applied = 0
        self.serving = False
        # learner state
        self.conn = 0
        self.seq_out = 0
        self.seq_in = 0
        self.committed = 0
        self.phase_started = 0.0
        self.last_leader = 0.0
        # leader state
        self.handlers: dict[int, _Handler] = {}
        self.new_epoch = 0
        self.epoch_acks: set[int] = set()
        self.newleader_acks: set[int] = set()
        self.outstanding: dict[int, set[int]] = {}
        self.last_proposed = 0
        self.last_committed = 0
        self.prep_tree: DataTree | None = None
        self.pending_syncs: list[tuple[int, int, int, int]] = []
        self.tracker: dict[int, float] = {}
        self.closing: set[int] = set()
        # client sessions connected here
        self.local: dict[int, str] = {}
        self.queues: dict[int, deque] = {}
        self.waiting: dict[int, int | None] = {}
        self.pending_connects: dict[int, tuple[str, int, str]] = {}
        self.auth: dict[int, list[tuple[str, str]]] = {}  # session -> its connection's identities
        self.touched: set[int] = set()
        self.cseq_in: dict[int, int] = {}
        self.cseq_out: dict[int, int] = {}
        self.data_watches: dict[str, set[int]] = {}
        self.child_watches: dict[str, set[int]] = {}

    def prep_request(self, tree: DataTree, op: tuple, session: int) -> Any:
        """Turn a write into a transaction (``PrepRequestProcessor``); exercise E7.1 swaps it."""
        return prep(tree, op, session)

    def permitted(self, kind: str, path: str, acl_of: Mapping[str, Any], ids: Sequence[Sequence[str]]) -> bool:
        """May a connection with identities ``ids`` do ``kind`` on ``path``? (``checkACL`` and the
        node each operation checks, :func:`.acl.permitted`); exercise E7.4 swaps it."""
        return acls.permitted(kind, path, acl_of, ids)

    def digest(self, credential: str) -> str:
        """The digest identity of ``user:password`` (``generateDigest``); exercise E7.4 swaps it."""
        return acls.generate_digest(credential)

    def _prep_checked(self, tree: DataTree, op: tuple, session: int, ids: tuple) -> Any:
        """The request check with ACLs first, in ``PrepRequestProcessor``'s order."""
        if op[0] in ("create", "delete", "setData", "check", "setACL"):
            validate_path(op[1], op[0] == "create" and op[4])
            fixed = acls.authorize(tree.nodes, op, ids, self.permitted, SPECIAL)
            if op[0] == "setACL":
                return prep(tree, (op[0], op[1], fixed, op[3]), session)
            txn = self.prep_request(tree, op[:5] if op[0] == "create" else op, session)
            if fixed is not None and fixed != acls.OPEN and isinstance(txn, CreateTxn):
                txn = CreateTxn(txn.path, txn.data, txn.ephemeral_owner, txn.parent_cversion, fixed)
            return txn
        return self.prep_request(tree, op, session)

    @staticmethod
    def better_vote(new: tuple[int, int, int], cur: tuple[int, int, int]) -> bool:
        """FastLeaderElection's vote order: (peer_epoch, zxid, myid), compared in that order."""
        return total_order(new, cur)

    @staticmethod
    def sync_decision(peer: int, zxids: list[int], snap_zxid: int) -> tuple[str, int]:
        """How the leader brings a learner whose last zxid is ``peer`` to its history (the
        transactions ``zxids`` logged after its snapshot at ``snap_zxid``), as
        ``LearnerHandler.syncFollower`` decides; exercise E8.3 swaps it. Returns ``("DIFF",
        peer)`` (send what follows ``peer``), ``("TRUNC", z)`` (the learner drops its proposals
        after ``z``, which the leader lacks, then gets what follows ``z``) or ``("SNAP",
        snap_zxid)`` (the learner is older than the snapshot: send the snapshot and the log)."""
        last = zxids[-1] if zxids else snap_zxid
        if peer > last:
            return "TRUNC", last
        if peer == snap_zxid or peer in zxids:
            return "DIFF", peer
        if peer > snap_zxid:
            return "TRUNC", max([z for z in zxids if z < peer], default=snap_zxid)
        return "SNAP", snap_zxid

    # == durable state ======================================================================
    @property
    def log(self) -> list[Txn]:
        return self.stable.setdefault("log", [])

    @property
    def accepted_epoch(self) -> int:
        return self.stable.get("accepted_epoch", 0)

    @property
    def current_epoch(self) -> int:
        return self.stable.get("current_epoch", 0)

    def last_zxid(self) -> int:
        log = self.log
        return log[-1].zxid if log else self.stable.get("snap_zxid", 0)

    def on_start(self) -> None:
        self.stable["boot"] = self.stable.get("boot", 0) + 1
        self.stable.setdefault("conns", 0)
        self.stable.setdefault("sessions_made", 0)
        self._load_tree()
        self.set_timer(self.opts.tick_ms / 2, "tick")
        self._look()

    def _load_tree(self) -> None:
        snap = self.stable.get("snap")
        self.tree = DataTree.load(snap) if snap else DataTree()
        self.applied = self.tree.last_zxid
        if self.monitor is not None:
            self.monitor.restart(self.id, self.applied)

    def _deliver_upto(self, upto: int) -> None:
        """Apply every logged transaction with zxid <= ``upto`` not yet applied (in order)."""
        for p in self.log:
            if p.zxid <= self.applied:
                continue
            if p.zxid > upto:
                break
            self._apply(p)

    def _apply(self, p: Txn) -> None:
        result, triggers = self.tree.apply(p.zxid, p.time, p.txn)
        self.applied = p.zxid
        if self.monitor is not None:
            self.monitor.deliver(self.id, p, self.now)
        self.annotate(zxid=p.zxid)
        if self.serving:
            self._fire(triggers, p.zxid)
            self._answer(p, result)
        if self.role == LEADING:
            self._track_committed(p)
        if len(self.log) > self.opts.snap_count and self.log[0].zxid <= self.applied:
            self._snapshot()

    def _snapshot(self) -> None:
        """Take a fuzzy-free snapshot of the delivered tree and drop the log it covers."""
        self.stable["snap"] = self.tree.dump()
        self.stable["snap_zxid"] = self.applied
        self.stable["log"] = [p for p in self.log if p.zxid > self.applied]

    def _append(self, p: Txn) -> bool:
        if p.zxid <= self.last_zxid():
            return False
        self.log.append(p)
        return True

    # == timers ==============================================================================
    def on_timer(self, name: str, payload: Any) -> None:
        if name == "tick":
            self.set_timer(self.opts.tick_ms / 2, "tick")
            self._tick()
        elif name == "finalize":
            self._finalize = None
            if self.role == LOOKING and self.election is not None:
                e = self.election
                backers = {s for s, v in e.recvset.items() if v == e.proposal} | (
                    {self.myid} if self.myid in self.voters else set())
                if e.quorum(backers):
                    self._decide(e.proposal)
        elif name == "fle":
            self._fle_timer = None
            if self.role == LOOKING:
                self._send_votes()
                self._fle_delay = min(2 * self._fle_delay, self.opts.max_notification_ms)
                self._fle_timer = self.set_timer(self._fle_delay, "fle")

    def _tick(self) -> None:
        tick = self.opts.tick_ms
        if self.role == LEADING:
            if self.phase != "broadcast":
                if self.now - self.phase_started > self.opts.init_limit * tick:
                    return self._look("leader not established within initLimit")
                return
            for sid, h in list(self.handlers.items()):
                if h.state != "discovery":
                    self._qsend(sid, Ping, sessions=())
            alive = {self.myid} | {sid for sid, h in self.handlers.items() if h.state == "active" and
                                   sid in self.voters and self.now - h.last_heard <= self.opts.sync_limit * tick}
            if 2 * len(alive & self.voters) <= len(self.voters):
                return self._look("not sufficient followers synced")
            for session, expires in sorted(self.tracker.items()):
                if expires <= self.now and session not in self.closing:
                    self.closing.add(session)
                    self._propose(session, -1, ("closeSession", session), self.myid)
        elif self.role in (FOLLOWING, OBSERVING):
            if self.phase == "discovery" and self.now - self.last_leader > tick:
                if self.now - self.phase_started > self.opts.sync_limit * tick:  # Learner: 5 tries
                    return self._look("cannot connect to the leader")
                return self._connect_to_leader()
            limit = (self.opts.sync_limit if self.serving else self.opts.init_limit) * tick
            if self.now - self.last_leader > limit:
                self._look("leader silent")

    # == FastLeaderElection ================================================================
    def _look(self, reason: str = "start") -> None:
        """Enter LOOKING (``QuorumPeer`` state LOOKING, ``lookForLeader``)."""
        self._stop_serving()
        self.role, self.phase, self.leader_id = LOOKING, "looking", None
        self.handlers.clear()
        self.outstanding.clear()
        self.pending_syncs.clear()
        self.round += 1
        initial = (self.current_epoch, self.last_zxid(), self.myid)
        self.vote = initial
        self.election = Election(self.myid, self.voters, self.round, initial, initial=initial, better=self.better_vote)
        self.annotate(role=LOOKING, round=self.round, why=reason)
        self._fle_delay = self.opts.finalize_wait_ms
        if self._fle_timer is not None:
            self.cancel_timer(self._fle_timer)
        self._fle_timer = self.set_timer(self._fle_delay, "fle")
        self._send_votes()
        if self.election.quorum({self.myid}):  # a one-voter ensemble votes for itself alone
            self._finalize = self.set_timer(self.opts.finalize_wait_ms, "finalize")

    def _looking(self) -> Election:
        """The current election (only while LOOKING)."""
        assert self.election is not None, "no election in progress"
        return self.election

    def _leader(self) -> int:
        """The leader this learner follows."""
        assert self.leader_id is not None, "no leader"
        return self.leader_id

    def _notification(self) -> Notification:
        epoch, z, leader = self._looking().proposal if self.role == LOOKING else self.vote
        return Notification(leader, z, self.round, self.role, self.myid, epoch)

    def _send_votes(self) -> None:
        n = self._notification()
        for sid in sorted(self.voters):
            if sid != self.myid:
                self.send(self.ids[sid], n)

    def _on_notification(self, n: Notification) -> None:
        if self.role != LOOKING:
            if n.state == LOOKING:
                self.send(self.ids[n.sid], self._notification())
            return
        e = self._looking()
        if n.sid not in self.voters:
            if self.myid in self.voters:
                self.send(self.ids[n.sid], self._notification())
            return
        if n.state == LOOKING and n.round < e.round:
            self.send(self.ids[n.sid], self._notification())
            return
        before = e.proposal
        res = e.receive(n)
        self.round = e.round  # a later round seen in a vote moves our logicalclock too
        if e.proposal != before:
            if self._finalize is not None:
                self.cancel_timer(self._finalize)
                self._finalize = None
            self.annotate(vote=list(e.proposal))
        if res is None:
            return
        if res == "join":
            return self._decide(e.proposal)
        if "send" in res:
            self._send_votes()
        if "decided?" in res and self._finalize is None and self.myid in self.voters:
            self._finalize = self.set_timer(self.opts.finalize_wait_ms, "finalize")

    def _decide(self, vote: tuple[int, int, int]) -> None:
        if self._finalize is not None:
            self.cancel_timer(self._finalize)
            self._finalize = None
        if self._fle_timer is not None:
            self.cancel_timer(self._fle_timer)
            self._fle_timer = None
        self.vote = vote
        self.leader_id = vote[2]
        self.election = None
        self.phase_started = self.now
        if vote[2] == self.myid:
            self.role = LEADING
            self._lead()
        else:
            self.role = OBSERVING if self.is_observer else FOLLOWING
            self.annotate(role=self.role, leader=vote[2], round=self.round)
            self._connect_to_leader()

    # == leader: discovery, synchronization, broadcast =====================================
    def _lead(self) -> None:
        self.phase = "discovery"
        self.handlers = {}
        self.epoch_acks = {self.myid}
        self.newleader_acks = {self.myid}
        self.new_epoch = 0
        self.annotate(role=LEADING, round=self.round, phase="discovery")
        self.monitor_event("leading")
        self._discovery_step()

    def monitor_event(self, what: str) -> None:
        if self.monitor is not None:
            self.monitor.event(self.id, what, self.now)

    def _quorum(self, sids: set[int]) -> bool:
        return 2 * len(sids & self.voters) > len(self.voters)

    def _qsend(self, to: int, cls: type, **fields: Any) -> None:
        """Send a quorum packet down the connection to learner ``to`` (or to the leader)."""
        if self.role == LEADING:
            h = self.handlers[to]
            h.out += 1
            self.send(self.ids[to], cls(conn=h.conn, seq=h.out, **fields))
        else:
            self.seq_out += 1
            self.send(self.ids[to], cls(conn=self.conn, seq=self.seq_out, **fields))

    def _from_learner(self, src: str, msg: Any) -> _Handler | None:
        """The handler a learner packet belongs to, checking the stream (a gap drops it)."""
        sid = self.sids.get(src)
        if sid is None:
            return None
        h = self.handlers.get(sid)
        if h is None or msg.conn != h.conn:
            return None
        if msg.seq < h.seq_in:  # a duplicate: TCP drops it
            return None
        if msg.seq != h.seq_in:
            del self.handlers[sid]
            self.annotate(dropped=sid, why="stream gap")
            return None
        h.seq_in += 1
        h.last_heard = self.now
        return h

    def _on_follower_info(self, src: str, m: FollowerInfo) -> None:
        if self.role != LEADING or m.seq != 1:
            return
        sid = self.sids[src]
        if sid not in self.voters and sid not in self.observers:
            return
        h = self.handlers[sid] = _Handler(m.conn, sid in self.observers, m.accepted_epoch, self.now)
        h.seq_in = 2
        if self.phase == "discovery":
            self._discovery_step()
        else:
            self._qsend(sid, LeaderInfo, new_epoch=self.new_epoch)

    def _discovery_step(self) -> None:
        """Once a quorum is connected: new epoch = max acceptedEpoch + 1 (``getEpochToPropose``)."""
        connected = {self.myid} | {s for s in self.handlers if s in self.voters}
        if not self._quorum(connected):
            return
        epochs = [self.accepted_epoch] + [x.accepted_epoch for x in self.handlers.values()]
        self.new_epoch = max(epochs) + 1
        self.stable["accepted_epoch"] = self.new_epoch
        self.phase = "epoch-ack"
        self.annotate(phase="epoch-ack", epoch=self.new_epoch)
        for s in sorted(self.handlers):
            self._qsend(s, LeaderInfo, new_epoch=self.new_epoch)
        self._epoch_ack_step()

    def _on_ack_epoch(self, h: _Handler, sid: int, m: AckEpoch) -> None:
        if (m.current_epoch, m.last_zxid) > (self.current_epoch, self.last_zxid()) and sid in self.voters:
            return self._look(f"follower {sid} is ahead of the leader")
        h.acked_epoch, h.last_zxid = True, m.last_zxid
        if self.phase == "epoch-ack":
            if sid in self.voters:
                self.epoch_acks.add(sid)
            self._epoch_ack_step()
        elif self.phase in ("sync", "broadcast"):
            self._sync_learner(sid)

    def _epoch_ack_step(self) -> None:
        """After a quorum of ACKEPOCHs (``waitForEpochAck``): currentEpoch, then sync everyone."""
        if not self._quorum(self.epoch_acks):
            return
        self.stable["current_epoch"] = self.new_epoch
        self.phase = "sync"
        self.annotate(phase="sync", epoch=self.new_epoch)
        self.last_proposed = self.last_zxid()
        for s in sorted(self.handlers):
            if self.handlers[s].acked_epoch:
                self._sync_learner(s)
        if self._quorum(self.newleader_acks):
            self._establish()

    def _sync_learner(self, sid: int) -> None:
        """``LearnerHandler.syncFollower``: TRUNC / SNAP / DIFF, the history, NEWLEADER."""
        h = self.handlers[sid]
        h.state = "sync"
        log = self.log
        peer = h.last_zxid
        commit_point = self.last_committed if self.phase == "broadcast" else self.last_zxid()
        base = self.stable.get("snap_zxid", 0)
        zxids = [p.zxid for p in log]
        kind, at = self.sync_decision(peer, zxids, base)
        if kind == "TRUNC":
            self._qsend(sid, Trunc, zxid=at)
        elif kind == "SNAP":
            self._qsend(sid, Snap, zxid=base, tree=self.stable.get("snap") or DataTree().dump())
            at = base
        # the learner now holds the leader's history up to ``at``: send what follows
        start = bisect_right(zxids, at)
        self._qsend(sid, Diff, zxid=commit_point)
        for p in log[start:]:
            if p.zxid > commit_point:
                break
            self._qsend(sid, Proposal, p=p)
            self._qsend(sid, Commit, zxid=p.zxid)
        self._qsend(sid, NewLeader, zxid=zxid(self.new_epoch, 0))
        if not h.observer:
            for p in log[start:]:
                if p.zxid > commit_point:
                    self._qsend(sid, Proposal, p=p)
                    h.queue.append(p.zxid)

    def _on_newleader_ack(self, h: _Handler, sid: int) -> None:
        h.nl_acked = True
        if self.phase == "sync":
            if sid in self.voters:
                self.newleader_acks.add(sid)
            if self._quorum(self.newleader_acks):
                self._establish()
        elif self.phase == "broadcast" and h.state == "sync":
            h.state = "active"
            self._qsend(sid, UpToDate)

    def _establish(self) -> None:
        """A quorum has the leader's history: commit it, serve, send UPTODATE."""
        self.phase = "broadcast"
        # servers out of the election report (leader, epoch): the established one, so that a
        # late joiner sees a quorum agree (``Vote.equals`` compares leader and peerEpoch)
        self.vote = (self.new_epoch, self.vote[1], self.myid)
        self._deliver_upto(self.last_zxid())
        self.last_committed = self.last_proposed = self.last_zxid()
        self.prep_tree = self.tree.copy()
        self.serving = True
        self.annotate(phase="broadcast", epoch=self.new_epoch)
        self.monitor_event("established")
        for session, timeout in sorted(self.tree.sessions.items()):
            self.tracker[session] = self.now + timeout
        for s, h in sorted(self.handlers.items()):
            if h.state == "sync" and h.nl_acked:
                h.state = "active"
                self._qsend(s, UpToDate)

    def _propose(self, session: int, cxid: int, op: tuple, origin: int, ids: tuple = ()) -> None:
        """The leader's pipeline: prep the request, number it, log it, send PROPOSAL."""
        if op[0] == "sync":
            if not self.outstanding:
                self._sync_done(origin, session, cxid)
            else:
                self.pending_syncs.append((max(self.outstanding), origin, session, cxid))
            return
        counter = counter_of(self.last_proposed) + 1 if epoch_of(self.last_proposed) == self.new_epoch else 1
        if counter > self.opts.max_counter:
            return self._look("zxid counter exhausted: a new epoch is needed")
        z = zxid(self.new_epoch, counter)
        time = int(self.now)
        assert self.prep_tree is not None, "the leader preps against its tree once established"
        try:
            def one(tree: DataTree, o: tuple, s: int) -> Any:
                return self._prep_checked(tree, o, s, ids)

            if op[0] == "multi":
                txn = prep_multi(self.prep_tree, op[1], session, z, time, one)
            else:
                txn = one(self.prep_tree, op, session)
        except ZookeeperError as e:
            txn = ErrorTxn(e.code)
        if not isinstance(txn, ErrorTxn):
            self.prep_tree.apply(z, time, txn)
        p = Txn(z, time, session, cxid, txn)
        self.last_proposed = z
        self._append(p)
        if self.monitor is not None:
            self.monitor.propose(self.id, self.new_epoch, p, self.now)
        self.outstanding[z] = {self.myid}
        for sid, _packet in self.route("propose", self._learners()):
            self._qsend(sid, Proposal, p=p)
            self.handlers[sid].queue.append(z)
        self._try_commit()

    def _learners(self) -> list[tuple[int, str]]:
        """The learners in the broadcast (synchronizing or active), as (sid, role)."""
        return [(sid, "observer" if h.observer else "follower") for sid, h in sorted(self.handlers.items())
                if h.state in ("sync", "active")]

    def commit_ready(self, outstanding: list[tuple[int, list[int]]]) -> list[int]:
        """The outstanding proposals ``(zxid, ackers)`` (in zxid order) to commit now: a prefix,
        each with a quorum of voters' ACKs (ZAB, DSN 2011, §III "Broadcast"); exercise E8.2 swaps it."""
        ready = []
        for z, acks in outstanding:
            if not self._quorum(set(acks)):
                break
            ready.append(z)
        return ready

    @staticmethod
    def route(event: str, learners: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Who gets what (ZooKeeper Internals, "Active Messaging"; ``Leader.commitAndActivate``):
        on "propose" a PROPOSAL to each follower; on "commit" a COMMIT to each follower and an
        INFORM (the whole proposal) to each observer. Exercise E8.2 swaps it."""
        if event == "propose":
            return [(sid, "PROPOSAL") for sid, role in learners if role == "follower"]
        return [(sid, "INFORM" if role == "observer" else "COMMIT") for sid, role in learners]

    def _on_ack(self, h: _Handler, sid: int, z: int) -> None:
        while h.queue and h.queue[0] <= z:
            h.queue.popleft()
        acks = self.outstanding.get(z)
        if acks is None or sid not in self.voters:
            return
        acks.add(sid)
        self._try_commit()

    def _try_commit(self) -> None:
        """Commit outstanding proposals in zxid order while each has a quorum of ACKs."""
        while self.outstanding:
            ready = self.commit_ready([(z, sorted(acks)) for z, acks in sorted(self.outstanding.items())])
            if not ready:
                return
            z = ready[0]
            del self.outstanding[z]
            self.last_committed = z
            if self.monitor is not None:
                self.monitor.quorum_acked(z, self.now)
            p = next(p for p in reversed(self.log) if p.zxid == z)
            for sid, packet in self.route("commit", self._learners()):
                if packet == "INFORM":
                    self._qsend(sid, Inform, p=p)
                else:
                    self._qsend(sid, Commit, zxid=z)
            self._deliver_upto(z)
            for entry in [s for s in self.pending_syncs if s[0] <= z]:
                self.pending_syncs.remove(entry)
                self._sync_done(entry[1], entry[2], entry[3])

    def _sync_done(self, origin: int, session: int, cxid: int) -> None:
        if origin == self.myid:
            self._write_done(session, cxid, 0, None)
        elif origin in self.handlers:
            self._qsend(origin, SyncDone, session=session, cxid=cxid)

    def expire(self, session: int) -> bool:
        """What the leader's session tracker does when ``session`` times out: propose
        closeSession (its ephemeral nodes go with it). False unless this is the serving leader."""
        if self.role != LEADING or self.phase != "broadcast" or session not in self.tracker:
            return False
        if session not in self.closing:
            self.closing.add(session)
            self._propose(session, -1, ("closeSession", session), self.myid)
        return True

    def _track_committed(self, p: Txn) -> None:
        t = p.txn
        name = type(t).__name__
        if name == "CreateSessionTxn":
            self.tracker[t.session] = self.now + t.timeout_ms
        elif name == "CloseSessionTxn":
            self.tracker.pop(t.session, None)
            self.closing.discard(t.session)
        if p.session in self.tracker:
            self.tracker[p.session] = max(self.tracker[p.session],
                                          self.now + self.tree.sessions.get(p.session, 0))

    def _touch(self, session: int) -> None:
        if self.role == LEADING:
            timeout = self.tree.sessions.get(session)
            if timeout is not None and session in self.tracker:
                self.tracker[session] = self.now + timeout
        else:
            self.touched.add(session)

    # == learner: following and observing ===================================================
    def _connect_to_leader(self) -> None:
        self.stable["conns"] += 1
        self.conn = self.stable["conns"] * 1000 + self.myid
        self.seq_out = 0
        self.seq_in = 1
        self.committed = 0
        self.last_leader = self.now
        self.phase = "discovery"
        self._qsend(self._leader(), FollowerInfo, sid=self.myid, accepted_epoch=self.accepted_epoch,
                    observer=self.is_observer)

    def _from_leader(self, src: str, msg: Any) -> bool:
        if self.role not in (FOLLOWING, OBSERVING) or self.sids.get(src) != self.leader_id or msg.conn != self.conn:
            return False
        if msg.seq < self.seq_in:  # a duplicate: TCP drops it
            return False
        if msg.seq != self.seq_in:
            self._look("stream from leader broken")
            return False
        self.seq_in += 1
        self.last_leader = self.now
        return True

    def _learner_packet(self, m: Any) -> None:
        t = type(m)
        if t is LeaderInfo:
            if m.new_epoch < self.accepted_epoch:
                return self._look(f"leader epoch {m.new_epoch} < accepted epoch {self.accepted_epoch}")
            self.stable["accepted_epoch"] = m.new_epoch
            self.phase = "sync"
            self._qsend(self._leader(), AckEpoch, current_epoch=self.current_epoch, last_zxid=self.last_zxid())
        elif t is Trunc:
            self.stable["log"] = [p for p in self.log if p.zxid <= m.zxid]
            if self.applied > m.zxid:  # never happens to committed history; the monitor would say so
                self._load_tree()
        elif t is Snap:
            self.stable["snap"] = m.tree
            self.stable["snap_zxid"] = m.zxid
            self.stable["log"] = []
            self._load_tree()
        elif t is Diff:
            self.committed = max(self.committed, m.zxid)
        elif t is Proposal:
            self._append(m.p)
            if not self.is_observer:
                self._qsend(self._leader(), Ack, zxid=m.p.zxid)
        elif t is Commit:
            self.committed = max(self.committed, m.zxid)
            if self.serving:
                self._deliver_upto(m.zxid)
        elif t is Inform:
            self._append(m.p)
            self.committed = max(self.committed, m.p.zxid)
            if self.serving:
                self._deliver_upto(m.p.zxid)
        elif t is NewLeader:
            self.stable["current_epoch"] = epoch_of(m.zxid)
            self.vote = (epoch_of(m.zxid), self.vote[1], self._leader())
            self._qsend(self._leader(), Ack, zxid=m.zxid)
        elif t is UpToDate:
            self.phase = "broadcast"
            self._deliver_upto(self.committed)
            self.serving = True
            self.annotate(serving=True, leader=self.leader_id)
        elif t is Ping:
            sessions = tuple(sorted(self.touched))
            self.touched.clear()
            self._qsend(self._leader(), Ping, sessions=sessions)
        elif t is SyncDone:
            self._write_done(m.session, m.cxid, 0, None)
        elif t is RevalidateReply:
            self._revalidated(m.session, m.valid)

    # == message dispatch ===================================================================
    def on_message(self, src: str, msg: Any) -> None:
        t = type(msg)
        if t is Notification:
            return self._on_notification(msg)
        if t is ConnectRequest:
            return self._on_connect(src, msg)
        if t is ClientRequest:
            return self._on_client_request(src, msg)
        if t is ClientPing:
            if self.serving and self.local.get(msg.session) == src and self._from_client(msg):
                self._touch(msg.session)
                self._csend(msg.session, PingReply, zxid=self.applied)
            return
        if t is FollowerInfo:
            return self._on_follower_info(src, msg)
        if self.role == LEADING:
            h = self._from_learner(src, msg)
            if h is None:
                return
            sid = self.sids[src]
            if t is AckEpoch:
                self._on_ack_epoch(h, sid, msg)
            elif t is Ack:
                if counter_of(msg.zxid) == 0:
                    self._on_newleader_ack(h, sid)
                elif self.phase == "broadcast":
                    self._on_ack(h, sid, msg.zxid)
            elif t is Ping:
                for s in msg.sessions:
                    self._touch(s)
            elif t is Request and self.phase == "broadcast":
                self._propose(msg.session, msg.cxid, msg.op, sid, msg.auth)
            elif t is Revalidate and self.phase == "broadcast":
                valid = msg.session in self.tracker and msg.session not in self.closing
                if valid:
                    self._touch(msg.session)
                self._qsend(sid, RevalidateReply, session=msg.session, valid=valid)
            return
        if self._from_leader(src, msg):
            self._learner_packet(msg)

    # == serving clients ====================================================================
    def _stop_serving(self) -> None:
        if self.serving or self.local:
            for session, client in sorted(self.local.items()):
                self.send(client, Disconnect(session, False))
        self.serving = False
        self.local.clear()
        self.cseq_in.clear()
        self.cseq_out.clear()
        self.queues.clear()
        self.waiting.clear()
        self.pending_connects.clear()
        self.data_watches.clear()
        self.child_watches.clear()
        self.tracker.clear()
        self.closing.clear()

    def _on_connect(self, src: str, m: ConnectRequest) -> None:
        if not self.serving:
            return
        if m.last_zxid > self.applied:  # "Refusing session request ... client has seen zxid ..."
            self.send(src, Disconnect(m.session, False))
            return
        tick = self.opts.tick_ms
        timeout = min(max(m.timeout_ms, 2 * tick), 20 * tick)
        if m.session == 0:
            self.stable["sessions_made"] += 1
            session = (self.myid << 56) | (self.stable["boot"] << 32) | self.stable["sessions_made"]
            self.pending_connects[session] = (src, m.attempt, m.ip)
            self.queues[session] = deque()
            self.waiting[session] = -2
            self._submit(session, -2, ("createSession", session, timeout))
        else:
            self.pending_connects[m.session] = (src, m.attempt, m.ip)
            if self.role == LEADING:
                self._revalidated(m.session, m.session in self.tracker and m.session not in self.closing)
            else:
                self._qsend(self._leader(), Revalidate, session=m.session, timeout_ms=timeout)

    def _revalidated(self, session: int, valid: bool) -> None:
        entry = self.pending_connects.pop(session, None)
        if entry is None:
            return
        client, attempt, ip = entry
        timeout = self.tree.sessions.get(session, 0)
        if not valid:
            self.send(client, ConnectResponse(session, 0, True, attempt))
            return
        for other_session, other in list(self.local.items()):
            if other == client and other_session != session:
                del self.local[other_session]
        self.local[session] = client
        self.queues[session] = deque()  # a new connection: what the old one asked is void
        self.waiting[session] = None
        self.cseq_in[session] = self.cseq_out[session] = 0
        self.auth[session] = [("ip", ip)]  # a new connection: authenticate again (kazoo re-sends its auth)
        self._touch(session)
        self.send(client, ConnectResponse(session, timeout, False, attempt))

    def _submit(self, session: int, cxid: int, op: tuple) -> None:
        ids = tuple(self.auth.get(session, ()))
        if self.role == LEADING:
            self._propose(session, cxid, op, self.myid, ids)
        else:
            self._qsend(self._leader(), Request, session=session, cxid=cxid, op=op, auth=ids)

    def _from_client(self, m: Any) -> bool:
        """Check the client stream; on a gap, close the connection (the client reconnects)."""
        expected = self.cseq_in.get(m.session, 0) + 1
        if m.seq < expected:  # a duplicate: TCP drops it
            return False
        if m.seq != expected:
            self.send(self.local[m.session], Disconnect(m.session, False))
            self._forget(m.session)
            return False
        self.cseq_in[m.session] = expected
        return True

    def _csend(self, session: int, cls: type, **fields: Any) -> None:
        seq = self.cseq_out.get(session, 0) + 1
        self.cseq_out[session] = seq
        self.send(self.local[session], cls(seq=seq, **fields))

    def _on_client_request(self, src: str, m: ClientRequest) -> None:
        if not self.serving or self.local.get(m.session) != src or not self._from_client(m):
            return
        self._touch(m.session)
        self.queues[m.session].append((m.xid, m.op))
        self._pump(m.session)

    def _pump(self, session: int) -> None:
        q = self.queues.get(session)
        while q and self.waiting.get(session) is None:
            xid, op = q[0]
            if op[0] in READS:
                q.popleft()
                self._read(session, xid, op)
            else:
                self.waiting[session] = xid
                self._submit(session, xid, op)

    def _answer(self, p: Txn, result: Any) -> None:
        """A delivered transaction answers the request it came from, if it waits here."""
        name = type(p.txn).__name__
        if name == "CreateSessionTxn" and p.txn.session in self.pending_connects:
            self.waiting[p.txn.session] = None
            self._revalidated(p.txn.session, True)
            return
        if name == "CloseSessionTxn":
            session = p.txn.session
            client = self.local.get(session)
            if client is not None:
                if self.waiting.get(session) == p.cxid and p.cxid >= 0:
                    self._write_done(session, p.cxid, 0, True)
                else:
                    self.send(client, Disconnect(session, True))
                self._forget(session)
            return
        err = 0
        if isinstance(p.txn, ErrorTxn):
            err, result = p.txn.code, list(p.txn.codes) if p.txn.codes else None
        elif isinstance(p.txn, MultiTxn):
            result = list(result)
        self._write_done(p.session, p.cxid, err, result, p.zxid)

    def _forget(self, session: int) -> None:
        self.local.pop(session, None)
        self.queues.pop(session, None)
        self.waiting.pop(session, None)
        self.cseq_in.pop(session, None)
        self.cseq_out.pop(session, None)
        self.auth.pop(session, None)
        for table in (self.data_watches, self.child_watches):
            for sessions in table.values():
                sessions.discard(session)

    def _write_done(self, session: int, cxid: int, err: int, result: Any, z: int | None = None) -> None:
        if self.waiting.get(session) != cxid or session not in self.local:
            return
        self.waiting[session] = None
        q = self.queues[session]
        if q and q[0][0] == cxid:
            q.popleft()
        self._csend(session, ClientReply, xid=cxid, zxid=self.applied if z is None else z, err=err, result=result)
        self._pump(session)

    def _read(self, session: int, xid: int, op: tuple) -> None:
        kind, path = op[0], op[1]
        tree = self.tree
        err, result = 0, None  # type: tuple[int, Any]
        if kind == "setWatches":
            self._set_watches(session, *op[1:])
        elif kind == "auth":
            return self._authenticate(session, xid, op[1], op[2])
        else:
            watch = len(op) > 2 and op[2]
            node = tree.nodes.get(path)
            if kind == "exists":
                result = None if node is None else node.stat()
                if watch:
                    self.data_watches.setdefault(path, set()).add(session)
            elif node is None:
                err = -101
            elif kind != "exists" and not self._may(session, kind, path):
                err = NoAuthError.code
            elif kind == "getACL":
                acl = node.acl if self._may(session, "setACL", path) else acls.redact(node.acl)
                result = (acl, node.stat())
            elif kind == "getData":
                result = (node.data, node.stat())
                if watch:
                    self.data_watches.setdefault(path, set()).add(session)
            else:
                result = (sorted(node.children), node.stat())
                if watch:
                    self.child_watches.setdefault(path, set()).add(session)
        self._csend(session, ClientReply, xid=xid, zxid=self.applied, err=err, result=result)

    def _may(self, session: int, kind: str, path: str) -> bool:
        ids = [list(i) for i in self.auth.get(session, ())]
        return self.permitted(kind, path, acls.lineage(self.tree.nodes, path), ids)

    def _authenticate(self, session: int, xid: int, scheme: str, credential: str) -> None:
        """``addauth`` (``ServerCnxn.addAuthInfo`` via the scheme's provider). An unknown scheme
        fails and the server closes the connection (the client is left AUTH_FAILED)."""
        if scheme == "digest":
            self.auth[session].append(("digest", self.digest(credential)))
        elif scheme != "ip":  # ``ip`` re-adds the address the connection already has
            self._csend(session, ClientReply, xid=xid, zxid=self.applied, err=AuthFailedError.code, result=None)
            self._forget(session)
            return
        self._csend(session, ClientReply, xid=xid, zxid=self.applied, err=0, result=True)

    def _set_watches(self, session: int, rel: int, data: tuple, children: tuple) -> None:
        """``SetWatches`` after a reconnect: fire what changed since ``rel``, re-arm the rest."""
        for path in data:
            node = self.tree.nodes.get(path)
            if node is None:
                self.data_watches.setdefault(path, set()).add(session)
            elif node.mzxid > rel:
                self._csend(session, WatcherEvent, type="CHANGED", path=path, zxid=self.applied)
            else:
                self.data_watches.setdefault(path, set()).add(session)
        for path in children:
            node = self.tree.nodes.get(path)
            if node is None:
                self._csend(session, WatcherEvent, type="DELETED", path=path, zxid=self.applied)
            elif node.pzxid > rel:
                self._csend(session, WatcherEvent, type="CHILD", path=path, zxid=self.applied)
            else:
                self.child_watches.setdefault(path, set()).add(session)

    def _fire(self, triggers: list[tuple[str, str]], z: int) -> None:
        """One-shot watches (``WatchManager.triggerWatch``): each registration fires once."""
        for path, kind in triggers:
            events: list[tuple[str, set[int]]] = []
            if kind in ("created", "changed"):
                events.append((kind.upper(), self.data_watches.pop(path, set())))
            elif kind == "deleted":
                events.append(("DELETED", self.data_watches.pop(path, set()) | self.child_watches.pop(path, set())))
            else:
                events.append(("CHILD", self.child_watches.pop(path, set())))
            for etype, sessions in events:
                for session in sorted(sessions):
                    if session in self.local:
                        self._csend(session, WatcherEvent, type=etype, path=path, zxid=z)

    def on_crash(self) -> None:
        self.annotate(role="crashed")


__all__ = ["READS", "ZKOptions", "ZKServer"]
