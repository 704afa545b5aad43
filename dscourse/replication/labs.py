"""Chapter 3's widgets: the CAP switchboard, the quorum calculator and the repair race.

Each is an object whose methods do what its controls do, displayed as the live widget where
a kernel runs and as a static matplotlib figure elsewhere (see :mod:`dscourse.viz.display`).

* :class:`CapSwitchboard` -- five replicas and clients in CP mode (majority quorums + ABD)
  or AP mode (any replica + last-writer-wins). Partition the nodes, issue reads and writes
  from clients on either side, run, and read the live linearizability verdict, with the
  offending operation highlighted, plus availability and stale-read counters. Switching the
  mode replays the same actions on the other store.
* :func:`quorum_calculator` -- sliders for N, R, W: which quorums must intersect, and the
  simulated fraction of stale read-after-write results for every R and W.
* :func:`repair_race` -- after a partition heals, how fast read repair, hinted handoff (with
  a hint window) and Merkle anti-entropy make the replicas agree, and the bytes each sends.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from ..checkers import linearizability as lin
from ..errors import allowed
from ..viz import Lab, Player, cluster_figure
from ..viz.display import figure_png, new_figure
from ..viz.history import draw_partition, verdict
from . import experiments as ex
from .client import Workload
from .cluster import Cluster, cluster

MODES = {"cp": "CP: majority quorums + ABD", "ap": "AP: any replica + last-writer-wins"}


def _partition(sim: Any, group: list[str]) -> None:
    sim.partition(group)


def _submit(sim: Any, client: str, *op: str) -> None:
    sim.nodes[client].submit(tuple(op))


def stale_reads_of(ops: list) -> int:
    """Reads that returned a value *definitely* older than the last write completed before
    the read began: one written by a put that returned before that write was invoked, or
    the initial empty value."""
    stale = 0
    puts = [op for op in ops if op.f == "put" and op.status == "ok"]
    for op in ops:
        if op.f != "get" or op.status != "ok":
            continue
        before = [p for p in puts if p.input[0] == op.input and p.ret < op.call]
        if not before:
            continue
        last = max(before, key=lambda p: p.ret)
        if op.output == last.input[1]:
            continue
        source = [p for p in puts if p.input == (op.input, op.output)]
        if op.output == "" or (source and source[0].ret < last.call):
            stale += 1
    return stale


class CapSwitchboard(Player):
    """The CAP switchboard (see the module docstring): ``replicas`` replicas ``r*`` and
    ``clients`` clients ``c*`` on one key ``"x"``."""

    cluster: Cluster  # built by _make, which Player.__init__ calls

    def __init__(self, mode: str = "cp", *, seed: int | None = None, replicas: int = 5,
                 clients: int = 2, **player: Any) -> None:
        if mode not in MODES:
            raise allowed("mode", mode, " or ".join(map(repr, MODES)))
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= 7:
            raise allowed("replicas", replicas, "an int from 1 to 7")
        if isinstance(clients, bool) or not isinstance(clients, int) or not 1 <= clients <= 4:
            raise allowed("clients", clients, "an int from 1 to 4")
        self.mode, self.n_replicas, self.n_clients = mode, replicas, clients
        player.setdefault("views", ("cluster",))
        super().__init__(self._make, seed=seed, **player)
        self.add_action("partition", _partition, button=False)
        self.add_action("heal", lambda sim: sim.heal(), button=False)
        self.add_action("submit", _submit, button=False)

    def _make(self, seed: int) -> Any:
        self.cluster = cluster(self.mode, replicas=self.n_replicas, clients=self.n_clients, seed=seed,
                               workload=Workload(ops=0), timeout_ms=40.0)
        return self.cluster.sim

    @property
    def node_ids(self) -> list[str]:
        return list(self.sim.nodes)

    # -- what the controls do ----------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """Switch between ``"cp"`` and ``"ap"``, replaying everything done so far."""
        if mode not in MODES:
            raise allowed("mode", mode, " or ".join(map(repr, MODES)))
        self.mode = mode
        self.replay(self.ops)

    def partition(self, group: list[str]) -> None:
        """Cut ``group`` off from the other nodes."""
        for node in group:
            if node not in self.sim.nodes:
                raise allowed("node", node, f"one of {', '.join(self.sim.nodes)}")
        self.do("partition", sorted(group))

    def heal(self) -> None:
        """Remove the partition."""
        self.do("heal")

    def _client(self, client: str) -> None:
        if client not in self.cluster.clients:
            raise allowed("client", client, f"one of {', '.join(self.cluster.clients)}")

    def write(self, client: str, value: str | None = None) -> None:
        """``client`` writes ``value`` (default: a fresh value like ``"c0:3"``) to key x."""
        self._client(client)
        if value is None:
            value = f"{client}:{sum(1 for op in self.ops if op[1:2] == ('submit',) and op[3] == 'put') + 1}"
        self.do("submit", client, "put", "x", str(value))

    def read(self, client: str) -> None:
        """``client`` reads key x."""
        self._client(client)
        self.do("submit", client, "get", "x")

    # -- what it shows -------------------------------------------------------------------------
    def result(self) -> lin.CheckResult:
        """The linearizability verdict on the history so far (pending operations included)."""
        return self.cluster.check(timeout=5.0)

    def counters(self) -> dict[str, int]:
        """Operations by outcome, and definitely stale reads."""
        counts = self.cluster.availability()
        counts["stale reads"] = stale_reads_of(self.cluster.history.ops())
        return counts

    def summary(self) -> str:
        c = self.counters()
        done = c["ok"] + c["fail"] + c["info"]
        avail = f"{100 * c['ok'] / done:.0f}%" if done else "-"
        return (f"{MODES[self.mode]} | t={self.now:g} ms | ok {c['ok']}, fail {c['fail']}, "
                f"timed out {c['info']}, pending {c['pending']} (availability {avail}), "
                f"stale reads {c['stale reads']} | {verdict(self.result(), lin.kv())}")

    def history_figure(self) -> Figure:
        """The history view of key x."""
        result = self.result()
        fig = new_figure((6.2, 0.6 + 0.5 * self.n_clients))
        ax = fig.add_axes((0.08, 0.3, 0.9, 0.55))
        part = result.partitions[0] if result.partitions else lin.PartitionResult("ok", (), ())
        lanes = list(self.cluster.clients)
        failed = [op for op in self.cluster.history.ops() if op.status == "fail"]
        draw_partition(ax, part, lin.kv(), lanes=lanes, t_max=max(self.now, 1.0),
                       title=verdict(result, lin.kv()), failed=failed)
        ax.title.set_color("#b2182b" if result.outcome == "illegal" else "#1a1a1a")
        return fig

    def figure(self) -> Figure:
        result = self.result()
        fig = new_figure((8.6, 1.6 + 0.5 * self.n_clients))
        left = fig.add_axes((0.0, 0.02, 0.26, 0.86))
        right = fig.add_axes((0.33, 0.28, 0.65, 0.55))
        cluster_figure(self.sim, ax=left, title=self.mode.upper())
        part = result.partitions[0] if result.partitions else lin.PartitionResult("ok", (), ())
        failed = [op for op in self.cluster.history.ops() if op.status == "fail"]
        draw_partition(right, part, lin.kv(), lanes=list(self.cluster.clients), t_max=max(self.now, 1.0),
                       title=verdict(result, lin.kv()), failed=failed)
        right.title.set_color("#b2182b" if result.outcome == "illegal" else "#1a1a1a")
        right.set_xlabel("virtual time (ms)", fontsize=8)
        c = self.counters()
        fig.text(0.33, 0.02, f"ok {c['ok']}  fail {c['fail']}  timed out {c['info']}  pending {c['pending']}"
                 f"   stale reads {c['stale reads']}", fontsize=8)
        return fig

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        W = self._widgets
        W["mode"] = w.ToggleButtons(options=[(v, k) for k, v in MODES.items()], value=self.mode)
        W["mode"].observe(lambda ch: None if self._syncing else self.set_mode(ch["new"]), names="value")
        W["group"] = w.SelectMultiple(options=self.node_ids, rows=4, description="side B",
                                      layout=w.Layout(width="190px"))
        net = [self._button("partition: side B | rest", lambda: self.partition(list(W["group"].value))),
               self._button("heal", self.heal), self._button("run 20 ms", lambda: self.run(20)),
               self._button("run 100 ms", lambda: self.run(100))]
        ops = []
        for client in self.cluster.clients:
            ops += [self._button(f"{client} write", partial(self.write, client)),
                    self._button(f"{client} read", partial(self.read, client))]
        W["history"] = w.Image(format="png", layout=w.Layout(max_width="640px"))
        return [W["mode"], w.HBox([W["group"], w.VBox([w.HBox(net), w.HBox(ops)])]), W["history"]]

    def _refresh_extra(self) -> None:
        W = self._widgets
        if "history" not in W:
            return
        self._syncing = True
        try:
            W["mode"].value = self.mode
        finally:
            self._syncing = False
        W["history"].value = figure_png(self.history_figure())


def cap_switchboard(mode: str = "cp", *, seed: int | None = None, **settings: Any) -> CapSwitchboard:
    """The CAP switchboard (see :class:`CapSwitchboard`)."""
    return CapSwitchboard(mode, seed=seed, **settings)


# ---- the quorum calculator ---------------------------------------------------------------------


@lru_cache(maxsize=256)
def _stale(n: int, r: int, w: int, trials: int, seed: int, lag_ms: float = 0.0) -> ex.StaleReads:
    return ex.stale_reads(n, r, w, trials=trials, seed=seed, lag_ms=lag_ms)


def quorum_figure(n: int, r: int, w: int, *, trials: int = 150, seed: int = 1, lag_ms: float = 50.0) -> Figure:
    """Left: N replicas, a write quorum and the read quorum that overlaps it least.
    Right: the simulated stale fraction for every (R, W) at this N, with the N - W replicas
    outside each write's quorum getting it ``lag_ms`` late (:func:`~.experiments.stale_reads`);
    the current cell outlined, the cells with R + W > N (quorums always intersect) to the upper
    right of the line."""
    r, w = min(r, n), min(w, n)
    fig = new_figure((8.0, 3.3))
    ax = fig.add_axes((0.0, 0.2, 0.4, 0.75))
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.4, 1.4)
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    overlap = max(0, r + w - n)
    for i, a in enumerate(angles):
        x, y = np.cos(a), np.sin(a)
        in_w, in_r = i < w, i >= n - r
        ax.add_patch(Circle((x, y), 0.2, facecolor="#e8e8e8", edgecolor="#555555", zorder=2))
        if in_w:
            ax.add_patch(Circle((x, y), 0.27, fill=False, edgecolor="#2166ac", linewidth=2.5, zorder=3))
        if in_r:
            ax.add_patch(Circle((x, y), 0.34, fill=False, edgecolor="#e08214", linewidth=2.5,
                                linestyle="--", zorder=3))
        ax.text(x, y, f"r{i}", ha="center", va="center", fontsize=8, zorder=4)
    fig.text(0.21, 0.03, f"write quorum W={w} (blue, solid)\nread quorum R={r} (orange, dashed)\n"
             f"they always share {overlap} or more replica{'s' if overlap != 1 else ''}",
             ha="center", va="bottom", fontsize=8)
    hm = fig.add_axes((0.5, 0.17, 0.38, 0.72))
    grid = 100 * np.array([[_stale(n, rr, ww, trials, seed, lag_ms).fraction for ww in range(1, n + 1)]
                           for rr in range(1, n + 1)])
    top = max(10.0, float(grid.max()))
    im = hm.imshow(grid, origin="lower", cmap="Reds", vmin=0, vmax=top,
                   extent=(0.5, n + 0.5, 0.5, n + 0.5))
    for rr in range(1, n + 1):
        for ww in range(1, n + 1):
            v = grid[rr - 1, ww - 1]
            hm.text(ww, rr, f"{v:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * top else "black")
    xs = np.arange(0.5, n + 1.0, 1.0)
    step_x, step_y = [], []
    for ww in range(1, n + 1):              # boundary between R + W <= N and R + W > N
        rr = n + 1 - ww
        step_x += [ww - 0.5, ww + 0.5]
        step_y += [rr - 0.5, rr - 0.5]
    hm.plot(step_x, step_y, color="#2166ac", linewidth=1.5)
    hm.add_patch(plt.Rectangle((w - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    hm.set_xticks(range(1, n + 1))
    hm.set_yticks(range(1, n + 1))
    hm.set_xlim(xs[0], xs[-1])
    hm.set_xlabel("W", fontsize=8)
    hm.set_ylabel("R", fontsize=8)
    hm.set_title(f"stale read-after-write, % (N={n}, lag {lag_ms:g} ms)", fontsize=8.5)
    fig.colorbar(im, ax=hm, fraction=0.05).ax.tick_params(labelsize=7)
    return fig


def _quorum_text(n: int, r: int, w: int, trials: int = 150, seed: int = 1, lag_ms: float = 50.0) -> str:
    r, w = min(r, n), min(w, n)
    res = _stale(n, r, w, trials, seed, lag_ms)
    rule = ("R+W>N: every read quorum meets every write quorum" if r + w > n
            else "R+W<=N: a read quorum can miss the last write quorum")
    return (f"N={n}, R={r}, W={w}: {rule}; simulated stale reads {res.stale}/{res.reads} "
            f"({100 * res.fraction:.1f}%, replicas outside the write quorum {lag_ms:g} ms late); "
            f"reads need {r} and writes {w} of the {n} replicas")


def quorum_calculator(n: int = 3, r: int = 1, w: int = 1, *, lag_ms: float = 50.0, trials: int = 150,
                      seed: int = 1) -> Lab:
    """The quorum calculator: sliders for N, R and W (R and W are capped at N) and the lag of
    the replicas outside each write quorum (0 to 100 ms)."""
    for name, v in (("n", n), ("r", r), ("w", w)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 7:
            raise allowed(name, v, "an int from 1 to 7")
    if isinstance(lag_ms, bool) or not isinstance(lag_ms, (int, float)) or not 0 <= lag_ms <= 100:
        raise allowed("lag_ms", lag_ms, "a number of ms from 0 to 100")
    return Lab(lambda n, r, w, lag_ms: quorum_figure(n, r, w, trials=trials, seed=seed, lag_ms=lag_ms),
               describe=lambda n, r, w, lag_ms: _quorum_text(n, r, w, trials, seed, lag_ms),
               initial=dict(n=n, r=r, w=w, lag_ms=lag_ms), title="quorum calculator",
               n=(1, 7, 1), r=(1, 7, 1), w=(1, 7, 1), lag_ms=(0, 100, 10))


# ---- the repair race ---------------------------------------------------------------------------

RACE_COLORS = ("#e08214", "#2166ac", "#92c5de", "#1a9850", "#762a83")
RACE_NAMES = ("read repair", "hinted handoff", "hints, {w:g} ms window", "Merkle anti-entropy",
              "all three ({w:g} ms window)")


@lru_cache(maxsize=32)
def _races(hint_window_ms: float, anti_entropy_ms: float, outage_ms: float, seed: int) -> tuple[ex.RaceResult, ...]:
    knobs: dict[str, Any] = dict(hint_window_ms=float(hint_window_ms), anti_entropy_ms=float(anti_entropy_ms))
    out: list[ex.RaceResult] = []
    for name, cfg in ex.STRATEGIES.items():
        overrides = {k: v for k, v in knobs.items() if k in cfg and not (k == "hint_window_ms"
                                                                          and "short" not in name)}
        out.append(ex.repair_race(name, seed=seed, outage=(20.0, 20.0 + outage_ms),
                                  until=20.0 + outage_ms + 400.0, **overrides))
    return tuple(out)


def repair_figure(hint_window_ms: float = 60.0, anti_entropy_ms: float = 40.0, outage_ms: float = 280.0,
                  seed: int = 1) -> Figure:
    """Stale (key, replica) pairs after the heal for each strategy, and repair bytes sent."""
    races = _races(hint_window_ms, anti_entropy_ms, outage_ms, seed)
    fig = new_figure((8.6, 3.1))
    ax = fig.add_axes((0.07, 0.16, 0.44, 0.74))
    names = [name.format(w=hint_window_ms) for name in RACE_NAMES]
    for k, (race, color) in enumerate(zip(races, RACE_COLORS, strict=False)):
        ax.step(race.times, np.asarray(race.divergence) + 0.15 * (k - 2), where="post", color=color,
                linewidth=1.6, gid=f"race-{k}")
    ax.set_xlabel("ms after the partition heals", fontsize=8)
    ax.set_ylabel("stale (key, replica) pairs", fontsize=8)
    ax.set_title(f"r0 cut off for {outage_ms:g} ms while 30 keys are written (colours: right)",
                 fontsize=8.5, loc="left")
    ax.tick_params(labelsize=7)
    ax.set_ylim(bottom=-0.6)
    bx = fig.add_axes((0.7, 0.16, 0.28, 0.74))
    kb = [race.total_bytes / 1000 for race in races]
    bx.barh(range(len(races)), kb, color=RACE_COLORS[:len(races)])
    bx.set_yticks(range(len(races)), names, fontsize=7)
    bx.invert_yaxis()
    bx.set_xlabel("repair traffic (kB of JSON)", fontsize=8)
    bx.tick_params(axis="x", labelsize=7)
    return fig


def _repair_text(hint_window_ms: float, anti_entropy_ms: float, outage_ms: float, seed: int = 1) -> str:
    lines = []
    for race in _races(hint_window_ms, anti_entropy_ms, outage_ms, seed):
        when = (f"converged {race.converged_ms:g} ms after the heal" if race.converged_ms is not None
                else f"{race.divergence[-1]} pairs still stale at the end")
        extra = f", {race.hints_expired} hints expired" if race.hints_expired else ""
        lines.append(f"{race.strategy}: {when}, {race.total_bytes} bytes{extra}")
    return "\n".join(lines)


def repair_race(hint_window_ms: float = 60.0, anti_entropy_ms: float = 40.0, outage_ms: float = 280.0,
                *, seed: int = 1) -> Lab:
    """The repair race: sliders for the hint window, the anti-entropy period and the outage."""
    return Lab(lambda hint_window_ms, anti_entropy_ms, outage_ms:
               repair_figure(hint_window_ms, anti_entropy_ms, outage_ms, seed),
               describe=lambda hint_window_ms, anti_entropy_ms, outage_ms:
               _repair_text(hint_window_ms, anti_entropy_ms, outage_ms, seed),
               initial=dict(hint_window_ms=hint_window_ms, anti_entropy_ms=anti_entropy_ms,
                            outage_ms=outage_ms),
               title="repair race", hint_window_ms=(20.0, 400.0, 20.0),
               anti_entropy_ms=(20.0, 200.0, 20.0), outage_ms=(100.0, 400.0, 20.0))
