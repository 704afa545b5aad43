"""``ds.redis_cluster.cluster(...)``: a running Redis Cluster on ``ds.sim`` and its checks.

Masters ``m0..`` split the 16384 slots evenly; replica ``r<i>`` replicates ``m<i>``. At start
``m0`` sends ``CLUSTER MEET`` to every node and gossip introduces the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..checkers import linearizability as lin
from ..errors import allowed
from ..history import Recorder
from ..sim import Node, Simulation, reliable
from .client import ClusterClient
from .messages import Command
from .node import ClusterNode
from .slots import SLOTS, key_slot


class _Admin(Node):
    """The operator (``redis-cli --cluster reshard``): SETSLOT and MIGRATE, one slot at a time."""

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id)
        self.jobs: list[tuple[int, str, str, int, float]] = []
        self.done: list[tuple[int, float]] = []
        self.job: tuple | None = None

    def reshard(self, slot: int, src: str, dst: str, batch: int, step_ms: float) -> None:
        self.jobs.append((slot, src, dst, batch, step_ms))
        if self.job is None:
            self.set_timer(0, "job")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "job" and self.job is None and self.jobs:
            self.job = self.jobs.pop(0)
            slot, src, dst, batch, step = self.job
            self.send(dst, ("admin", "importing", slot, src, 0))
            self.send(src, ("admin", "migrating", slot, dst, 0))
            self.set_timer(step, "migrate")
        elif name == "migrate" and self.job is not None:
            slot, src, dst, batch, step = self.job
            self.send(src, ("admin", "migrate", slot, dst, batch))

    def on_message(self, src: str, msg: Any) -> None:
        if not (isinstance(msg, tuple) and msg[0] == "admin_ok") or self.job is None:
            return
        _, op, slot, left = msg
        j_slot, j_src, j_dst, batch, step = self.job
        if op == "migrate" and slot == j_slot:
            if left > batch:
                self.set_timer(step, "migrate")
            elif left > 0:
                self.set_timer(step, "migrate")
            else:
                for n in (j_dst, j_src):
                    self.send(n, ("admin", "node", slot, j_dst, 0))
                self.done.append((slot, self.now))
                self.job = None
                self.set_timer(step, "job")


class Cluster:
    """A Redis Cluster (``.sim``, ``.nodes``, ``run``, ``run_until``, views and audits)."""

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout: float = 1000.0, seed: int = 1,
                 latency: float = 1.0, repl_delay_ms: float = 50.0, node_cls: type[ClusterNode] = ClusterNode) -> None:
        if isinstance(masters, bool) or not isinstance(masters, int) or not 1 <= masters <= 50:
            raise allowed("masters", masters, "an int from 1 to 50")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 0 <= replicas <= 3:
            raise allowed("replicas", replicas, "an int from 0 to 3")
        self.node_timeout = float(node_timeout)
        self.sim = Simulation(seed=seed, network=reliable(latency=latency))
        self.masters = [f"m{i}" for i in range(masters)]
        self.nodes: dict[str, ClusterNode] = {}
        per = SLOTS // masters
        for i, m in enumerate(self.masters):
            last = SLOTS - 1 if i == masters - 1 else (i + 1) * per - 1
            self.nodes[m] = node_cls(m, slots=((i * per, last),), node_timeout=node_timeout,
                                        config_epoch=i + 1, repl_delay_ms=repl_delay_ms)
        for j in range(replicas):
            for i, m in enumerate(self.masters):
                r = f"r{i}" if replicas == 1 else f"r{i}.{j}"
                self.nodes[r] = node_cls(r, master=m, node_timeout=node_timeout, repl_delay_ms=repl_delay_ms)
        for n in self.nodes.values():
            self.sim.add_node(n)
        self.admin = _Admin("admin")
        self.sim.add_node(self.admin)
        self.history = Recorder(self.sim)
        self.clients: dict[str, ClusterClient] = {}
        self.sim.run(until=0)
        first = self.nodes[self.masters[0]]
        for name in self.nodes:
            first.meet(name)

    def __repr__(self) -> str:
        return f"<redis_cluster.Cluster {len(self.masters)} masters, {len(self.nodes)} nodes, now={self.sim.now} ms>"

    def run(self, until: float) -> None:
        self.sim.run(until=until)

    def run_until(self, predicate: Callable[..., bool], timeout: float) -> bool:
        return self.sim.run_until(predicate, timeout)

    # -- views -----------------------------------------------------------------------------
    def up(self) -> list[str]:
        return [n for n in self.nodes if self.sim.status(n) == "up"]

    def view(self, observer: str, about: str) -> str:
        """What ``observer`` thinks of ``about``: "ok", "PFAIL", "FAIL" or "unknown"."""
        return self.nodes[observer].flag(about)

    def table(self) -> dict[str, dict[str, str]]:
        """``{observer: {about: flag}}`` for every running observer (``-`` on the diagonal)."""
        return {o: {a: "-" if a == o else self.view(o, a) for a in self.nodes} for o in self.up()}

    def everyone_knows_everyone(self) -> bool:
        return all(set(self.nodes[o].views) == set(self.nodes) - {o} for o in self.up())

    def owner(self, slot: int, observer: str | None = None) -> str | None:
        return self.nodes[observer or self.up()[0]].owner(slot)

    # -- faults and workloads --------------------------------------------------------------
    def crash(self, node: str) -> None:
        self.sim.crash(node)

    def partition(self, *groups: Sequence[str]) -> None:
        """Partition the cluster nodes (the admin and clients stay connected to everyone)."""
        side = {n: i for i, g in enumerate(groups) for n in g}
        for a in self.nodes:
            for b in self.nodes:
                if a != b and side.get(a, -1) != side.get(b, -1):
                    self.sim.cut(a, b)

    def heal(self) -> None:
        self.sim.heal()

    def client(self, name: str, ops: Sequence[tuple], gap_ms: float = 10.0, timeout_ms: float = 500.0) -> ClusterClient:
        """Add a client running ``ops`` with a slot cache taken from ``m0``'s view now."""
        owners = dict(self.nodes[self.up()[0]].conf["owners"])
        c = ClusterClient(name, owners, ops, self.history, gap_ms, timeout_ms, start_ms=0.0)
        self.clients[name] = c
        self.sim.add_node(c)
        return c

    def reshard(self, slot: int, src: str, dst: str, batch: int = 2, step_ms: float = 20.0) -> None:
        """Move ``slot`` from master ``src`` to master ``dst`` a few keys at a time."""
        self.admin.reshard(slot, src, dst, batch, step_ms)

    def check(self) -> lin.CheckResult:
        """Linearizability of the clients' history (a key-value store)."""
        return lin.check(self.history.operations(flat=True), lin.kv())


def cluster(masters: int = 3, replicas: int = 1, node_timeout: float = 1000.0, seed: int = 1,
            latency: float = 1.0, repl_delay_ms: float = 50.0, settle_ms: float = 3000.0,
            node_cls: type[ClusterNode] = ClusterNode) -> Cluster:
    """A Redis Cluster that has met and settled (everyone knows everyone) by ``settle_ms``;
    ``node_cls`` replaces :class:`ClusterNode` (exercises, mutants)."""
    c = Cluster(masters, replicas, node_timeout, seed, latency, repl_delay_ms, node_cls)
    c.run(until=settle_ms)
    return c


__all__ = ["Cluster", "Command", "cluster", "key_slot"]
