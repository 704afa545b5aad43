"""Paxos messages and ballots (Lamport, "Paxos Made Simple", SIGACT News 32(4), 2001, §2.2).

A ballot (proposal number) is a pair ``(round, node_id)``: rounds order ballots and the
proposer's id breaks ties, so two proposers never use the same number (§2.2, "different
proposers choose their numbers from disjoint sets"). Every message is a frozen dataclass:
plain data, so traces, the model checker's state hashes and the debugger can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class Ballot(NamedTuple):
    """A proposal number ``(round, node)``; compared as a tuple (round first)."""

    round: int
    node: str

    def __str__(self) -> str:
        return f"({self.round},{self.node})" if self.node else "(0,-)"

    def __reduce__(self) -> tuple[Any, ...]:   # unpickle in C (the model checker copies states)
        return tuple.__new__, (Ballot, tuple(self))


ZERO = Ballot(0, "")
"""Lower than every real ballot: what an acceptor has promised before any Prepare."""


class Vote(NamedTuple):
    """A proposal an acceptor accepted: ballot and value."""

    ballot: Ballot
    value: Any

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple.__new__, (Vote, tuple(self))


# -- Basic Paxos (one instance) ------------------------------------------------------------
@dataclass(frozen=True)
class Prepare:
    """Phase 1a: "promise not to accept any proposal numbered below ``ballot``"."""

    ballot: Ballot


@dataclass(frozen=True)
class Promise:
    """Phase 1b: the promise, with the highest-numbered proposal accepted so far (or None)."""

    ballot: Ballot
    accepted: Vote | None


@dataclass(frozen=True)
class Accept:
    """Phase 2a: "accept proposal ``(ballot, value)``"."""

    ballot: Ballot
    value: Any


@dataclass(frozen=True)
class Accepted:
    """Phase 2b: the acceptor accepted ``(ballot, value)`` (sent to the proposer and learners)."""

    ballot: Ballot
    value: Any


@dataclass(frozen=True)
class Nack:
    """A rejection (an optimization, §2.2: the acceptor tells the proposer to stop early)."""

    ballot: Ballot
    promised: Ballot


@dataclass(frozen=True)
class Heartbeat:
    """A proposer's "I am alive" to the other proposers (leader election, §2.4)."""

    round: int


# -- Multi-Paxos (§3) ----------------------------------------------------------------------
@dataclass(frozen=True)
class MPrepare:
    """Phase 1a for every slot from ``first`` on, at once (§3)."""

    ballot: Ballot
    first: int


@dataclass(frozen=True)
class MPromise:
    """Phase 1b for all slots: the votes for slots ``>= first`` as ``(slot, ballot, value)``."""

    ballot: Ballot
    votes: tuple[tuple[int, Ballot, Any], ...]


@dataclass(frozen=True)
class MAccept:
    """Phase 2a for one slot."""

    ballot: Ballot
    slot: int
    value: Any


@dataclass(frozen=True)
class MAccepted:
    """Phase 2b for one slot (to the leader)."""

    ballot: Ballot
    slot: int


@dataclass(frozen=True)
class MNack:
    """A rejection that tells the sender the higher ballot it ran into."""

    ballot: Ballot
    promised: Ballot


@dataclass(frozen=True)
class MDecide:
    """The leader tells a replica that ``value`` was chosen for ``slot``."""

    slot: int
    value: Any


@dataclass(frozen=True)
class MHeartbeat:
    """The leader's heartbeat: its ballot and how many slots are decided in a row."""

    ballot: Ballot
    decided: int


@dataclass(frozen=True)
class MCatchup:
    """A replica asks for the decided values of slots ``>= first``."""

    first: int


@dataclass(frozen=True)
class Command:
    """A client command: ``op`` is ``("get", k)``, ``("put", k, v)`` or ``("append", k, v)``."""

    client: str
    seq: int
    op: tuple


@dataclass(frozen=True)
class Request:
    """A client asks a replica to run ``command``."""

    command: Command


@dataclass(frozen=True)
class Reply:
    """The result of ``(client, seq)``; ``ok`` False means "not the leader, try ``hint``"."""

    seq: int
    ok: bool
    result: Any = None
    hint: str | None = None


NOOP = ("noop",)
"""The value a new leader proposes to fill a gap in the log (§3)."""
