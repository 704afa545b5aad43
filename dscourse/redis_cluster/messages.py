"""Cluster-bus and client messages (frozen dataclasses: plain data for the trace).

Cluster bus (Redis Cluster Specification, "Cluster bus", "Heartbeat packet content",
"Gossip section"): ``Ping`` with ``kind`` "ping", "pong" or "meet" carries the sender's
header (role, its master, config epoch, current epoch, slots) and a gossip section of a few
node entries; ``Fail`` forces receivers to flag a node FAIL; ``AuthRequest``/``AuthAck`` are
FAILOVER_AUTH_REQUEST/ACK ("Replica election and promotion"); ``Replicate`` is the
asynchronous replication stream; ``MigrateKeys``/``MigrateAck`` are MIGRATE.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GossipEntry:
    """What the sender knows about one other node: its flags and ping/pong times."""

    name: str
    flags: tuple[str, ...]
    ping_sent: float
    pong_received: float


@dataclass(frozen=True)
class Ping:
    kind: str                                   # "ping" | "pong" | "meet"
    sender: str
    role: str                                   # "master" | "replica"
    master: str | None
    config_epoch: int
    current_epoch: int
    slots: tuple[tuple[int, int], ...]
    gossip: tuple[GossipEntry, ...]


@dataclass(frozen=True)
class Fail:
    about: str


@dataclass(frozen=True)
class AuthRequest:
    epoch: int
    master: str


@dataclass(frozen=True)
class AuthAck:
    epoch: int


@dataclass(frozen=True)
class Replicate:
    key: str
    value: str | None
    offset: int


@dataclass(frozen=True)
class Command:
    """A client command: ``op`` "get" or "set"; ``asking`` = preceded by ASKING."""

    req: int
    op: str
    key: str
    value: str | None = None
    asking: bool = False


@dataclass(frozen=True)
class Reply:
    """``kind`` "ok", "value", "moved", "ask" or "err"; redirections name ``slot`` and ``node``."""

    req: int
    kind: str
    value: str | None = None
    slot: int = -1
    node: str = ""


@dataclass(frozen=True)
class MigrateKeys:
    slot: int
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MigrateAck:
    slot: int
    keys: tuple[str, ...]
