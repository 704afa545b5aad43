"""``cluster()``: a replicated store, its clients and their history, in one call.

>>> import dscourse as ds
>>> c = ds.replication.cluster("cp", replicas=5, clients=3, seed=1)
>>> _ = c.run(until=400)
>>> c.check().outcome
'ok'

Replicas are ``r0 .. r{k-1}``, clients ``c0 .. c{m-1}``. ``mode`` picks a preset from
:func:`dscourse.replication.config.preset` (``"cp"``, ``"ap"``, ``"quorum"``); keyword
arguments override its fields (``n``, ``r``, ``w``, ``sloppy``, ``read_repair``, ...).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .. import sim as dsim
from ..checkers import linearizability as lin
from ..errors import allowed
from ..history import Recorder
from ..notebook import default_seed
from ..sim.cluster import Cluster as SimCluster
from .client import KVClient, Workload
from .config import Config, preset
from .messages import ZERO
from .replica import Replica
from .ring import Ring


def kv_operations(recorder: Recorder) -> list[lin.Operation]:
    """The recorded history as checker operations for :func:`lin.kv` (``("put", k, v)``,
    ``("get", k)``): :meth:`Recorder.operations` with flat inputs."""
    return recorder.operations(flat=True)


@dataclass(repr=False)
class Cluster(SimCluster):
    """A built store: ``sim``, ``replicas`` and ``clients`` by id (both in ``nodes``), the
    shared ``history``; time and faults come from :class:`dscourse.sim.cluster.Cluster`."""

    sim: dsim.Simulation
    config: Config
    ring: Ring
    replicas: dict[str, Replica]
    clients: dict[str, KVClient]
    history: Recorder
    keys: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.nodes = {**self.replicas, **self.clients}

    def nemesis(self, schedule: list) -> None:
        """Queue a nemesis schedule (see :meth:`ds.sim.Simulation.schedule_nemesis`)."""
        self.sim.schedule_nemesis(schedule)

    def submit(self, client: str, op: tuple) -> None:
        """Have ``client`` run ``("get", key)`` or ``("put", key, value)`` next."""
        if client not in self.clients:
            raise allowed("client", client, f"one of {', '.join(self.clients)}")
        self.clients[client].submit(op)

    def operations(self) -> list[lin.Operation]:
        """The history so far, as checker operations."""
        return kv_operations(self.history)

    def check(self, timeout: float | None = 10.0) -> lin.CheckResult:
        """Is the history so far linearizable (as a key-value store)?"""
        return lin.check(self.operations(), lin.kv(), timeout=timeout)

    def version_order(self) -> dict[str, tuple[str, ...]]:
        """Every value written to each key, oldest first in the order replicas keep versions
        by (their timestamp: the writer's clock in LWW, the tag in ABD), from the ``Write``
        messages the clients sent: the version order ``ds.checkers.session`` judges reads by."""
        stamps: dict[str, dict[str, tuple]] = {}
        for e in self.sim.trace.filter("send"):
            data = e.data
            if e.label == "Write" and isinstance(data, dict) and {"key", "ts", "value"} <= data.keys():
                stamps.setdefault(data["key"], {})[data["value"]] = tuple(data["ts"])
        return {k: tuple(sorted(vs, key=lambda v: (vs[v], v))) for k, vs in sorted(stamps.items())}

    def versions(self, key: str) -> dict[str, tuple]:
        """Each home replica's ``(ts, value)`` of ``key``."""
        return {r: self.replicas[r].get(key) for r in self.ring.home(key, self.config.n)}

    def divergence(self, keys: list[str] | None = None) -> int:
        """How many (key, home replica) pairs lack the newest version of the key any replica
        holds (0 when the home replicas of every key agree)."""
        keys = sorted(self._all_keys()) if keys is None else keys
        stale = 0
        for key in keys:
            newest = max((r.get(key) for r in self.replicas.values()), default=(ZERO, ""))
            stale += sum(1 for v in self.versions(key).values() if v != newest)
        return stale

    def _all_keys(self) -> set[str]:
        keys = set(self.keys)
        for r in self.replicas.values():
            keys.update(r.data)
            keys.update(h[1] for h in r.hints.values())
        return keys

    def availability(self) -> dict[str, int]:
        """Completed operations by outcome: ``ok``, ``fail``, ``info`` and still ``pending``."""
        counts = {"ok": 0, "fail": 0, "info": 0, "pending": 0}
        for op in self.history.ops():
            counts[op.status] += 1
        return counts


def _record_from_client(history: Recorder, client: str, kind: Any, f: Any, value: Any) -> None:
    """Record what a (possibly untrusted) client reports, at the simulation's time; bad
    reports raise ConfigError."""
    if kind == "invoke":
        history.invoke(client, f, value)
    elif kind in ("ok", "fail", "info"):
        getattr(history, kind)(client, value if kind == "ok" else None)
    else:
        raise allowed("record kind", kind, "invoke, ok, fail or info")


def _workload(spec: Any) -> Workload:
    if isinstance(spec, Workload):
        return spec
    if spec is None:
        return Workload()
    if isinstance(spec, dict):
        return Workload(**spec)
    raise allowed("workload", spec, "a Workload, a dict of its fields, None, or a list of those")


def cluster(mode: str = "cp", *, replicas: int = 5, clients: int = 2, seed: int | None = None,
            workload: Any = None, latency: tuple[float, float] = (1.0, 5.0),
            network: dsim.LinkModel | None = None, client: Any = None, replica: Any = None,
            **config: Any) -> Cluster:
    """Build a store in ``mode`` with ``replicas`` replicas and ``clients`` clients.

    ``workload`` (a :class:`Workload` or its fields as a dict) drives every client, or a
    list gives one per client; ``None`` gives each client 10 random operations on key
    ``"x"``; use ``ops=0`` for clients driven only by :meth:`Cluster.submit`. Links have uniform ``latency`` (ms)
    unless ``network`` is given. ``replica(node_id, ring, config)`` builds the replicas
    instead of :class:`Replica` (e.g. a subclass with other repair rules).
    """
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 0:
        raise allowed("clients", clients, "an int >= 0")
    cfg = preset(mode, replicas, **config)
    if isinstance(workload, (list, tuple)):
        if len(workload) != clients:
            raise allowed("workload", f"a list of {len(workload)}", f"one workload per client ({clients})")
        loads = [_workload(x) for x in workload]
    else:
        loads = [_workload(workload)] * clients
    net = network if network is not None else dsim.Network(latency=dsim.Uniform(*latency))
    sim = dsim.Simulation(seed=default_seed(seed), network=net)
    ids = [f"r{i}" for i in range(replicas)]
    ring = Ring(ids)
    history = Recorder(sim)
    reps: dict[str, Replica] = {}
    for i in ids:
        reps[i] = (replica or Replica)(i, ring, cfg)
        sim.add_node(reps[i])
    cls: dict[str, KVClient] = {}
    if client is None:
        for j in range(clients):
            cls[f"c{j}"] = KVClient(f"c{j}", ring, cfg, history, loads[j])
            sim.add_node(cls[f"c{j}"])
    else:
        fields = dataclasses.asdict(cfg)
        for j in range(clients):
            cid = f"c{j}"

            def record(kind: str, f: str, value: Any, time: Any = None, cid: str = cid) -> None:
                _record_from_client(history, cid, kind, f, value)   # the time is the simulation's

            cls[cid] = client(cid, list(ids), dict(fields), dataclasses.asdict(loads[j]), record)
            sim.add_node(cls[cid])
    keys = sorted({k for wl in loads for k in wl.keys})
    return Cluster(sim, cfg, ring, reps, cls, history, tuple(keys))


def majority_minority(c: Cluster) -> tuple[list[str], list[str]]:
    """A standard partition: a majority of replicas with the first half of the clients, and
    the rest (the minority replicas with the other clients)."""
    reps, cls = list(c.replicas), list(c.clients)
    k, m = len(reps) // 2 + 1, math.ceil(len(cls) / 2)
    return reps[:k] + cls[:m], reps[k:] + cls[m:]
