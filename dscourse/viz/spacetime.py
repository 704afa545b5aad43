"""The space-time (Lamport) diagram of a simulation trace, in matplotlib.

One horizontal lane per node, virtual time to the right (Lamport, "Time, Clocks, and the
Ordering of Events", CACM 21(7), 1978, Fig. 1, drawn sideways). Every artist carries a
``gid`` naming what it shows, so tests and graders can count them:

======================  ============================================================
``msg``                 a delivered message (arrow from send to deliver)
``dup``                 an extra delivery of a duplicated message (dashed arrow)
``drop``                a lost message: a line ending in an ``drop-x`` cross
``inflight``            a message still in the network when the trace ends (``inflight-o``)
``crash`` / ``pause``   a bar on the lane while the node is crashed / paused
``partition`` / ``cut``  a shaded time span while the network is partitioned / a link cut
``annotate``            a marker for ``node.annotate(...)`` (role changes are labelled)
``timer``               a tick where a timer fired (only with ``timers=True``)
======================  ============================================================
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

from ..errors import ConfigError, allowed
from . import colors
from .display import new_figure
from .scene import Message, SpacetimeScene, spacetime_scene

MAX_LABELLED_MARKS = 40
MAX_MESSAGES = 5000


def _window(window: Any, scene: SpacetimeScene) -> tuple[float, float]:
    if window is None:
        end = scene.end if scene.end > 0 else 1.0
        return (-end * 0.02, end * 1.08)
    try:
        start, stop = window
    except (TypeError, ValueError):
        raise allowed("window", window, "None or (start_ms, end_ms) with start < end") from None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop)) or not start < stop:
        raise allowed("window", window, "None or (start_ms, end_ms) with start < end")
    return float(start), float(stop)


def _overlaps(a: float, b: float, lo: float, hi: float) -> bool:
    return a <= hi and b >= lo


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float, color: str, gid: str,
           style: str = "-", head: bool = True) -> None:
    patch = FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>" if head else "-",
                            mutation_scale=9, linewidth=1.2, linestyle=style, color=color,
                            shrinkA=0, shrinkB=0, zorder=3)
    patch.set_gid(gid)
    ax.add_patch(patch)


def _drop_point(m: Message, t: float, reason: str, lane: dict[str, int], nudge: float) -> tuple[float, float]:
    y0, y1 = lane[m.src], lane[m.dst]
    if reason == "crashed":
        return max(t, m.sent + nudge), y1
    # lost in the network: short of the next lane, further for farther destinations, so
    # that the crosses of a broadcast lost at once stay apart
    gap = abs(y1 - y0)
    x = t if t > m.sent + nudge / 4 else m.sent + nudge * (0.7 + 0.25 * max(gap - 1, 0))
    step = 0.0 if gap == 0 else min(0.3 + 0.15 * (gap - 1), 0.75) * (1 if y1 > y0 else -1)
    return x, y0 + step


def _annotation_text(data: Any) -> str | None:
    if not isinstance(data, dict) or not data:
        return None
    if "role" in data:
        return str(data["role"])
    key, value = next(iter(data.items()))
    text = f"{key}={value}"
    return text if len(text) <= 16 else None


def spacetime(trace: Any, *, window: tuple[float, float] | None = None,
              nodes: Iterable[str] | None = None, ax: Axes | None = None,
              timers: bool = False, title: str | None = None, legend: bool = True,
              messages: bool = True, roles: bool = False) -> Figure:
    """Draw ``trace`` (a Trace, a Simulation, or events) as a space-time diagram.

    ``window=(start_ms, end_ms)`` shows part of a long trace; ``nodes`` picks and orders the
    lanes (default: every node, in order of first appearance); ``ax`` draws into an existing
    axes. Message arrows are coloured by label (:func:`~dscourse.viz.colors.label_colors`);
    ``messages=False`` leaves them out (for busy traces); ``roles=True`` colours each lane by
    the node's role from its ``annotate(role=...)`` events (gid ``role``).
    Returns the Figure; the same trace always gives the same picture.
    """
    scene = spacetime_scene(trace, nodes)
    lo, hi = _window(window, scene)
    lane = {n: i for i, n in enumerate(scene.nodes)}
    if ax is None:
        height = 0.95 + 0.45 * max(len(lane), 2) + (0.25 if title else 0.0)
        fig = new_figure((7.5, height))
        top = (0.15 + (0.25 if title else 0.0)) / height
        bottom = 0.55 / height
        ax = fig.add_axes((0.09, bottom, 0.71, 1 - top - bottom))
    else:
        root = ax.get_figure(root=True)
        assert root is not None   # an axes always belongs to a figure
        fig = root
    shown = [] if not messages else [m for m in scene.messages if m.src in lane and m.dst in lane
             and _overlaps(m.sent, max((m.sent, *m.delivered, *(t for t, _ in m.dropped))), lo, hi)]
    if len(shown) > MAX_MESSAGES:
        raise ConfigError(f"{len(shown)} messages in view is too many to draw (at most {MAX_MESSAGES}): "
                          "pass window=(start_ms, end_ms), fewer nodes=..., or messages=False")
    latencies = [m.delivered[0] - m.sent for m in scene.messages if m.delivered]
    nudge = (statistics.median(latencies) / 2) if latencies else (hi - lo) * 0.02
    palette = colors.label_colors(m.label for m in shown)

    for row in lane.values():
        ax.axhline(row, color="#bbbbbb", linewidth=0.8, zorder=1)
    if roles:
        _role_bands(ax, scene, lane, hi)
    for span in scene.spans:
        end = hi if span.end is None else span.end
        if not _overlaps(span.start, end, lo, hi):
            continue
        if span.kind in ("partition", "cut"):
            shade = ax.axvspan(span.start, end, color=colors.PARTITION if span.kind == "partition" else colors.CUT,
                               alpha=0.25, linewidth=0, zorder=0)
            shade.set_gid(span.kind)
        elif span.node in lane:
            y = lane[span.node]
            bar = Rectangle((span.start, y - 0.12), end - span.start, 0.24, zorder=2, linewidth=0,
                            facecolor=colors.CRASH if span.kind == "crash" else colors.PAUSE,
                            alpha=0.85 if span.kind == "crash" else 0.6,
                            hatch=None if span.kind == "crash" else "//")
            bar.set_gid(span.kind)
            ax.add_patch(bar)
    for m in shown:
        color = palette[m.label]
        y0, y1 = lane[m.src], lane[m.dst]
        for i, t in enumerate(m.delivered):
            _arrow(ax, m.sent, y0, t, y1, color, "msg" if i == 0 else "dup", style="-" if i == 0 else "--")
        for t, reason in m.dropped:
            dx, dy = _drop_point(m, t, reason, lane, nudge)
            _arrow(ax, m.sent, y0, dx, dy, color, "drop", head=False)
            (cross,) = ax.plot([dx], [dy], marker="x", markersize=7, markeredgewidth=2,
                               color=colors.CRASH, zorder=4, linestyle="none")
            cross.set_gid("drop-x")
        if not m.delivered and not m.dropped:   # still in flight when the trace ends
            dx, dy = _drop_point(m, scene.end, "loss", lane, nudge)
            _arrow(ax, m.sent, y0, dx, dy, color, "inflight", style=":", head=False)
            (ring,) = ax.plot([dx], [dy], marker="o", markersize=5, markerfacecolor="white",
                              markeredgecolor=color, zorder=4, linestyle="none")
            ring.set_gid("inflight-o")
    marks = [k for k in scene.marks if k.node in lane and lo <= k.time <= hi]
    labelled = sum(1 for k in marks if k.kind == "annotate") <= MAX_LABELLED_MARKS
    for k in marks:
        y = lane[k.node]
        if k.kind == "timer":
            if timers:
                (tick,) = ax.plot([k.time], [y], marker="|", markersize=8, color="#555555", zorder=3)
                tick.set_gid("timer")
            continue
        role = k.detail.get("role") if isinstance(k.detail, dict) else None
        face = colors.role_color(role) if role is not None else "#555555"
        (dot,) = ax.plot([k.time], [y], marker="D" if k.kind == "annotate" else "v", markersize=5,
                         markerfacecolor=face, markeredgecolor="#333333", zorder=5, linestyle="none")
        dot.set_gid(k.kind)
        text = _annotation_text(k.detail) if k.kind == "annotate" else "clock jump"
        if roles and role is not None:
            text = None                     # the lane colour already says it
        if labelled and text:
            right = k.time > lo + 0.85 * (hi - lo)
            ax.annotate(text, (k.time, y), xytext=(-3 if right else 2, 6), textcoords="offset points",
                        fontsize=7, color="#333333", zorder=6, clip_on=True, ha="right" if right else "left")

    ax.set_xlim(lo, hi)
    ax.set_ylim(len(lane) - 0.5, -0.5)
    ax.set_yticks(range(len(lane)), list(lane))
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("virtual time (ms)")
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    if legend:
        _legend(ax, palette, {g for a in [*ax.patches, *ax.lines] if (g := a.get_gid())})
    return fig


def _role_bands(ax: Axes, scene: SpacetimeScene, lane: dict[str, int], hi: float) -> None:
    current: dict[str, tuple[float, Any]] = {}
    bands: list[tuple[str, float, float, Any]] = []
    for k in scene.marks:
        if k.kind == "annotate" and k.node in lane and isinstance(k.detail, dict) and "role" in k.detail:
            if k.node in current:
                start, role = current[k.node]
                bands.append((k.node, start, k.time, role))
            current[k.node] = (k.time, k.detail["role"])
    bands += [(node, start, max(hi, scene.end), role) for node, (start, role) in current.items()]
    for node, start, end, role in bands:
        band = Rectangle((start, lane[node] - 0.16), end - start, 0.32, facecolor=colors.role_color(role),
                         edgecolor="none", alpha=0.8, zorder=1.5)
        band.set_gid("role")
        band.set_label(str(role))
        ax.add_patch(band)


def _legend(ax: Axes, palette: dict[str, str], present: set[str]) -> None:
    handles: list[Any] = [Line2D([], [], color=c, linewidth=1.5, label=label) for label, c in palette.items()]
    roles = sorted({str(p.get_label()) for p in ax.patches if p.get_gid() == "role"})
    handles += [Patch(color=colors.role_color(r), alpha=0.8, label=r) for r in roles]
    if "dup" in present:
        handles.append(Line2D([], [], color="#555555", linestyle="--", label="duplicate"))
    if "inflight-o" in present:
        handles.append(Line2D([], [], color="#555555", linestyle=":", marker="o", markerfacecolor="white",
                              label="in flight"))
    if "drop-x" in present:
        handles.append(Line2D([], [], color=colors.CRASH, marker="x", linestyle="none", label="dropped"))
    if "crash" in present:
        handles.append(Patch(color=colors.CRASH, alpha=0.85, label="crashed"))
    if "pause" in present:
        handles.append(Patch(facecolor=colors.PAUSE, alpha=0.6, hatch="//", label="paused"))
    if "partition" in present:
        handles.append(Patch(color=colors.PARTITION, alpha=0.35, label="partition"))
    if "cut" in present:
        handles.append(Patch(color=colors.CUT, alpha=0.35, label="link cut"))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False, borderaxespad=0.0)
