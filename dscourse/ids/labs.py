"""Chapter 10's labs and static figures: the ID lab, the bit-layout designer, the clock-rollback
drill and the segment buffers. Each ``*_figure`` is the static picture; each lab wraps it in
``ds.viz.Lab`` controls. All runs are deterministic (virtual time, named seeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import allowed
from ..sim.rng import stream
from ..viz.display import new_figure
from .analysis import birthday_probability, k_sortedness, page_splits
from .clock import FakeClock
from .cluster import cluster
from .errors import ClockRollbackError
from .layout import LEAF, SEATA, Layout, layout
from .messages import Issued
from .objectid import ObjectIdGenerator
from .snowflake import Snowflake
from .uuids import UUIDv7, uuid4

START_MS = 1_700_000_000_000
SIM_SCHEMES = ("autoincrement", "leaf", "tinyid", "redis", "leaf-snowflake")
LOCAL_SCHEMES = ("snowflake", "uuid4", "uuid7", "objectid")
SCHEMES = SIM_SCHEMES + LOCAL_SCHEMES
BYTES = {"autoincrement": 8, "leaf": 8, "tinyid": 8, "redis": 8, "leaf-snowflake": 8,
         "snowflake": 8, "uuid4": 16, "uuid7": 16, "objectid": 12}
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")


@dataclass
class SchemeRun:
    """Ids issued by ``nodes`` generators of one scheme during ``ms`` of virtual time."""

    scheme: str
    records: list[Issued]
    bytes_per_id: int

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.records]

    def latency_p99(self) -> float:
        lat = sorted(r.issued_ms - r.requested_ms for r in self.records)
        return lat[int(0.99 * (len(lat) - 1))] if lat else 0.0


def run_scheme(scheme: str, *, nodes: int = 3, db_latency_ms: float = 2.0, seed: int = 1,
               ms: int = 300) -> SchemeRun:
    """Run ``scheme`` with ``nodes`` generators, each asked for one id per ms."""
    if scheme not in SCHEMES:
        raise allowed("scheme", scheme, f"one of {', '.join(SCHEMES)}")
    if scheme in SIM_SCHEMES:
        built = cluster(scheme, allocators=nodes, dbs=2, seed=seed, step=100, db_latency_ms=db_latency_ms,
                        stop_ms=ms)
        start = built.now  # Leaf-snowflake's servers start once ZooKeeper has a leader
        for name in built.allocators:
            built.nodes[name].stop_ms = start + ms  # type: ignore[attr-defined]
        built.run(until=start + ms + 50 * db_latency_ms + 50)
        records = [r._replace(requested_ms=r.requested_ms - start, issued_ms=r.issued_ms - start)
                   for r in built.issued]
        return SchemeRun(scheme, records, BYTES[scheme])
    rng = stream(seed, f"ids:{scheme}")
    clocks = [FakeClock(START_MS + int(rng.integers(-3, 4))) for _ in range(nodes)]
    gens: list[Callable[[], int]]
    if scheme == "snowflake":
        gens = [Snowflake(LEAF, worker=i, clock=c).next_id for i, c in enumerate(clocks)]
    elif scheme == "uuid4":
        gens = [lambda: uuid4(rng).int for _ in clocks]
    elif scheme == "uuid7":
        gens = [partial(_uuid7_int, UUIDv7(c, stream(seed, f"uuid7:{i}"))) for i, c in enumerate(clocks)]
    else:
        gens = [partial(_objectid_int, ObjectIdGenerator(c, stream(seed, f"oid:{i}")))
                for i, c in enumerate(clocks)]
    records = []
    for t in range(1, ms + 1):
        for i, (c, g) in enumerate(zip(clocks, gens, strict=True)):
            c.advance(1)
            records.append(Issued(f"a{i}", float(t), float(t), g()))
    return SchemeRun(scheme, records, BYTES[scheme])


def _uuid7_int(gen: UUIDv7) -> int:
    return gen.next().int


def _objectid_int(gen: ObjectIdGenerator) -> int:
    return int.from_bytes(gen.next(), "big")


def id_lab_figure(scheme: str = "leaf", nodes: int = 3, db_latency_ms: float = 2.0, seed: int = 1) -> Figure:
    """Left: each id's rank among all ids against the time it was issued, per node.
    Right: B+-tree page splits per 1,000 inserts and leaf fill for these ids."""
    run = run_scheme(scheme, nodes=nodes, db_latency_ms=db_latency_ms, seed=seed)
    fig = new_figure((8, 3.1))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    ids = run.ids
    order = np.argsort(np.argsort(np.array([float(i) for i in ids]) if ids and max(ids) < 2**53
                                  else np.array([str(i).zfill(40) for i in ids])))
    rank = order / max(1, len(ids) - 1)
    for i in range(nodes):
        pts = [(r.issued_ms, rank[j]) for j, r in enumerate(run.records) if r.node == f"a{i}"]
        if pts:
            x, y = zip(*pts, strict=True)
            ax.scatter(x, y, s=3, color=COLORS[i % len(COLORS)], label=f"a{i}")
    ax.set_xlabel("issued at (virtual ms)")
    ax.set_ylabel("rank of id (0 = smallest)")
    ax.set_title(f"{scheme}: order of ids vs time", fontsize=10)
    ax.legend(fontsize=7, markerscale=3, loc="upper left")
    stats = page_splits(ids, key_bytes=run.bytes_per_id)
    bars = bx.bar(["splits\n/1000", "leaf fill\n%", "tail\ninserts %"],
                  [stats.splits_per_1000, 100 * stats.fill, 100 * stats.tail_fraction],
                  color=["#8c564b", "#2ca02c", "#1f77b4"])
    bx.bar_label(bars, fmt="%.0f", fontsize=8)
    bx.set_ylim(0, 115)
    bx.set_title("clustered index", fontsize=10)
    fig.tight_layout()
    return fig


def id_lab_summary(scheme: str = "leaf", nodes: int = 3, db_latency_ms: float = 2.0, seed: int = 1) -> str:
    run = run_scheme(scheme, nodes=nodes, db_latency_ms=db_latency_ms, seed=seed)
    ids = run.ids
    st = page_splits(ids, key_bytes=run.bytes_per_id)
    return (f"{scheme}: {len(ids)} ids from {nodes} nodes, {len(ids) - len(set(ids))} duplicates, "
            f"p99 latency {run.latency_p99():g} ms, k-sortedness {k_sortedness(ids)}, "
            f"{run.bytes_per_id} bytes/id, {st.splits_per_1000:.1f} page splits per 1000 inserts, "
            f"leaf fill {st.fill:.0%}")


def id_lab(scheme: str = "leaf", nodes: int = 3, db_latency_ms: float = 2.0, seed: int = 1) -> Any:
    """The ID lab: pick a scheme, the number of nodes and the database latency."""
    from ..viz import Lab

    return Lab(lambda scheme, nodes, db_latency_ms: id_lab_figure(scheme, nodes, db_latency_ms, seed),
               scheme=list(SCHEMES), nodes=(1, 8, 1), db_latency_ms=(0.5, 20.0, 0.5),
               initial={"scheme": scheme, "nodes": nodes, "db_latency_ms": db_latency_ms},
               describe=lambda scheme, nodes, db_latency_ms: id_lab_summary(scheme, nodes, db_latency_ms, seed),
               title="ID lab")


# -- bit-layout designer -------------------------------------------------------------------
def designer_layout(timestamp_bits: int = 41, worker_bits: int = 10, unit: str = "ms") -> Layout:
    """Timestamp | worker | sequence in 63 bits; the sequence gets what is left."""
    unit_ms = {"ms": 1, "10 ms": 10, "s": 1000}.get(unit)
    if unit_ms is None:
        raise allowed("unit", unit, "'ms', '10 ms' or 's'")
    seq = 63 - timestamp_bits - worker_bits
    if seq < 1:
        raise allowed("timestamp_bits + worker_bits", timestamp_bits + worker_bits,
                      "at most 62, leaving at least 1 sequence bit")
    return layout(timestamp_bits, worker_bits, seq, unit_ms=unit_ms, name="designed")


def layout_figure(timestamp_bits: int = 41, worker_bits: int = 10, unit: str = "ms") -> Figure:
    if timestamp_bits + worker_bits > 62:  # what the sliders can reach: explain, do not raise
        fig = new_figure((8, 1.2))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, f"timestamp {timestamp_bits} + worker {worker_bits} bits leave no sequence "
                "bit in 63: shrink one of them", ha="center", va="center", color="#d62728")
        fig.tight_layout()
        return fig
    lay = designer_layout(timestamp_bits, worker_bits, unit)
    fig = new_figure((8, 2.8))
    ax, bx = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.6]})
    left = 0
    colors = {"sign": "#c7c7c7", "timestamp": "#1f77b4", "worker": "#ff7f0e", "sequence": "#2ca02c"}
    for name, bits in (("sign", 1), *lay.fields):
        ax.barh(0, bits, left=left, color=colors[name], edgecolor="white")
        ax.text(left + bits / 2, 0, f"{name}\n{bits}", ha="center", va="center", fontsize=8)
        left += bits
    ax.set_xlim(0, 64)
    ax.axis("off")
    metrics = [("lifetime (years)", lay.lifetime_years), ("workers", lay.max_workers),
               ("ids per ms per worker", lay.ids_per_ms)]
    vals = [max(v, 1e-3) for _, v in metrics]
    bars = bx.barh([m for m, _ in metrics], vals, color=["#1f77b4", "#ff7f0e", "#2ca02c"])
    bx.set_xscale("log")
    bx.bar_label(bars, labels=[f"{v:,.4g}" for _, v in metrics], fontsize=8, padding=3)
    bx.axvline(69.7, color="#1f77b4", ls=":", lw=1)
    bx.set_xlim(1e-3, 1e9)
    bx.set_title("Twitter's 41/10/12: 69.7 years, 1024 workers, 4096 ids/ms (dotted: 69.7)", fontsize=9)
    fig.tight_layout()
    return fig


def _layout_summary(timestamp_bits: int = 41, worker_bits: int = 10, unit: str = "ms") -> str:
    if timestamp_bits + worker_bits > 62:
        return f"timestamp {timestamp_bits} + worker {worker_bits} bits: no sequence bit left"
    return designer_layout(timestamp_bits, worker_bits, unit).describe()


def layout_designer(timestamp_bits: int = 41, worker_bits: int = 10, unit: str = "ms") -> Any:
    """Drag the field widths; see lifetime, workers and per-ms capacity."""
    from ..viz import Lab

    return Lab(layout_figure, timestamp_bits=(28, 50, 1), worker_bits=(1, 22, 1),
               unit=["ms", "10 ms", "s"],
               initial={"timestamp_bits": timestamp_bits, "worker_bits": worker_bits, "unit": unit},
               describe=_layout_summary,
               title="Bit-layout designer")


# -- clock-rollback drill -----------------------------------------------------------------
@dataclass
class DrillResult:
    policy: str
    true_ms: list[float]
    id_ms: list[float]
    errors: list[float]
    waited_ms: int
    duplicates: int

    def lead_range(self) -> tuple[float, float]:
        """Smallest and largest (id timestamp - true time): > 0 is borrowed future time,
        < 0 a timestamp that lags behind (an id that does not say when it was made)."""
        leads = [i - t for t, i in zip(self.true_ms, self.id_ms, strict=True)]
        return (min(leads), max(leads)) if leads else (0.0, 0.0)


def rollback_drill(delta_ms: int = 8, *, at_ms: int = 20, ms: int = 60, per_ms: int = 5) -> list[DrillResult]:
    """Step the clock back by ``delta_ms`` at true time ``at_ms`` and compare the policies.

    Each generator is asked for ``per_ms`` ids per true millisecond; time it spends sleeping
    delays the application (true time moves on while it waits).
    """
    if isinstance(delta_ms, bool) or not isinstance(delta_ms, int) or delta_ms < 0:
        raise allowed("delta_ms", delta_ms, "an int >= 0")
    results = []
    for policy, lay in (("raise", LEAF), ("wait", LEAF), ("logical", SEATA)):
        clock = FakeClock(START_MS)
        gen = Snowflake(lay, clock=clock, policy=policy)
        out = DrillResult(policy, [], [], [], 0, 0)
        lag = 0
        for step in range(ms):
            for _ in range(per_ms):
                true = step + lag
                clock.set(START_MS + true - (delta_ms if true >= at_ms else 0))
                before = clock.slept
                try:
                    ident = gen.next_id()
                    lag += clock.slept - before
                    out.true_ms.append(float(step + lag))
                    out.id_ms.append(float(lay.decode(ident)["time_ms"] - START_MS))
                except ClockRollbackError:
                    lag += clock.slept - before
                    out.errors.append(float(step + lag))
        out.waited_ms = gen.waited_ms
        results.append(out)
    return results


def rollback_figure(delta_ms: int = 8) -> Figure:
    fig = new_figure((8, 2.8))
    axes = fig.subplots(1, 3, sharey=True)
    for ax, res in zip(axes, rollback_drill(delta_ms), strict=True):
        ax.plot([0, 60], [0, 60], color="#c7c7c7", lw=1, ls="--")
        ax.scatter(res.true_ms, res.id_ms, s=4, color="#1f77b4", label="id timestamp")
        if res.errors:
            ax.scatter(res.errors, [0] * len(res.errors), marker="x", s=10, color="#d62728",
                       label=f"{len(res.errors)} errors")
        ax.axvline(20, color="#f2c14e", lw=1)
        ax.set_title(f"{res.policy}: waited {res.waited_ms} ms", fontsize=9)
        ax.set_xlabel("true time (ms)")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("timestamp in the id (ms)")
    fig.suptitle(f"clock stepped back {delta_ms} ms at t = 20 ms", fontsize=10)
    fig.tight_layout()
    return fig


def rollback_summary(delta_ms: int = 8) -> str:
    parts = []
    for r in rollback_drill(delta_ms):
        lo, hi = r.lead_range()
        parts.append(f"{r.policy}: {len(r.id_ms)} ids, {len(r.errors)} errors, waited {r.waited_ms} ms, "
                     f"id time - true time in [{lo:g}, {hi:g}] ms")
    return f"step back {delta_ms} ms -> " + "; ".join(parts)


def rollback_lab(delta_ms: int = 8) -> Any:
    """The clock-rollback drill: slide the NTP step and compare raise / wait / logical."""
    from ..viz import Lab

    return Lab(rollback_figure, delta_ms=(0, 40, 1), initial={"delta_ms": delta_ms},
               describe=rollback_summary, title="Clock-rollback drill")


# -- segment buffers ----------------------------------------------------------------------
@dataclass
class BufferTrace:
    t: list[float]
    current: list[int]
    next: list[int]
    records: list[Issued]
    stalls: int
    loads: int


def segment_trace(db_latency_ms: float = 5.0, step: int = 200, *, ms: int = 1500, seed: int = 1,
                  prefetch: float = 0.1) -> BufferTrace:
    """Run one Leaf allocator (1 id per ms) and sample its two buffers every millisecond."""
    sim, sink = cluster("leaf", allocators=1, seed=seed, step=step, db_latency_ms=db_latency_ms,
                        adapt=False, prefetch=prefetch, stop_ms=ms)
    node = sim.nodes["a0"]
    out = BufferTrace([], [], [], sink, 0, 0)
    for t in range(1, ms + 1):
        sim.run(until=t)
        cur, nxt = node.current, node.next
        out.t.append(float(t))
        out.current.append(max(0, cur.max - cur.value) if cur else 0)
        out.next.append(nxt.max - nxt.value if nxt else 0)
    out.stalls, out.loads = node.stalls, len(node.loads)
    return out


def segment_figure(db_latency_ms: float = 5.0, step: int = 200, prefetch: float = 0.1) -> Figure:
    tr = segment_trace(db_latency_ms, step, prefetch=prefetch)
    fig = new_figure((8, 3.3))
    ax, bx = fig.subplots(2, 1, sharex=True)
    ax.fill_between(tr.t, tr.current, step="post", color="#1f77b4", alpha=0.5, lw=0,
                    label="current segment: ids left")
    ax.step(tr.t, tr.next, where="post", color="#2ca02c", lw=1.5, label="next segment (prefetched)")
    ax.set_ylim(0, step * 1.35)
    if max(tr.current) == 0:
        ax.text(0.5, 0.5, "every segment is drained by waiting requests the moment it arrives",
                transform=ax.transAxes, ha="center", fontsize=8, color="#d62728")
    ax.set_ylabel("ids left")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    lat = [(r.requested_ms, r.issued_ms - r.requested_ms) for r in tr.records]
    x = [a for a, _ in lat]
    y = [b for _, b in lat]
    bx.scatter(x, y, s=3, c=["#d62728" if v > 0 else "#7f7f7f" for v in y])
    bx.set_ylabel("wait (ms)")
    bx.set_xlabel("request time (virtual ms); red: stalled behind an empty buffer")
    ax.set_title(f"Leaf double buffer, step {step}, DB latency {db_latency_ms:g} ms each way", fontsize=10)
    fig.tight_layout()
    return fig


def segment_summary(db_latency_ms: float = 5.0, step: int = 200, prefetch: float = 0.1) -> str:
    """Ids, segments, and the waits, with the cold start (requests made before the first
    segment arrived: the server starts with empty buffers) reported apart from the stalls
    that follow, which are the ones the double buffer is meant to prevent."""
    tr = segment_trace(db_latency_ms, step, prefetch=prefetch)
    first = min((r.issued_ms for r in tr.records), default=math.inf)
    cold = [r.issued_ms - r.requested_ms for r in tr.records if r.requested_ms < first]
    waits = sorted(r.issued_ms - r.requested_ms for r in tr.records if r.requested_ms >= first)
    p99 = waits[int(0.99 * (len(waits) - 1))] if waits else 0.0
    stalled = sum(w > 0 for w in waits)
    later = tr.stalls - (1 if cold else 0)
    return (f"step {step}, DB latency {db_latency_ms:g} ms: {len(tr.records)} ids, {tr.loads} segments; "
            f"cold start: the first {len(cold)} requests waited up to {max(cold, default=0):g} ms "
            f"for the first segment; after it: {later} stall episodes, {stalled} requests waited, "
            f"p99 wait {p99:g} ms")


def segment_lab(db_latency_ms: float = 30.0, step: int = 200) -> Any:
    """Two buffer gauges and request waits; slide the DB latency past the segment lifetime."""
    from ..viz import Lab

    return Lab(segment_figure, db_latency_ms=(0.5, 150.0, 0.5), step=(50, 500, 50),
               prefetch=(0.0, 0.9, 0.1),
               initial={"db_latency_ms": db_latency_ms, "step": step, "prefetch": 0.1},
               describe=segment_summary, title="Segment buffers")


# -- static figures -----------------------------------------------------------------------
def birthday_figure(seed: int = 1) -> Figure:
    """Collision probability vs number of ids for several id widths: bound vs measurement."""
    from .analysis import measured_collision_rate

    rng = stream(seed, "birthday")
    fig = new_figure((7, 2.8))
    ax = fig.subplots()
    for bits, color in ((16, "#1f77b4"), (24, "#ff7f0e"), (32, "#2ca02c")):
        ns = np.unique(np.logspace(1, bits / 2 + 2, 40, base=2).astype(int))
        ax.plot(ns, [birthday_probability(int(n), bits) for n in ns], color=color, label=f"{bits} bits: bound")
        mn = ns[:: 5]
        if bits <= 24:
            ax.scatter(mn, [measured_collision_rate(int(n), bits, rng, trials=100) for n in mn],
                       color=color, s=12, marker="o", label=f"{bits} bits: measured")
    ax.set_xscale("log")
    ax.set_xlabel("ids generated at random (n)")
    ax.set_ylabel("P(some collision)")
    ax.set_title("birthday bound $1 - e^{-n(n-1)/2^{b+1}}$; 50% near $n = 1.18 \\cdot 2^{b/2}$", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
