"""``ds.locks.cluster(...)``: clients contending for one lock and one resource, with the faults
of the Kleppmann-antirez debate (GC pause, clock jump on a Redis node, master failover)."""

from __future__ import annotations

from typing import Any

from ..errors import allowed
from ..redis import RedisServer
from ..sim import Network, Simulation, Uniform
from ..sim.cluster import Cluster
from .audit import Audit
from .clients import LockClient, NaiveLock, RedlockClient, RLockClient, TokenLock
from .resource import FencedResource

RECIPES: dict[str, type[LockClient]] = {"naive": NaiveLock, "token": TokenLock, "rlock": RLockClient,
                                        "redlock": RedlockClient}


class LockCluster(Cluster):
    """Clients ``c0..``, Redis servers, and the resource ``storage``; checks from the audit."""

    def __init__(self, sim: Simulation, nodes: dict[str, Any], *, audit: Audit, clients: list[str],
                 servers: list[str], replica: str | None) -> None:
        super().__init__(sim, nodes)
        self.audit, self.clients, self.servers, self.replica = audit, clients, servers, replica
        self.fault_at: float | None = None  # when a scenario injected its fault (for figures)

    @property
    def resource(self) -> FencedResource:
        return self.nodes["storage"]  # type: ignore[return-value]

    def holders(self) -> list[str]:
        """Clients that believe they hold the lock now."""
        return [c for c in self.clients if self.audit.holding(c) is not None]

    # -- faults ----------------------------------------------------------------------------------
    def pause(self, node_id: str, ms: float) -> None:
        """A stop-the-world pause (a GC pause on a client, say): nemesis ``pause``."""
        self.sim.pause(node_id, ms)

    def clock_jump(self, node_id: str, delta_ms: float) -> None:
        """Move ``node_id``'s wall clock (Chapter 2): on a Redis node, keys expire early or late."""
        self.sim.clock_jump(node_id, delta_ms)

    def failover(self) -> str:
        """Sentinel-style failover: the master crashes, its replica is promoted, clients follow.

        Writes the master acknowledged but had not yet replicated are lost (Redis docs,
        "Redis replication": replication is asynchronous). Returns the new master's id.
        """
        if self.replica is None:
            raise allowed("failover()", "no replica", "a cluster built with replica=True")
        old, new = self.servers[0], self.replica
        self.sim.crash(old)
        for c in self.clients:
            node = self.nodes[c]
            node.redis = (new, *node.redis[1:])  # type: ignore[attr-defined]
        self.servers[0], self.replica = new, None
        return new

    # -- checks ----------------------------------------------------------------------------------
    def overlaps(self) -> list[Any]:
        return self.audit.overlaps(self.sim.now)

    def stale_writes(self) -> list[Any]:
        return self.audit.stale_writes()

    def check(self) -> dict[str, Any]:
        """``exclusive`` (no overlapping belief), ``no_stale_write``, and the counts."""
        return {"exclusive": not self.overlaps(), "no_stale_write": not self.stale_writes(),
                **self.audit.summary(self.sim.now)}


def cluster(recipe: str = "token", *, clients: int = 3, seed: int = 0, fencing: bool = False,
            servers: int | None = None, replica: bool = False, replication_lag_ms: float = 5.0,
            lease_ms: float = 100.0, work_ms: float = 30.0, think_ms: float = 20.0,
            latency: tuple[float, float] = (1.0, 3.0), client: type | None = None,
            resource: type | None = None, server: type | None = None, **options: Any) -> LockCluster:
    """Build the lock arena: ``clients`` running ``recipe`` (naive, token, rlock, redlock).

    ``servers`` defaults to 5 for Redlock and 1 otherwise; ``replica=True`` adds an
    asynchronous replica of the (single) master for :meth:`LockCluster.failover`; ``fencing``
    makes the resource reject stale tokens. Other ``options`` go to the client class
    (``release="del"``, ``watchdog=False``, ``depth=2``, ``rounds=5``, ...). ``client`` (a
    subclass of the recipe's class), ``resource`` (of :class:`FencedResource`) and ``server`` (of
    :class:`~dscourse.redis.RedisServer`) replace the library's classes.
    """
    if recipe not in RECIPES:
        raise allowed("recipe", recipe, f"one of {', '.join(RECIPES)}")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise allowed("clients", clients, "an int >= 1")
    n = servers if servers is not None else (5 if recipe == "redlock" else 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or (recipe != "redlock" and n != 1):
        raise allowed("servers", servers, "1 (5 or any n >= 1 for redlock)")
    if replica and n != 1:
        raise allowed("replica", replica, "False for Redlock (its instances are independent masters)")
    sim = Simulation(seed=seed, network=Network(latency=Uniform(*latency), fifo=True))
    audit = Audit()
    nodes: dict[str, Any] = {}
    server_ids = [f"redis{i}" if n > 1 else "redis" for i in range(n)]
    replica_id = "replica" if replica else None
    for sid in server_ids:
        nodes[sid] = sim.add_node((server or RedisServer)(sid, persistence="none", repl_every_ms=replication_lag_ms,
                                              replicas=(replica_id,) if replica_id else ()))
    if replica_id:
        nodes[replica_id] = sim.add_node(RedisServer(replica_id, persistence="none"))
    nodes["storage"] = sim.add_node((resource or FencedResource)("storage", audit=audit, fencing=fencing))
    names = [f"c{i}" for i in range(clients)]
    cls = client or RECIPES[recipe]
    for name in names:
        nodes[name] = sim.add_node(cls(name, redis=tuple(server_ids), audit=audit, lease_ms=lease_ms,
                                       work_ms=work_ms, think_ms=think_ms, **options))
    return LockCluster(sim, nodes, audit=audit, clients=names, servers=server_ids, replica=replica_id)
