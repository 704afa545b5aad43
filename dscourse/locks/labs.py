"""Chapter 9's lock arena: timeline bars of believed ownership against lease validity, and
the resource's accepted and rejected writes. ``arena_figure`` is the static picture;
``arena_lab`` wraps it in ``ds.viz.Lab`` controls (recipe, fault, release, watchdog, fencing);
``herd_figure`` plots the herd-effect counter.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from ..viz.display import new_figure
from ..viz.lab import Lab
from .cluster import RECIPES
from .scenarios import FAULTS, arena


def arena_figure(recipe: str = "token", fault: str = "pause", release: str = "lua", watchdog: bool = True,
                 fencing: bool = False, seed: int = 1) -> Figure:
    c = arena(recipe, fault, fencing=fencing, release=release, watchdog=watchdog, seed=seed)
    fig = new_figure(figsize=(9, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    rows = {name: i for i, name in enumerate(c.clients)}
    bad = {id(h) for pair in c.overlaps() for h in pair}
    for h in c.audit.holdings:
        y = rows[h.client]
        end = h.end if h.end is not None else c.now
        lease_end = min(h.lease_end, h.end) if h.end is not None else h.lease_end
        ax.barh(y + 0.18, lease_end - h.start, left=h.start, height=0.22, color="#cccccc",
                edgecolor="#888888", label="lease on Redis (until expiry or release)")
        ax.barh(y - 0.1, end - h.start, left=h.start, height=0.34,
                color="#d62728" if id(h) in bad else "#1f77b4", label="believed ownership")
    stale = {w.write_id for w in c.stale_writes()}
    for w in c.audit.writes.values():
        if w.applied is None:
            continue
        y = rows[w.client]
        if w.accepted:
            ax.plot(w.applied, y - 0.1, marker="*" if w.write_id in stale else "o", markersize=11 if w.write_id in
                    stale else 5, color="#ff7f0e" if w.write_id in stale else "#2ca02c", zorder=3)
        else:
            ax.plot(w.applied, y - 0.1, marker="x", markersize=8, color="black", zorder=3)
    if c.fault_at is not None:
        ax.axvline(c.fault_at, color="#9467bd", linestyle="--")
        ax.text(c.fault_at, len(rows) - 0.45, f" {fault}", color="#9467bd")
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_xlabel("virtual time (ms)")
    ax.set_ylim(-0.6, len(rows) - 0.3)
    chk = c.check()
    ax.set_title(f"{recipe}, fault={fault}, fencing={'on' if fencing else 'off'}: overlaps={chk['overlaps']}, "
                 f"stale writes accepted={chk['stale_writes']}, rejected={chk['writes_rejected']}", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(uniq.values(), uniq.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2,
              fontsize=7, frameon=False)   # below the axes: inside, it hid the last grants
    fig.tight_layout()
    return fig


def arena_summary(recipe: str = "token", fault: str = "pause", release: str = "lua", watchdog: bool = True,
                  fencing: bool = False, seed: int = 1) -> str:
    c = arena(recipe, fault, fencing=fencing, release=release, watchdog=watchdog, seed=seed)
    chk = c.check()
    return (f"{recipe} under {fault} (seed {seed}, fencing {'on' if fencing else 'off'}): "
            f"{chk['grants']} grants, {chk['overlaps']} overlapping beliefs, {chk['writes_accepted']} writes "
            f"accepted, {chk['writes_rejected']} rejected, stale writes accepted: {chk['stale_writes']}")


def arena_lab(recipe: str = "token", fault: str = "pause", seed: int = 1) -> Any:
    """The lock arena with controls: recipe, fault, release, watchdog, fencing, seed."""
    return Lab(arena_figure, recipe=list(RECIPES), fault=[f for f in FAULTS if f != "restart"],
               release=["lua", "del"], watchdog=True,
               fencing=False, seed=(0, 20, 1), initial={"recipe": recipe, "fault": fault, "seed": seed},
               describe=arena_summary, title="Lock arena")


def herd_figure(waiters: tuple[int, ...] = (1, 2, 4, 8, 16), seed: int = 1) -> Figure:
    """The herd-effect counter: watch notifications per grant against the number of waiters,
    every waiter watching the lock's parent vs only its predecessor (:func:`.zkrw.herd`)."""
    from .zkrw import herd

    fig = new_figure(figsize=(5.5, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    for strategy, style in (("parent", "o-"), ("predecessor", "s-")):
        ys = [herd(n, strategy, seed=seed)["per_grant"] for n in waiters]
        ax.plot(waiters, ys, style, label=f"every waiter watches the {strategy}")
    ax.set_xlabel("waiters")
    ax.set_ylabel("watch notifications per grant")
    ax.set_xticks(list(waiters))
    ax.legend(fontsize=8)
    ax.set_title("The herd effect: a ZooKeeper lock, each contender granted once", fontsize=9)
    fig.tight_layout()
    return fig
