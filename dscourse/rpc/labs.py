"""Chapter 12's figures and widgets: the call path, the load-balancer arena, the hash ring.

``arena_figure`` is the static picture of one balancer's run; ``arena_compare_figure`` puts
all five side by side on the same workload; ``arena_lab`` wraps ``arena_figure`` in
``ds.viz.Lab`` controls (balancer, slow provider, weight change, seed).
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.figure import Figure

from ..viz.display import new_figure
from ..viz.lab import Lab
from .experiments import ARENA, arena, arena_rows, overall_p99
from .loadbalance import BALANCERS, ConsistentHashRing
from .model import Provider

COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd")
PATH = ("proxy", "filters", "cluster", "directory", "router", "load balancer", "codec", "transport", "provider")


def call_path_figure() -> Figure:
    """The call path as boxes, consumer side then the wire then the provider."""
    fig = new_figure(figsize=(10, 1.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, len(PATH))
    ax.set_ylim(0, 1)
    ax.axis("off")
    for i, name in enumerate(PATH):
        color = "#dbe9f6" if i < 7 else ("#fde0c5" if i == 7 else "#d9f0d3")
        ax.add_patch(_box(i + 0.06, 0.3, 0.88, 0.4, color))
        ax.text(i + 0.5, 0.5, name, ha="center", va="center", fontsize=8)
        if i:
            ax.annotate("", xy=(i + 0.06, 0.5), xytext=(i - 0.06, 0.5), arrowprops={"arrowstyle": "->"})
    ax.text(3.5, 0.85, "consumer process", ha="center", fontsize=8, color="#1f4e79")
    ax.text(7.5, 0.85, "network", ha="center", fontsize=8, color="#a65f00")
    ax.text(8.5, 0.85, "provider process", ha="center", fontsize=8, color="#2b6e1f")
    return fig


def _box(x: float, y: float, w: float, h: float, color: str) -> Any:
    from matplotlib.patches import FancyBboxPatch
    return FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=color, edgecolor="#555555")


def arena_figure(loadbalance: str = "random", slow: bool = True, weight_change: bool = False,
                 seed: int = 1) -> Figure:
    """Calls and p99 latency per provider for one balancer."""
    c = arena(loadbalance, slow=slow, weight_change=weight_change, seed=seed)
    rows = arena_rows(c)
    fig = new_figure(figsize=(8, 3))
    ax1, ax2 = fig.subplots(1, 2)
    labels = [f"p{i + 1}" + (" slow" if slow and i == 3 else "") + (" w300" if weight_change and i == 0 else "")
              for i in range(len(ARENA))]
    ax1.bar(labels, [r["calls"] for r in rows], color=COLORS[:4])
    ax1.set_ylabel("calls")
    ax2.bar(labels, [r["p99"] for r in rows], color=COLORS[:4])
    ax2.set_ylabel("p99 latency (ms)")
    fig.suptitle(f"{loadbalance}: overall p99 {overall_p99(c):.0f} ms", fontsize=10)
    fig.tight_layout()
    return fig


def arena_summary(loadbalance: str = "random", slow: bool = True, weight_change: bool = False,
                  seed: int = 1) -> str:
    c = arena(loadbalance, slow=slow, weight_change=weight_change, seed=seed)
    calls = ", ".join(f"p{i + 1} {r['calls']}" for i, r in enumerate(arena_rows(c)))
    return f"{loadbalance} (seed {seed}): calls {calls}; overall p99 {overall_p99(c):.0f} ms"


def arena_compare_figure(slow: bool = True, weight_change: bool = False, seed: int = 1) -> Figure:
    """Every balancer on the same workload: share of calls per provider, and overall p99."""
    names = list(BALANCERS)
    runs = {n: arena(n, slow=slow, weight_change=weight_change, seed=seed) for n in names}
    fig = new_figure(figsize=(9, 3.2))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    width = 0.2
    for i in range(len(ARENA)):
        shares = [arena_rows(runs[n])[i]["share"] for n in names]
        ax1.bar([k + (i - 1.5) * width for k in range(len(names))], shares, width, color=COLORS[i],
                label=f"p{i + 1}" + (" (slow)" if slow and i == 3 else ""))
    ax1.set_xticks(range(len(names)), [n.replace("response", "resp.") for n in names], fontsize=7)
    ax1.set_ylabel("share of calls")
    ax1.legend(fontsize=7)
    ax2.bar(range(len(names)), [overall_p99(runs[n]) for n in names], color="#7f7f7f")
    ax2.set_xticks(range(len(names)), [n.replace("response", "resp.") for n in names], fontsize=6, rotation=20)
    ax2.set_ylabel("overall p99 (ms)")
    fig.tight_layout()
    return fig


def arena_lab(loadbalance: str = "random", slow: bool = True, weight_change: bool = False, seed: int = 1) -> Any:
    """The arena with controls: balancer, slow provider 4, triple weight on provider 1, seed."""
    return Lab(arena_figure, loadbalance=list(BALANCERS), slow=True, weight_change=False, seed=(0, 20, 1),
               initial={"loadbalance": loadbalance, "slow": slow, "weight_change": weight_change, "seed": seed},
               describe=arena_summary, title="Load-balancer arena")


def ring_figure(n: int = 4, replicas: int = 16, keys: int = 400) -> Figure:
    """Ring points of ``n`` providers (few replicas, to see them), then one more joins: keys
    that move are drawn as crosses in the newcomer's colour."""
    ps = [Provider(f"10.0.0.{i + 1}:20880") for i in range(n + 1)]
    before, after = ConsistentHashRing(ps[:-1], replicas), ConsistentHashRing(ps, replicas)
    color = {p.address: COLORS[i % len(COLORS)] for i, p in enumerate(ps)}
    fig = new_figure(figsize=(4.2, 4.2))
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    ax.set_aspect("equal")
    ax.axis("off")
    for point, owner in zip(after.points, after.owners, strict=True):
        a = point / 2 ** 32 * 2 * math.pi
        ax.plot([math.cos(a)], [math.sin(a)], "o", color=color[owner.address], markersize=5)
    from .loadbalance import ketama_word, md5
    moved = 0
    for i in range(keys):
        k = f"user-{i}"
        a = ketama_word(md5(k), 0) / 2 ** 32 * 2 * math.pi
        if before.locate(k) != after.locate(k):
            moved += 1
            ax.plot([0.85 * math.cos(a)], [0.85 * math.sin(a)], "x", color=color[ps[-1].address], markersize=4)
        else:
            ax.plot([0.85 * math.cos(a)], [0.85 * math.sin(a)], ".", color="#bbbbbb", markersize=2)
    ax.set_title(f"{n}→{n + 1} providers, {replicas} points each: {moved}/{keys} keys move", fontsize=9)
    return fig
