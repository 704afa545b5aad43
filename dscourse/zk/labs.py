"""The widgets and static figures of Chapters 7 and 8, built from the generic ``ds.viz`` toolkit.

* :func:`explorer` -- the znode explorer: a scripted session of two clients (persistent,
  ephemeral and sequential znodes, versioned writes, watches, a session that expires) replayed
  step by step: the tree with each znode's stat, the sessions, and the event log.
* :func:`free_explorer` -- the same explorer with free controls: pick a client, an operation,
  a path, data, an expected version and the node type, or expire a session.
* :func:`stale_read_lab` -- the stale read and ``sync()``: the history with its
  linearizability verdict, for a lag you choose.
* :func:`sync_leader_change_lab` -- ``sync()`` + ``get()`` with and without a leader change
  during the sync (ZOOKEEPER-1675).
* :func:`pipeline` -- ZAB's broadcast pipeline: per-learner queues while one follower's link is
  slow, and each server's last zxid (epoch:counter).
* :func:`election_sandbox` -- FastLeaderElection with (peerEpoch, zxid, myid) you set.
* :func:`split_brain` -- quorum and split brain: voters in two data centres, the link cut.

Each is a :class:`dscourse.viz.Lab` (controls + figure); displayed without a kernel it is its
static figure. Loaded on first use (``ds.zk.labs``).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, replace
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from .. import viz
from ..checkers import linearizability as lin
from ..errors import allowed as viz_allowed
from ..viz.display import new_figure
from . import datacenters
from .datacenters import Placement
from .election import FOLLOWING, LEADING
from .ensemble import ensemble
from .errors import ZookeeperError
from .experiments import stale_read, sync_leader_change
from .messages import zxid_str
from .server import ZKOptions


# == the znode explorer ==========================================================================
@dataclass
class Step:
    """One step of the explorer's script: what was done, the tree, sessions, the event log."""

    label: str
    tree: list[tuple[str, dict[str, Any]]]
    sessions: dict[str, str]
    log: list[str]
    time: float


def explore_script(seed: int = 1, expire: bool = True) -> list[Step]:
    """Run the explorer's script on a fresh ensemble and snapshot every step."""
    ens = ensemble(servers=3, seed=seed)
    ens.run_until_leader()
    alice = ens.client(server="zk1", session_timeout_ms=4000)
    bob = ens.client(server="zk2", session_timeout_ms=4000)
    alice.start()
    bob.start()
    log: list[str] = []
    names = {c.client_id[0]: who for c, who in ((alice, "alice"), (bob, "bob")) if c.client_id}
    bob.add_listener(lambda state: log.append(f"t={ens.now:g} bob's connection: {state}"))
    steps: list[Step] = []

    def watch(who: str):
        return lambda e: log.append(f"t={ens.now:g} {who} watch: {e.type} {e.path}")

    def snap(label: str) -> None:
        ens.run(20)
        leader = ens.nodes[ens.leader() or "zk1"]
        rows = []
        for path in sorted(p for p in leader.tree.nodes if p == "/app" or p.startswith("/app/")):
            st = leader.tree.nodes[path].stat()
            owner = names.get(st.ephemeralOwner, hex(st.ephemeralOwner)) if st.ephemeralOwner else ""
            rows.append((path, {"data": leader.tree.nodes[path].data.decode(errors="replace"),
                                "version": st.version, "cversion": st.cversion, "numChildren": st.numChildren,
                                "czxid": zxid_str(st.czxid), "mzxid": zxid_str(st.mzxid),
                                "pzxid": zxid_str(st.pzxid), "owner": owner}))
        sessions = {"alice": alice.state, "bob": bob.state}
        steps.append(Step(label, rows, sessions, list(log), ens.now))

    def attempt(who: str, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            out = fn(*args, **kw)
            log.append(f"t={ens.now:g} {who}: {fn.__name__}{args} -> {out if not isinstance(out, tuple) else 'ok'}")
            return out
        except ZookeeperError as e:
            log.append(f"t={ens.now:g} {who}: {fn.__name__}{args} -> {type(e).__name__}")
            return None

    attempt("alice", alice.create, "/app", b"config-v1")
    snap("alice creates /app (persistent)")
    alice.get("/app", watch=watch("alice"))
    bob.get_children("/app", watch=watch("bob"))
    log.append(f"t={ens.now:g} alice watches /app data; bob watches /app children")
    attempt("bob", bob.create, "/app/worker-", b"bob", ephemeral=True, sequence=True)
    snap("bob registers an ephemeral sequential worker")
    attempt("alice", alice.create, "/app/worker-", b"alice", ephemeral=True, sequence=True)
    snap("alice registers a worker too (the counter moves on)")
    attempt("bob", bob.set, "/app", b"config-v2", version=0)
    snap("bob sets /app with version=0 (CAS succeeds)")
    attempt("alice", alice.set, "/app", b"config-v3", version=0)
    snap("alice sets /app with version=0 again: BadVersion")
    attempt("bob", bob.create, "/app/worker-0000000000/child")
    snap("bob tries a child under an ephemeral node")
    if expire:
        ens.expire_session(bob)
        log.append(f"t={ens.now:g} bob's session expires (the leader closes it)")
        snap("bob's session expired: his ephemeral node is gone")
    return steps


def explorer_figure(steps: list[Step], step: int, title: str | None = None) -> Figure:
    s = steps[step]
    fig = new_figure((9.0, 3.6))
    ax = fig.add_axes((0.01, 0.02, 0.56, 0.9))
    ax.axis("off")
    ax.set_title(title or f"step {step + 1}/{len(steps)}: {s.label}", fontsize=9, loc="left")
    y = 0.95
    ax.text(0.0, y, f"{'path':<26}{'data':<11}{'ver':>4}{'cver':>5}{'kids':>5}  {'mzxid':<6}owner",
            family="monospace", fontsize=7.5, weight="bold", va="top")
    for path, st in s.tree:
        y -= 0.09
        depth = path.count("/") - 1
        name = ("  " * depth) + ("/" if depth == 0 else "") + path.rsplit("/", 1)[1]
        ax.text(0.0, y, f"{name:<26}{st['data'][:10]:<11}{st['version']:>4}{st['cversion']:>5}"
                f"{st['numChildren']:>5}  {st['mzxid']:<6}{st['owner']}", family="monospace", fontsize=7.5,
                va="top", color="#1f5fa8" if st["owner"] else "black")
    y -= 0.14
    ax.text(0.0, y, "sessions:", fontsize=8, va="top")
    for who, state in s.sessions.items():
        y -= 0.08
        ax.text(0.03, y, f"{who} {state}", family="monospace", fontsize=7.5, va="top")
    lx = fig.add_axes((0.58, 0.02, 0.41, 0.9))
    lx.axis("off")
    lx.set_title("event log", fontsize=9, loc="left")
    rows = [(part, "#b03020" if "watch:" in line or "expires" in line else "black")
            for line in s.log for part in textwrap.wrap(line, 58, subsequent_indent="      ")]
    for i, (text, color) in enumerate(rows[-14:]):
        lx.text(0.0, 0.95 - 0.068 * i, text, family="monospace", fontsize=6.5, va="top", color=color)
    return fig


def explorer(seed: int = 1, step: int | None = None) -> viz.Lab:
    """The znode explorer (blue rows are ephemeral); the slider walks through the script."""
    steps = explore_script(seed)
    last = len(steps) - 1
    return viz.Lab(lambda step: explorer_figure(steps, step), step=(0, last, 1),
                   initial={"step": last if step is None else step},
                   describe=lambda step: f"znode explorer, step {step + 1}: {steps[step].label}")


# == stale read ==================================================================================
class ZnodeExplorer:
    """The znode explorer with free controls: a live three-server ensemble and two clients,
    alice (on zk1) and bob (on zk2); you pick the client, the operation, the path, the data,
    the expected version and the node type, or expire a client's session, and see the tree,
    the sessions and the event log (alice watches whatever she reads). ``do(...)`` and
    ``expire(...)`` are what the buttons do; without a kernel the explorer is its figure."""

    OPS = ("create", "get", "set", "delete", "get_children", "exists", "sync")

    def __init__(self, seed: int = 1, session_timeout_ms: int = 4000) -> None:
        self.ens = ensemble(servers=3, seed=seed)
        self.ens.run_until_leader()
        self.clients = {"alice": self.ens.client(server="zk1", session_timeout_ms=session_timeout_ms),
                        "bob": self.ens.client(server="zk2", session_timeout_ms=session_timeout_ms)}
        self.log: list[str] = []
        for who, c in self.clients.items():
            c.start()
            c.add_listener(self._listener(who))
        self.last = "start: alice on zk1, bob on zk2"
        self._widgets: dict[str, Any] = {}

    def _listener(self, who: str) -> Any:
        return lambda state: self.log.append(f"t={self.ens.now:g} {who}'s connection: {state}")

    def _watch(self, who: str) -> Any:
        return lambda e: self.log.append(f"t={self.ens.now:g} {who} watch: {e.type} {e.path}")

    def do(self, who: str, op: str, path: str, data: bytes = b"", version: int = -1, ephemeral: bool = False,
           sequence: bool = False) -> Any:
        """Run one operation as ``who``; its result (or the error's name) goes to the log."""
        if who not in self.clients:
            raise viz_allowed("who", who, " or ".join(self.clients))
        if op not in self.OPS:
            raise viz_allowed("op", op, ", ".join(self.OPS))
        c = self.clients[who]
        calls = {"create": lambda: c.create(path, data, ephemeral=ephemeral, sequence=sequence),
                 "get": lambda: c.get(path, watch=self._watch(who))[0],
                 "set": lambda: c.set(path, data, version=version).version,
                 "delete": lambda: c.delete(path, version=version),
                 "get_children": lambda: c.get_children(path, watch=self._watch(who)),
                 "exists": lambda: c.exists(path, watch=self._watch(who)) is not None,
                 "sync": lambda: c.sync(path)}
        try:
            out = calls[op]()
        except (ZookeeperError, ValueError, TypeError) as e:
            out = type(e).__name__
        chosen = (("ephemeral", ephemeral), ("sequence", sequence))
        flags = "".join(f" {k}" for k, on in chosen if on and op == "create")
        ver = f" version={version}" if op in ("set", "delete") and version != -1 else ""
        self.last = f"{who}: {op} {path}{ver}{flags} -> {out}"
        self.log.append(f"t={self.ens.now:g} {self.last}")
        self.ens.run(50)  # let watch events arrive
        self.refresh()
        return out

    def expire(self, who: str) -> None:
        """Expire ``who``'s session (the leader closes it: its ephemeral nodes go); the client
        then starts a new session, as kazoo does."""
        self.ens.expire_session(self.clients[who])
        self.last = f"{who}'s session expired"
        self.log.append(f"t={self.ens.now:g} {self.last}")
        self.ens.run_until(lambda: self.clients[who].connected, 30_000)
        self.refresh()

    def step(self) -> Step:
        """The current state, as one explorer step."""
        leader = self.ens.nodes[self.ens.leader() or "zk1"]
        names = {c.client_id[0]: who for who, c in self.clients.items() if c.client_id}
        rows = []
        for path in sorted(p for p in leader.tree.nodes if p != "/" and not p.startswith("/zookeeper")):
            z = leader.tree.nodes[path]
            st = z.stat()
            owner = names.get(st.ephemeralOwner, "expired session") if st.ephemeralOwner else ""
            rows.append((path, {"data": z.data.decode(errors="replace"), "version": st.version,
                                "cversion": st.cversion, "numChildren": st.numChildren, "czxid": zxid_str(st.czxid),
                                "mzxid": zxid_str(st.mzxid), "pzxid": zxid_str(st.pzxid), "owner": owner}))
        sessions = {who: f"{c.state} {hex(c.client_id[0]) if c.client_id else ''}" for who, c in self.clients.items()}
        return Step(self.last, rows[-9:], sessions, list(self.log), self.ens.now)

    def figure(self) -> Figure:
        s = self.step()
        return explorer_figure([s], 0, f"t={s.time:g} ms, last: {s.label}")

    @property
    def widget(self) -> Any:
        """Dropdowns, fields and buttons over the live figure (built on first access)."""
        if not self._widgets:
            import ipywidgets as w

            ui = {"who": w.Dropdown(options=list(self.clients), description="client"),
                  "op": w.Dropdown(options=list(self.OPS), description="operation"),
                  "path": w.Text(value="/app", description="path"),
                  "data": w.Text(value="", description="data"),
                  "version": w.IntText(value=-1, description="version"),
                  "ephemeral": w.Checkbox(value=False, description="ephemeral"),
                  "sequence": w.Checkbox(value=False, description="sequential")}
            run, kill = w.Button(description="run"), w.Button(description="expire session")
            run.on_click(lambda _: self.do(ui["who"].value, ui["op"].value, ui["path"].value,
                                           ui["data"].value.encode(), ui["version"].value, ui["ephemeral"].value,
                                           ui["sequence"].value))
            kill.on_click(lambda _: self.expire(ui["who"].value))
            self._widgets = dict(ui, image=w.Image(format="png", layout=w.Layout(max_width="760px")))
            self._widgets["root"] = w.VBox([w.HBox([ui["who"], ui["op"], ui["path"]]),
                                            w.HBox([ui["data"], ui["version"], ui["ephemeral"], ui["sequence"]]),
                                            w.HBox([run, kill]), self._widgets["image"]])
            self.refresh()
        return self._widgets["root"]

    def refresh(self) -> None:
        if self._widgets:
            self._widgets["image"].value = viz.display.figure_png(self.figure())

    def summary(self) -> str:
        s = self.step()
        return f"znode explorer at t={s.time:g} ms: {len(s.tree)} znodes; last: {s.label}"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from ..notebook import static_mode

        return viz.display.bundle(None if static_mode() else self.widget, self.figure(), self.summary())


def free_explorer(seed: int = 1) -> ZnodeExplorer:
    """The znode explorer with free controls (see :class:`ZnodeExplorer`)."""
    return ZnodeExplorer(seed)


def stale_read_figure(use_sync: bool = False, lag_ms: int = 200, seed: int = 1) -> Figure:
    """The stale-read history, its time axis starting just before the first write (the
    election before it is not part of the story; shifting every time changes no verdict)."""
    r = stale_read(seed, use_sync=use_sync, lag_ms=float(lag_ms))
    ops = r.history.operations(flat=True)
    t0 = math.floor(min(op.call for op in ops) / 10) * 10
    shifted = [replace(op, call=op.call - t0, ret=op.ret - t0) for op in ops]
    title = (f"{'sync() + get()' if use_sync else 'get()'} on lagging {r.lagging}: read {r.read!r} "
             f"(time from t={t0:g} ms)")
    return viz.history(shifted, lin.kv(), title=title)


def stale_read_lab(use_sync: bool = False) -> viz.Lab:
    """The stale read: the reader's follower lags by ``lag_ms``; tick ``use_sync`` to fix it."""

    def describe(use_sync: bool, lag_ms: int) -> str:
        r = stale_read(1, use_sync=use_sync, lag_ms=float(lag_ms))
        return f"sync={use_sync} lag={lag_ms} ms: read {r.read!r}, linearizable: {r.linearizable}"

    return viz.Lab(stale_read_figure, use_sync=False, lag_ms=(200, 1000, 100), initial={"use_sync": use_sync},
                   describe=describe)


def sync_leader_change_figure(leader_change: bool = True, seed: int = 1) -> Figure:
    r = sync_leader_change(seed, leader_change)
    what = (f"old leader {r.old_leader} still leading, new leader {r.new_leader}" if leader_change
            else f"leader {r.old_leader} throughout")
    title = f"sync() + get() on the old leader's follower ({what}): read {r.read!r}"
    return viz.history(r.history.operations(flat=True), lin.kv(), result=r.verdict, title=title)


def sync_leader_change_lab(leader_change: bool = True) -> viz.Lab:
    """``sync()`` across a leader change (ZOOKEEPER-1675): tick ``leader_change`` to split the
    old leader and the reader's follower from the majority, which elects a new leader."""

    def describe(leader_change: bool) -> str:
        r = sync_leader_change(1, leader_change)
        return (f"leader change during sync={leader_change}: read {r.read!r}, "
                f"linearizable: {r.linearizable}")

    return viz.Lab(sync_leader_change_figure, leader_change=False, initial={"leader_change": leader_change},
                   describe=describe)


# == the broadcast pipeline =========================================================================
def pipeline_run(slow_ms: int = 200, observers: int = 1, writes: int = 12, seed: int = 7) -> dict[str, Any]:
    """Writes through a 3-voter ensemble whose first follower's link is slow; samples every
    learner's queue (proposals sent, not yet ACKed) and every server's last zxid."""
    ens = ensemble(servers=3, observers=observers, seed=seed)
    leader = ens.run_until_leader()
    assert leader is not None, "no leader elected"
    followers = sorted(s for s in ens.nodes if s != leader and not ens.nodes[s].is_observer)
    if slow_ms:
        ens.sim.slow_link(leader, followers[0], float(slow_ms))
    zk = ens.client(server=leader, record=False)
    zk.start()
    lnode = ens.nodes[leader]
    samples: list[tuple[float, dict[str, int]]] = []
    for i in range(writes):
        zk.create_async(f"/w{i}")
        ens.run(5)
        samples.append((ens.now, {ens.ids[sid]: len(h.queue) for sid, h in sorted(lnode.handlers.items())}))
    for _ in range(40):
        ens.run(20)
        samples.append((ens.now, {ens.ids[sid]: len(h.queue) for sid, h in sorted(lnode.handlers.items())}))
    return {"ens": ens, "leader": leader, "slow": followers[0] if slow_ms else None, "samples": samples}


def pipeline_figure(slow_ms: int = 200, observers: int = 1) -> Figure:
    run = pipeline_run(slow_ms, observers)
    ens = run["ens"]
    fig = new_figure((8.0, 2.8))
    ax = fig.add_axes((0.08, 0.17, 0.52, 0.7))
    t0 = run["samples"][0][0]
    for node in sorted(run["samples"][-1][1]):
        xs = [t - t0 for t, q in run["samples"]]
        ys = [q.get(node, 0) for _, q in run["samples"]]
        kind = "observer" if ens.nodes[node].is_observer else ("slow follower" if node == run["slow"] else "follower")
        ax.plot(xs, ys, drawstyle="steps-post", label=f"{node} ({kind})")
    ax.set_xlabel("ms after the first write")
    ax.set_ylabel("proposals queued")
    ax.set_title(f"leader {run['leader']}: per-learner queues", fontsize=9)
    ax.legend(fontsize=7)
    tx = fig.add_axes((0.64, 0.17, 0.35, 0.7))
    tx.axis("off")
    tx.set_title("last zxid (epoch:counter)", fontsize=9)
    for i, (node, z) in enumerate(sorted(ens.zxids().items())):
        tx.text(0.05, 0.85 - 0.14 * i, f"{node}  {z:>6}  {ens.nodes[node].role.lower()}", family="monospace",
                fontsize=8)
    return fig


def pipeline(slow_ms: int = 200, observers: int = 1) -> viz.Lab:
    """ZAB's pipeline: slow one follower's link and watch its queue grow while commits go on."""
    return viz.Lab(pipeline_figure, slow_ms=(0, 400, 50), observers=(0, 2, 1),
                   initial={"slow_ms": slow_ms, "observers": observers},
                   describe=lambda slow_ms, observers: f"pipeline: slow link {slow_ms} ms, {observers} observer(s)")


# == observers in a second data centre ============================================================
def second_datacenter_figure(placements: list[Placement], title: str = "") -> Figure:
    """:func:`.datacenters.sweep` drawn: writes per second and the remote data centre's read
    latency against the number of servers added there, one line per role."""
    fig = new_figure((8.0, 3.0))
    left, right = fig.subplots(1, 2)
    for role, style in zip(datacenters.ROLES, ("o-", "s--"), strict=True):
        rows = [p for p in placements if p.role == role]
        xs = [p.extra for p in rows]
        left.plot(xs, [p.writes_per_s for p in rows], style, label=f"as {role}s")
        right.plot(xs, [p.remote_read_ms for p in rows], style, label=f"as {role}s")
    left.set_ylabel("writes committed per second")
    right.set_ylabel("median read latency (ms)")
    left.set_title("writers in data centre 1", fontsize=9)
    right.set_title("a reader in data centre 2", fontsize=9)
    for ax in (left, right):
        ax.set_xlabel("servers added in data centre 2")
        ax.set_ylim(bottom=0)
        ax.set_xticks(sorted({p.extra for p in placements}))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# == the election sandbox ===========================================================================
def election_run(zk1: tuple[int, int] = (1, 99), zk2: tuple[int, int] = (1, 90), zk3: tuple[int, int] = (1, 95),
                 seed: int = 1) -> Any:
    """Three servers with preset (epoch, last counter); returns the ensemble after the election."""
    ens = ensemble(servers=3, seed=seed, preset={"zk1": zk1, "zk2": zk2, "zk3": zk3},
                   options=ZKOptions(tick_ms=200))
    ens.run_until_leader(20_000)
    return ens


def election_steps(ens: Any) -> list[str]:
    """The vote exchange of an election run, one line per step: each server's first vote (for
    itself), every vote it adopts (and from whom), and its decision."""
    servers = set(ens.nodes)
    last_from: dict[str, str] = {}
    vote: dict[str, tuple[int, int, int]] = {}
    decided: set[str] = set()
    lines: list[str] = []

    def fmt(v: tuple[int, int, int]) -> str:
        return f"({v[0]}, {zxid_str(v[1])}, {v[2]})"

    for e in ens.trace.events:
        if e.node not in servers:
            continue
        t = f"t={e.time / 1000:>5g} ms"
        if e.kind == "send" and e.label == "Notification" and e.node not in vote:
            vote[e.node] = (e.data["peer_epoch"], e.data["zxid"], e.data["leader"])
            lines.append(f"{t}  {e.node} votes for itself {fmt(vote[e.node])}")
        elif e.kind == "deliver" and e.label == "Notification":
            last_from[e.node] = e.peer
        elif e.kind == "annotate" and "vote" in e.data:
            new = tuple(e.data["vote"])
            lines.append(f"{t}  {e.node} adopts {fmt(new)} from {last_from.get(e.node, '?')}: "
                         f"better than {fmt(vote.get(e.node, new))}")
            vote[e.node] = new
        elif e.kind == "annotate" and e.data.get("role") in (LEADING, FOLLOWING):
            lines.append(f"{t}  {e.node} decides: {e.data['role']}"
                         + (f" zk{e.data['leader']}" if e.data["role"] == FOLLOWING else ""))
            decided.add(e.node)
            if decided == {s for s in servers if ens.up(s)}:
                break
    return lines


def election_figure(zk1_epoch: int = 1, zk1_zxid: int = 99, zk3_epoch: int = 1, zk3_zxid: int = 95) -> Figure:
    ens = election_run((zk1_epoch, zk1_zxid), (1, 90), (zk3_epoch, zk3_zxid))
    lines = election_steps(ens)
    fig = new_figure((6.4, 0.5 + 0.2 * len(lines)))
    ax = fig.add_axes((0.01, 0.0, 0.98, 1.0))
    ax.axis("off")
    ax.text(0.0, 0.99, f"votes (peerEpoch, zxid, myid), compared in that order; leader: {ens.leader()}",
            fontsize=9, va="top")
    step = 0.93 / (len(lines) + 1)
    for i, line in enumerate(lines):
        color = "#1f7a1f" if "decides" in line else ("#b03020" if "adopts" in line else "black")
        ax.text(0.0, 0.93 - step * (i + 1), line, family="monospace", fontsize=8, va="center", color=color)
    return fig


def election_sandbox() -> viz.Lab:
    """Set zk1's and zk3's (epoch, zxid counter); zk2 has (1, 90). Who wins, and in how many votes?"""
    return viz.Lab(election_figure, zk1_epoch=(1, 3, 1), zk1_zxid=(0, 200, 5), zk3_epoch=(1, 3, 1),
                   zk3_zxid=(0, 200, 5), initial={"zk1_zxid": 99, "zk3_zxid": 95},
                   describe=lambda **v: f"election: {v}")


# == quorum and split brain =========================================================================
def split_brain_run(in_a: int = 2, servers: int = 5, seed: int = 2) -> dict[str, Any]:
    """Put ``in_a`` of ``servers`` voters (the leader among them) in data centre A, the rest in B,
    cut the link, and try a write on each side; returns who leads and what committed."""
    ens = ensemble(servers=servers, seed=seed, options=ZKOptions(tick_ms=200))
    leader = ens.run_until_leader()
    assert leader is not None, "no leader elected"
    others = sorted(s for s in ens.nodes if s != leader)
    side_a = [leader, *others[: max(in_a - 1, 0)]] if in_a else []
    side_b = [s for s in sorted(ens.nodes) if s not in side_a]
    clients = {}
    for name, side in (("A", side_a), ("B", side_b)):
        if side:
            c = ens.client(server=side[-1], session_timeout_ms=4000, record=False)
            c.start()
            clients[name] = c
    next(iter(clients.values())).create("/dc", b"before")
    for c in clients.values():
        c.sync("/dc")
    ens.partition(side_a + ([clients["A"].id] if "A" in clients else []),
                  side_b + ([clients["B"].id] if "B" in clients else []))
    ens.run(6_000)  # the majority side notices the silent leader and elects a new one
    for c in clients.values():
        ens.run_until(lambda c=c: c.connected, 3_000)
    writes = {name: c.set_async("/dc", f"from {name}".encode()) for name, c in clients.items()}
    ens.run(3_000)
    leading = {s: ens.nodes[s].new_epoch for s in ens.nodes
               if ens.nodes[s].role == "LEADING" and ens.nodes[s].phase == "broadcast"}
    return {"ens": ens, "A": side_a, "B": side_b, "leading": leading,
            "writes": {n: ("committed" if r.successful() else type(r.exception).__name__ if r.ready() else "waiting")
                       for n, r in writes.items()}}


def split_brain_figure(in_a: int = 2) -> Figure:
    run = split_brain_run(in_a)
    ens = run["ens"]
    fig = new_figure((7.0, 2.6))
    ax = fig.add_axes((0.02, 0.05, 0.96, 0.8))
    ax.axis("off")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4)
    n = len(ens.nodes)
    ax.set_title(f"{n} voters, quorum {n // 2 + 1}: data centre A has {len(run['A'])}, B has {len(run['B'])}; "
                 "a write on each side, 6 s after the cut", fontsize=9)
    for x0, name in ((0.3, "A"), (5.3, "B")):
        ax.add_patch(FancyBboxPatch((x0, 0.3), 4.4, 3.2, boxstyle="round,pad=0.05", fill=False, ec="#888"))
        ax.text(x0 + 0.1, 3.2, f"data centre {name}", fontsize=8, color="#555")
        for i, s in enumerate(run[name]):
            node = ens.nodes[s]
            lead = s in run["leading"]
            ax.text(x0 + 0.3 + 1.4 * (i % 3), 2.4 - 0.9 * (i // 3),
                    f"{s}\n{'LEADING e' + str(run['leading'][s]) if lead else node.role.lower()}",
                    fontsize=7.5, ha="left", va="center",
                    bbox={"fc": "#9bd39b" if lead else "#dde8f5", "ec": "#444", "boxstyle": "round"})
        ax.text(x0 + 0.1, 0.5, f"write from {name}: {run['writes'].get(name, 'no client')}", fontsize=8)
    return fig


def split_brain() -> viz.Lab:
    """Quorum and split brain: choose how many of five voters sit in data centre A (with the
    leader), cut the link, and see which side leads and commits."""
    return viz.Lab(split_brain_figure, in_a=(0, 5, 1), initial={"in_a": 2},
                   describe=lambda in_a: f"split brain: {in_a} of 5 voters in data centre A")
