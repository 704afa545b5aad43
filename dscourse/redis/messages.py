"""Messages between Redis clients and :class:`~dscourse.redis.server.RedisServer`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    """A client request: ``req`` (the client's request id) and the command words."""

    req: int
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Reply:
    """The server's answer to ``Command(req, ...)``: a value, or an ``error`` string."""

    req: int
    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Published:
    """A message on a channel this node subscribed to (``SUBSCRIBE``): pub/sub delivery."""

    channel: str
    message: str


@dataclass(frozen=True)
class Replicate:
    """A write effect streamed from a master to its replica (asynchronous replication)."""

    effect: tuple[Any, ...]
