"""Chapter 2's labs and static figures: the clock-drift lab (with embedded Snowflake
generators), the happens-before explorer, broadcast orders side by side, and the lease lab.

Each ``*_figure`` is the static picture and each ``*_lab`` wraps it in ``ds.viz.Lab``
controls; ``*_summary`` is the one-line text beside it. Every run is a deterministic
simulation (virtual time, the seed's named streams).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from .. import ids
from ..errors import allowed
from ..sim import NTP, Node, Simulation, Uniform
from ..viz import Lab, spacetime
from ..viz.display import new_figure
from .broadcast import ORDERS, question_answer
from .lease import lease_budget, lease_run
from .order import Step, from_trace, happens_before_oracle, lamport_stamps, related, vector_stamps

NODES = ("a", "b", "c", "d")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
ROLLBACK = "#d62728"
START_MS = 1_700_000_000_000


# -- the clock-drift lab ------------------------------------------------------------------
class SnowflakeNode(Node):
    """Issues one Snowflake id per local millisecond from ``ds.ids.Snowflake`` (policy "raise")
    on its own clock, and records every rollback: a reading below the last id's timestamp."""

    def __init__(self, id: str, worker: int, sample_every: int = 20) -> None:
        super().__init__(id)
        self.gen = ids.Snowflake(ids.TWITTER, worker=worker, policy="raise")
        self.clock_ms = ids.NodeClock(self, epoch_ms=START_MS)
        self.sample_every = sample_every
        self.issued = 0
        self.rollbacks: list[tuple[float, int]] = []         # (true ms, how far back, ms)
        self.samples: list[tuple[float, float]] = []         # (true ms, offset ms)

    def on_start(self) -> None:
        self.set_timer(1.0, "id")

    def on_timer(self, name: str, payload: Any) -> None:
        try:
            self.gen.next_at(self.clock_ms.ms())
            self.issued += 1
        except ids.ClockRollbackError as err:
            self.rollbacks.append((self.now, err.last_ms - err.now_ms))   # an id refused
        if self.issued % self.sample_every == 0 or (self.rollbacks and self.rollbacks[-1][0] == self.now):
            self.samples.append((self.now, self.clock() - self.now))
        self.set_timer(1.0, "id")


@dataclass
class DriftRun:
    """Offsets over true time and the Snowflake rollbacks of each node."""

    drift_ppm: dict[str, float]
    mode: str
    every_ms: float
    samples: dict[str, list[tuple[float, float]]]
    rollbacks: dict[str, list[tuple[float, int]]]
    issued: dict[str, int]
    steps_back: dict[str, int] = field(default_factory=dict)


def drift_run(drift_a: int = 1500, drift_b: int = -800, drift_c: int = 300, drift_d: int = 0, *,
              ntp_every_ms: int = 1000, mode: str = "step", max_offset_ms: float = 8.0,
              span_ms: int = 4000, seed: int = 2) -> DriftRun:
    """Four nodes with the given drifts (ppm), start offsets in ``±max_offset_ms`` from the
    seed, NTP every ``ntp_every_ms`` by ``mode``, each issuing a Snowflake id per local ms."""
    if mode not in ("step", "slew"):
        raise allowed("mode", mode, "'step' or 'slew'")
    sim = Simulation(seed)
    nodes = {n: SnowflakeNode(n, worker=i) for i, n in enumerate(NODES)}
    for node in nodes.values():
        sim.add_node(node)
    drift = dict(zip(NODES, (drift_a, drift_b, drift_c, drift_d), strict=False))
    sync = NTP(every_ms=ntp_every_ms, mode=mode, max_slew_ppm=500)
    offsets = sim.drift_clocks(0, max_offset_ms=max_offset_ms, sync=sync)
    for n in NODES:
        sim.set_clock(n, drift_ppm=drift[n])
    sim.run(until=span_ms)
    return DriftRun({n: float(drift[n]) for n in NODES}, mode, ntp_every_ms,
                    {n: [(0.0, offsets[n][0]), *nodes[n].samples] for n in NODES},
                    {n: nodes[n].rollbacks for n in NODES},
                    {n: nodes[n].issued for n in NODES},
                    {n: sim.physical_clock(n).backward_steps for n in NODES})


def drift_figure(drift_a: int = 1500, drift_b: int = -800, drift_c: int = 300, drift_d: int = 0,
                 ntp_every_ms: int = 1000, mode: str = "step") -> Figure:
    run = drift_run(drift_a, drift_b, drift_c, drift_d, ntp_every_ms=ntp_every_ms, mode=mode)
    fig = new_figure((7.5, 3.2))
    ax = fig.add_axes((0.09, 0.15, 0.66, 0.72))
    for n, color in zip(NODES, COLORS, strict=False):
        xs = [t for t, _ in run.samples[n]]
        ax.plot(xs, [o for _, o in run.samples[n]], color=color, lw=1.2,
                label=f"{n}: {run.drift_ppm[n]:+g} ppm, {len(run.rollbacks[n])} ids refused")
        if run.rollbacks[n]:
            at = dict(run.samples[n])
            ax.scatter([t for t, _ in run.rollbacks[n]], [at.get(t, 0.0) for t, _ in run.rollbacks[n]],
                       marker="x", s=30, color=ROLLBACK, zorder=4)
    ax.axhline(0, color="#999999", lw=0.8, ls="--")
    ax.set_xlabel("true time (ms)")
    ax.set_ylabel("clock offset (ms)")
    ax.set_title(f"NTP every {ntp_every_ms} ms by {mode}; x = Snowflake refuses an id (clock behind "
                 "its last id)", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def drift_summary(drift_a: int = 1500, drift_b: int = -800, drift_c: int = 300, drift_d: int = 0,
                  ntp_every_ms: int = 1000, mode: str = "step") -> str:
    run = drift_run(drift_a, drift_b, drift_c, drift_d, ntp_every_ms=ntp_every_ms, mode=mode)
    parts = [f"{n} {run.drift_ppm[n]:+g} ppm: steps back {run.steps_back[n]}, "
             f"ids refused {len(run.rollbacks[n])}" for n in NODES]
    return f"NTP {mode} every {ntp_every_ms} ms -> " + "; ".join(parts)


def drift_lab(**initial: Any) -> Lab:
    """The clock-drift lab: a drift slider per node, the NTP interval and step or slew."""
    ppm = (-3000, 3000, 100)
    return Lab(drift_figure, drift_a=ppm, drift_b=ppm, drift_c=ppm, drift_d=ppm,
               ntp_every_ms=(250, 4000, 250), mode=["step", "slew"],
               initial={"drift_a": 1500, "drift_b": -800, "drift_c": 300, "drift_d": 0,
                        "ntp_every_ms": 1000, "mode": "step", **initial},
               describe=drift_summary, title="Clock drift lab")


# -- the happens-before explorer ----------------------------------------------------------
class Chatter(Node):
    """Sends ``rounds`` messages to random peers at random times, with a local step between."""

    def __init__(self, id: str, rounds: int = 2) -> None:
        super().__init__(id)
        self.rounds = rounds
        self.done = 0

    def on_start(self) -> None:
        self.set_timer(float(self.rng.integers(1, 30)), "go")

    def on_timer(self, name: str, payload: Any) -> None:
        if self.done >= self.rounds:
            return
        self.done += 1
        if self.rng.random() < 0.3:
            self.annotate(step=f"{self.id}{self.done}")
        peer = self.peers[int(self.rng.integers(len(self.peers)))]
        self.send(peer, f"{self.id}{self.done}")
        self.set_timer(float(self.rng.integers(5, 30)), "go")


def chatter_steps(seed: int = 3, rounds: int = 2) -> tuple[Simulation, list[Step]]:
    """A three-node run with crossing messages, and its execution (sends, receives, local steps)."""
    sim = Simulation(seed, network=ds_network())
    for n in NODES[:3]:
        sim.add_node(Chatter(n, rounds))
    sim.run()
    return sim, from_trace(sim, local=("annotate",))


def ds_network() -> Any:
    from ..sim import Network

    return Network(latency=Uniform(5, 35))


def _verdict(steps: list[Step], i: int, j: int) -> tuple[str, int, int, dict, dict]:
    reach = happens_before_oracle(steps)
    lam, vec = lamport_stamps(steps), vector_stamps(steps)
    return related(reach, i, j), lam[i], lam[j], vec[i], vec[j]


def _vec(v: dict) -> str:
    return "[" + ",".join(str(v[n]) for n in sorted(v)) + "]"


def hb_figure(seed: int = 3, first: int = 1, second: int = 6) -> Figure:
    """The run as a space-time diagram with every step numbered; ``first`` and ``second``
    highlighted with their Lamport and vector stamps and the verdict."""
    sim, steps = chatter_steps(seed)
    i, j = first % len(steps), second % len(steps)
    verdict, li, lj, vi, vj = _verdict(steps, i, j)
    lam, vec = lamport_stamps(steps), vector_stamps(steps)
    nodes = list(NODES[:3])
    fig = spacetime(sim, nodes=nodes, legend=False,
                    title=f"e{i} {verdict} e{j}   (Lamport {li} vs {lj}; vector {_vec(vi)} vs {_vec(vj)})")
    fig.set_size_inches(10.0, 3.6)        # room for every step's stamps side by side
    ax = fig.axes[0]
    ax.set_position((0.05, 0.2, 0.93, 0.68))
    low, high = ax.get_ylim()                      # room below the last node for stacked labels
    ax.set_ylim(low + 0.6 if low > high else low - 0.6, high)
    placed: list[tuple[int, float]] = []
    for k, s in enumerate(steps):
        y = nodes.index(s.node)
        x = s.time or 0.0
        picked = k in (i, j)
        ax.plot([x], [y], marker="o", markersize=9 if picked else 5, zorder=6, linestyle="none",
                markerfacecolor=ROLLBACK if picked else "white", markeredgecolor="#333333")
        near = sum(1 for py, px in placed if py == y and abs(px - x) < 2.5)   # stack labels of close steps
        placed.append((y, x))
        shift = 9 + 16 * near
        ax.annotate(f"e{k}\n{lam[k]} {_vec(vec[k])}", (x, y), xytext=(0, -shift if y != 0 else shift - 2),
                    textcoords="offset points", ha="center", va="top" if y != 0 else "bottom",
                    fontsize=6, color=ROLLBACK if picked else "#333333", zorder=7)
    return fig


def hb_summary(seed: int = 3, first: int = 1, second: int = 6) -> str:
    _, steps = chatter_steps(seed)
    i, j = first % len(steps), second % len(steps)
    verdict, li, lj, vi, vj = _verdict(steps, i, j)
    word = {"->": "happened before", "<-": "happened after", "||": "is concurrent with",
            "==": "is"}[verdict]
    return (f"e{i} ({steps[i].node} {steps[i].kind}, Lamport {li}, vector {_vec(vi)}) {word} "
            f"e{j} ({steps[j].node} {steps[j].kind}, Lamport {lj}, vector {_vec(vj)})")


def hb_explorer(seed: int = 3, first: int = 1, second: int = 6) -> Lab:
    """Pick two events (by number) of a run and see their stamps and →, ←, ∥."""
    return Lab(hb_figure, seed=(1, 20, 1), first=(0, 20, 1), second=(0, 20, 1),
               initial={"seed": seed, "first": first, "second": second},
               describe=hb_summary, title="Happens-before explorer")


# -- delivery orders side by side ---------------------------------------------------------
def delivery_figure(seed: int = 1) -> Figure:
    """The question/answer race under each delivery order (FIFO links; a→c is slow)."""
    fig = new_figure((8.0, 5.4))
    axes = fig.subplots(2, 2)
    for ax, order in zip(axes.flat, ORDERS, strict=False):
        g = question_answer(order, seed=seed)
        spacetime(g.sim, ax=ax, legend=False, nodes=list(g.nodes))
        seen = g.deliveries()["c"]
        bad = g.violations("causal")
        ax.set_title(f"{order}: c delivers {' → '.join(seen)}"
                     f"{'  (causality broken)' if bad else ''}", fontsize=8, loc="left",
                     color=ROLLBACK if bad else "#333333")
        ax.set_xlabel("virtual time (ms)", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.subplots_adjust(hspace=0.55, wspace=0.25, left=0.06, right=0.98, top=0.93, bottom=0.09)
    return fig


def delivery_summary(seed: int = 1) -> str:
    parts = []
    for order in ORDERS:
        g = question_answer(order, seed=seed)
        d = g.deliveries()
        parts.append(f"{order}: " + " ".join(f"{n}={''.join(v)}" for n, v in d.items())
                     + f" (causal violations {len(g.violations('causal'))}, "
                       f"total-order violations {len(g.violations('total'))})")
    return "; ".join(parts)


# -- the lease lab ------------------------------------------------------------------------
def lease_figure(rho: float = 0.1, margin: float = 2.0, drift_aware: bool = True,
                 term_ms: int = 100) -> Figure:
    """Two holders, h1's clock slow by the full ρ: uses in true time, overlaps in red."""
    budget = lease_budget if drift_aware else (lambda T, r, m: T - m)
    run = lease_run(budget, term_ms=term_ms, rho=rho, margin=margin, holders=2,
                    until_ms=4 * term_ms + 60)
    fig = new_figure((7.5, 2.2))
    ax = fig.add_axes((0.17, 0.22, 0.8, 0.6))
    grants = [e for e in run.sim.trace.events if e.kind == "annotate" and e.node == "server"]
    for e in grants:
        y = 0 if e.data["lease"] == "h1" else 1
        ax.barh(y, term_ms, left=e.time / 1000, height=0.8, color="#dddddd", zorder=1)
    for u in run.uses:
        end = u.end if u.end is not None else run.sim.now
        y = 0 if u.holder == "h1" else 1
        ax.barh(y, end - u.start, left=u.start, height=0.45, color=COLORS[y], zorder=2)
    for _, b, o in run.overlaps:
        ax.axvspan(b.start, b.start + o, color=ROLLBACK, alpha=0.35, zorder=3)
    ax.set_yticks([0, 1], ["h1 (slow clock)", "h2"])
    ax.set_xlabel("true time (ms); grey = lease on the server, colour = holder using it")
    rule = "T·(1−ρ) − margin" if drift_aware else "T − margin (ignores ρ)"
    ax.set_title(f"holder stops at local {rule}; ρ = {rho:g}, margin = {margin:g} ms: "
                 f"{len(run.overlaps)} overlaps", fontsize=9, loc="left",
                 color=ROLLBACK if run.overlaps else "#333333")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def lease_summary(rho: float = 0.1, margin: float = 2.0, drift_aware: bool = True,
                  term_ms: int = 100) -> str:
    budget = lease_budget if drift_aware else (lambda T, r, m: T - m)
    run = lease_run(budget, term_ms=term_ms, rho=rho, margin=margin, holders=2,
                    until_ms=4 * term_ms + 60)
    return (f"rho={rho:g}, margin={margin:g} ms, {'drift-aware' if drift_aware else 'ignores rho'}: "
            f"{len(run.uses)} uses, {len(run.overlaps)} overlaps, worst {run.worst_overlap():.3f} ms")


def lease_lab(**initial: Any) -> Lab:
    """The lease lab: drift bound ρ, margin, and whether the holder allows for ρ."""
    return Lab(lease_figure, rho=(0.0, 0.3, 0.01), margin=(0.0, 10.0, 0.5), drift_aware=True,
               initial={"rho": 0.1, "margin": 2.0, **initial}, describe=lease_summary,
               title="Lease lab")


# -- Raft under clock faults --------------------------------------------------------------
@dataclass
class RaftClockRun:
    """A Raft run with drifting, stepped and strobed clocks: elections, commits, violations."""

    drift_ppm: float
    terms: int
    leaderless_terms: int
    committed: int
    violations: list[Any]


def raft_clock_faults(drift_ppm: float = 0.0, *, seed: int = 1, ms: float = 3_000.0) -> RaftClockRun:
    """Five Raft servers (``ds.raft.cluster``) with a tight timing configuration (heartbeat
    90 ms, election timeout 100-200 ms) whose clocks drift within ±``drift_ppm`` (from the
    seed); at 1 s the leader's clock is slowed by the full ``drift_ppm``, one server's clock
    is strobed and another's jumped back. A command is submitted every 500 ms. Raft reads no
    wall clock: drift only stretches or shrinks its timers, so it changes when elections
    happen (availability), never what is committed (the safety monitor checks every event)."""
    from .. import raft

    c = raft.cluster(n=5, seed=seed,
                     options=raft.RaftOptions(election_timeout=(100.0, 200.0), heartbeat=90.0))
    if drift_ppm:
        c.sim.drift_clocks(drift_ppm)
    for k in range(int(ms // 50)):
        c.run(50)
        leader = c.leader()
        if drift_ppm and k == 20 and leader is not None:
            c.sim.clock_drift(leader, -drift_ppm)
            others = [s for s in c.ids if s != leader]
            c.sim.clock_strobe(others[0], 400, 30, 1000)
            c.sim.clock_jump(others[1], -800)
        if k % 10 == 0:
            c.submit(f"x{k}")
    terms = raft.elections(c.sim.trace)
    committed = max((n.commit_index for n in c.nodes.values()), default=0)
    return RaftClockRun(drift_ppm, len(terms), sum(1 for e in terms.values() if e.leader is None),
                        committed, c.violations)
