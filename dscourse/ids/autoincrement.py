"""Database auto-increment as an id source: one round trip per id.

With one database every id costs a round trip and the database is a single point of failure.
With N masters configured ``auto_increment_increment = N`` and ``auto_increment_offset = k``
(MySQL system variables), master k hands out k, k+N, k+2N, ...: disjoint, but no longer
ordered across masters, and adding a master means renumbering every offset.
"""

from __future__ import annotations

from typing import Any

from ..errors import allowed
from .allocator import RoundTripAllocator
from .messages import Insert, Inserted, Issued


class AutoIncrementClient(RoundTripAllocator):
    """Inserts a row per id into ``dbs`` round-robin; a timeout moves on to the next database
    (the row may then exist twice: harmless, ids stay unique)."""

    def __init__(self, id: str, *, dbs: list[str], sink: list[Issued],
                 demand_interval_ms: float = 1.0, timeout_ms: float = 50.0,
                 stop_ms: float | None = None) -> None:
        super().__init__(id, sink=sink, demand_interval_ms=demand_interval_ms,
                         timeout_ms=timeout_ms, stop_ms=stop_ms)
        if not isinstance(dbs, (list, tuple)) or not dbs or not all(isinstance(d, str) for d in dbs):
            raise allowed("dbs", dbs, "a non-empty list of database node ids")
        self.dbs = list(dbs)
        self.turn = 0

    def request(self) -> None:
        db = self.dbs[self.turn % len(self.dbs)]
        self.turn += 1
        self.call(db, Insert, "inserted", self.timeout_ms)

    def on_inserted(self, reply: Inserted, ctx: Any) -> None:
        self.received(reply.id)

    def on_inserted_timeout(self, ctx: Any) -> None:
        self.request()
