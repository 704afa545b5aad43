"""The chapter's experiments as functions: the stale read, fixed by ``sync()``.

ZooKeeper answers reads from the server a client is connected to, so a follower that has not
yet applied a committed write returns the old value to a client that started reading after
the write finished: the history is not linearizable (seed erratum A4/E1; Hunt et al. 2010,
§2.3; Programmer's Guide, "Consistency Guarantees"). ``sync(path)`` makes the follower wait
until it has seen everything the leader committed before the sync reached it, so
``sync()`` + ``get()`` is linearizable on this schedule (no leader change; across a leader
change it is not guaranteed, ZOOKEEPER-1675).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checkers import linearizability as lin
from ..history import Recorder
from .ensemble import Ensemble, ensemble


@dataclass
class StaleRead:
    """One run: the ensemble, the history, what the reader got, the checker's verdict."""

    ens: Ensemble
    history: Recorder
    read: str
    verdict: Any
    lagging: str
    use_sync: bool

    @property
    def linearizable(self) -> bool:
        return self.verdict.outcome == "ok"


def lagging_reader(seed: int, lag_ms: float) -> tuple[Ensemble, str, Any, Any, Recorder]:
    """The stale-read stage: three servers; a writer on the leader has created ``/x`` = "0"
    (recorded); a reader on a follower has synced; then the leader's link to that follower is
    slowed by ``lag_ms``. Returns ``(ens, lagging, writer, reader, history)``."""
    ens = ensemble(servers=3, seed=seed)
    leader = ens.run_until_leader()
    assert leader is not None, "no leader elected"
    lagging = sorted(s for s in ens.nodes if s != leader)[0]
    writer = ens.client(server=leader, record=False)
    reader = ens.client(server=lagging, record=False)
    writer.start()
    reader.start()
    history = Recorder(ens.sim)
    history.invoke("writer", "put", ("/x", "0"))
    writer.create("/x", b"0")
    history.ok("writer", None)
    reader.sync("/x")
    ens.sim.slow_link(leader, lagging, lag_ms)
    return ens, lagging, writer, reader, history


def stale_read(seed: int = 1, use_sync: bool = False, lag_ms: float = 200.0) -> StaleRead:
    """A writer on the leader sets ``/x`` from "0" to "1"; once it is acknowledged, a reader on a
    follower whose link from the leader is slowed by ``lag_ms`` reads ``/x`` (after ``sync``
    when ``use_sync``). The history (one write, one read) goes to the linearizability checker."""
    ens, lagging, writer, reader, history = lagging_reader(seed, lag_ms)
    history.invoke("writer", "put", ("/x", "1"))
    writer.set("/x", b"1")
    history.ok("writer", None)
    ens.run(1)  # the read starts strictly after the write was acknowledged
    history.invoke("reader", "get", "/x")
    if use_sync:
        reader.sync("/x")
    value = reader.get("/x")[0].decode()
    history.ok("reader", value)
    ens.run(2 * lag_ms)
    verdict = lin.check(history.operations(flat=True), lin.kv(), timeout=10)
    return StaleRead(ens, history, value, verdict, lagging, use_sync)


__all__ = ["StaleRead", "lagging_reader", "stale_read"]
