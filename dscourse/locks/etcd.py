"""etcd's lease lock on ``ds.zk.etcd_lite`` (Chapter 7's etcd on Raft), and its fencing token.

The recipe of etcd's ``concurrency.Mutex`` (``client/v3/concurrency/mutex.go``; etcd docs,
"Interacting with etcd", "Distributed locks"): grant a lease with a TTL and keep it alive; put
``<prefix>/<name>`` attached to the lease; the key with the smallest *create revision* under the
prefix holds the lock; every other contender waits for the deletion of the key created just
before its own (``waitDeletes``), then looks again. A holder whose lease runs out (it stopped
sending keep-alives: a GC pause) loses its key, and the next contender takes the lock. The
holder's create revision grows with every grant, so it is the fencing token etcd gives.

``etcd_lite`` has no prefix range query, so the recipe reads the known contenders' keys one by
one, each *at the same revision* (``get(key, revision=r)``): one consistent snapshot, as etcd's
single ``Get(prefix, WithPrefix())`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..zk import etcd_lite
from .audit import Audit
from .messages import Write
from .resource import FencedResource


class EtcdMutex:
    """One contender: ``acquire()`` (drives the simulation), ``keepalive()``, ``release()``.

    ``peers`` names every contender (the keys under ``prefix`` it reads); ``token`` is this
    contender's create revision once it holds the lock."""

    def __init__(self, etcd: Any, name: str, peers: tuple[str, ...], *, prefix: str = "/lock/resource",
                 ttl_ms: int = 1000) -> None:
        if name not in peers:
            raise allowed("name", name, f"one of the peers {peers}")
        if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 1:
            raise allowed("ttl_ms", ttl_ms, "a positive int (ms)")
        self.etcd, self.name, self.peers, self.prefix, self.ttl_ms = etcd, name, peers, prefix, ttl_ms
        self.key = f"{prefix}/{name}"
        self.lease = 0
        self.token: int | None = None
        self.held = False
        self.waited_on: list[str] = []

    @property
    def sim(self) -> Any:
        return self.etcd.cluster.sim

    def _snapshot(self) -> tuple[int, dict[str, int]]:
        """(store revision, {key: create revision}) of the live contenders' keys at one revision."""
        mine, rev = self.etcd.get(self.key)
        if mine is None:
            raise LockLost(f"{self.key} is gone: its lease expired")
        out = {self.key: mine[2]}
        for peer in self.peers:
            key = f"{self.prefix}/{peer}"
            if key != self.key:
                found, _ = self.etcd.get(key, revision=rev)
                if found is not None:
                    out[key] = found[2]
        return rev, out

    def acquire(self, timeout_ms: float = 30_000) -> int:
        """Take the lock (keeping the lease alive while waiting); returns the fencing token."""
        self.lease = self.etcd.lease_grant(self.ttl_ms)
        self.etcd.put(self.key, self.name, lease=self.lease)
        end = self.sim.now + timeout_ms
        while True:
            rev, creates = self._snapshot()
            self.token = creates[self.key]
            earlier = sorted((c, k) for k, c in creates.items() if c < self.token)
            if not earlier:
                self.held = True
                return self.token
            target = earlier[-1][1]
            self.waited_on.append(target)
            gone: list[Any] = []
            self.etcd.watch(target, rev + 1, lambda ev, gone=gone: gone.append(ev) if ev.type == "DELETE" else None)
            while not gone:
                if self.sim.now >= end:
                    self.etcd.delete(self.key)  # give up the place in the queue, as etcd's Lock(ctx) does
                    self.etcd.lease_revoke(self.lease)
                    raise TimeoutError(f"{self.name} did not get the lock in {timeout_ms:g} ms")
                self.sim.run_until(lambda gone=gone: bool(gone), min(self.ttl_ms / 3, end - self.sim.now))
                if not gone:
                    self.keepalive()

    def keepalive(self) -> int:
        """Refresh the lease (etcd's ``LeaseKeepAlive``); the client does it every TTL/3."""
        return self.etcd.keepalive(self.lease)

    def release(self) -> None:
        self.held = False
        self.etcd.delete(self.key)
        self.etcd.lease_revoke(self.lease)


class LockLost(Exception):
    """The contender's key disappeared (its lease expired) while it waited."""


@dataclass
class EtcdPauseRun:
    """What happened in :func:`etcd_pause`."""

    audit: Audit
    resource: FencedResource
    tokens: dict[str, int]
    a_believed_after_pause: bool
    b_waited_on: list[str]


def etcd_pause(seed: int = 1, *, fencing: bool = True, ttl_ms: int = 1000, pause_ms: float = 3000) -> EtcdPauseRun:
    """A takes the lock and stops (no keep-alives) for ``pause_ms`` > TTL; the lessor revokes
    its lease and deletes its key, B (waiting on that key) takes the lock and writes; A resumes,
    still believing, and writes with its older create revision."""
    cluster = etcd_lite.etcd_cluster(3, seed=seed)
    cluster.run_until_leader()
    audit = Audit()
    resource = FencedResource("storage", audit=audit, fencing=fencing)
    cluster.sim.add_node(resource)
    a, b = cluster.client(), cluster.client()
    peers = ("A", "B")
    la = EtcdMutex(a, "A", peers, ttl_ms=ttl_ms)
    lb = EtcdMutex(b, "B", peers, ttl_ms=ttl_ms)
    tokens = {"A": la.acquire()}
    audit.acquired("A", cluster.sim.now, tokens["A"], ttl_ms)
    cluster.sim.pause(a.node.id, pause_ms)
    resume_at = cluster.sim.now + pause_ms
    tokens["B"] = lb.acquire(timeout_ms=pause_ms * 3)
    audit.acquired("B", cluster.sim.now, tokens["B"], ttl_ms)

    def write(who: str) -> None:
        wid = audit.sent(who, cluster.sim.now, tokens[who])
        resource.apply(Write(0, who, tokens[who], wid, f"{who} was here"))

    write("B")
    cluster.sim.run(until=max(resume_at + 1, cluster.sim.now))
    believed = la.held
    write("A")  # A never noticed: its lease expired while it was stopped
    audit.released("A", cluster.sim.now)
    lb.release()
    audit.released("B", cluster.sim.now)
    return EtcdPauseRun(audit, resource, tokens, believed, lb.waited_on)
