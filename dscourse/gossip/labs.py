"""Chapter 4's widgets and static figures: the epidemic arena, the ring stepper and the
broadcast trade-off. Each ``*_figure`` is the static picture; each lab wraps it in
``ds.viz.Lab`` controls (the live widget where a kernel runs, the figure elsewhere).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import allowed
from ..viz import Lab
from ..viz.display import new_figure
from . import epidemic as ep
from .broadcast import TARGETS, broadcast_workload
from .glomers import batched
from .ring import ring_steps, rounds_to_converge

ARENA_MODES = ["push", "pull", "push-pull", "rumor k=1", "rumor k=2"]


def arena_figure(n: int = 1024, mode: str = "push", fanout: int = 1, seeds: int = 10) -> Figure:
    """Infected fraction per round for ``seeds`` runs, the theory beside them, and the nodes
    of the first run coloured by the round they were infected in."""
    if mode not in ARENA_MODES:
        raise allowed("mode", mode, f"one of {', '.join(ARENA_MODES)}")
    fig = new_figure(figsize=(9.5, 3.6))
    ax, grid = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    if mode.startswith("rumor"):
        k = int(mode[-1])
        rumors = [ep.rumor(n, k, "feedback-counter", seed=s) for s in range(1, seeds + 1)]
        curves = [np.array(r.informed) / n for r in rumors]
        for c in curves:
            ax.plot(c, color="#1f77b4", alpha=0.35, lw=1)
        s = ep.residue_theory(k)
        ax.axhline(1 - s, color="#d62728", ls="--", label=f"theory: 1 − s, s = {s:.3f}")
        mean_res = float(np.mean([r.residue for r in rumors]))
        ax.set_title(f"rumor mongering, feedback + counter k={k}: residue {mean_res:.3f}", fontsize=9)
        first = rumors[0].round_of
    else:
        runs = [ep.spread(n, mode, seed=s, fanout=fanout) for s in range(1, seeds + 1)]
        curves = [np.array(r.infected) / n for r in runs]
        for c in curves:
            ax.plot(c, color="#1f77b4", alpha=0.35, lw=1)
        p = [1 - 1 / n]
        step = ep.pull_next if mode == "pull" else None
        while p[-1] > 0.5 / n and len(p) < 200:
            q = p[-1]
            if step is not None:
                p.append(step(q))
            elif mode == "push":
                p.append(q * math.exp(-(1 - q)))
            else:
                p.append(q * q * math.exp(-(1 - q)))
        ax.plot(1 - np.array(p), color="#d62728", ls="--", lw=1.5, label="theory (mean-field)")
        if mode == "push" and fanout == 1:
            ax.axvline(ep.push_rounds_theory(n), color="#2ca02c", ls=":", label="log₂n + ln n")
        mean_r = float(np.mean([r.rounds for r in runs]))
        ax.set_title(f"{mode}, n={n}, fan-out {fanout}: {mean_r:.1f} rounds on average", fontsize=9)
        first = runs[0].round_of
    ax.set_xlabel("round")
    ax.set_ylabel("fraction infected")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    side = math.ceil(math.sqrt(n))
    when = np.full(side * side, np.nan)
    when[:n] = [np.nan if r < 0 else r for r in first]
    image = grid.imshow(when.reshape(side, side), cmap="viridis", interpolation="nearest")
    bar = fig.colorbar(image, ax=grid, fraction=0.046, pad=0.04)
    bar.set_label("round infected", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    grid.set_title("round each node was infected\n(first run; blank = never)", fontsize=9)
    grid.set_xticks([])
    grid.set_yticks([])
    fig.tight_layout()
    return fig


def epidemic_arena(n: int = 1024, mode: str = "push", fanout: int = 1) -> Lab:
    """The epidemic arena: n, mode and fan-out, the curves and the theory."""
    return Lab(lambda n, mode, fanout: arena_figure(n, mode, fanout),
               initial={"n": n, "mode": mode, "fanout": fanout}, title="Epidemic arena",
               n=(10, 2000, 10), mode=list(ARENA_MODES), fanout=(1, 3, 1))


def ring_figure(n: int = 3, push: int = 4) -> Figure:
    """Which items each node of the ring holds after ``push`` sequential pushes."""
    steps = ring_steps(n, pushes=max(push, 0))
    step = steps[min(push, len(steps) - 1)]
    names = list(step.holdings)
    items = [x.lower() for x in names]
    fig = new_figure(figsize=(1.2 + 0.55 * n, 0.9 + 0.4 * n))
    ax = fig.add_subplot()
    grid = np.array([[1.0 if it in step.holdings[nm] else 0.0 for it in items] for nm in names])
    ax.imshow(grid, cmap="Greens", vmin=0, vmax=1.3)
    ax.set_xticks(range(n), items)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("item")
    ax.set_title(f"after push {push} of {rounds_to_converge(n)}" + (" — converged" if step.converged else ""),
                 fontsize=9)
    fig.tight_layout()
    return fig


def ring_stepper(n: int = 3, push: int = 0) -> Lab:
    """Step through A→B→C→A→B… and see which data each node holds."""
    return Lab(ring_figure, initial={"n": n, "push": push}, title="Ring stepper", n=(2, 8, 1), push=(0, 14, 1),
               describe=lambda n, push: (f"n={n}: push {push}; the ring converges after 2n − 2 = "
                                         f"{rounds_to_converge(n)} pushes"))


def tradeoff(intervals: tuple[float, ...] = (10, 25, 50, 100, 200, 400, 800), seed: int = 1,
             duration_ms: float = 20_000) -> list[dict[str, Any]]:
    """Run the batched design at each batching interval: msgs-per-op and latency percentiles."""
    rows = []
    for iv in intervals:
        res = broadcast_workload(batched(iv), duration_ms=duration_ms, seed=seed)
        rows.append({"interval_ms": iv, "msgs_per_op": res.msgs_per_op, "median_ms": res.latency_ms[50],
                     "max_ms": res.latency_ms[100], "ok": res.ok, "3d": res.meets("3d"), "3e": res.meets("3e")})
    return rows


def tradeoff_figure(rows: list[dict[str, Any]]) -> Figure:
    """Batching interval against messages per operation and latency, with the Glomers targets."""
    fig = new_figure(figsize=(9, 3.4))
    a, b = fig.subplots(1, 2)
    iv = [r["interval_ms"] for r in rows]
    a.plot(iv, [r["msgs_per_op"] for r in rows], "o-")
    for name, t in TARGETS.items():
        a.axhline(t["msgs_per_op"], ls="--", color="#d62728" if name == "3d" else "#9467bd", label=f"{name} limit")
    a.set_xscale("log")
    a.set_xlabel("batching interval (ms)")
    a.set_ylabel("server messages per broadcast")
    a.legend(fontsize=8)
    b.plot(iv, [r["median_ms"] for r in rows], "o-", label="median")
    b.plot(iv, [r["max_ms"] for r in rows], "s-", label="max")
    for name, t in TARGETS.items():
        color = "#d62728" if name == "3d" else "#9467bd"
        b.axhline(t["median_ms"], ls=":", color=color, label=f"{name} median limit")
        b.axhline(t["max_ms"], ls="--", color=color, label=f"{name} max limit")
    b.set_xscale("log")
    b.set_xlabel("batching interval (ms)")
    b.set_ylabel("visible-everywhere latency (ms)")
    b.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
