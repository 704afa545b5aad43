"""Raft's RPCs as frozen dataclasses (extended paper, Figure 2 and Figure 13).

Requests and replies are separate one-way messages (the simulator has no RPC pairing), so
every reply carries what the requester needs to use it safely when it arrives late or twice:
its term, and the range of the log it acknowledges. Reply class names end in ``Reply`` so
the network's long-reordering model (labrpc's) recognizes them.

A log entry is the tuple ``(term, command)``; its index is its position (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Entry = tuple[int, Any]


@dataclass(frozen=True)
class RequestVote:
    """RequestVote RPC (§5.2, §5.4.1); ``prevote`` marks a PreVote round (thesis §9.6),
    whose ``term`` is the term the candidate *would* use."""

    term: int
    candidate: str
    last_log_index: int
    last_log_term: int
    prevote: bool = False


@dataclass(frozen=True)
class RequestVoteReply:
    term: int
    granted: bool
    prevote: bool = False


@dataclass(frozen=True)
class AppendEntries:
    """AppendEntries RPC (§5.3); ``round`` numbers the leader's broadcasts so a reply can
    confirm leadership for a ReadIndex read (thesis §6.4)."""

    term: int
    leader: str
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int
    round: int = 0


@dataclass(frozen=True)
class AppendEntriesReply:
    """``match_index`` is prev_log_index + len(entries) on success. On failure
    ``conflict_term``/``conflict_index`` drive fast backtracking (§5.3, the paragraph after
    Figure 7): the follower's term at prev_log_index and the first index it holds with that
    term, or ``conflict_term = 0`` and ``conflict_index = its last index + 1``."""

    term: int
    success: bool
    match_index: int = 0
    conflict_term: int = 0
    conflict_index: int = 0
    round: int = 0


@dataclass(frozen=True)
class InstallSnapshot:
    """InstallSnapshot RPC (§7, Figure 13), sent in one chunk."""

    term: int
    leader: str
    last_included_index: int
    last_included_term: int
    data: Any
    round: int = 0


@dataclass(frozen=True)
class InstallSnapshotReply:
    term: int
    last_included_index: int
    round: int = 0


@dataclass(frozen=True)
class TimeoutNow:
    """Ask a server to start an election at once (thesis §3.10, used by leadership transfer
    and by the visualizer's "time out" button)."""

    term: int


@dataclass(frozen=True)
class ApplyMsg:
    """What a server hands its state machine, like 6.5840's ``ApplyMsg``: either a committed
    command (``snapshot_valid`` False) or a snapshot to install (§7)."""

    index: int
    term: int
    command: Any = None
    snapshot_valid: bool = False
    snapshot: Any = None


REQUESTS = ("RequestVote", "AppendEntries", "InstallSnapshot")
