"""Leaf-snowflake on the simulator: worker ids from a registry, rollback detection.

Meituan Leaf (``SnowflakeZookeeperHolder``, ``SnowflakeIDGenImpl``): at start-up a server
looks for its ``ip:port`` under ``/snowflake/<name>/forever``; if absent it creates a
persistent *sequential* node and uses the sequence number as its 10-bit worker id, otherwise
it reuses the old one. Every 3 s it writes its current time into that node; at the next
start it refuses to run if its clock reads earlier than the last time it reported. At run
time it waits ``2 * offset`` for a rollback of at most 5 ms and otherwise fails the request.

:class:`WorkerRegistry` stands in for ZooKeeper (the coordination chapters provide the real
thing) with just these two operations; its state is durable.
"""

from __future__ import annotations

from typing import Any

from ..sim import Node
from .allocator import Allocator
from .clock import NodeClock
from .errors import ClockRollbackError
from .layout import LEAF, Layout
from .messages import Issued, RegisterWorker, ReportTime, WorkerAssigned
from .snowflake import Snowflake, Wait

REPORT_EVERY_MS = 3000


class WorkerRegistry(Node):
    """Persistent-sequential worker ids per address, and each address's last reported time."""

    def __init__(self, id: str = "registry") -> None:
        super().__init__(id)
        self.stable.setdefault("workers", {})
        self.stable.setdefault("times", {})

    def on_message(self, src: str, msg: Any) -> None:
        workers, times = self.stable["workers"], self.stable["times"]
        if isinstance(msg, RegisterWorker):
            if msg.addr not in workers:
                workers[msg.addr] = len(workers)
            self.send(src, WorkerAssigned(msg.req, workers[msg.addr], times.get(msg.addr)))
        elif isinstance(msg, ReportTime) and msg.addr in workers:
            times[msg.addr] = max(msg.ms, times.get(msg.addr, msg.ms))


class LeafSnowflakeNode(Allocator):
    """A Leaf-snowflake server: registers, checks its clock, then issues ids on demand.

    ``status`` is ``"registering"``, ``"serving"`` or ``"refused"`` (clock behind the last
    report at start-up); ``errors`` counts requests failed by a rollback over 5 ms.
    """

    def __init__(self, id: str, *, sink: list[Issued], registry: str = "registry",
                 layout: Layout = LEAF, epoch_ms: int = 1_700_000_000_000,
                 demand_interval_ms: float = 1.0, timeout_ms: float = 50.0,
                 stop_ms: float | None = None) -> None:
        super().__init__(id, sink=sink, demand_interval_ms=demand_interval_ms,
                         timeout_ms=timeout_ms, stop_ms=stop_ms)
        self.registry, self.layout = registry, layout
        self.clock_src = NodeClock(self, epoch_ms)
        self.gen: Snowflake | None = None
        self.status = "registering"
        self.errors = 0
        self.waited_rollbacks = 0
        self._waiting_until: float | None = None
        self._retried = False

    def boot(self) -> None:
        self.call(self.registry, lambda req: RegisterWorker(req, self.id), "assigned",
                  self.timeout_ms)

    def on_assigned(self, reply: WorkerAssigned, ctx: Any) -> None:
        now = self.clock_src.ms()
        if reply.last_reported_ms is not None and now < reply.last_reported_ms:
            self.status = "refused"
            self.annotate(status="refused", behind_ms=reply.last_reported_ms - now)
            return
        self.gen = Snowflake(self.layout, worker=reply.worker, policy="wait",
                             random_start=100, rng=self.rng)
        self.status = "serving"
        self.annotate(status="serving", worker=reply.worker)
        self.on_other_timer("report", None)
        self.serve()

    def on_assigned_timeout(self, ctx: Any) -> None:
        self.boot()

    def on_other_timer(self, name: str, payload: Any) -> None:
        if name == "report":
            self.send(self.registry, ReportTime(self.id, self.clock_src.ms()))
            self.set_timer(REPORT_EVERY_MS, "report")
        elif name == "wait_over":
            self._waiting_until = None
            self.serve()

    def take(self) -> int | None:
        if self.gen is None or self._waiting_until is not None:
            return None
        try:
            out = self.gen.next_at(self.clock_src.ms(), self._retried)
        except ClockRollbackError:
            self.errors += 1
            self._retried = False
            self.waiting.pop(0)  # the caller gets an error instead of an id
            self.annotate(error="clock rollback")
            return self.take() if self.waiting else None
        if isinstance(out, Wait):
            self._retried = out.reason != "exhausted"
            self.waited_rollbacks += self._retried
            self._waiting_until = self.now + out.ms
            self.set_timer(out.ms, "wait_over")
            return None
        self._retried = False
        return out
