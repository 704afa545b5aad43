"""Chapter 15's figures (propagation CDFs, the server's cost per design, the thundering herd)
and its live widgets: :func:`long_poll_player` and the gray-release console :func:`gray_console`
(its static figure :func:`gray_console_figure`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from ..viz import Player
from ..viz.display import new_figure
from ..viz.lab import Lab
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


# -- the gray-release console ------------------------------------------------------------------
IP_CHOICES = {"none": (), "10.0.0.7": ("10.0.0.7",), "10.0.0.7, 10.0.0.42": ("10.0.0.7", "10.0.0.42")}
LABEL_CHOICES = {"none": (), "canary": ("canary",), "canary, beta": ("canary", "beta")}
ACTIONS = ("gray", "merge to full", "abandon gray", "merge, then roll back")
REASON_MARK = {"ip": "I", "label": "L", "percentage": "P", "": ""}


def gray_console_state(ips: str = "10.0.0.7", labels: str = "canary", percentage: int = 10,
                       action: str = "gray", clients: int = 100, seed: int = 15) -> Any:
    """The console after applying the rule and then ``action`` (a fresh, deterministic run)."""
    from .console import GrayConsole

    console = GrayConsole(clients=clients, seed=seed)
    console.apply(IP_CHOICES[ips], LABEL_CHOICES[labels], percentage)
    if action == "merge to full":
        console.merge()
    elif action == "abandon gray":
        console.abandon()
    elif action == "merge, then roll back":
        console.merge()
        console.rollback()
    return console


def gray_console_figure(ips: str = "10.0.0.7", labels: str = "canary", percentage: int = 10,
                        action: str = "gray", clients: int = 100, seed: int = 15) -> Figure:
    """Each client a square: orange if it holds the gray content, blue the main one; the letter
    says why the rule matches it (I: IP, L: label, P: percentage bucket)."""
    console = gray_console_state(ips, labels, percentage, action, clients, seed)
    rows = console.rows()
    side = max(1, int(len(rows) ** 0.5 + 0.999))
    fig = new_figure(figsize=(8.5, 3.6))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    for i, r in enumerate(rows):
        x, y = i % side, side - 1 - i // side
        color = "#ff7f0e" if r.content == console.gray_content else "#1f77b4"
        ax.add_patch(_square(x, y, color))
        if REASON_MARK[r.reason]:
            ax.text(x + 0.5, y + 0.45, REASON_MARK[r.reason], ha="center", va="center", fontsize=6, color="white")
    ax.set_xlim(0, side)
    ax.set_ylim(0, side)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{len(rows)} clients: orange = {console.gray_content!r}, blue = {console.main_content!r}",
                 fontsize=8)
    counts = console.served()
    names = sorted(counts, key=str)
    bx.barh([str(n) for n in names], [counts[n] for n in names],
            color=["#ff7f0e" if n == console.gray_content else "#1f77b4" for n in names])
    bx.set_xlabel("clients holding it")
    bx.set_title(" / ".join(console.log), fontsize=7)
    fig.tight_layout()
    return fig


def _square(x: float, y: float, color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.05, y + 0.05), 0.9, 0.9, color=color)


def _console_summary(ips: str, labels: str, percentage: int, action: str) -> str:
    console = gray_console_state(ips, labels, percentage, action)
    rows = console.rows()
    sample = "; ".join(f"{r.client} {r.ip} {list(r.labels)} -> {r.content!r}" for r in rows[:3])
    return (f"cohort {len(console.cohort())} of {len(rows)}; holding: "
            + ", ".join(f"{k!r} x{v}" for k, v in sorted(console.served().items(), key=str)) + f"; {sample}")


def gray_console(ips: str = "10.0.0.7", labels: str = "canary", percentage: int = 10, action: str = "gray") -> Any:
    """The gray-release console: edit the rule (IP list, label, percentage), then gray only,
    merge to full, abandon, or merge and roll back; the cohort and each client's config redraw."""
    return Lab(gray_console_figure, ips=list(IP_CHOICES), labels=list(LABEL_CHOICES), percentage=(0, 100, 5),
               action=list(ACTIONS), initial={"ips": ips, "labels": labels, "percentage": percentage,
                                              "action": action},
               describe=_console_summary, title="Gray-release console")


# -- the thundering herd -----------------------------------------------------------------------
def herd_figure(runs: Mapping[str, Any]) -> Figure:
    """Requests per second at the server after a restart (100 ms buckets), one panel per
    shipped schedule, with and without jitter; the dashed line is when the server is back. The
    axis stops 40 s after it (peak and mean in the legend are over the whole window)."""
    pairs: dict[str, list[Any]] = {}
    for h in runs.values():
        pairs.setdefault(h.policy.replace(" + jitter", ""), []).append(h)
    fig = new_figure(figsize=(10, 3.2))
    axes = fig.subplots(1, len(pairs), sharey=True, squeeze=False)[0]
    for ax, (name, hs) in zip(axes, pairs.items(), strict=True):
        for h in hs:
            t = [(h.restart_at + i * 100 - h.up_at) / 1000 for i in range(len(h.counts))]
            jitter = "jitter" in h.policy
            ax.step(t, h.rates(), where="post", lw=1.0 if jitter else 1.4,
                    color="#2ca02c" if jitter else "#d62728",
                    label=f"{h.policy}: peak {h.peak_per_s:,.0f}/s, mean {h.mean_per_s:,.0f}/s")
        ax.axvline(0, color="grey", ls="--", lw=0.8)
        ax.set_xlim(right=min(ax.get_xlim()[1], 40))  # the statistics cover the whole window
        ax.set_yscale("symlog", linthresh=100)
        ax.set_xlabel("seconds after the server is back")
        ax.set_title(f"{name}, {hs[0].clients:,} clients", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("requests/s at the server")
    fig.tight_layout()
    return fig
