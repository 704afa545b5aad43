"""The messages of the atomic commitment protocols, as frozen dataclasses (plain data).

A transaction's work on one participant is a tuple of :data:`Write` pairs ``(key, delta)``:
add ``delta`` to the row ``key`` (a transfer is ``(("alice", -30),)`` on one participant and
``(("bob", 30),)`` on another).
"""

from __future__ import annotations

from dataclasses import dataclass

Write = tuple[str, int]


@dataclass(frozen=True)
class Prepare:
    """2PC phase 1 (Gray 1978: "prepare"; 3PC's CanCommit): do the work, log it, vote."""

    txid: str
    writes: tuple[Write, ...]


@dataclass(frozen=True)
class Vote:
    """A participant's vote: ``yes`` means prepared (it can commit whatever happens next)."""

    txid: str
    yes: bool


@dataclass(frozen=True)
class PreCommit:
    """3PC's extra phase (Skeen 1981): everyone voted yes; not yet committed."""

    txid: str


@dataclass(frozen=True)
class PreAck:
    """A participant logged the pre-commit."""

    txid: str


@dataclass(frozen=True)
class Decision:
    """Phase 2: ``commit`` True (Commit / DoCommit) or False (Abort / Rollback)."""

    txid: str
    commit: bool


@dataclass(frozen=True)
class Ack:
    """A participant applied the decision (the coordinator may then forget the transaction)."""

    txid: str


@dataclass(frozen=True)
class DecisionRequest:
    """An in-doubt participant asks for the outcome (recovery and cooperative termination)."""

    txid: str
