"""Short seeded scenarios behind Chapter 6's demonstrations of three safety mechanisms.

* :func:`restriction_run` -- the election restriction (§5.4.1): without it, a server whose
  log lacks a committed entry can win an election and overwrite that entry.
* :func:`check_quorum_run` -- CheckQuorum (thesis §6.2): a leader cut off from a majority
  steps down instead of leading (and accepting commands) forever.
* :class:`LeaseRaft` and :func:`lease_run` -- leader leases for reads (thesis §6.4.1): a
  leader serves reads locally while a majority acknowledged it recently, which is safe only
  if the lease allows for the clocks' drift.

Each returns plain data, so the chapter prints it and the tests check it over many seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Constant, reliable
from .builder import RaftCluster
from .node import LEADER, RaftNode
from .options import RaftOptions


# -- the election restriction ----------------------------------------------------------------
@dataclass(frozen=True)
class RestrictionRun:
    """``committed`` -- the entry a majority stored and the leader committed, as
    ``(index, (term, command))``; ``winner`` -- who won the election after that leader
    crashed; ``survived`` -- whether every live server still holds the entry at the end;
    ``violations`` -- what the safety monitors reported."""

    committed: tuple[int, tuple[int, Any]]
    behind: str
    winner: str | None
    survived: bool
    violations: tuple[str, ...]


def restriction_run(node_class: type[RaftNode] = RaftNode, seed: int = 1) -> RestrictionRun:
    """Three servers. One follower (``behind``) is cut off while the leader commits ``x=1``
    with the other; then the leader crashes, the network heals, and ``behind`` times out
    first. With the restriction the third server refuses to vote for it (its log is shorter);
    without it (:class:`~dscourse.raft.mutants.NoElectionRestrictionRaft`) ``behind`` wins
    and its first entry overwrites the committed one."""
    c = RaftCluster(3, seed, network=reliable(Constant(1.0)), node_class=node_class,
                    options=RaftOptions(election_timeout=(150, 300), prevote=False))
    leader = c.run_until_leader()
    if leader is None:
        raise RuntimeError(f"no first leader on seed {seed}")
    c.run(20)  # the no-op reaches everyone
    behind = next(s for s in c.ids if s != leader)
    c.partition([behind])
    index, _, _ = c.submit("x=1", leader)
    c.sim.run_until(lambda: c.nodes[leader].commit_index >= index, 100)
    entry = c.nodes[leader].entry(index)
    c.crash(leader)
    c.heal()
    c.timeout(behind)
    c.run(1500)
    live = [s for s in c.ids if c.up(s)]
    survived = all(c.nodes[s].last_index >= index and c.nodes[s].entry(index) == entry
                   for s in live)
    return RestrictionRun((index, entry), behind, c.leader(), survived,
                          tuple(str(v) for v in c.violations))


# -- CheckQuorum -------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuorumRun:
    """``old`` -- the leader that was isolated; ``stepped_down_at`` -- ms after the isolation
    it stopped leading (``None``: never, within ``isolated_for``); ``accepted`` -- commands
    it took while isolated (none can commit); ``new_leader`` -- the majority's leader."""

    old: str
    stepped_down_at: float | None
    accepted: int
    new_leader: str | None


def check_quorum_run(check_quorum: bool, seed: int = 1, isolated_for: float = 1000.0,
                     every: float = 50.0) -> QuorumRun:
    """Five servers; the leader is isolated for ``isolated_for`` ms while a client sends it a
    command every ``every`` ms (a client cut off with it, say)."""
    if not isolated_for > 0 or not every > 0:
        raise allowed("isolated_for/every", (isolated_for, every), "positive ms")
    c = RaftCluster(5, seed, options=RaftOptions(check_quorum=check_quorum))
    old = c.run_until_leader()
    if old is None:
        raise RuntimeError(f"no first leader on seed {seed}")
    c.partition([old])
    start, accepted, down = c.now, 0, None
    while c.now - start < isolated_for:
        if c.nodes[old].role == LEADER:
            accepted += c.submit(f"cmd{accepted}", old)[2]
        elif down is None:
            down = c.now - start
        c.run(every)
    if down is None and c.nodes[old].role != LEADER:
        down = c.now - start
    new = [s for s in c.ids if s != old and c.nodes[s].role == LEADER]
    return QuorumRun(old, down, accepted, new[0] if new else None)


# -- leader leases for reads -----------------------------------------------------------------
class LeaseRaft(RaftNode):
    """Raft with leader leases for reads (thesis §6.4.1). A lease starts when the leader
    *sends* a heartbeat round, read on its own clock, and lasts until a majority could have
    timed out: ``election_timeout_min * (1 - bound) / (1 + bound)`` for clocks whose rates
    differ from true time by at most ``bound`` (``drift_bound``, a fraction). The round's
    start counts once a majority acknowledged that round or a later one.
    """

    def __init__(self, id: str, servers: Any, options: RaftOptions | None = None,
                 observer: Any = None, drift_bound: float = 0.0) -> None:
        super().__init__(id, servers, options, observer)
        if isinstance(drift_bound, bool) or not isinstance(drift_bound, (int, float)) \
                or not 0 <= drift_bound < 1:
            raise allowed("drift_bound", drift_bound, "a fraction, 0 <= drift_bound < 1")
        self.drift_bound = float(drift_bound)
        self._round_sent: dict[int, float] = {}

    def _broadcast_append(self) -> None:
        super()._broadcast_append()
        self._round_sent[self.round] = self.monotonic()
        oldest = min(self.acked_round.values(), default=self.round)
        for r in [r for r in self._round_sent if r < oldest]:
            del self._round_sent[r]

    def lease_expiry(self) -> float:
        """When the lease ends, on this server's monotonic clock (``-inf`` without one)."""
        if self.role != LEADER:
            return float("-inf")
        acks = sorted([self.round, *self.acked_round.values()], reverse=True)
        start = self._round_sent.get(acks[self.majority - 1])
        if start is None:
            return float("-inf")
        b = self.drift_bound
        return start + self.options.election_timeout[0] * (1 - b) / (1 + b)

    def lease_read(self) -> bool:
        """May this server answer a read from its own state now? Only a leader with an
        entry of its term committed (like ReadIndex) and an unexpired lease."""
        return (self.role == LEADER and self.term_at(self.commit_index) == self.term
                and self.monotonic() < self.lease_expiry())


@dataclass(frozen=True)
class LeaseRun:
    """``last_lease_read`` -- the last instant (true ms) the isolated old leader still
    answered a read locally; ``newer_commit`` -- when the new leader committed ``x=2``
    (``None``: not within the run); ``stale_reads`` -- reads the old leader answered with
    ``x=1`` after that commit."""

    old: str
    last_lease_read: float | None
    newer_commit: float | None
    stale_reads: int


def lease_run(drift_bound: float, drift: float = 0.2, seed: int = 1, every: float = 1.0) -> LeaseRun:
    """Five servers with leases computed for ``drift_bound``; once ``x=1`` is committed the
    leader's clock runs slow by ``drift`` and the followers' fast by ``drift`` (fractions),
    the worst case a bound of ``drift`` allows. The leader is then isolated, and a client
    beside it asks for a lease read every ``every`` ms while the others elect a new leader
    and commit ``x=2``."""
    c = RaftCluster(5, seed, network=reliable(Constant(1.0)), node_class=LeaseRaft,
                    options=RaftOptions(election_timeout=(150, 165), heartbeat=50),
                    drift_bound=drift_bound)
    old = c.run_until_leader()
    if old is None:
        raise RuntimeError(f"no first leader on seed {seed}")
    c.submit("x=1", old)
    c.run(100)
    for s in c.ids:
        c.sim.clock_drift(s, (-drift if s == old else drift) * 1e6)
    c.run(30)
    c.partition([old])
    start, node = c.now, c.nodes[old]
    assert isinstance(node, LeaseRaft)  # built with node_class=LeaseRaft
    last = newer = None
    stale = 0
    pending: tuple[str, int] | None = None
    while c.now < start + 600:
        c.run(every)
        if pending is None:
            new = [c.nodes[s] for s in c.ids if s != old and c.nodes[s].role == LEADER]
            if new and new[0].term_at(new[0].commit_index) == new[0].term:
                pending = (new[0].id, new[0].start("x=2")[0])
        elif newer is None and c.nodes[pending[0]].commit_index >= pending[1]:
            newer = c.now
        if node.lease_read():
            last = c.now
            stale += newer is not None
    return LeaseRun(old, last, newer, stale)
