"""Multi-Paxos under a nemesis: a one-line cluster, client workloads and the safety checks.

``run(seed)`` builds replicas ``r1..rn`` and clients ``c1..``, schedules random crashes and
partitions of the replicas (``ds.sim.random_schedule``; during a partition the clients stay
with the first group), runs, and returns the replicas' logs and the clients' history. The
checks are those of Chapter 5: the decided logs are prefix-consistent (no two replicas ever
decide different values for one slot) and the key-value history is linearizable (Herlihy &
Wing 1990), judged by :mod:`dscourse.checkers.linearizability`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..checkers import linearizability as lin
from ..errors import allowed
from ..history import Recorder
from ..notebook import default_seed
from ..sim import Network, Simulation, Uniform, random_schedule
from ..sim.cluster import Cluster
from ..sim.network import LinkModel
from .multi import Client, Replica

KEYS = ("x", "y")


def client_ops(rng: Any, n: int, client: str) -> list[tuple]:
    """``n`` random operations on :data:`KEYS`: gets, puts and appends of unique values."""
    ops = []
    for i in range(n):
        key = KEYS[int(rng.integers(len(KEYS)))]
        kind = ("get", "put", "append")[int(rng.integers(3))]
        ops.append((kind, key) if kind == "get" else (kind, key, f"{client}.{i} "))
    return ops


class MultiPaxosCluster(Cluster):
    """Multi-Paxos replicas and their clients, built by :func:`cluster`: ``sim``, ``nodes``,
    ``replicas`` and ``clients`` (id -> node), the clients' shared ``history`` (a
    :class:`~dscourse.history.Recorder`), and the chapter's checks."""

    def __init__(self, sim: Simulation, history: Recorder) -> None:
        super().__init__(sim, sim.nodes)
        self.history = history
        self.replicas = {r.id: r for r in replicas(sim)}
        self.clients = {c.id: c for c in sim.nodes.values() if isinstance(c, Client)}

    def nemesis(self, until: float, **options: Any) -> list:
        """Random crashes and partitions of the replicas until ``until`` ms (see :func:`nemesis`)."""
        return nemesis(self.sim, until, **options)

    def operations(self) -> list[lin.Operation]:
        """The clients' operations for the linearizability checker (see :func:`history`)."""
        return history(self.sim)

    def prefix_consistent(self) -> bool:
        """No slot decided twice with different commands (see :func:`prefix_consistent`)."""
        return prefix_consistent(self.sim)

    def check(self, timeout: float | None = None) -> lin.CheckResult:
        """Is the clients' history linearizable (as a key-value store)?"""
        return lin.check(self.operations(), lin.kv(), timeout=timeout)


def cluster(n: int = 3, clients: int = 2, ops: int = 10, *, seed: int | None = None,
            network: LinkModel | None = None, replica_cls: type[Replica] = Replica,
            **replica_kwargs: Any) -> MultiPaxosCluster:
    """``n`` Multi-Paxos replicas ``r1..`` (``replica_cls``) and ``clients`` clients ``c1..``
    running ``ops`` random operations each, recorded in one history."""
    for what, v, lo in (("n", n, 1), ("clients", clients, 0), ("ops", ops, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise allowed(what, v, f"an int >= {lo}")
    sim = Simulation(seed=default_seed(seed), network=network or Network(latency=Uniform(1.0, 4.0)))
    recorder = Recorder(sim)
    ids = [f"r{i}" for i in range(1, n + 1)]
    for r in ids:
        sim.add_node(replica_cls(r, ids, **replica_kwargs))
    for i in range(1, clients + 1):
        cid = f"c{i}"
        sim.add_node(Client(cid, ids, client_ops(sim.rng(f"workload:{cid}"), ops, cid),
                            history=recorder))
    return MultiPaxosCluster(sim, recorder)


def replicas(sim: Simulation) -> list[Replica]:
    """The simulation's Multi-Paxos replicas, in the order they were added."""
    return [node for node in sim.nodes.values() if isinstance(node, Replica)]


def nemesis(sim: Simulation, until: float, *, kinds: tuple[str, ...] = ("crash", "partition"),
            mean_gap: float = 60.0, mean_duration: float = 80.0) -> list:
    """A random crash/partition schedule of the replicas until ``until`` ms (clients stay with
    the first group of a partition); scheduled on ``sim`` and returned."""
    ids = [r.id for r in replicas(sim)]
    others = [nid for nid in sim.nodes if nid not in ids]
    schedule = []
    for t, action in random_schedule(ids, sim.rng("nemesis"), until=until, kinds=kinds,
                                     mean_gap=mean_gap, mean_duration=mean_duration):
        if action[0] == "partition":
            groups = [list(g) for g in action[1]]
            groups[0] = groups[0] + others
            action = ("partition", groups)
        schedule.append((t, action))
    sim.schedule_nemesis(schedule)
    return schedule


def prefix_consistent(sim: Simulation) -> bool:
    """No slot is decided with two different values, and applied logs are prefixes of each other."""
    reps = replicas(sim)
    for i, a in enumerate(reps):
        for b in reps[i + 1:]:
            da, db = a.stable.get("decided", {}), b.stable.get("decided", {})
            if any(da[s] != db[s] for s in da.keys() & db.keys()):
                return False
            la, lb = a.log() if "applied" in vars(a) else [], b.log() if "applied" in vars(b) else []
            short = min(len(la), len(lb))
            if la[:short] != lb[:short]:
                return False
    return True


def history(sim: Simulation) -> list[lin.Operation]:
    """The clients' operations for the linearizability checker, client by client: inputs
    ``(op, key)`` or ``(op, key, value)``; pending ones have ``ret = inf`` and output
    ``UNKNOWN``."""
    clients = [node for node in sim.nodes.values() if isinstance(node, Client)]
    recorders = {id(c.history): c.history for c in clients}.values()
    order = [c.id for c in clients]
    return [op for r in recorders for op in r.operations(flat=True, processes=order)]


@dataclass(frozen=True)
class Run:
    """The outcome of :func:`run`."""

    seed: int
    sim: Simulation
    prefix_consistent: bool
    linearizable: bool
    completed: int
    operations: int


def run(seed: int, *, n: int = 3, clients: int = 2, ops: int = 8, until: float = 600.0,
        faults: bool = True, **options: Any) -> Run:
    """Run a workload for ``until`` ms (faults during the first 60%) and check it."""
    c = cluster(n, clients, ops, seed=seed, **options)
    if faults:
        c.nemesis(until * 0.6)
    c.run(until=until)
    hist = c.operations()
    verdict = lin.check(hist, lin.kv())
    done = sum(1 for op in hist if op.ret != math.inf)
    return Run(seed, c.sim, c.prefix_consistent(), verdict.ok, done, len(hist))
