"""Messages of the ensemble: FastLeaderElection notifications, the ZAB quorum packets, and the
client protocol. All frozen dataclasses (plain data in the trace).

Quorum packet names follow ``org.apache.zookeeper.server.quorum.Leader`` (FOLLOWERINFO,
LEADERINFO, ACKEPOCH, DIFF, TRUNC, SNAP, NEWLEADER, UPTODATE, PROPOSAL, ACK, COMMIT, INFORM,
PING, REQUEST, SYNC, REVALIDATE) and the phases of Junqueira, Reed & Serafini, "Zab:
High-performance broadcast for primary-backup systems" (DSN 2011), §III. Every packet on a
leader-learner connection carries the connection id and a sequence number: the connection is
a TCP stream, so a lost packet breaks it (the receiver sees a gap) instead of being skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def zxid(epoch: int, counter: int) -> int:
    """``ZxidUtils.makeZxid``: the epoch in the high 32 bits, the counter in the low 32."""
    return (epoch << 32) | (counter & 0xFFFFFFFF)


def epoch_of(z: int) -> int:
    return z >> 32


def counter_of(z: int) -> int:
    return z & 0xFFFFFFFF


def zxid_str(z: int) -> str:
    """``epoch:counter``, the way the chapter's ticker shows a zxid."""
    return f"{epoch_of(z)}:{counter_of(z)}"


# -- FastLeaderElection ---------------------------------------------------------------------
@dataclass(frozen=True)
class Notification:
    """A vote: (leader, zxid, peer_epoch) proposed by ``sid`` in election round ``round``
    (``FastLeaderElection.Notification``; ``round`` is its electionEpoch / logicalclock)."""

    leader: int
    zxid: int
    round: int
    state: str
    sid: int
    peer_epoch: int


# -- ZAB: discovery and synchronization ------------------------------------------------------
@dataclass(frozen=True)
class FollowerInfo:
    conn: int
    seq: int
    sid: int
    accepted_epoch: int
    observer: bool


@dataclass(frozen=True)
class LeaderInfo:
    conn: int
    seq: int
    new_epoch: int


@dataclass(frozen=True)
class AckEpoch:
    conn: int
    seq: int
    current_epoch: int
    last_zxid: int


@dataclass(frozen=True)
class Diff:
    conn: int
    seq: int
    zxid: int


@dataclass(frozen=True)
class Trunc:
    conn: int
    seq: int
    zxid: int


@dataclass(frozen=True)
class Snap:
    conn: int
    seq: int
    zxid: int
    tree: Any


@dataclass(frozen=True)
class NewLeader:
    conn: int
    seq: int
    zxid: int


@dataclass(frozen=True)
class UpToDate:
    conn: int
    seq: int


# -- ZAB: broadcast ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Txn:
    """A logged transaction: its zxid, time, the session and request id it answers, the txn."""

    zxid: int
    time: int
    session: int
    cxid: int
    txn: Any


@dataclass(frozen=True)
class Proposal:
    conn: int
    seq: int
    p: Txn


@dataclass(frozen=True)
class Ack:
    conn: int
    seq: int
    zxid: int


@dataclass(frozen=True)
class Commit:
    conn: int
    seq: int
    zxid: int


@dataclass(frozen=True)
class Inform:
    """COMMIT for an observer, which never saw the proposal (Observers guide)."""

    conn: int
    seq: int
    p: Txn


@dataclass(frozen=True)
class Ping:
    """Leader -> learner heartbeat; learner -> leader reply carrying the sessions its clients
    touched (``Learner.ping``, session tracking by the leader)."""

    conn: int
    seq: int
    sessions: tuple[int, ...] = ()


@dataclass(frozen=True)
class Request:
    """A write (or a sync) a learner forwards to the leader, with the identities its
    connection authenticated as (``QuorumPacket.authinfo``): the leader checks ACLs."""

    conn: int
    seq: int
    session: int
    cxid: int
    op: tuple
    auth: tuple = ()


@dataclass(frozen=True)
class SyncDone:
    """The leader's answer to a forwarded sync, queued behind every earlier commit."""

    conn: int
    seq: int
    session: int
    cxid: int


@dataclass(frozen=True)
class Revalidate:
    conn: int
    seq: int
    session: int
    timeout_ms: int


@dataclass(frozen=True)
class RevalidateReply:
    conn: int
    seq: int
    session: int
    valid: bool


# -- client <-> server --------------------------------------------------------------------
# A client connection is a TCP stream too: requests and pings carry the client's sequence
# number, replies, events and ping replies the server's; a gap (a message the network lost)
# breaks the connection, and the client reconnects with its session, as after a TCP reset; a
# duplicate is dropped. TCP never reorders: ``Ensemble`` makes ZooKeeper's links FIFO.
@dataclass(frozen=True)
class ConnectRequest:
    session: int
    timeout_ms: int
    last_zxid: int
    attempt: int
    ip: str = "127.0.0.1"  # the address the server sees (its ``ip`` ACL identity)


@dataclass(frozen=True)
class ConnectResponse:
    session: int
    timeout_ms: int
    expired: bool
    attempt: int


@dataclass(frozen=True)
class ClientRequest:
    session: int
    xid: int
    op: tuple
    seq: int = 0  # position on this connection (a TCP stream: a gap breaks it)


@dataclass(frozen=True)
class ClientReply:
    xid: int
    zxid: int
    err: int
    result: Any
    seq: int = 0  # position on this connection (a TCP stream: a gap breaks it)


@dataclass(frozen=True)
class WatcherEvent:
    type: str
    path: str
    zxid: int
    seq: int = 0  # position on this connection (a TCP stream: a gap breaks it)


@dataclass(frozen=True)
class ClientPing:
    session: int
    seq: int = 0  # position on this connection (a TCP stream: a gap breaks it)


@dataclass(frozen=True)
class PingReply:
    zxid: int
    seq: int = 0  # position on this connection (a TCP stream: a gap breaks it)


@dataclass(frozen=True)
class Disconnect:
    """The server closes the client's connection (it left the quorum, or the session ended)."""

    session: int
    expired: bool
