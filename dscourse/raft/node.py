"""A Raft server per Figure 2 of the extended paper (Ongaro & Ousterhout, USENIX ATC 2014).

* Persistent state (``currentTerm``, ``votedFor``, ``log``, and the snapshot's base) lives in
  ``self.stable``, which is the simulator's stable storage: it is written before any reply
  or RPC that depends on it is sent, so a crash right after a vote cannot forget it.
* Leader election (§5.2): randomized election timeouts, drawn afresh at every election and
  term change; RequestVote with the election restriction (§5.4.1). Optional PreVote
  (Ongaro's thesis §9.6) and CheckQuorum (thesis §6.2).
* Log replication (§5.3): the AppendEntries consistency check, truncation only on a real
  conflict (Figure 2, receiver rule 3), and fast backtracking with the follower's conflict
  term and index.
* Commitment (§5.4.2, Figure 8): a leader commits by counting replicas only entries of its
  current term; earlier entries become committed with them. A no-op at the start of each
  term (§8) makes that happen promptly (option ``noop``).
* Log compaction (§7): ``snapshot(index, data)`` trims the log; a leader sends
  InstallSnapshot to a follower whose ``nextIndex`` fell into the snapshot.
* Linearizable reads (§8; thesis §6.4): ``read_index(token)`` confirms leadership with a
  heartbeat round and calls ``on_read_ready(token, index)`` once the state machine has
  applied up to the read index.

Indices are 1-based as in the paper; ``stable["log"][k]`` holds entry ``base_index + 1 + k``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import allowed
from ..sim import Node
from .messages import (
    AppendEntries,
    AppendEntriesReply,
    ApplyMsg,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
    TimeoutNow,
)
from .observer import Observer
from .options import RaftOptions

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
_NOBODY = Observer()


class RaftNode(Node):
    """One Raft server. ``servers`` are the ids of every server of the cluster (itself
    included); ``observer`` (a :class:`~dscourse.raft.observer.Observer`) hears every state
    change -- monitors and the test harness use it.

    Subclasses use the log through ``start(command)`` and receive committed commands (and
    installed snapshots) in ``on_apply(msg)``.
    """

    def __init__(self, id: str, servers: Sequence[str], options: RaftOptions | None = None,
                 observer: Observer | None = None) -> None:
        super().__init__(id)
        if isinstance(servers, str) or id not in servers:
            raise allowed("servers", servers, f"the ids of all servers, including {id!r}")
        if options is None:
            options = RaftOptions()
        if not isinstance(options, RaftOptions):
            raise allowed("options", options, "a ds.raft.RaftOptions")
        self.servers = tuple(servers)
        self.others = tuple(s for s in self.servers if s != id)
        self.majority = len(self.servers) // 2 + 1
        self.options = options
        self.observer = observer if observer is not None else _NOBODY
        # volatile state on all servers (Figure 2)
        self.role = FOLLOWER
        self.leader_id: str | None = None
        self.commit_index = 0
        self.last_applied = 0
        self.votes: set[str] = set()
        self.prevoting = False
        self.timeout = 0.0
        self.election_deadline = 0.0
        self._election_timer: int | None = None
        self.last_leader_contact = -1e18
        # volatile state on leaders
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.round = 0
        self.acked_round: dict[str, int] = {}
        self.last_ack: dict[str, float] = {}
        self._heartbeat_timer: int | None = None
        self._flush_timer: int | None = None
        self._quorum_timer: int | None = None
        self._reads: list[tuple[int, int, Any]] = []  # (round, read index, token)
        self._handlers: dict[type, Callable[[str, Any], None]] = {
            RequestVote: self._on_request_vote, RequestVoteReply: self._on_vote_reply,
            AppendEntries: self._on_append_entries, AppendEntriesReply: self._on_append_reply,
            InstallSnapshot: self._on_install_snapshot,
            InstallSnapshotReply: self._on_snapshot_reply, TimeoutNow: self._on_timeout_now,
        }

    # -- persistent state (§5.1, Figure 2 "Persistent state on all servers") ---------------
    @property
    def term(self) -> int:
        """``currentTerm``."""
        return self.stable["term"]

    @property
    def voted_for(self) -> str | None:
        return self.stable["voted_for"]

    @property
    def log(self) -> list[Entry]:
        """Entries after the snapshot: ``log[k]`` is entry ``base_index + 1 + k``."""
        return self.stable["log"]

    @property
    def base_index(self) -> int:
        """Index of the last entry covered by the snapshot (0 without one)."""
        return self.stable["base_index"]

    @property
    def base_term(self) -> int:
        return self.stable["base_term"]

    @property
    def last_index(self) -> int:
        return self.stable["base_index"] + len(self.stable["log"])

    @property
    def last_term(self) -> int:
        log = self.stable["log"]
        return log[-1][0] if log else self.stable["base_term"]

    def term_at(self, index: int) -> int | None:
        """The term of entry ``index`` (the snapshot's term at its base; ``None`` if unknown)."""
        base = self.stable["base_index"]
        if index == base:
            return self.stable["base_term"]
        if index < base or index > base + len(self.stable["log"]):
            return None
        return self.stable["log"][index - base - 1][0]

    def entry(self, index: int) -> Entry:
        """Entry ``index`` (it must be in the log, after the snapshot)."""
        return self.stable["log"][index - self.stable["base_index"] - 1]

    def _set_term(self, term: int) -> None:
        self.stable["term"] = term
        self.stable["voted_for"] = None

    # -- start and crash recovery ------------------------------------------------------------
    def on_start(self) -> None:
        """Load persistent state (fresh or recovered); the state machine restarts from the
        snapshot, if any, and re-applies committed entries as they are learned again."""
        st = self.stable
        for key, value in (("term", 0), ("voted_for", None), ("base_index", 0),
                           ("base_term", 0), ("snapshot", None)):
            st.setdefault(key, value)
        st.setdefault("log", [])
        self.commit_index = self.last_applied = st["base_index"]
        if st["snapshot"] is not None:
            self._deliver(ApplyMsg(st["base_index"], st["base_term"], snapshot_valid=True,
                                   snapshot=st["snapshot"]))
        self._become_follower(self.term)

    # -- the client interface (§8) ---------------------------------------------------------
    def start(self, command: Any) -> tuple[int, int, bool]:
        """Append ``command`` if this server is the leader: ``(index, term, True)``; else
        ``(-1, term, False)``. Agreement is not guaranteed: the entry may be lost."""
        if self.role != LEADER:
            return -1, self.term, False
        index = self._append_local(command)
        if self._flush_timer is None:  # coalesce the commands of one instant into one round
            self._flush_timer = self.set_timer(0, "flush")
        return index, self.term, True

    def get_state(self) -> tuple[int, bool]:
        """``(currentTerm, is_leader)``."""
        return self.term, self.role == LEADER

    def snapshot(self, index: int, data: Any) -> None:
        """The state machine has captured everything up to ``index`` in ``data``: drop the
        log through ``index`` (§7). Ignored unless ``base_index < index <= last_applied``."""
        st = self.stable
        base = st["base_index"]
        if index <= base or index > self.last_applied:
            return
        st["base_term"] = self.term_at(index)
        del st["log"][:index - base]
        st["base_index"] = index
        st["snapshot"] = data
        self.observer.on_snapshot(self)

    def read_index(self, token: Any) -> bool:
        """Start a linearizable read (thesis §6.4, ReadIndex): False unless leader with an
        entry of its term committed. Later ``on_read_ready(token, index)`` is called once a
        majority confirmed this leadership after the read began and ``index`` is applied."""
        if self.role != LEADER or self.term_at(self.commit_index) != self.term:
            return False
        self._broadcast_append()  # a fresh round; the read needs acks of this round or later
        self._reads.append((self.round, self.commit_index, token))
        self._serve_reads()
        return True

    def set_election_timer(self, ms: float) -> None:
        """Make the election timer fire ``ms`` from now (the visualizer's "align timers" and
        "spread timers" buttons use it to force or avoid a split vote)."""
        if self.role == LEADER:
            return
        self.timeout = float(ms)
        self.election_deadline = self.now + ms
        if self._election_timer is not None:
            self.cancel_timer(self._election_timer)
        self._election_timer = self.set_timer(ms, "election")

    def timeout_now(self) -> None:
        """Start an election at once (the visualizer's button; thesis §3.10)."""
        if self.role != LEADER:
            self._start_election()

    # -- hooks for subclasses ----------------------------------------------------------------
    def on_apply(self, msg: ApplyMsg) -> None:
        """A committed command or an installed snapshot, in log order (override)."""

    def on_read_ready(self, token: Any, index: int) -> None:
        """A read started with ``read_index(token)`` may now be served (override)."""

    def on_step_down(self) -> None:
        """This server stopped being leader (override: fail its waiting clients)."""

    # -- dispatch ----------------------------------------------------------------------------
    def on_message(self, src: str, msg: Any) -> None:
        handler = self._handlers.get(type(msg))
        if handler is not None:
            if type(msg) in (RequestVote, AppendEntries, InstallSnapshot):
                self.observer.on_request(self, src, msg)
            handler(src, msg)
        else:
            self.on_other_message(src, msg)

    def on_other_message(self, src: str, msg: Any) -> None:
        """Messages that are not Raft RPCs (client requests, for a subclass)."""

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "election":
            self._election_timer = None
            if self.role == LEADER:
                return
            rest = self.election_deadline - self.now
            if rest >= 0.001:  # reset since it was armed: wait the rest (to the microsecond)
                self._election_timer = self.set_timer(rest, "election")
            else:
                self._start_election()
        elif name == "heartbeat":
            self._heartbeat_timer = None
            if self.role == LEADER:
                self._broadcast_append()
                self._heartbeat_timer = self.set_timer(self.options.heartbeat, "heartbeat")
        elif name == "flush":
            self._flush_timer = None
            if self.role == LEADER:
                self._broadcast_append()
        elif name == "quorum":
            self._quorum_timer = None
            if self.role == LEADER:
                self._check_quorum()

    # -- roles -------------------------------------------------------------------------------
    def _draw_timeout(self) -> None:
        lo, hi = self.options.election_timeout
        self.timeout = lo + (hi - lo) * float(self.rng.random())

    def _reset_election_timer(self) -> None:
        """Push the election deadline to now + the current randomized timeout. The timer
        itself is re-armed lazily when it fires early (so heartbeats cost no timer churn)."""
        self.election_deadline = self.now + self.timeout
        if self._election_timer is None:
            self._election_timer = self.set_timer(self.timeout, "election")

    def _become_follower(self, term: int, leader: str | None = None) -> None:
        was_leader = self.role == LEADER
        changed = term != self.term or self.role != FOLLOWER or self._election_timer is None
        if term != self.term:
            self._set_term(term)
        self.role = FOLLOWER
        self.prevoting = False
        self.leader_id = leader
        if was_leader:
            self._reads.clear()
            for handle in (self._heartbeat_timer, self._flush_timer, self._quorum_timer):
                if handle is not None:
                    self.cancel_timer(handle)
            self._heartbeat_timer = self._flush_timer = self._quorum_timer = None
            self.on_step_down()
        if changed:
            self._draw_timeout()
            self._reset_election_timer()
            self.annotate(role=FOLLOWER, term=self.term)
            self.observer.on_role(self)

    def _start_election(self) -> None:
        """Election timeout: PreVote first if enabled, else a new term (§5.2)."""
        self._draw_timeout()
        self._reset_election_timer()
        self.role = CANDIDATE
        self.leader_id = None
        self.votes = {self.id}
        if self.options.prevote:
            self.prevoting = True
            self.annotate(role=CANDIDATE, term=self.term, prevote=True)
            self.observer.on_role(self)
            self._request_votes(self.term + 1, prevote=True)
        else:
            self._campaign()

    def _campaign(self) -> None:
        self.prevoting = False
        self.votes = {self.id}
        self._set_term(self.term + 1)
        self.stable["voted_for"] = self.id  # persisted before any RequestVote goes out
        self.annotate(role=CANDIDATE, term=self.term)
        self.observer.on_role(self)
        if len(self.votes) >= self.majority:
            self._become_leader()
        else:
            self._request_votes(self.term, prevote=False)

    def _request_votes(self, term: int, prevote: bool) -> None:
        msg = RequestVote(term, self.id, self.last_index, self.last_term, prevote)
        for peer in self.others:
            self.send(peer, msg)

    def _become_leader(self) -> None:
        """Won the election (§5.2): nextIndex = last + 1, matchIndex = 0; optional no-op."""
        self.role = LEADER
        self.leader_id = self.id
        self.prevoting = False
        nxt = self.last_index + 1
        self.next_index = dict.fromkeys(self.others, nxt)
        self.match_index = dict.fromkeys(self.others, 0)
        self.acked_round = dict.fromkeys(self.others, 0)
        self.last_ack = dict.fromkeys(self.others, self.now)
        if self._election_timer is not None:
            self.cancel_timer(self._election_timer)
            self._election_timer = None
        self.annotate(role=LEADER, term=self.term)
        self.observer.on_role(self)
        if self.options.noop:
            self._append_local(None)
        self._broadcast_append()
        self._heartbeat_timer = self.set_timer(self.options.heartbeat, "heartbeat")
        if self.options.check_quorum:
            self._quorum_timer = self.set_timer(self.options.election_timeout[0], "quorum")

    def _check_quorum(self) -> None:
        """CheckQuorum (thesis §6.2): step down without a majority heard from lately."""
        window = self.options.election_timeout[0]
        heard = 1 + sum(1 for p in self.others if self.now - self.last_ack[p] < window)
        if heard < self.majority:
            self._become_follower(self.term)
        else:
            self._quorum_timer = self.set_timer(window, "quorum")

    def _step_down_if_newer(self, term: int) -> bool:
        """Rules for all servers (Figure 2): a higher term makes us a follower of it."""
        if term > self.term:
            self._become_follower(term)
            return True
        return False

    # -- RequestVote (§5.2, §5.4.1) ---------------------------------------------------------
    def _up_to_date(self, last_index: int, last_term: int) -> bool:
        """The election restriction: compare last terms, then lengths (§5.4.1)."""
        mine = self.last_term
        return last_term > mine or (last_term == mine and last_index >= self.last_index)

    def _on_request_vote(self, src: str, m: RequestVote) -> None:
        if m.prevote:
            # Thesis §9.6: grant iff the candidate could win -- a newer term, an up-to-date
            # log -- and we have not heard from a leader within the minimum election timeout.
            quiet = self.now - self.last_leader_contact >= self.options.election_timeout[0]
            granted = (m.term > self.term and quiet and self.role != LEADER
                       and self._up_to_date(m.last_log_index, m.last_log_term))
            self.send(src, RequestVoteReply(self.term, granted, prevote=True))
            return
        self._step_down_if_newer(m.term)
        granted = (m.term == self.term and self.voted_for in (None, m.candidate)
                   and self._up_to_date(m.last_log_index, m.last_log_term))
        if granted:
            if self.voted_for is None:
                self.stable["voted_for"] = m.candidate  # persist before replying
                self.observer.on_role(self)
            self._reset_election_timer()
        self.send(src, RequestVoteReply(self.term, granted))

    def _on_vote_reply(self, src: str, r: RequestVoteReply) -> None:
        if r.prevote:
            if self.role != CANDIDATE or not self.prevoting:
                return
            if r.granted:
                self.votes.add(src)
                if len(self.votes) >= self.majority:
                    self._campaign()
            else:
                self._step_down_if_newer(r.term)
            return
        if self._step_down_if_newer(r.term):
            return
        if self.role == CANDIDATE and not self.prevoting and r.term == self.term and r.granted:
            self.votes.add(src)
            if len(self.votes) >= self.majority:
                self._become_leader()

    def _on_timeout_now(self, src: str, m: TimeoutNow) -> None:
        if m.term >= self.term:
            self.timeout_now()

    # -- AppendEntries, leader side (§5.3) --------------------------------------------------
    def _append_local(self, command: Any) -> int:
        self.stable["log"].append((self.term, command))
        index = self.last_index
        self.observer.on_append(self, index)
        return index

    def _broadcast_append(self) -> None:
        self.round += 1
        for peer in self.others:
            self._send_append(peer)
        if len(self.servers) == 1:
            self._advance_commit()

    def _send_append(self, peer: str) -> None:
        st = self.stable
        nxt = self.next_index[peer]
        base = st["base_index"]
        if nxt <= base:  # the entries it needs are compacted: send the snapshot (§7)
            self.send(peer, InstallSnapshot(self.term, self.id, base, st["base_term"],
                                            st["snapshot"], self.round))
            return
        prev = nxt - 1
        log = st["log"]
        entries = tuple(log[prev - base:prev - base + self.options.max_batch])
        prev_term = st["base_term"] if prev == base else log[prev - base - 1][0]
        self.send(peer, AppendEntries(self.term, self.id, prev, prev_term, entries,
                                      self.commit_index, self.round))
        # Pipelining: assume success, so the next round sends only newer entries. If this
        # request is lost, the next one fails the consistency check and backtracking resends.
        self.next_index[peer] = prev + len(entries) + 1

    def _on_append_reply(self, src: str, r: AppendEntriesReply) -> None:
        if self._step_down_if_newer(r.term) or self.role != LEADER or r.term != self.term:
            return  # a stale reply from an earlier term: ignore it
        self._acked(src, r.round)
        if r.success:
            if r.match_index > self.match_index[src]:
                self.match_index[src] = r.match_index
                self._advance_commit()
            if r.match_index + 1 > self.next_index[src]:
                self.next_index[src] = r.match_index + 1
            if self.role == LEADER and self.next_index[src] <= self.last_index:
                self._send_append(src)  # more to send (a long log, or entries added meanwhile)
            return
        self.next_index[src] = max(self._backtrack(r), self.match_index[src] + 1, 1)
        self._send_append(src)

    def _backtrack(self, r: AppendEntriesReply) -> int:
        """Where to retry after a failed consistency check (§5.3). Without fast
        backtracking, one entry back from the probe that failed (its prevLogIndex, echoed in
        ``match_index``). With it, skip the follower's whole conflicting term: retry after
        the leader's last entry of that term if it has one, else at the follower's first
        index of that term (or after the follower's last entry if its log was too short)."""
        if not self.options.fast_backtrack:
            return r.match_index
        if r.conflict_term:
            for index in range(self.last_index, self.base_index, -1):
                term = self.entry(index)[0]
                if term == r.conflict_term:
                    return index + 1
                if term < r.conflict_term:
                    break
        return r.conflict_index

    def _commit_allowed(self, index: int) -> bool:
        """Figure 8 / §5.4.2: count replicas only for entries of the current term."""
        return self.term_at(index) == self.term

    def _advance_commit(self) -> None:
        """The largest N replicated on a majority, if allowed, becomes committed (Figure 2)."""
        matches = sorted([self.last_index, *self.match_index.values()], reverse=True)
        n = matches[self.majority - 1]
        if n > self.commit_index and self._commit_allowed(n):
            self._set_commit(n)
            self._serve_reads()

    def _acked(self, src: str, round_: int) -> None:
        self.last_ack[src] = self.now
        if round_ > self.acked_round[src]:
            self.acked_round[src] = round_
            if self._reads:
                self._serve_reads()

    def _serve_reads(self) -> None:
        """Serve reads whose round a majority acknowledged and whose index is applied."""
        if not self._reads:
            return
        acks = sorted([self.round, *self.acked_round.values()], reverse=True)
        confirmed = acks[self.majority - 1]
        ready = [r for r in self._reads if r[0] <= confirmed and r[1] <= self.last_applied]
        if ready:
            self._reads = [r for r in self._reads if not (r[0] <= confirmed and r[1] <= self.last_applied)]
            for _round, index, token in ready:
                self.on_read_ready(token, index)

    # -- AppendEntries, follower side (§5.3, Figure 2 receiver rules) ---------------------
    def _heard_from_leader(self, term: int, leader: str) -> None:
        if term > self.term or self.role != FOLLOWER:
            self._become_follower(term, leader)
        self.leader_id = leader
        self.last_leader_contact = self.now
        self._reset_election_timer()

    def _on_append_entries(self, src: str, m: AppendEntries) -> None:
        if m.term < self.term:  # rule 1: reply false if term < currentTerm
            self.send(src, AppendEntriesReply(self.term, False, round=m.round))
            return
        self._heard_from_leader(m.term, m.leader)
        st = self.stable
        base = st["base_index"]
        prev, entries = m.prev_log_index, m.entries
        if prev < base:  # the start is already in our snapshot, hence committed and equal
            skip = base - prev
            entries = entries[skip:] if skip < len(entries) else ()
            prev = base
        elif prev > self.last_index:  # rule 2: no entry at prevLogIndex
            self.send(src, AppendEntriesReply(self.term, False, prev, 0, self.last_index + 1,
                                              m.round))
            return
        elif (t := self.term_at(prev)) != m.prev_log_term:  # rule 2: its term differs
            assert t is not None  # base <= prev <= last_index: the term is known
            first = prev
            while first - 1 > base and self.entry(first - 1)[0] == t:
                first -= 1
            self.send(src, AppendEntriesReply(self.term, False, prev, t, first, m.round))
            return
        # rules 3 and 4: delete only on a real conflict, then append what is missing (D4)
        log = st["log"]
        index = prev
        for k, entry in enumerate(entries):
            index = prev + 1 + k
            if index <= base + len(log):
                if log[index - base - 1][0] == entry[0]:
                    continue
                self.observer.on_truncate(self, index)
                del log[index - base - 1:]
            log.extend(entries[k:])
            self.observer.on_append(self, index)
            break
        match = m.prev_log_index + len(m.entries)
        if m.leader_commit > self.commit_index:  # rule 5
            new = min(m.leader_commit, match)
            if new > self.commit_index:
                self._set_commit(new)
        self.send(src, AppendEntriesReply(self.term, True, match, round=m.round))

    # -- InstallSnapshot (§7, Figure 13) ----------------------------------------------------
    def _on_install_snapshot(self, src: str, m: InstallSnapshot) -> None:
        if m.term < self.term:
            self.send(src, InstallSnapshotReply(self.term, 0, m.round))
            return
        self._heard_from_leader(m.term, m.leader)
        lii, lit = m.last_included_index, m.last_included_term
        if lii > self.commit_index:
            st = self.stable
            if self.term_at(lii) == lit:  # keep the entries that follow the snapshot
                del st["log"][:lii - st["base_index"]]
            else:
                if st["log"]:
                    self.observer.on_truncate(self, st["base_index"] + 1)
                st["log"].clear()
            st["base_index"], st["base_term"], st["snapshot"] = lii, lit, m.data
            self.observer.on_snapshot(self)
            old = self.commit_index
            self.commit_index = self.last_applied = lii
            self.observer.on_commit(self, old, lii)
            self._deliver(ApplyMsg(lii, lit, snapshot_valid=True, snapshot=m.data))
        self.send(src, InstallSnapshotReply(self.term, lii, m.round))

    def _on_snapshot_reply(self, src: str, r: InstallSnapshotReply) -> None:
        if self._step_down_if_newer(r.term) or self.role != LEADER or r.term != self.term:
            return
        self._acked(src, r.round)
        if r.last_included_index > self.match_index[src]:
            self.match_index[src] = r.last_included_index
            self._advance_commit()
        self.next_index[src] = max(self.next_index[src], r.last_included_index + 1)
        if self.role == LEADER and self.next_index[src] <= self.last_index:
            self._send_append(src)

    # -- commit and apply ---------------------------------------------------------------------
    def _set_commit(self, index: int) -> None:
        old = self.commit_index
        self.commit_index = index
        self.observer.on_commit(self, old, index)
        if self.role == LEADER:
            self.annotate(commit=index)
        while self.last_applied < self.commit_index:
            self.last_applied += 1
            i = self.last_applied
            term, command = self.entry(i)
            self._deliver(ApplyMsg(i, term, command))

    def _deliver(self, msg: ApplyMsg) -> None:
        self.observer.on_apply(self, msg)
        self.on_apply(msg)
