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


@dataclass
class SyncAcrossLeaderChange:
    """One run of :func:`sync_leader_change`: who led before and after, whether the old leader
    still led when the reader's ``sync`` reached it, what the reader got, the verdict."""

    ens: Ensemble
    history: Recorder
    read: str
    verdict: Any
    old_leader: str
    new_leader: str | None
    old_leader_still_leading: bool
    leader_change: bool

    @property
    def linearizable(self) -> bool:
        return self.verdict.outcome == "ok"


def sync_leader_change(seed: int = 1, leader_change: bool = True,
                       old_leader_sync_limit: int = 10) -> SyncAcrossLeaderChange:
    """``sync()`` + ``get()`` across a leader change (ZOOKEEPER-1675: sync is not a quorum
    operation). Five servers; the reader is on follower F, the writer on the other three (M).
    With ``leader_change`` the network splits {leader, F} | M: M elects a new leader and the
    writer's ``set`` commits there, while the old leader, which has not yet noticed that it lost
    its quorum, answers F's forwarded ``sync`` at once, so the reader reads the old value.

    The old leader notices after ``syncLimit`` ticks without its followers, the same time M's
    followers notice its silence, and M then needs an election, so with equal settings the old
    leader steps down first (measured: 10.8 s vs 11.0 s after the split on every seed tried).
    ``old_leader_sync_limit`` (ticks, default 10: twice the ensemble's 5) stands for whatever
    makes the old leader late to notice (a stalled checker thread, a long pause, a larger
    syncLimit on that one server) and opens the window deterministically."""
    from dataclasses import replace

    from .errors import ConnectionLoss
    ens = ensemble(servers=5, seed=seed)
    old = ens.run_until_leader()
    assert old is not None, "no leader elected"
    others = sorted(s for s in ens.nodes if s != old)
    f, m = others[0], others[1:]
    ens.nodes[old].opts = replace(ens.options, sync_limit=old_leader_sync_limit)
    setup = ens.client(server=m[0], hosts=m, session_timeout_ms=40_000, record=False)
    reader = ens.client(server=f, hosts=[f], session_timeout_ms=40_000, record=False)
    setup.start()
    reader.start()
    history = Recorder(ens.sim)
    history.invoke("writer", "put", ("/x", "0"))
    setup.create("/x", b"0")
    history.ok("writer", None)
    reader.sync("/x")
    writer = ens.client(server=m[1], hosts=m, session_timeout_ms=40_000, record=False)  # on the majority side
    if leader_change:  # clients go with their side of the split
        ens.partition([old, f, reader.id], [*m, setup.id, writer.id])
        ens.run_until(lambda: any(ens.nodes[s].role == "LEADING" and ens.nodes[s].phase == "broadcast"
                                  for s in m), 60_000)
    writer.start()
    history.invoke("writer", "put", ("/x", "1"))
    writer.set("/x", b"1")
    history.ok("writer", None)
    ens.run(1)  # the read starts strictly after the write was acknowledged
    still = ens.nodes[old].role == "LEADING" and ens.nodes[old].phase == "broadcast"
    history.invoke("reader", "get", "/x")
    try:
        reader.sync("/x")
        value = reader.get("/x")[0].decode()
        history.ok("reader", value)
    except ConnectionLoss:  # the old leader stepped down first: the reader's server stopped serving
        value = "ConnectionLoss"
        history.info("reader", value)
    new = next((s for s in m if ens.nodes[s].role == "LEADING"), None) if leader_change else old
    verdict = lin.check(history.operations(flat=True), lin.kv(), timeout=10)
    return SyncAcrossLeaderChange(ens, history, value, verdict, old, new, still, leader_change)


__all__ = ["StaleRead", "SyncAcrossLeaderChange", "lagging_reader", "stale_read", "sync_leader_change"]
