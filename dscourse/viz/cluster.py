"""The cluster as a graph: roles, crashes, cut links and in-flight messages.

Conventions (curriculum §1.2): node fill is the role from the latest
``annotate(role=...)``, a red border marks a crashed node (grey dashed: paused), a dashed
edge marks a link that is partitioned or cut, and in-flight messages appear on their link
(small dots coloured by message label in the figure, a count in the live graph).

:func:`cluster` returns a :class:`ClusterView`: displayed in a notebook it is an
ipycytoscape graph where a kernel runs and the static matplotlib figure
(:func:`cluster_figure`) everywhere else. Artists of the figure carry ``gid``\\ s
(``node:<id>``, ``edge:<a>-<b>``, ``inflight:<src>-<dst>``) for tests.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from ..errors import allowed
from . import colors
from .display import bundle, new_figure
from .scene import ClusterState, cluster_state

MAX_DOTS = 5


def layout(nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Nodes on a unit circle, the first at the top, clockwise (deterministic)."""
    n = max(len(nodes), 1)
    return {v: (math.sin(2 * math.pi * i / n), math.cos(2 * math.pi * i / n)) if len(nodes) > 1 else (0.0, 0.0)
            for i, v in enumerate(nodes)}


def _state(source: Any, at: float | None, nodes: Iterable[str] | None) -> ClusterState:
    if isinstance(source, ClusterState):
        return source
    if hasattr(source, "trace") or hasattr(source, "events") or isinstance(source, (list, tuple)):
        state = cluster_state(source, at=at, nodes=nodes)
        now = getattr(source, "now", None)
        if at is None and isinstance(now, (int, float)):
            state.time = float(now)
        sim_nodes = getattr(source, "nodes", None)
        if nodes is None and sim_nodes is not None:
            ids = list(sim_nodes) if not isinstance(sim_nodes, dict) else list(sim_nodes.keys())
            ids = [getattr(v, "id", v) for v in ids]
            state.nodes = ids + [v for v in state.nodes if v not in ids]
            for v in ids:
                state.roles.setdefault(v, None)
        return state
    raise allowed("sim_or_state", source, "a Simulation, a Trace, a list of events or a ClusterState")


def cluster_figure(source: Any, *, at: float | None = None, nodes: Iterable[str] | None = None,
                   ax: Axes | None = None, title: str | None = None) -> Figure:
    """The static cluster picture of a simulation, trace or :class:`ClusterState` at time ``at``."""
    state = _state(source, at, nodes)
    pos = layout(state.nodes)
    if ax is None:
        fig = new_figure((3.6, 3.0))
        ax = fig.add_axes((0.02, 0.02, 0.96, 0.86))
    else:
        root = ax.get_figure(root=True)
        assert root is not None   # an axes always belongs to a figure
        fig = root
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.3, 1.3)
    radius = 0.2 if len(state.nodes) <= 6 else 0.14
    for i, a in enumerate(state.nodes):
        for b in state.nodes[i + 1:]:
            blocked = state.blocked(a, b) or state.blocked(b, a)
            (line,) = ax.plot(*zip(pos[a], pos[b], strict=False), color="#c0392b" if blocked else "#bbbbbb",
                              linestyle=(0, (4, 3)) if blocked else "-", linewidth=1.2, zorder=1)
            line.set_gid(f"edge:{a}-{b}")
    palette = colors.label_colors(lbl for labels in state.in_flight.values() for lbl in labels)
    for (src, dst), labels in sorted(state.in_flight.items()):
        if src not in pos or dst not in pos or src == dst:
            continue
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        dx, dy = x1 - x0, y1 - y0
        norm = math.hypot(dx, dy) or 1.0
        off = (-dy / norm * 0.07, dx / norm * 0.07)      # the src->dst lane sits to one side
        shown = labels[:MAX_DOTS]
        xs = [x0 + dx * (0.3 + 0.4 * k / max(len(shown), 1)) + off[0] for k in range(len(shown))]
        ys = [y0 + dy * (0.3 + 0.4 * k / max(len(shown), 1)) + off[1] for k in range(len(shown))]
        dots = ax.scatter(xs, ys, s=30, c=[palette[lbl] for lbl in shown], edgecolors="white",
                          linewidths=0.5, zorder=3)
        dots.set_gid(f"inflight:{src}-{dst}")
        if len(labels) > MAX_DOTS:
            ax.text(xs[-1] + off[0], ys[-1] + off[1], f"+{len(labels) - MAX_DOTS}", fontsize=7, zorder=4)
    for v in state.nodes:
        crashed, paused = v in state.crashed, v in state.paused
        circle = Circle(pos[v], radius, facecolor=colors.role_color(state.roles.get(v)),
                        edgecolor=colors.CRASH if crashed else ("#555555" if paused else "#333333"),
                        linewidth=3 if crashed else (2 if paused else 1), linestyle="--" if paused else "-",
                        zorder=5)
        circle.set_gid(f"node:{v}")
        ax.add_patch(circle)
        ax.text(*pos[v], v, ha="center", va="center", fontsize=9, zorder=6,
                color="#666666" if crashed else "black")
    handles: list[Any] = [Line2D([], [], marker="o", linestyle="none", markersize=8, markeredgecolor="#333333",
                                 markerfacecolor=colors.role_color(r), label=str(r))
                          for r in sorted({r for r in state.roles.values() if r is not None})]
    if state.crashed:
        handles.append(Line2D([], [], marker="o", linestyle="none", markersize=8, markerfacecolor="white",
                              markeredgecolor=colors.CRASH, markeredgewidth=2, label="crashed"))
    handles += [Line2D([], [], marker="o", linestyle="none", markersize=5, color=c, label=lbl)
                for lbl, c in palette.items()]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(-0.02, 1.12), fontsize=7, frameon=False,
                  ncol=min(len(handles), 4), handletextpad=0.2, columnspacing=0.8)
    ax.text(1.45, -1.3, title or f"t = {state.time:g} ms", fontsize=8, ha="right", va="bottom", color="#333333")
    return fig


STYLE: list[dict[str, Any]] = [
    {"selector": "node", "style": {"label": "data(label)", "background-color": "data(color)",
                                   "border-width": 1, "border-color": "#333333", "text-valign": "center",
                                   "text-halign": "center", "font-size": 11, "width": 46, "height": 46}},
    {"selector": "node.crashed", "style": {"border-width": 4, "border-color": colors.CRASH, "color": "#999999"}},
    {"selector": "node.paused", "style": {"border-width": 3, "border-style": "dashed", "border-color": "#555555"}},
    {"selector": "edge", "style": {"line-color": "#bbbbbb", "width": 2, "label": "data(label)",
                                   "font-size": 10, "text-background-color": "#ffffff",
                                   "text-background-opacity": 1, "curve-style": "bezier"}},
    {"selector": "edge.blocked", "style": {"line-style": "dashed", "line-color": "#c0392b"}},
    {"selector": "edge.busy", "style": {"line-color": "#1f77b4", "width": 3}},
]


class ClusterView:
    """A cluster picture that can be updated in place: ``.widget`` (ipycytoscape, built on
    first use) and :meth:`figure` (matplotlib) always show the same :class:`ClusterState`."""

    def __init__(self, source: Any, *, at: float | None = None, nodes: Iterable[str] | None = None) -> None:
        self._nodes = None if nodes is None else list(nodes)
        self.state = _state(source, at, self._nodes)
        self._widget: Any = None

    def update(self, source: Any, *, at: float | None = None) -> ClusterState:
        """Show ``source`` (a simulation, trace or state) at time ``at``; returns the new state."""
        self.state = _state(source, at, self._nodes)
        if self._widget is not None:
            self._sync()
        return self.state

    def figure(self, **kwargs: Any) -> Figure:
        """The static matplotlib figure of the current state."""
        return cluster_figure(self.state, **kwargs)

    def elements(self) -> dict[str, list[dict[str, Any]]]:
        """The graph as cytoscape JSON (what the live widget shows), positions included."""
        pos = layout(self.state.nodes)
        nodes = [{"data": {"id": v, "label": self._label(v), "color": colors.role_color(self.state.roles.get(v))},
                  "classes": self._node_classes(v), "position": {"x": 200 + 130 * x, "y": 160 - 130 * y}}
                 for v, (x, y) in pos.items()]
        edges = []
        for i, a in enumerate(self.state.nodes):
            for b in self.state.nodes[i + 1:]:
                edges.append({"data": {"id": f"{a}-{b}", "source": a, "target": b,
                                       "label": self._edge_label(a, b)}, "classes": self._edge_classes(a, b)})
        return {"nodes": nodes, "edges": edges}

    def _label(self, v: str) -> str:
        role = self.state.roles.get(v)
        return v if role is None else f"{v}\n{role}"

    def _node_classes(self, v: str) -> str:
        return " ".join(c for c, on in (("crashed", v in self.state.crashed),
                                        ("paused", v in self.state.paused)) if on)

    def _edge_label(self, a: str, b: str) -> str:
        parts = []
        for src, dst in ((a, b), (b, a)):
            labels = self.state.in_flight.get((src, dst), [])
            if labels:
                counts = Counter(labels)
                parts.append(f"{src}→{dst}: " + ", ".join(f"{n} {lbl}" for lbl, n in sorted(counts.items())))
        return "\n".join(parts)

    def _edge_classes(self, a: str, b: str) -> str:
        blocked = self.state.blocked(a, b) or self.state.blocked(b, a)
        busy = bool(self.state.in_flight.get((a, b)) or self.state.in_flight.get((b, a)))
        return " ".join(c for c, on in (("blocked", blocked), ("busy", busy)) if on)

    @property
    def widget(self) -> Any:
        """The live ipycytoscape graph (created on first access)."""
        if self._widget is None:
            import ipycytoscape

            self._widget = ipycytoscape.CytoscapeWidget()
            self._widget.set_style(STYLE)
            self._widget.set_layout(name="preset", fit=True, padding=20)
            self._widget.user_zooming_enabled = False
            self._widget.layout.height = "320px"
            self._widget.layout.width = "360px"
            self._build()
        return self._widget

    def _build(self) -> None:
        import ipycytoscape

        els = self.elements()
        graph = self._widget.graph
        graph.clear()
        graph.add_nodes([ipycytoscape.Node(data=n["data"], classes=n["classes"], position=n["position"])
                         for n in els["nodes"]])
        graph.add_edges([ipycytoscape.Edge(data=e["data"], classes=e["classes"]) for e in els["edges"]])

    def _sync(self) -> None:
        graph = self._widget.graph
        if [n.data["id"] for n in graph.nodes] != list(self.state.nodes):
            self._build()
            return
        els = self.elements()
        for node, spec in zip(graph.nodes, els["nodes"], strict=False):
            node.classes = spec["classes"]
            node.data = spec["data"]
        for edge, spec in zip(graph.edges, els["edges"], strict=False):
            edge.classes = spec["classes"]
            edge.data = spec["data"]

    def summary(self) -> str:
        """A one-line text description (the ``text/plain`` output)."""
        parts = []
        for v in self.state.nodes:
            role = self.state.roles.get(v)
            flags = "".join(f for f, on in (("✝", v in self.state.crashed), ("⏸", v in self.state.paused)) if on)
            parts.append(f"{v}{'(' + role + ')' if role else ''}{flags}")
        flying = sum(len(x) for x in self.state.in_flight.values())
        return f"cluster at t={self.state.time:g} ms: {' '.join(parts)}; {flying} in flight"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return bundle(self._widget_if_live(), self.figure(), self.summary())

    def _widget_if_live(self) -> Any:
        from ..notebook import static_mode

        return None if static_mode() else self.widget


def cluster(sim_or_state: Any, *, at: float | None = None, nodes: Iterable[str] | None = None) -> ClusterView:
    """The cluster of a simulation (or trace, or state) at time ``at`` ms (default: now).

    Displayed in a notebook, the result is the ipycytoscape graph where a kernel runs, and
    the static figure elsewhere; ``.figure()`` and ``.widget`` give either explicitly.
    """
    return ClusterView(sim_or_state, at=at, nodes=nodes)
