"""The experiments behind Chapter 3's quorum calculator and repair race, and the classic
"R + W > N is not linearizable" run.

* :func:`stale_reads`: a client writes a key and reads it straight back, many times; the
  fraction of reads that miss the write just acknowledged (Bailis et al., "Probabilistically
  Bounded Staleness", VLDB 2012, measure the same with a model of Dynamo).
* :func:`quorum_anomaly`: with N = 3, R = W = 2 and a slow write, one read sees the new
  value and a later read the old one; ABD's write-back removes the anomaly.
* :func:`repair_race`: a replica is cut off while writes go on, then the partition heals;
  how fast read repair, hinted handoff (with a hint window) and Merkle anti-entropy make the
  replicas agree again, and how many bytes each sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import sim as dsim
from ..errors import allowed
from .client import Workload
from .cluster import Cluster, cluster

REPAIR_LABELS = ("Repair", "Handoff", "HandoffAck", "TreeHashes", "TreeEntries")


@dataclass(frozen=True)
class StaleReads:
    """``stale`` of ``reads`` read-after-write pairs returned an older value."""

    n: int
    r: int
    w: int
    reads: int
    stale: int

    @property
    def fraction(self) -> float:
        return self.stale / self.reads if self.reads else 0.0


def stale_reads(n: int, r: int, w: int, *, trials: int = 200, seed: int = 1,
                latency: dsim.Dist | None = None, lag_ms: float = 0.0) -> StaleReads:
    """Write ``x``, read it back at once, ``trials`` times, on ``n`` replicas with quorums
    ``r``/``w`` (last-writer-wins, no repair). Latency defaults to long-tailed
    ``LogNormal(median=2 ms, sigma=1)``.

    With ``lag_ms > 0`` each write reaches ``n - w`` replicas, drawn at random for every
    trial, only ``lag_ms`` later (replication lag): the write returns after the ``w`` prompt
    acknowledgements and the read starts before the laggards have it. A read then misses the
    write exactly when all ``r`` replicas it hears from are laggards, with probability
    ``C(n-w, r) / C(n, r)``, which is 0 when ``r + w > n`` (Dynamo §4.5; Bailis et al.,
    "Probabilistically Bounded Staleness", §3)."""
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise allowed("trials", trials, "an int >= 1")
    if isinstance(lag_ms, bool) or not isinstance(lag_ms, (int, float)) or not 0 <= lag_ms < 1e9:
        raise allowed("lag_ms", lag_ms, "a replication lag in ms >= 0")
    ops: list[tuple] = []
    for i in range(trials):
        ops += [("put", "x", f"v{i}"), ("get", "x")]
    lat = latency if latency is not None else dsim.LogNormal(2.0, 1.0)
    c = cluster("quorum", replicas=n, clients=1, seed=seed, n=n, r=r, w=w, timeout_ms=500.0,
                network=dsim.Network(latency=lat), workload=Workload(ops=0))
    if lag_ms:
        _lagging_writes(c, ops, lat, n - w, float(lag_ms))
    else:
        for op in ops:
            c.clients["c0"].queue.append(op)
        c.run()
    reads = stale = 0
    written = None
    for op in c.history.ops():
        if op.f == "put":
            written = op.input[1] if op.status == "ok" else None
        elif op.status == "ok" and written is not None:
            reads += 1
            stale += op.output != written
    return StaleReads(n, r, w, reads, stale)


def _lagging_writes(c: Cluster, ops: list[tuple], lat: dsim.Dist, laggards: int, lag_ms: float) -> None:
    """Run ``ops`` one at a time on client ``c0``; each write's messages to ``laggards``
    random replicas take ``lag_ms`` (the other links keep ``lat``)."""
    client, ids = c.clients["c0"], sorted(c.replicas)
    pick = c.sim.rng("stale_reads:laggards")
    slow = dsim.Constant(lag_ms)
    c.run(until=0.0)
    for op in ops:
        late = set(pick.choice(len(ids), size=laggards, replace=False).tolist()) if op[0] == "put" else set()
        for i, rid in enumerate(ids):
            c.sim.set_link("c0", rid, latency=slow if i in late else lat)
        c.submit("c0", op)
        c.run_until(lambda: client.idle, timeout=1000.0)
    c.run()


def quorum_anomaly(write_back: bool, seed: int = 1, client: Any = None) -> Cluster:
    """N = 3, R = W = 2, LWW. Client ``c0`` writes ``x = "new"``; its messages to ``r1`` and
    ``r2`` are slow (40 ms). ``c1`` reads from ``{r0, r1}`` (its link to ``r2`` is slow) and
    sees "new"; after that read returns, ``c2`` reads from ``{r1, r2}`` and, unless reads
    write back, sees the old value: a new-then-old inversion no linearizable register allows.
    ``client`` builds the clients instead of :class:`KVClient` (see :func:`cluster`)."""
    c = cluster("quorum", replicas=3, clients=3, seed=seed, n=3, r=2, w=2,
                write_back=write_back, timeout_ms=200.0, latency=(1.0, 1.0),
                workload=Workload(ops=0), client=client)
    sim = c.sim
    slow = dsim.Constant(40.0)
    for a, b in (("c0", "r1"), ("c0", "r2"), ("c1", "r2"), ("c2", "r0")):
        sim.set_link(a, b, latency=slow)
    c.run(until=0.0)                    # start the nodes before driving them
    c.submit("c0", ("put", "x", "old"))
    c.run(until=100)                    # "old" is everywhere
    c.submit("c0", ("put", "x", "new"))  # reaches r0 at once, r1 and r2 only 40 ms later
    c.run(until=105)
    c.submit("c1", ("get", "x"))
    c.run(until=115)
    c.submit("c2", ("get", "x"))
    c.run(until=400)
    return c


STRATEGIES: dict[str, dict[str, Any]] = {
    "read repair": dict(read_repair=True),
    "hinted handoff": dict(sloppy=True),
    "hinted handoff, short hint window": dict(sloppy=True, hint_window_ms=60.0),
    "Merkle anti-entropy": dict(anti_entropy_ms=40.0, merkle_depth=4),
    "all three, short hint window": dict(read_repair=True, sloppy=True, hint_window_ms=60.0,
                                         anti_entropy_ms=40.0, merkle_depth=4),
}


@dataclass(frozen=True)
class RaceResult:
    """One strategy's run: ``times`` (ms after the heal) and the ``divergence`` then
    (stale (key, home replica) pairs), ``bytes`` of repair traffic by label, counters."""

    strategy: str
    times: tuple[float, ...]
    divergence: tuple[int, ...]
    bytes: dict[str, int]
    converged_ms: float | None
    hints_expired: int

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


READS = ("random", "sweep", "none")


def repair_race(strategy: str, *, seed: int = 1, keys: int = 30, outage: tuple[float, float] = (20.0, 300.0),
                until: float = 700.0, step_ms: float = 10.0, reads: str = "random", client: Any = None,
                replica: Any = None, **overrides: Any) -> RaceResult:
    """Five replicas, N = 3, R = W = 2. Replica ``r0`` is partitioned away during ``outage``
    while ``c0`` writes each of ``keys`` keys; after the heal ``c1`` reads: random keys
    (``reads="random"``), every key once in order (``"sweep"``), or nothing (``"none"``).
    ``strategy`` is a key of :data:`STRATEGIES`; ``overrides`` change the store's config;
    ``client`` and ``replica`` build the nodes instead of the library's (see :func:`cluster`)."""
    if strategy not in STRATEGIES:
        raise allowed("strategy", strategy, " or ".join(map(repr, STRATEGIES)))
    if reads not in READS:
        raise allowed("reads", reads, " or ".join(map(repr, READS)))
    names = tuple(f"k{i}" for i in range(keys))
    start, heal = outage
    writer = Workload(ops=keys, keys=names, reads=0.0, gap_ms=(0.0, 2.0), start_ms=start + 1)
    reader = Workload(ops=10_000 if reads == "random" else 0, keys=names, reads=1.0,
                      gap_ms=(4.0, 8.0), start_ms=heal + 1)
    cfg = dict(STRATEGIES[strategy], **overrides)
    c = cluster("quorum", replicas=5, clients=2, seed=seed, workload=[writer, reader],
                client=client, replica=replica, **cfg)
    c.nemesis([(start, ("partition", [["r0"], [n for n in c.sim.nodes if n != "r0"]])),
               (heal, ("heal",))])
    c.run(until=heal)
    if reads == "sweep":
        for key in names:
            c.submit("c1", ("get", key))
    times, div = [], []
    t = heal
    converged = None
    while t <= until + 1e-9:
        c.run(until=t)
        d = c.divergence(list(names))
        times.append(round(t - heal, 3))
        div.append(d)
        if d == 0 and converged is None:
            converged = t - heal
        elif d:
            converged = None
        t += step_ms
    by_label = c.sim.trace.stats()["by_label"]
    sent = {lab: by_label[lab]["bytes"] for lab in REPAIR_LABELS if lab in by_label}
    expired = sum(r.stats["expired"] for r in c.replicas.values())
    return RaceResult(strategy, tuple(times), tuple(div), sent, converged, expired)


@dataclass(frozen=True)
class SyncCost:
    """Bytes one Merkle anti-entropy exchange sent, versus shipping the whole store once."""

    keys: int
    diverged: int
    merkle_bytes: int
    full_bytes: int
    repaired: int

    @property
    def ratio(self) -> float:
        return self.merkle_bytes / self.full_bytes


def merkle_sync_cost(keys: int = 1000, diverged: int = 10, *, depth: int = 8, value_size: int = 64,
                     seed: int = 1, replica: Any = None) -> SyncCost:
    """Two replicas hold the same ``keys`` keys (values of ``value_size`` characters) except
    ``diverged`` newer ones on ``r1``;
    ``r0`` starts one anti-entropy exchange. Bytes are JSON payload sizes, as in
    ``trace.stats()``; the full-state baseline is one message with every entry.
    ``replica`` builds the replicas instead of the library's (see :func:`cluster`)."""
    import json

    from .messages import TreeEntries

    if isinstance(diverged, bool) or not isinstance(diverged, int) or not 0 <= diverged <= keys:
        raise allowed("diverged", diverged, f"an int from 0 to keys={keys}")
    c = cluster("quorum", replicas=2, clients=0, seed=seed, n=2, r=1, w=1, merkle_depth=depth,
                replica=replica)
    c.run(until=1)
    r0, r1 = c.replicas["r0"], c.replicas["r1"]
    for i in range(keys):
        for r in (r0, r1):
            r.store(f"k{i}", (1, "w"), f"v{i}-".ljust(value_size, "."))
    rng = c.sim.rng("diverge")
    for i in sorted(rng.choice(keys, size=diverged, replace=False).tolist()):
        r1.store(f"k{i}", (2, "w"), f"n{i}-".ljust(value_size, "."))
    before = len(c.sim.trace)
    r0._start_anti_entropy()
    c.run()
    sent = sum(len(json.dumps(dsim.jsonable(e.data), sort_keys=True, separators=(",", ":")))
               for e in c.sim.trace.events[before:] if e.kind == "send")
    full = TreeEntries((), tuple((k, ts, v) for k, (ts, v) in sorted(r0.data.items())), False)
    full_bytes = len(json.dumps(dsim.jsonable(full), sort_keys=True, separators=(",", ":")))
    return SyncCost(keys, diverged, sent, full_bytes, r0.stats["ae_repaired"])
