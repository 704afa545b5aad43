"""A naive asynchronous primary–backup key-value store, and the lost-write checker.

This is the system Chapter 1 breaks on purpose (the split-brain demo and exercise E1.3).
It is deliberately unsafe, in the two ways that Budhiraja et al., "The Primary-Backup
Approach" (1993, §2) warn about:

* **Asynchronous replication.** The primary applies a ``Put``, acknowledges it to the client
  at once, and only then sends ``Replicate`` to the backups, without waiting for them. A write
  acknowledged just before the primary fails may exist nowhere else.
* **Failover by timeout, without fencing.** A backup that hears no ``Heartbeat`` from the
  primary for ``failover_ms`` promotes itself. Nothing stops two primaries (a partition or a
  pause looks exactly like a crash), and a recovered old primary still believes it leads.

Quick start::

    from dscourse.fundamentals.primary_backup import build, lost_writes
    pb = build(seed=1)                     # servers "p" (primary), "b" (backup); client "c"
    pb.apply([(40, "pause", "p", 30)])     # a nemesis schedule: the primary stalls for 30 ms
    pb.run()
    lost_writes(pb.history)                # acknowledged writes no later read sees (E1.3 asks
                                           # for a schedule that makes this non-empty)

Node ids, the client workload and the timings are parameters of :func:`build`; the defaults
are the ones exercise E1.3 uses. Every server annotates its role (``role="primary"`` or
``"backup"``), so space-time diagrams colour the split brain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, allowed
from ..sim import Node
from ..sim.nemesis import ACTIONS, Nemesis

# ---- messages (Budhiraja et al. §2: request, update, acknowledgement, heartbeat) ----------


@dataclass(frozen=True)
class Put:
    """A client asks the primary to set ``key`` to ``value``; ``req`` matches the reply."""

    key: str
    value: str
    req: int


@dataclass(frozen=True)
class Get:
    """A client asks the primary for the value of ``key``."""

    key: str
    req: int


@dataclass(frozen=True)
class Reply:
    """The answer to request ``req``: ``ok`` with the value read, or an ``error`` string."""

    req: int
    ok: bool
    value: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Replicate:
    """The primary forwards an applied write to a backup (fire and forget: no ack)."""

    key: str
    value: str


@dataclass(frozen=True)
class Heartbeat:
    """The primary tells the backups it is alive."""


# ---- the history the client records (Jepsen style: invoke, then ok / fail / info) ------------


@dataclass(frozen=True)
class Op:
    """One client operation: ``f`` is ``"put"`` or ``"get"``; ``type`` is how it ended.

    ``type`` is ``"ok"`` (acknowledged), ``"fail"`` (definitely not applied: the server said
    it is not the primary) or ``"info"`` (indeterminate: the client timed out). For an ``ok``
    get, ``value`` is the value read (``None`` when the key is absent).
    """

    process: str
    f: str
    key: str
    value: str | None
    invoke_ms: float
    complete_ms: float
    type: str
    server: str


# ---- the nodes ---------------------------------------------------------------------------------


class PBServer(Node):
    """A primary–backup server; ``primary`` names the server that starts as primary.

    The store and the role live in ``self.stable`` (a disk), so a crash loses neither: a
    recovered old primary comes back believing it is still the primary.
    """

    def __init__(self, node_id: str, peers: Sequence[str], primary: str,
                 heartbeat_ms: float = 10.0, failover_ms: float = 50.0) -> None:
        super().__init__(node_id)
        if heartbeat_ms <= 0 or failover_ms <= heartbeat_ms:
            raise allowed("(heartbeat_ms, failover_ms)", (heartbeat_ms, failover_ms),
                          "0 < heartbeat_ms < failover_ms")
        self.replicas = [p for p in peers if p != node_id]
        self.heartbeat_ms = float(heartbeat_ms)
        self.failover_ms = float(failover_ms)
        self.stable.setdefault("role", "primary" if node_id == primary else "backup")
        self.stable.setdefault("store", {})
        self.last_heard = 0.0

    @property
    def role(self) -> str:
        """``"primary"`` or ``"backup"``."""
        return self.stable["role"]

    @property
    def store(self) -> dict[str, str]:
        """This server's copy of the data."""
        return self.stable["store"]

    def on_start(self) -> None:
        self._arm()

    def on_recover(self) -> None:
        self.last_heard = self.now
        self._arm()

    def _arm(self) -> None:
        self.annotate(role=self.role)
        self.set_timer(self.heartbeat_ms, "tick")

    def on_timer(self, name: str, payload: Any) -> None:
        if self.role == "primary":
            for peer in self.replicas:
                self.send(peer, Heartbeat())
        elif self.now - self.last_heard >= self.failover_ms:
            self.stable["role"] = "primary"          # naive failover: no fencing, no epochs
            self.annotate(role="primary")
        self.set_timer(self.heartbeat_ms, "tick")

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Heartbeat):
            self.last_heard = self.now                # a second primary is simply ignored
        elif isinstance(msg, Replicate):
            self.store[msg.key] = msg.value
        elif isinstance(msg, (Put, Get)) and self.role != "primary":
            self.send(src, Reply(msg.req, False, error="not primary"))
        elif isinstance(msg, Put):
            self.store[msg.key] = msg.value
            self.send(src, Reply(msg.req, True))      # acknowledge first ...
            for peer in self.replicas:                # ... replicate later, without waiting
                self.send(peer, Replicate(msg.key, msg.value))
        elif isinstance(msg, Get):
            self.send(src, Reply(msg.req, True, value=self.store.get(msg.key)))


class PBClient(Node):
    """Runs ``ops`` one at a time against whichever server it believes is the primary.

    ``ops`` holds ``("put", key, value)`` and ``("get", key)`` tuples. After a ``not primary``
    reply the client tries the next server and retries at once (the put was not applied);
    after ``timeout_ms`` without a reply it records ``info`` and moves on to the next server
    and the next operation. Each operation starts ``gap_ms`` after the previous one ended.
    """

    def __init__(self, node_id: str, servers: Sequence[str], ops: Sequence[tuple],
                 timeout_ms: float = 30.0, gap_ms: float = 10.0, start_ms: float = 10.0) -> None:
        super().__init__(node_id)
        if not servers:
            raise allowed("servers", servers, "at least one server id")
        for op in ops:
            if not (isinstance(op, tuple) and ((len(op) == 3 and op[0] == "put")
                                               or (len(op) == 2 and op[0] == "get"))):
                raise allowed("op", op, "('put', key, value) or ('get', key)")
        self.servers = list(servers)
        self.ops = list(ops)
        self.timeout_ms, self.gap_ms, self.start_ms = float(timeout_ms), float(gap_ms), float(start_ms)
        self.history: list[Op] = []
        self.guess = 0
        self.next_op = 0
        self.req = 0
        self.invoked = 0.0
        self.retries = 0

    def on_start(self) -> None:
        self.set_timer(self.start_ms, "next")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "next":
            self.retries = 0
            self._invoke()
        elif name == "timeout" and payload == self.req:
            self._finish("info", None)

    def _invoke(self) -> None:
        if self.next_op >= len(self.ops):
            return
        self.req += 1
        self.invoked = self.now if self.retries == 0 else self.invoked
        op = self.ops[self.next_op]
        msg = Put(op[1], op[2], self.req) if op[0] == "put" else Get(op[1], self.req)
        self.send(self.servers[self.guess], msg)
        self.set_timer(self.timeout_ms, "timeout", self.req)

    def on_message(self, src: str, msg: Any) -> None:
        if not isinstance(msg, Reply) or msg.req != self.req:
            return                                    # a late reply to an abandoned request
        if msg.ok:
            self._finish("ok", msg.value)
        elif self.retries + 1 < len(self.servers):
            self.retries += 1                         # a new req also voids the old timeout
            self.guess = (self.guess + 1) % len(self.servers)
            self._invoke()
        else:
            self._finish("fail", None)

    def _finish(self, kind: str, value: str | None) -> None:
        op = self.ops[self.next_op]
        server = self.servers[self.guess]
        self.history.append(Op(self.id, op[0], op[1], op[2] if op[0] == "put" else value,
                               self.invoked, self.now, kind, server))
        self.annotate(op=f"{op[0]} {op[1]}", result=kind)
        if kind == "info":
            self.guess = (self.guess + 1) % len(self.servers)
        self.req += 1                                 # ignore any late reply
        self.next_op += 1
        self.set_timer(self.gap_ms, "next")


# ---- the lost-write checker --------------------------------------------------------------------


def lost_writes(history: Sequence[Op]) -> list[Op]:
    """Acknowledged puts that no later read sees: the E1.3 checker.

    A put ``w`` of ``key`` is lost when at least one ``ok`` get of ``key`` was invoked after
    ``w`` completed and none of those reads returned ``w.value``. Keys written more than once
    are skipped (a later overwrite would explain the absence), so workloads write each key once.
    """
    puts: dict[str, list[Op]] = {}
    for op in history:
        if op.f == "put":
            puts.setdefault(op.key, []).append(op)
    lost = []
    for key, writes in puts.items():
        if len(writes) != 1 or writes[0].type != "ok":
            continue
        w = writes[0]
        later = [op for op in history if op.f == "get" and op.type == "ok" and op.key == key
                 and op.invoke_ms > w.complete_ms]
        if later and all(op.value != w.value for op in later):
            lost.append(w)
    return lost


# ---- the cluster and its nemesis schedule --------------------------------------------------------

NEMESIS_ACTIONS = ("crash", "recover", "pause", "partition", "heal", "cut")


def default_ops(n_writes: int = 8) -> list[tuple]:
    """The E1.3 workload: put ``x0..x{n-1}`` (values ``v0..``), then get each key twice."""
    puts = [("put", f"x{i}", f"v{i}") for i in range(n_writes)]
    gets = [("get", f"x{i}") for i in range(n_writes)]
    return puts + gets + gets


def validate_schedule(schedule: Any, nodes: Sequence[str], horizon_ms: float) -> list[tuple]:
    """Check a nemesis schedule exactly and return it as a sorted list of ``(at_ms, action, *args)``.

    Entries use the simulator's nemesis format (:mod:`dscourse.sim.nemesis`), nested or flat:
    ``(t, ("crash", "p"))`` or ``(t, "crash", "p")``; likewise ``recover``, ``pause`` (node, ms),
    ``cut`` (from, to: one-way), ``heal`` and ``partition`` with a list of groups,
    ``(t, ("partition", [["p"], ["b", "c"]]))``. For partitions the groups may also be given
    one by one, ``(t, "partition", ["p"], ["b", "c"])``. Times are ``0 <= t <= horizon_ms``;
    at most 50 entries. Errors name the entry and what is allowed.
    """
    if not isinstance(schedule, (list, tuple)) or len(schedule) > 50:
        raise allowed("schedule", type(schedule).__name__, "a list of at most 50 entries")
    entries = [_kernel_form(entry) for entry in schedule]
    out = []
    for (time_us, action, args), entry in zip(Nemesis(entries).actions, schedule, strict=True):
        at = time_us / 1000
        if type(entry[0]) is bool or not 0 <= at <= horizon_ms:
            raise allowed("at_ms", entry[0], f"a number in [0, {horizon_ms:g}]")
        if action not in NEMESIS_ACTIONS:
            raise allowed("action", action, f"one of {sorted(NEMESIS_ACTIONS)}")
        if action == "partition":
            if len(args) < 2:
                raise allowed("partition", list(args), "two or more lists of node ids")
            ids = [x for group in args for x in group]
        else:
            ids = [a for kind, a in zip(ACTIONS[action], args, strict=False) if kind == "id"]
        if action == "pause" and not 0 < args[1] <= horizon_ms:
            raise allowed("pause ms", args[1], f"a number in (0, {horizon_ms:g}]")
        for x in ids:
            if x not in nodes:
                raise allowed("node", x, f"one of {list(nodes)}")
        out.append((float(at), action, *args))
    return sorted(out, key=lambda e: e[0])


def _kernel_form(entry: Any) -> Any:
    """Turn the flat ``(t, "partition", [..], [..])`` form into the kernel's list of groups."""
    if (isinstance(entry, (list, tuple)) and len(entry) > 3 and entry[1] == "partition"
            and all(isinstance(g, (list, tuple)) for g in entry[2:])):
        return (entry[0], ("partition", [list(g) for g in entry[2:]]))
    return entry


@dataclass
class PBCluster:
    """A built primary–backup cluster: the simulation, its servers and its client."""

    sim: Any
    servers: dict[str, PBServer]
    client: PBClient
    horizon_ms: float
    schedule: list[tuple] = field(default_factory=list)

    @property
    def history(self) -> list[Op]:
        """The client's operation history so far."""
        return self.client.history

    @property
    def node_ids(self) -> list[str]:
        return [*self.servers, self.client.id]

    def apply(self, schedule: Any) -> list[tuple]:
        """Validate and remember a nemesis schedule (see :func:`validate_schedule`)."""
        self.schedule = validate_schedule(schedule, self.node_ids, self.horizon_ms)
        return self.schedule

    def run(self) -> list[Op]:
        """Run to the horizon, applying the schedule's actions at their times."""
        sim = self.sim
        for at, action, *args in self.schedule:
            sim.run(until=at)
            _apply_action(sim, action, args)
        sim.run(until=self.horizon_ms)
        return self.history


def _apply_action(sim: Any, action: str, args: list) -> None:
    """One nemesis action; actions that do not fit the state (crash a crashed node) are no-ops."""
    try:
        if action == "partition":
            sim.partition(*args)
        elif action == "heal":
            sim.heal()
        else:
            getattr(sim, action)(*args)
    except ConfigError:
        pass


def build(seed: int = 1, *, servers: Sequence[str] = ("p", "b"), client: str = "c",
          ops: Sequence[tuple] | None = None, latency: tuple[float, float] = (1.0, 5.0),
          heartbeat_ms: float = 10.0, failover_ms: float = 50.0, timeout_ms: float = 30.0,
          horizon_ms: float = 1000.0) -> PBCluster:
    """Build the store: ``servers[0]`` starts as primary; ``client`` runs ``ops``.

    Links have uniform latency in ``latency`` (ms), no loss and FIFO order; faults come from a
    nemesis schedule given to :meth:`PBCluster.apply`.
    """
    from .. import sim as dsim

    sim = dsim.Simulation(seed=seed, network=dsim.Network(latency=dsim.Uniform(*latency)))
    nodes = {s: PBServer(s, servers, servers[0], heartbeat_ms, failover_ms) for s in servers}
    for node in nodes.values():
        sim.add_node(node)
    cl = PBClient(client, servers, default_ops() if ops is None else ops, timeout_ms=timeout_ms)
    sim.add_node(cl)
    return PBCluster(sim, nodes, cl, float(horizon_ms))
