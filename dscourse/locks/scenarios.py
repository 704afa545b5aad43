"""The lock arena's scenarios: one fault injected while a client has just been granted the lock.

``arena(recipe, fault, ...)`` builds :func:`~dscourse.locks.cluster`, runs until a fresh
grant, injects the fault at that moment, and runs on. Faults (Kleppmann 2016 vs antirez 2016):
``"pause"`` (the holder stops for 3 leases, a GC pause), ``"clock_jump"`` (the Redis node's
clock jumps 2 leases ahead: keys expire early), ``"failover"`` (the master dies before its
replica saw the grant), or ``"none"``.
"""

from __future__ import annotations

from typing import Any

from ..errors import allowed
from .cluster import LockCluster, cluster

FAULTS = ("none", "pause", "clock_jump", "failover")


def arena(recipe: str = "token", fault: str = "pause", *, fencing: bool = False, release: str = "lua",
          watchdog: bool = True, seed: int = 1, lease_ms: float = 100.0, work_ms: float = 30.0,
          clients: int = 3, ms: float = 700.0) -> LockCluster:
    """Run one arena scenario (module docstring); returns the cluster with its audit."""
    if fault not in FAULTS:
        raise allowed("fault", fault, f"one of {', '.join(FAULTS)}")
    options: dict[str, Any] = {}
    if recipe == "token":
        options["release"] = release
    if recipe == "rlock":
        options["watchdog"] = watchdog
    c = cluster(recipe, clients=clients, seed=seed, fencing=fencing, lease_ms=lease_ms, work_ms=work_ms,
                replica=fault == "failover", replication_lag_ms=40.0, **options)
    c.run(150)
    n = len(c.audit.holdings)
    c.run_until(lambda: len(c.audit.holdings) > n and bool(c.holders()), 500)
    c.fault_at = c.now
    holder = c.audit.holdings[-1].client if c.audit.holdings else c.clients[0]
    if fault == "pause":
        c.pause(holder, 3 * lease_ms)
    elif fault == "clock_jump":
        c.clock_jump(c.servers[0], 2 * lease_ms)
    elif fault == "failover":
        c.failover()
    c.run(until=c.now + ms)
    return c
