"""The Raft visualizer and the Raft chapter's static figures.

* :func:`figure` -- a cluster at one instant: servers on a ring (fill = role, text = term,
  grey arc = time left on the election timer, dots = messages in flight, red dashes = cut
  links) beside the log matrix (servers x index, cells coloured by term, faded until
  committed, a black bar at each server's commit index, hatching for a snapshot).
* :class:`RaftVisualizer` -- that picture as a live widget: the :class:`~dscourse.viz.Player`
  controls (play, step, seek, speed, seed, reset, undo), the message debugger (fire, drop or
  duplicate any pending message or timer), per-server stop/resume/restart/time-out/client
  request, isolate and heal, "spread timers" and "align timers" (force a split vote), a
  drop-rate slider, and a Figure 8 mode (the paper's scenario, scripted).
* :func:`figure8_figure` -- the Figure 8 replay as four log-matrix panels.
* :func:`timing_figure` -- heat maps of a timing sweep.
"""

from __future__ import annotations

import math
import textwrap
from functools import partial
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Arc, Circle, Rectangle

from ..errors import allowed
from ..viz import Debugger
from ..viz.colors import CRASH, label_color, role_color
from ..viz.display import figure_png, new_figure
from .builder import RaftCluster
from .figure8 import figure8
from .mutants import CountingOldTermsRaft
from .node import RaftNode
from .options import RaftOptions

TERM_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
               "#9c755f", "#ff9da7", "#bab0ac", "#e15759")
WINDOW = 16
ROLE_MARKS = {"leader": "L", "follower": "F", "candidate": "C", "crashed": "down"}


def term_color(term: int) -> str:
    """The colour of entries of ``term`` (cycling through ten colours)."""
    return TERM_COLORS[(term - 1) % len(TERM_COLORS)]


def _ring_xy(ids: list[str]) -> dict[str, tuple[float, float]]:
    n = len(ids)
    return {sid: (math.cos(math.pi / 2 - 2 * math.pi * i / n),
                  math.sin(math.pi / 2 - 2 * math.pi * i / n)) for i, sid in enumerate(ids)}


def draw_ring(ax: Axes, c: RaftCluster, sent_at: dict[int, float] | None = None) -> None:
    """Servers on a ring with roles, terms, election-timer arcs, links and messages in flight."""
    xy = _ring_xy(c.ids)
    blocked = c.sim.blocked
    for i, a in enumerate(c.ids):
        for b in c.ids[i + 1:]:
            cut = (a, b) in blocked or (b, a) in blocked
            ax.plot(*zip(xy[a], xy[b], strict=False), color=CRASH if cut else "#dddddd",
                    ls="--" if cut else "-", lw=0.8, zorder=0)
    now = c.now
    for p in c.sim.pending():
        if p.kind != "deliver" or p.peer not in xy or p.node not in xy:
            continue
        start = (sent_at or {}).get(p.id, now)
        span = max(p.time / 1000 - start, 1e-9)
        f = min(max((now - start) / span, 0.05), 0.95)
        (x0, y0), (x1, y1) = xy[p.peer], xy[p.node]
        label = p.label or "?"
        ax.plot(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, "o", ms=5, zorder=3,
                mfc="white" if label.endswith("Reply") else label_color(label), mec=label_color(label))
    for sid in c.ids:
        x, y = xy[sid]
        st = c.state(sid)
        if not st["up"]:
            ax.add_patch(Circle((x, y), 0.2, fc="white", ec=CRASH, lw=2, zorder=4))
            ax.text(x, y, f"{sid}\nT{st['term']}", ha="center", va="center", fontsize=8,
                    color=CRASH, zorder=5)
            continue
        role = st["role"]
        ax.add_patch(Circle((x, y), 0.2, fc=role_color(role), ec="black",
                            lw=2.2 if role == "leader" else 0.8, zorder=4))
        ax.text(x, y, f"{sid}\nT{st['term']}", ha="center", va="center", fontsize=8, zorder=5)
        if st["deadline"] is not None and st["timeout"]:
            left = min(max((st["deadline"] - now) / st["timeout"], 0.0), 1.0)
            if left > 0:
                ax.add_patch(Arc((x, y), 0.56, 0.56, theta1=90, theta2=90 + 360 * left,
                                 color="#555555", lw=2, zorder=4))
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_log_matrix(ax: Axes, logs: dict[str, list[tuple[int, Any]]], commits: dict[str, int],
                    bases: dict[str, int] | None = None, up: dict[str, bool] | None = None,
                    roles: dict[str, str] | None = None, window: int = WINDOW,
                    title: str | None = None, show_commands: bool = False) -> None:
    """Servers x log index; cells coloured by term, faded until committed (see module doc)."""
    bases = bases or {}
    ids = list(logs)
    last = max([bases.get(s, 0) + len(logs[s]) for s in ids] + [1])
    first = max(1, last - window + 1)
    for row, sid in enumerate(ids):
        y = len(ids) - 1 - row
        base = bases.get(sid, 0)
        for index in range(first, last + 1):
            x = index - first
            if index <= base:
                ax.add_patch(Rectangle((x, y), 0.92, 0.8, fc="#eeeeee", ec="#999999",
                                       hatch="///", lw=0.5))
                continue
            k = index - base - 1
            if k >= len(logs[sid]):
                continue
            term, cmd = logs[sid][k]
            committed = index <= commits.get(sid, 0)
            ax.add_patch(Rectangle((x, y), 0.92, 0.8, fc=term_color(term),
                                   alpha=1.0 if committed else 0.35, ec="black", lw=0.5))
            text = f"{term}:{cmd}" if show_commands and cmd is not None else str(term)
            ax.text(x + 0.46, y + 0.4, text, ha="center", va="center", fontsize=7)
        commit = commits.get(sid, 0)
        if commit >= first:
            ax.plot([commit - first + 0.96] * 2, [y - 0.05, y + 0.85], color="black", lw=2.5)
        label = sid
        if roles and roles.get(sid):
            label += f" {ROLE_MARKS.get(roles[sid], '?')}"
        ax.text(-0.3, y + 0.4, label, ha="right", va="center", fontsize=8,
                color=CRASH if up is not None and not up.get(sid, True) else "black")
    ax.set_xlim(-1.6, window + 0.1)
    ax.set_ylim(-0.5, len(ids) + 0.1)
    ax.set_xticks([i + 0.46 for i in range(0, last - first + 1)])
    ax.set_xticklabels([str(i) for i in range(first, last + 1)], fontsize=7)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("log index", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)


def _matrix_args(c: RaftCluster) -> dict[str, Any]:
    logs, commits, bases, up, roles = {}, {}, {}, {}, {}
    for sid in c.ids:
        st = c.state(sid)
        node = c.nodes[sid]
        logs[sid] = list(node.stable.get("log", ()))
        bases[sid] = st["base"]
        up[sid] = st["up"]
        commits[sid] = st.get("commit", 0)
        roles[sid] = st.get("role", "crashed")
    return {"logs": logs, "commits": commits, "bases": bases, "up": up, "roles": roles}


def figure(source: Any, *, title: str | None = None,
           sent_at: dict[int, float] | None = None) -> Figure:
    """The static figure of a Raft cluster (a :class:`RaftCluster` or a visualizer)."""
    c = source.cluster if isinstance(source, RaftVisualizer) else source
    if not isinstance(c, RaftCluster):
        raise allowed("source", source, "a ds.raft.RaftCluster or a RaftVisualizer")
    fig = new_figure((8.4, 3.2))
    draw_ring(fig.add_axes((0.0, 0.02, 0.36, 0.92)), c, sent_at)
    leader = c.leader()
    head = title or (f"t={c.now:g} ms, leader {leader} (term {c.nodes[leader].term})"
                     if leader else f"t={c.now:g} ms, no leader")
    fig.text(0.02, 0.95, head, fontsize=9)
    draw_log_matrix(fig.add_axes((0.45, 0.16, 0.54, 0.74)), **_matrix_args(c))
    return fig


def figure8_figure(broken: bool = False) -> Figure:
    """The Figure 8 replay as panels (a)-(d); ``broken`` uses the counting mutant."""
    replay = figure8(CountingOldTermsRaft if broken else RaftNode)
    fig = new_figure((10, 2.9))
    axes = fig.subplots(1, 4)
    for ax, p in zip(axes, replay.panels, strict=False):
        roles = {s: ("crashed" if not p.up[s] else p.roles[s]) for s in p.logs}
        draw_log_matrix(ax, {s: list(v) for s, v in p.logs.items()}, p.commits, up=p.up,
                        roles=roles, window=3, show_commands=True)
        ax.set_title(f"({p.label}) " + textwrap.fill(p.caption, 34), fontsize=7, loc="left")
        ax.set_xlabel("")
    fig.subplots_adjust(left=0.05, right=0.99, top=0.72, bottom=0.1, wspace=0.4)
    return fig


def timing_figure(results: list[Any]) -> Figure:
    """Heat maps of availability and split-vote rate over (election timeout, broadcast)."""
    ts = sorted({r.election_timeout for r in results})
    bs = sorted({r.broadcast for r in results})
    fig = new_figure((8.4, 2.8))
    axes = fig.subplots(1, 2)
    for ax, field, name, cmap in ((axes[0], "availability", "availability", "Greens"),
                                  (axes[1], "split_vote_rate", "split-vote rate", "Oranges")):
        grid = [[math.nan] * len(ts) for _ in bs]
        for r in results:
            grid[bs.index(r.broadcast)][ts.index(r.election_timeout)] = getattr(r, field)
        im = ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, origin="lower", aspect="auto")
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if math.isnan(v):  # not run: broadcast >= the timeout (see timing_sweep)
                    ax.text(j, i, "b ≥ T\nnot run", ha="center", va="center", fontsize=6,
                            color="0.45")
                else:
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(ts)), [f"{t:g}" for t in ts], fontsize=7)
        ax.set_yticks(range(len(bs)), [f"{b:g}" for b in bs], fontsize=7)
        ax.set_xlabel("election timeout T (ms), drawn from (T, 2T)", fontsize=8)
        ax.set_ylabel("broadcast time (ms)", fontsize=8)
        ax.set_title(name, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    return fig


SERVER_ACTIONS = ("stop", "resume", "restart", "time out", "request", "isolate")


class RaftVisualizer(Debugger):
    """The Raft widget (see the module docstring). ``figure8=True`` scripts the paper's
    Figure 8 scenario (``broken=True`` with the mutant that commits old terms by counting);
    otherwise ``n`` servers start with ``options``. Every control is a method, so tests and
    notebooks drive it without a browser: ``v.do("stop", "s1")``, ``v.run(300)``,
    ``v.do("align timers")``, ``v.fire(pending_id)``."""

    cluster: RaftCluster  # built by _make, which Debugger.__init__ calls

    def __init__(self, n: int = 5, *, seed: int | None = None,
                 options: RaftOptions | None = None, network: Any = None,
                 figure8: bool = False, broken: bool = False, window_ms: float = 400) -> None:
        self.n, self.options, self.network = n, options, network
        self.figure8_mode, self.broken = figure8, broken
        self._sent_at: dict[int, float] = {}
        self._cursor = 0
        self._commands = 0
        super().__init__(self._make, seed=seed, views=("spacetime",), window_ms=window_ms)
        for label in SERVER_ACTIONS:
            self.add_action(label, self._server_action(label), button=False)
        self.add_action("heal", lambda sim: sim.heal())
        self.add_action("spread timers", self._spread)
        self.add_action("align timers", self._align)
        self.add_action("drop rate", self._drop_rate, button=False)

    # -- the model ------------------------------------------------------------------------
    def _make(self, seed: int) -> Any:
        self._sent_at, self._cursor, self._commands = {}, 0, 0
        if self.figure8_mode:
            self.cluster = figure8(CountingOldTermsRaft if self.broken else RaftNode, seed).cluster
        else:
            self.cluster = RaftCluster(self.n, seed, network=self.network, options=self.options)
        return self.cluster.sim

    def _server_action(self, label: str) -> Any:
        def act(sim: Any, sid: str) -> None:
            c = self.cluster
            if sid not in c.ids:
                raise allowed("server", sid, f"one of {', '.join(c.ids)}")
            up = c.up(sid)
            if label == "stop" and up:
                c.crash(sid)
            elif label == "resume" and not up:
                c.recover(sid)
            elif label == "restart":
                if up:
                    c.crash(sid)
                c.recover(sid)
            elif label == "time out" and up:
                c.timeout(sid)
            elif label == "request" and up:
                self._commands += 1
                c.submit(f"v{self._commands}", sid)
            elif label == "isolate":
                sim.partition([sid])
        return act

    def _spread(self, sim: Any) -> None:
        """Give the followers' election timers well separated deadlines (no split vote)."""
        lo, hi = self.cluster.options.election_timeout
        live = [s for s in self.cluster.ids if self.cluster.up(s)]
        for k, sid in enumerate(live):
            self.cluster.nodes[sid].set_election_timer(lo + (hi - lo) * k / max(len(live), 1))

    def _align(self, sim: Any) -> None:
        """Make every follower's election timer fire at the same moment (a split vote)."""
        lo = self.cluster.options.election_timeout[0]
        for sid in self.cluster.ids:
            if self.cluster.up(sid):
                self.cluster.nodes[sid].set_election_timer(lo)

    def _drop_rate(self, sim: Any, p: float) -> None:
        for a in self.cluster.ids:
            for b in self.cluster.ids:
                if a != b:
                    sim.set_link(a, b, drop=p)

    # -- pictures -------------------------------------------------------------------------
    def _track_sends(self) -> dict[int, float]:
        events = self.sim.trace.events
        for e in events[self._cursor:]:
            if e.kind == "send":
                self._sent_at[e.msg_id] = e.time / 1000
        self._cursor = len(events)
        return self._sent_at

    def raft_figure(self) -> Figure:
        return figure(self.cluster, sent_at=self._track_sends())

    def figure(self) -> Figure:
        return self.raft_figure()

    def summary(self) -> str:
        c = self.cluster
        leader = c.leader()
        who = f"leader {leader} (term {c.nodes[leader].term})" if leader else "no leader"
        commit = max((c.nodes[s].commit_index for s in c.ids if c.up(s)), default=0)
        bad = ", ".join(sorted({v.invariant for v in c.violations})) or "none"
        mode = " Figure 8" + (" (broken)" if self.broken else "") if self.figure8_mode else ""
        return (f"RaftVisualizer{mode}(seed={self.seed}): t={self.now:g} ms, {who}, "
                f"commit {commit}, {len(self.sim.trace)} events; violations: {bad}")

    # -- the widget -----------------------------------------------------------------------
    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        W = self._widgets
        W["server"] = w.Dropdown(options=list(self.cluster.ids), description="server",
                                 layout=w.Layout(width="160px"))
        buttons = [self._button(label, partial(self._act_on_chosen, label)) for label in SERVER_ACTIONS]
        W["drop"] = w.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05, description="drop",
                                  continuous_update=False, layout=w.Layout(width="220px"))
        W["drop"].observe(lambda ch: self.do("drop rate", ch["new"]), names="value")
        W["raft"] = w.Image(format="png", layout=w.Layout(max_width="720px"))
        return [w.HBox([W["server"], *buttons]), W["drop"], *super()._extra_controls(), W["raft"]]

    def _act_on_chosen(self, label: str) -> None:
        self.do(label, self._widgets["server"].value)

    def _refresh_extra(self) -> None:
        super()._refresh_extra()
        if "raft" in self._widgets:
            self._widgets["raft"].value = figure_png(self.raft_figure())


def visualizer(n: int = 5, *, seed: int | None = None, **kwargs: Any) -> RaftVisualizer:
    """The Raft visualizer: ``ds.raft.visualizer(5, seed=1)`` (see :class:`RaftVisualizer`)."""
    return RaftVisualizer(n, seed=seed, **kwargs)
