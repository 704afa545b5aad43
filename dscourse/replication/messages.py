"""Messages of the replicated store: frozen dataclasses, plain data.

A timestamp ``ts`` is a pair ``(counter, writer)`` compared lexicographically: for
last-writer-wins the counter is the writer's clock in ms; for ABD it is an integer tag
(Attiya, Bar-Noy & Dolev 1995, §3: a "label" made unique by the writer's id).
"""

from __future__ import annotations

from dataclasses import dataclass

Timestamp = tuple  # (counter: int | float, writer: str)
ZERO: Timestamp = (0, "")


@dataclass(frozen=True)
class Read:
    """Client -> replica: send me your version of ``key`` (operation ``op``)."""

    key: str
    op: int


@dataclass(frozen=True)
class ReadReply:
    """Replica -> client: my version of ``key``."""

    key: str
    op: int
    ts: Timestamp
    value: str


@dataclass(frozen=True)
class Write:
    """Client -> replica: store ``value`` at ``ts`` if newer. ``hint_for`` names the home
    replica a fallback holds it for (sloppy quorum, DeCandia et al. 2007, §4.6)."""

    key: str
    op: int
    ts: Timestamp
    value: str
    hint_for: str | None = None


@dataclass(frozen=True)
class WriteAck:
    """Replica -> client: stored (or already had something newer)."""

    key: str
    op: int


@dataclass(frozen=True)
class Repair:
    """Client -> stale replica after a read: the newest version seen (read repair)."""

    key: str
    ts: Timestamp
    value: str


@dataclass(frozen=True)
class Handoff:
    """Fallback -> home replica: a write held for you while you were unreachable."""

    hint: int
    key: str
    ts: Timestamp
    value: str


@dataclass(frozen=True)
class HandoffAck:
    """Home replica -> fallback: hint ``hint`` delivered; forget it."""

    hint: int


@dataclass(frozen=True)
class TreeHashes:
    """Anti-entropy: my Merkle hashes at ``level`` for the node ``indices`` (one exchange
    round of the descent; the receiver answers with the children that differ)."""

    level: int
    indices: tuple[int, ...]
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class TreeEntries:
    """Anti-entropy: my entries ``(key, ts, value)`` in the differing leaf ``buckets``;
    ``reply`` asks the receiver to send its own entries of those buckets back."""

    buckets: tuple[int, ...]
    entries: tuple[tuple, ...]
    reply: bool
