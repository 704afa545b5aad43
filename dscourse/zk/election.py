"""FastLeaderElection (``org.apache.zookeeper.server.quorum.FastLeaderElection``).

A server that is LOOKING votes for itself with (peer_epoch, zxid, myid) = (its current epoch,
its last logged zxid, its id), sends the vote to every voter, and adopts any vote that is
larger in that order (:func:`total_order`, the source's ``totalOrderPredicate``; seed erratum
E8: the epoch comes *first*). Votes are grouped by election round (``logicalclock``): a vote
from a later round resets the tally, one from an earlier round is ignored. When a quorum of
voters (never observers: zero weight) backs its current proposal and nothing better arrives
within ``finalize_wait``, the server decides: LEADING if the proposal is itself, else
FOLLOWING. A server that joins late learns the leader from the votes of servers already
FOLLOWING / LEADING (``outofelection``, checked with ``checkLeader``). ZooKeeper Internals,
"Leader Activation"; Medeiros, "ZooKeeper's atomic broadcast protocol: theory and practice"
(2012), §3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .messages import Notification

LOOKING, FOLLOWING, LEADING, OBSERVING = "LOOKING", "FOLLOWING", "LEADING", "OBSERVING"


def total_order(new: tuple[int, int, int], cur: tuple[int, int, int]) -> bool:
    """True when vote ``new`` = (peer_epoch, zxid, myid) beats ``cur`` (``totalOrderPredicate``)."""
    return new > cur


def same_leader(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    """Votes of servers out of the election agree when they name the same leader and epoch
    (``Vote.equals`` for non-LOOKING states: the zxids they saw may differ)."""
    return a[2] == b[2] and a[0] == b[0]


def vote_key(n: Notification) -> tuple[int, int, int]:
    return (n.peer_epoch, n.zxid, n.leader)


@dataclass
class Election:
    """One server's FastLeaderElection state for the current ``lookForLeader`` call."""

    myid: int
    voters: frozenset[int]
    round: int
    proposal: tuple[int, int, int]  # (peer_epoch, zxid, leader)
    initial: tuple[int, int, int] = (0, 0, 0)  # this server's own vote (getInitId etc.)
    better: Callable[[tuple[int, int, int], tuple[int, int, int]], bool] = total_order
    recvset: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    outofelection: dict[int, tuple[tuple[int, int, int], int, str]] = field(default_factory=dict)

    def quorum(self, backers: set[int]) -> bool:
        return 2 * len(backers & self.voters) > len(self.voters)

    def receive(self, n: Notification) -> str | None:
        """Process one notification while LOOKING (the body of ``lookForLeader``'s loop).

        Returns "send" when this server's vote changed and must be re-sent, "decided?" when a
        quorum backs the proposal (the caller waits ``finalize_wait`` for a better vote), "join"
        when the leader is known from servers already out of the election, else None."""
        if n.sid not in self.voters:  # observers have zero weight
            return None
        theirs = vote_key(n)
        if n.state == LOOKING:
            changed = False
            if n.round > self.round:
                self.round = n.round
                self.recvset.clear()
                mine = self.initial
                self.proposal = theirs if self.better(theirs, mine) else mine
                changed = True
            elif n.round < self.round:
                return None
            elif self.better(theirs, self.proposal):
                self.proposal = theirs
                changed = True
            self.recvset[n.sid] = theirs
            backers = {s for s, v in self.recvset.items() if v == self.proposal}
            if self.myid in self.voters:
                backers.add(self.myid)
            if self.quorum(backers):
                return "decided?" if not changed else "send+decided?"
            return "send" if changed else None
        # the sender is FOLLOWING or LEADING: it already knows a leader
        self.outofelection[n.sid] = (theirs, n.round, n.state)
        if n.round == self.round:
            self.recvset[n.sid] = theirs
            backers = {s for s, v in self.recvset.items() if same_leader(v, theirs)}
            if self.quorum(backers) and self._leader_ok(theirs[2], n):
                self.proposal = theirs
                return "join"
        backers = {s for s, (v, _, _) in self.outofelection.items() if same_leader(v, theirs)}
        if self.quorum(backers) and self._leader_ok(theirs[2], n):
            self.round = n.round
            self.proposal = theirs
            return "join"
        return None

    def _leader_ok(self, leader: int, n: Notification) -> bool:
        """``checkLeader``: the leader itself must be among those claiming LEADING, unless it is us."""
        if leader == self.myid:
            return True
        entry = self.outofelection.get(leader)
        if n.sid == leader:
            return n.state == LEADING
        return entry is not None and entry[2] == LEADING
