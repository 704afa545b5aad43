"""Ids from Redis ``INCR`` on the simulated :class:`~dscourse.redis.RedisServer`.

``INCR`` is atomic, so concurrent clients never get the same value *from one running
server*. Durability is another matter (seed erratum G7): with RDB snapshots or AOF
``everysec``/``no``, increments acknowledged before a host crash may be lost, and after the
restart the counter hands the same values out again. ``appendfsync always`` (or adding a
high-water-mark offset after every restart) prevents the repeat.
"""

from __future__ import annotations

from typing import Any

from ..redis import Command, Reply
from .allocator import RoundTripAllocator
from .messages import Issued


class RedisIncrClient(RoundTripAllocator):
    """One application instance taking ids with ``INCR key`` (a timeout retries)."""

    def __init__(self, id: str, *, redis: str = "redis", key: str = "id", sink: list[Issued],
                 demand_interval_ms: float = 1.0, timeout_ms: float = 50.0,
                 stop_ms: float | None = None) -> None:
        super().__init__(id, sink=sink, demand_interval_ms=demand_interval_ms,
                         timeout_ms=timeout_ms, stop_ms=stop_ms)
        self.redis, self.key = redis, key

    def request(self) -> None:
        self.call(self.redis, lambda req: Command(req, ("INCR", self.key)), "incr", self.timeout_ms)

    def on_incr(self, reply: Reply, ctx: Any) -> None:
        self.received(None if reply.error is not None else int(reply.value))

    def on_incr_timeout(self, ctx: Any) -> None:
        self.request()
