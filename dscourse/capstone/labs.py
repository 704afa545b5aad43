"""Chapter 16's figures and its live widget.

* :func:`architecture_figure` -- MiniMall's processes, what each is made of, and which chapter
  it comes from (a static figure);
* :func:`run_figure` -- one judged run: the nemesis's faults per process on a timeline and the
  six invariants' verdicts;
* :func:`matrix_figure` -- verdicts of several runs (rows) by invariant (columns);
* :func:`fault_lab` -- the live widget: choose the faults and the defence to remove, see which
  invariants hold (a :class:`ds.viz.lab.Lab`; :func:`run_figure` is its static figure).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from ..viz.display import new_figure
from ..viz.lab import Lab
from .invariants import DEFENDS, INVARIANTS
from .orders import DEFENCES
from .trial import Run, critical_pause, trial

GREEN, RED, GREY = "#2ca02c", "#d62728", "#bbbbbb"
#: the widget's fault menu: a name -> ``trial`` keywords
FAULTS: dict[str, dict[str, Any]] = {
    "none": {"kinds": (), "loss": 0.0, "duplicate": 0.0},
    "message loss + duplication": {"kinds": (), "loss": 0.05, "duplicate": 0.05},
    "pauses": {"kinds": ("pause",)},
    "crashes and restarts": {"kinds": ("crash",), "mean_duration": 1_500.0},
    "partitions": {"kinds": ("partition",)},
    "clock jumps": {"kinds": ("clock_jump",)},
    "combined": {},
    "targeted pause (in the lock)": {"targeted": True},
}


def architecture_figure() -> Figure:
    """Boxes for MiniMall's processes, arrows for their calls, each labelled with its chapter."""
    fig = new_figure(figsize=(10, 4.6))
    ax = fig.subplots()
    boxes = {
        "shoppers": (0.3, 2.2, "shoppers u1..u8\n(workload, history)", "#eeeeee"),
        "gateway": (2.4, 2.2, "gateway\nroutes, gray rule (Ch 13)\nRPC consumer (Ch 12)", "#cfe2f3"),
        "config": (2.4, 4.0, "config center\nNacos long polling (Ch 15)", "#fce5cd"),
        "zk": (4.9, 4.0, "ZooKeeper ensemble zk1-zk3\nregistry, sessions (Ch 7-8)", "#d9ead3"),
        "orders": (4.9, 2.2, "order1, order2\nRPC providers (Ch 12)\nSaga orchestrator (Ch 14)", "#cfe2f3"),
        "leaf": (7.6, 4.0, "Leaf server + leaf_alloc DB\nsegment ids (Ch 10)", "#ead1dc"),
        "redis": (7.6, 2.8, "Redis\nlock + fencing counter (Ch 9)", "#f4cccc"),
        "inventory": (7.6, 1.6, "inventory\nfenced resource (Ch 9)", "#f4cccc"),
        "payment": (7.6, 0.4, "payment\nTCC on SQLite (Ch 14)", "#fff2cc"),
    }
    w, h = 2.0, 0.95
    for x, y, text, color in boxes.values():
        ax.add_patch(_box(x, y, w, h, color))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=7.5)
    arrows = [("shoppers", "gateway", "POST /orders"), ("config", "gateway", "routes, gray %"),
              ("gateway", "orders", "placeOrder (RPC)"), ("zk", "gateway", "watch providers"),
              ("orders", "zk", "ephemeral znode"), ("orders", "leaf", "ids"), ("orders", "redis", "lock"),
              ("orders", "inventory", "read / write + token"), ("orders", "payment", "Try / Confirm / Cancel")]
    for a, b, label in arrows:
        xa, ya = boxes[a][0] + w / 2, boxes[a][1] + h / 2
        xb, yb = boxes[b][0] + w / 2, boxes[b][1] + h / 2
        dx, dy = xb - xa, yb - ya
        sx = min(1.0, (w / 2) / abs(dx)) if dx else 1.0
        sy = min(1.0, (h / 2) / abs(dy)) if dy else 1.0
        s = min(sx, sy)
        ax.annotate("", xy=(xb - dx * s, yb - dy * s), xytext=(xa + dx * s, ya + dy * s),
                    arrowprops={"arrowstyle": "->", "color": "#444444"})
        ax.text((xa + xb) / 2, (ya + yb) / 2 + 0.08, label, ha="center", fontsize=6.5, color="#333333",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_xlim(0, 9.8)
    ax.set_ylim(0.2, 5.1)
    ax.axis("off")
    ax.set_title("MiniMall: one simulation, every process from an earlier chapter", fontsize=10)
    fig.tight_layout()
    return fig


def _box(x: float, y: float, w: float, h: float, color: str) -> Any:
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color, ec="#555555")


def run_figure(run: Run, title: str = "") -> Figure:
    """Left: the schedule's faults per process (bars from fault to repair, ticks for jumps);
    right: the six verdicts (green holds, red violated, with the count examined)."""
    fig = new_figure(figsize=(10, 3.0))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    spans = _spans(run.schedule)
    procs = sorted({p for p, *_ in spans}) or ["(no faults)"]
    colors = {"crash": RED, "pause": "#9467bd", "partition": "#ff7f0e", "clock_jump": "#1f77b4"}
    for p, kind, t0, t1 in spans:
        y = procs.index(p)
        if t1 > t0:
            ax.barh(y, t1 - t0, left=t0, height=0.6, color=colors.get(kind, GREY))
        else:
            ax.plot([t0], [y], marker="|", markersize=12, color=colors.get(kind, GREY))
    ax.set_yticks(range(len(procs)), procs, fontsize=7)
    ax.set_xlabel("virtual time (ms)")
    ax.set_title("faults: " + ", ".join(f"{k}" for k in colors if any(s[1] == k for s in spans)) if spans
                 else "no faults", fontsize=8)
    for i, name in enumerate(INVARIANTS):
        v = run.verdicts[name]
        bx.add_patch(_box(0.05, len(INVARIANTS) - 1 - i + 0.08, 0.9, 0.8, GREEN if v.ok else RED))
        bx.text(0.5, len(INVARIANTS) - 1 - i + 0.48, f"{name}\n{'holds' if v.ok else 'VIOLATED'} "
                f"({v.examined} checked)", ha="center", va="center", fontsize=7, color="white")
    bx.set_xlim(0, 1)
    bx.set_ylim(0, len(INVARIANTS))
    bx.axis("off")
    removed = ", ".join(run.without) or "none"
    fig.suptitle(title or f"seed {run.seed}, defences removed: {removed}", fontsize=9)
    fig.tight_layout()
    return fig


def _spans(schedule: Any) -> list[tuple[str, str, float, float]]:
    """(process, kind, start, end) for each fault of a schedule on processes."""
    out: list[tuple[str, str, float, float]] = []
    open_crash: dict[str, float] = {}
    open_part: tuple[float, list[str]] | None = None
    for t, action in schedule:
        name, args = action[0], action[1:]
        if name == "crash":
            open_crash[args[0]] = t
        elif name == "recover" and args[0] in open_crash:
            out.append((args[0], "crash", open_crash.pop(args[0]), t))
        elif name == "pause":
            out.append((args[0], "pause", t, t + float(args[1])))
        elif name == "clock_jump":
            out.append((args[0], "clock_jump", t, t))
        elif name == "partition":
            groups = sorted(args[0], key=len)
            open_part = (t, list(groups[0]))
        elif name == "heal" and open_part is not None:
            out.extend((p, "partition", open_part[0], t) for p in open_part[1])
            open_part = None
    return out


def matrix_figure(runs: Mapping[str, Run]) -> Figure:
    """One row per run (its label), one column per invariant: green holds, red violated."""
    fig = new_figure(figsize=(10, 0.45 * len(runs) + 1.3))
    ax = fig.subplots()
    labels = list(runs)
    for i, label in enumerate(labels):
        for j, name in enumerate(INVARIANTS):
            v = runs[label].verdicts[name]
            ax.add_patch(_box(j + 0.05, len(labels) - 1 - i + 0.1, 0.9, 0.8, GREEN if v.ok else RED))
            ax.text(j + 0.5, len(labels) - 1 - i + 0.5, "holds" if v.ok else f"{len(v.violations)} x",
                    ha="center", va="center", fontsize=7, color="white")
    ax.set_xlim(0, len(INVARIANTS))
    ax.set_ylim(0, len(labels))
    ax.set_xticks([j + 0.5 for j in range(len(INVARIANTS))], [n.replace("_", "\n") for n in INVARIANTS],
                  fontsize=7)
    ax.set_yticks([len(labels) - 1 - i + 0.5 for i in range(len(labels))], labels, fontsize=7)
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def lab_run(seed: int = 1, faults: str = "combined", without: str = "none") -> Run:
    """The run the widget shows (deterministic for its settings)."""
    if faults not in FAULTS:
        from ..errors import allowed

        raise allowed("faults", faults, f"one of {', '.join(FAULTS)}")
    removed = () if without == "none" else (without,)
    options = dict(FAULTS[faults])
    if options.pop("targeted", False):
        options["schedule"] = critical_pause(seed)
    run = trial(seed, without=removed, **options)
    assert isinstance(run, Run)
    return run


def _lab_figure(seed: int = 1, faults: str = "combined", without: str = "none") -> Figure:
    return run_figure(lab_run(seed, faults, without))


def _lab_summary(seed: int = 1, faults: str = "combined", without: str = "none") -> str:
    run = lab_run(seed, faults, without)
    failed = run.failed()
    head = f"seed {seed}, faults: {faults}, removed: {without}: "
    head += "every invariant holds" if not failed else "violated: " + ", ".join(failed)
    first = [str(run.verdicts[f].violations[0]) for f in failed[:2]]
    return head + ("; " + "; ".join(first) if first else "") + f" | {run.summary}"


def fault_lab(seed: int = 1, faults: str = "combined", without: str = "none") -> Lab:
    """Choose the faults, the defence to remove and the seed; the run is rebuilt and judged."""
    return Lab(_lab_figure, faults=list(FAULTS), without=["none", *DEFENCES], seed=(0, 20, 1),
               initial={"seed": seed, "faults": faults, "without": without}, describe=_lab_summary,
               title="MiniMall under a nemesis")


__all__ = ["DEFENDS", "FAULTS", "architecture_figure", "fault_lab", "lab_run", "matrix_figure", "run_figure"]
