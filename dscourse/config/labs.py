"""Chapter 15's figures (propagation CDFs, the server's cost per design) and its live widget,
:func:`long_poll_player`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from ..viz import Player
from ..viz.display import new_figure
from .measure import Scale
from .system import cluster

COLORS = {"nacos": "#1f77b4", "nacos2": "#2ca02c", "apollo": "#ff7f0e", "polling": "#d62728"}


def cost_figure(runs: Mapping[str, Scale]) -> Figure:
    """Left: each design's propagation CDF after one publish (log time axis); right: the
    server's idle requests per second and the long polls it holds."""
    fig = new_figure(figsize=(10, 3.2))
    ax, bx = fig.subplots(1, 2)
    for design, s in runs.items():
        d = sorted(max(x, 0.1) for x in s.delays)
        ax.step(d, [(i + 1) / len(d) for i in range(len(d))], where="post",
                label=design, color=COLORS.get(design))
    ax.set_xscale("log")
    ax.set_xlabel("delay after the publish (ms, log)")
    ax.set_ylabel("fraction of clients updated")
    ax.legend(loc="lower right", fontsize=8)
    names = list(runs)
    xs = range(len(names))
    bx.bar([x - 0.2 for x in xs], [runs[n].idle.requests_per_s for n in names], width=0.4,
           color=[COLORS.get(n, "grey") for n in names], label="idle requests/s")
    bx.bar([x + 0.2 for x in xs], [runs[n].idle.held_mean + runs[n].idle.connections for n in names],
           width=0.4, color="lightgrey", edgecolor="black", label="held polls + open connections")
    bx.set_xticks(list(xs), names)
    bx.set_yscale("symlog")
    bx.set_title(f"server cost, {runs[names[0]].idle.clients} clients, no change", fontsize=9)
    bx.legend(fontsize=8)
    fig.tight_layout()
    return fig


def long_poll_player(seed: int | None = None, *, design: str = "nacos", clients: int = 2) -> Player:
    """A config server and ``clients`` clients of ``design`` (see :func:`~.system.cluster`) in
    a :class:`~dscourse.viz.Player`: **publish** a new release of ``application.yaml`` and watch
    the held long polls answer at once with the changed key, then the clients fetch it; crash
    and recover the server to see clients keep serving their snapshot."""

    def make(s: int) -> Any:
        return cluster(design, clients=clients, seed=s).sim

    player = Player(make, seed=seed, window_ms=65_000)
    player.add_action("publish", _publish)
    player.add_action("crash server", lambda sim: sim.crash("server"))
    player.add_action("recover server", lambda sim: sim.recover("server"))
    return player


def _publish(sim: Any) -> None:
    server = sim.nodes["server"]
    server.publish("application.yaml", f"release at {sim.now:g} ms")
