"""The lock arena's scenarios: one fault injected while a client has just been granted the lock.

``arena(recipe, fault, ...)`` builds :func:`~dscourse.locks.cluster`, runs until a fresh
grant, injects the fault at that moment, and runs on. Faults (Kleppmann 2016 vs antirez 2016):
``"pause"`` (the holder stops for 3 leases, a GC pause), ``"clock_jump"`` (the Redis node's
clock jumps 2 leases ahead: keys expire early), ``"failover"`` (the master dies before its
replica saw the grant), ``"restart"`` (Redlock only: one of the holder's instances restarts
without persistence and the clocks of others jump ahead, until a majority no longer has the
holder's key; Kleppmann 2016 and the Redis docs, "Distributed Locks with Redis", on delayed
restarts; with ``delayed_restart=True`` the instance stays down for one TTL first), or
``"none"``.
"""

from __future__ import annotations

from typing import Any

from ..errors import allowed
from .cluster import LockCluster, cluster

FAULTS = ("none", "pause", "clock_jump", "failover", "restart")


def arena(recipe: str = "token", fault: str = "pause", *, fencing: bool = False, release: str = "lua",
          watchdog: bool = True, seed: int = 1, lease_ms: float = 100.0, work_ms: float = 30.0,
          clients: int = 3, ms: float = 700.0, delayed_restart: bool = False,
          restart_delay_ms: float | None = None, client: type | None = None,
          resource: type | None = None) -> LockCluster:
    """Run one arena scenario (module docstring); returns the cluster with its audit.

    ``restart_delay_ms`` keeps the restarted instance down that long (``delayed_restart=True``
    means one TTL + 1 ms); ``client`` and ``resource`` replace the recipe's client class and
    the resource's class (the exercise harnesses plug a student's rule in this way)."""
    if fault not in FAULTS:
        raise allowed("fault", fault, f"one of {', '.join(FAULTS)}")
    if fault == "restart" and recipe != "redlock":
        raise allowed("fault", fault, "restart only with recipe='redlock' (independent instances)")
    options: dict[str, Any] = {}
    if recipe == "token":
        options["release"] = release
    if recipe == "rlock":
        options["watchdog"] = watchdog
    c = cluster(recipe, clients=clients, seed=seed, fencing=fencing, lease_ms=lease_ms, work_ms=work_ms,
                replica=fault == "failover", replication_lag_ms=40.0, client=client, resource=resource,
                **options)
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
    elif fault == "restart":
        node = c.nodes[holder]
        quorum = len(c.servers) // 2 + 1
        held = sorted(node.acks)  # type: ignore[attr-defined]
        hit = held[: max(1, len(held) - (len(c.servers) - quorum))]
        c.sim.crash(hit[0])
        delay = lease_ms + 1 if delayed_restart and restart_delay_ms is None else restart_delay_ms
        if delay:
            c.sim.schedule_nemesis([(c.now + delay, ("recover", hit[0]))])
        else:
            c.sim.recover(hit[0])
        for server in hit[1:]:
            c.clock_jump(server, 2 * lease_ms)
    c.run(until=c.now + ms)
    return c
