"""The ZooKeeper lock under a pause longer than the session timeout (seed erratum E13).

Uses ``ds.zk``'s kazoo-compatible ``Lock`` (ephemeral-sequential nodes, each waiter watching its
predecessor; ZooKeeper Recipes, "Locks"). Client A takes the lock, then stops (a GC pause)
for longer than its session timeout: the ensemble expires the session and deletes A's node, B
gets the lock and writes, and A resumes still *believing* it holds the lock and writes too. The
lock node's sequence number is a fencing token (it grows with every grant); a
:class:`~dscourse.locks.FencedResource` that checks it rejects A's stale write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import zk as zookeeper
from .audit import Audit
from .messages import Write
from .resource import FencedResource


@dataclass
class ZkPauseRun:
    """What happened: the audit, the resource, and whether A still believed it held the lock."""

    audit: Audit
    resource: FencedResource
    a_believed_after_pause: bool
    tokens: dict[str, int]


def _token(node: str | None) -> int:
    if node is None:
        raise ValueError("the lock has no node: it was not acquired")
    return int(node[-10:])


def zk_pause(seed: int = 1, *, fencing: bool = True, session_timeout_ms: int = 4000,
             pause_ms: float = 10_000, servers: int = 3) -> ZkPauseRun:
    """Run the scenario of the module docstring on a ``servers``-node simulated ensemble."""
    e = zookeeper.ensemble(servers, seed=seed)
    audit = Audit()
    resource = FencedResource("storage", audit=audit, fencing=fencing)
    e.sim.add_node(resource)
    a, b = e.client(session_timeout_ms=session_timeout_ms), e.client(session_timeout_ms=session_timeout_ms)
    a.start()
    b.start()
    la, lb = a.Lock("/locks/resource", "A"), b.Lock("/locks/resource", "B")

    def write(who: str, lock: Any) -> None:
        token = _token(lock.node) if lock.node else tokens[who]
        wid = audit.sent(who, e.sim.now, token)
        resource.apply(Write(0, who, token, wid, f"{who} was here"))

    tokens: dict[str, int] = {}
    la.acquire()
    tokens["A"] = _token(la.node)
    audit.acquired("A", e.sim.now, tokens["A"], session_timeout_ms)
    a_id = a._node.id  # the client's process, which the pause stops
    resume_at = e.sim.now + pause_ms
    e.sim.pause(a_id, pause_ms)
    lb.acquire(timeout=pause_ms / 1000 * 3)
    tokens["B"] = _token(lb.node)
    audit.acquired("B", e.sim.now, tokens["B"], session_timeout_ms)
    write("B", lb)
    e.sim.run(until=resume_at + 1)
    believed = la.is_acquired
    write("A", la)  # A never noticed: it writes with the token it got
    audit.released("A", e.sim.now)
    lb.release()
    audit.released("B", e.sim.now)
    return ZkPauseRun(audit, resource, believed, tokens)
