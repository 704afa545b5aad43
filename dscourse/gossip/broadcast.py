"""A broadcast workload in the style of Maelstrom's (the Gossip Glomers challenge 3), on
``ds.sim`` virtual time.

The node API is Maelstrom's broadcast workload: a server ``node_cls(node_id, node_ids)``
receives, as dicts,

* ``{"type": "topology", "topology": {id: [ids]}, "msg_id": m}`` → reply ``topology_ok``;
* ``{"type": "broadcast", "message": v, "msg_id": m}`` → reply ``broadcast_ok``;
* ``{"type": "read", "msg_id": m}`` → reply ``{"type": "read_ok", "messages": [...]}``;

and replies with ``self.send(src, {..., "in_reply_to": m})``. Servers talk to each other with
any messages they like; those are the messages ``msgs_per_op`` counts.

The harness (:func:`broadcast_workload`): a client ``c`` sends ``rate`` broadcasts per second
(exponential gaps) of fresh integers to random servers for ``duration_ms``; every link has
``latency_ms`` (client links too, as in Maelstrom). A probe ``p`` reads every server every
``probe_ms`` (instantly, as instrumentation outside the network: see :class:`_Probe`) to see
when each value became visible on *every* server, so latencies are exact to ``probe_ms``. After the workload,
faults heal, the servers get ``settle_ms`` to converge, and the probe reads each server one
last time: ``ok`` means every acknowledged value is in every final read.

Maelstrom counts ``rate`` over all client operations (reads included) and divides the
server messages by all of them; here reads are the probe's, so ``rate`` counts broadcasts
and ``msgs_per_op`` is server messages per broadcast: the same message budget per second.
Targets (fly.io Gossip Glomers 3d and 3e, 25 nodes, 100 ms links): :data:`TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import allowed
from ..history import Recorder
from ..sim import Node, Simulation, reliable
from .topology import TOPOLOGIES
from .topology import topology as make_topology

TARGETS: dict[str, dict[str, float]] = {
    "3d": {"msgs_per_op": 30, "median_ms": 400, "max_ms": 600},
    "3e": {"msgs_per_op": 20, "median_ms": 1000, "max_ms": 2000},
}
NEMESES = (None, "partition")
PERCENTILES = (50, 95, 99, 100)


@dataclass
class BroadcastResult:
    """What one run of the workload measured (see the module docstring)."""

    ok: bool
    msgs_per_op: float
    latency_ms: dict[int, float]
    lost: tuple[int, ...]
    ops: int
    acknowledged: int
    server_msgs: int
    seed: int
    sim: Any = field(repr=False, default=None)
    history: Recorder | None = field(repr=False, default=None)

    def meets(self, target: str) -> bool:
        """True when this run is correct and meets Glomers target ``"3d"`` or ``"3e"``."""
        if target not in TARGETS:
            raise allowed("target", target, f"one of {', '.join(TARGETS)}")
        t = TARGETS[target]
        return (self.ok and self.msgs_per_op < t["msgs_per_op"]
                and self.latency_ms[50] < t["median_ms"] and self.latency_ms[100] < t["max_ms"])

    def summary(self) -> str:
        lat = ", ".join(f"p{p}={v:.0f}" for p, v in self.latency_ms.items())
        return (f"ok={self.ok} msgs/op={self.msgs_per_op:.1f} lost={len(self.lost)} of {self.acknowledged} "
                f"acknowledged\n    latency ms: {lat}")


class _Client(Node):
    """Maelstrom's workload client: broadcasts fresh values to random servers."""

    def __init__(self, node_id: str, servers: Sequence[str], topo: dict[str, list[str]], rate: float,
                 start_ms: float, stop_ms: float, history: Recorder,
                 unwrap: Callable[[Any], Any] | None = None) -> None:
        super().__init__(node_id)
        self.unwrap = unwrap
        self.servers, self.rate, self.start_ms, self.stop_ms = list(servers), rate, start_ms, stop_ms
        self.topo = topo
        self.history = history
        self.next_value = 0
        self.invoked: dict[int, float] = {}
        self.acked: dict[int, float] = {}

    def on_start(self) -> None:
        for i, s in enumerate(self.servers):
            self.send(s, {"type": "topology", "topology": self.topo, "msg_id": -1 - i})
        self.set_timer(self.start_ms + self._gap(), "op")

    def _gap(self) -> float:
        return round(float(self.rng.exponential(1000 / self.rate)), 3)

    def on_timer(self, name: str, payload: Any) -> None:
        if self.now >= self.stop_ms:
            return
        v = self.next_value
        self.next_value += 1
        dst = self.servers[int(self.rng.integers(len(self.servers)))]
        self.invoked[v] = self.now
        self.history.invoke(f"op{v}", "broadcast", v)
        self.send(dst, {"type": "broadcast", "message": v, "msg_id": v})
        self.set_timer(self._gap(), "op")

    def on_message(self, src: str, msg: Any) -> None:
        if self.unwrap is not None:
            msg = self.unwrap(msg)
        if type(msg) is dict and msg.get("type") == "broadcast_ok":
            v = msg.get("in_reply_to")
            if v in self.invoked and v not in self.acked:
                self.acked[v] = self.now
                self.history.ok(f"op{v}", v)


class _Probe(Node):
    """Reads every server every ``probe_ms``: when does a value become visible everywhere?

    A probe read is instrumentation, not traffic: the probe calls the server's own
    ``on_message`` with a Maelstrom ``read`` at the current virtual time and captures the
    ``read_ok`` the server sends back to it, so the read takes no virtual time, is not in the
    trace and costs no copy of the server's (ever longer) list. Crashed or paused servers are
    not read, nor, once the workload has stopped, servers already seen holding every value
    (they have nothing new to show; the final read still checks them).
    """

    def __init__(self, node_id: str, servers: Sequence[str], probe_ms: float, stop_ms: float,
                 unwrap: Callable[[Any], Any] | None = None) -> None:
        super().__init__(node_id)
        self.unwrap = unwrap
        self.servers, self.probe_ms, self.stop_ms = list(servers), probe_ms, stop_ms
        self.workload_end = stop_ms
        self.expected: Callable[[], int] | None = None
        self.seen: dict[str, set[int]] = {s: set() for s in servers}
        self.count: dict[int, int] = {}
        self.visible_at: dict[int, float] = {}
        self.reads = 0

    def on_start(self) -> None:
        self.set_timer(self.probe_ms, "probe")

    def read(self, server_id: str) -> set | None:
        """One instantaneous read of ``server_id``: the set of values it returned, or None."""
        sim = self._sim
        if sim.status(server_id) != "up":
            return None
        server = sim.nodes[server_id]
        box: list[Any] = []
        d = server.__dict__
        had, prev = "send" in d, server.send

        def capture(dst: str, msg: Any) -> int:
            if dst == self.id:
                box.append(msg)
                return -1
            return prev(dst, msg)

        d["send"] = capture
        try:
            server.on_message(self.id, {"type": "read", "msg_id": -2})
        finally:
            if had:
                d["send"] = prev
            else:
                d.pop("send", None)
        for msg in box:
            if self.unwrap is not None:
                msg = self.unwrap(msg)
            if type(msg) is dict and msg.get("type") == "read_ok":
                try:
                    return set(msg.get("messages", ()))
                except TypeError:
                    return set()
        return None

    def on_timer(self, name: str, payload: Any) -> None:
        n = len(self.servers)
        expected = self.expected if self.now > self.workload_end else None
        for s in self.servers:
            if expected is not None and len(self.seen[s]) >= expected():
                continue        # holds every value ever sent: nothing new to see until the final read
            got = self.read(s)
            if not got:
                continue
            seen = self.seen[s]
            new = got - seen
            if new:
                seen |= new
                for v in new:
                    c = self.count[v] = self.count.get(v, 0) + 1
                    if c == n:
                        self.visible_at[v] = self.now
        self.reads += 1
        if self.now + self.probe_ms <= self.stop_ms:
            self.set_timer(self.probe_ms, "probe")


def _partition_schedule(rng: np.random.Generator, servers: list[str], start: float,
                        stop: float) -> list[tuple[float, tuple]]:
    """Maelstrom's partition nemesis, roughly: random halves cut apart for 1–3 s, then healed
    for 1–3 s, until ``stop`` (only server-to-server links are cut, never the client's)."""
    out: list[tuple[float, tuple]] = []
    t = start + float(rng.uniform(1000, 3000))
    while t < stop:
        order = [servers[int(i)] for i in rng.permutation(len(servers))]
        cut = int(rng.integers(1, len(servers)))
        a, b = order[:cut], order[cut:]
        out += [(round(t, 3), ("cut", x, y)) for x in a for y in b]
        out += [(round(t, 3), ("cut", y, x)) for x in a for y in b]
        t += float(rng.uniform(1000, 3000))
        out.append((round(min(t, stop), 3), ("heal",)))
        t += float(rng.uniform(1000, 3000))
    return out


def _percentiles(values: list[float]) -> dict[int, float]:
    if not values:
        return {p: float("nan") for p in PERCENTILES}
    arr = np.asarray(values, dtype=float)
    return {p: round(float(np.percentile(arr, p, method="lower")), 3) for p in PERCENTILES}


def broadcast_workload(node_cls: Any, nodes: int = 25, latency_ms: float = 100, rate: float = 100,
                       duration_ms: float = 20_000, topology: str = "grid", nemesis: Any = None,
                       seed: int = 1, *, probe_ms: float = 20, settle_ms: float | None = None,
                       make: Callable[..., Node] | None = None,
                       unwrap: Callable[[Any], Any] | None = None) -> BroadcastResult:
    """Run Maelstrom's broadcast workload against ``node_cls`` (see the module docstring).

    ``nemesis`` is ``None``, ``"partition"`` (random halves, healed before the end) or a
    ``ds.sim`` nemesis schedule. ``make(node_cls, node_id, node_ids)`` builds a server
    (default ``node_cls(node_id, node_ids)``; the grader passes its sandbox factory), and
    ``unwrap(msg)`` turns what a server sends into a plain message (the sandbox's wire form).
    """
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= 200:
        raise allowed("nodes", nodes, "an int from 1 to 200")
    for name, value in (("latency_ms", latency_ms), ("rate", rate), ("duration_ms", duration_ms),
                        ("probe_ms", probe_ms)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= (
                0 if name == "latency_ms" else 1e-9):
            raise allowed(name, value, "a number > 0" if name != "latency_ms" else "a number >= 0")
    if topology not in TOPOLOGIES:
        raise allowed("topology", topology, f"one of {', '.join(TOPOLOGIES)}")
    if not (nemesis in NEMESES or isinstance(nemesis, list)):
        raise allowed("nemesis", nemesis, "None, 'partition' or a list of (time_ms, action)")
    settle = (5000.0 if nemesis is None else 10_000.0) if settle_ms is None else float(settle_ms)
    sim = Simulation(seed=seed, network=reliable(latency=latency_ms))
    names = [f"n{i}" for i in range(nodes)]
    build = make or (lambda cls, node_id, node_ids: cls(node_id, node_ids))
    for name in names:
        sim.add_node(build(node_cls, name, list(names)))
    history = Recorder(sim)
    start = 2 * latency_ms + 1
    client = _Client("c", names, make_topology(names, topology), rate, start, duration_ms, history, unwrap)
    sim.add_node(client)
    end = duration_ms + settle
    probe = _Probe("p", names, probe_ms, end, unwrap)
    probe.workload_end, probe.expected = duration_ms, (lambda: client.next_value)
    sim.add_node(probe)
    if nemesis == "partition":
        schedule = _partition_schedule(sim.rng("nemesis"), names, start, duration_ms)
        if schedule:
            sim.schedule_nemesis(schedule)
    elif isinstance(nemesis, list):
        sim.schedule_nemesis(nemesis)
    if nemesis is not None:
        sim.schedule_nemesis([(duration_ms, ("heal",))])
    sim.run(until=end)
    final = {s: probe.read(s) for s in names}
    server = set(names)
    server_msgs = sum(1 for e in sim.trace.filter("send") if e.node in server and e.peer in server)
    ops = client.next_value
    acked = sorted(client.acked)
    got = {s: f if f is not None else set() for s, f in final.items()}
    lost = tuple(v for v in acked if any(final[s] is None or v not in got[s] for s in names))
    lat = [probe.visible_at[v] - client.invoked[v] for v in acked if v in probe.visible_at]
    return BroadcastResult(ok=not lost and all(f is not None for f in final.values()),
                           msgs_per_op=round(server_msgs / max(ops, 1), 3), latency_ms=_percentiles(lat),
                           lost=lost, ops=ops, acknowledged=len(acked), server_msgs=server_msgs,
                           seed=seed, sim=sim, history=history)
