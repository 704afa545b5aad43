"""etcd, in miniature, on ``ds.raft``: for Chapter 7's comparison with ZooKeeper.

The etcd v3 model (etcd documentation, "Data model", "API guarantees", "Interacting with
etcd"), reduced to what the comparison needs:

* **MVCC revisions.** One cluster-wide ``revision`` counts every change; each key keeps its
  versions, so ``get(key, revision=r)`` reads the store as it was at revision ``r``; a key
  has ``create_revision``, ``mod_revision`` and ``version``.
* **Leases.** ``lease_grant(ttl_ms)`` gives a lease; keys put with it are deleted when it
  expires or is revoked. The leader's lessor tracks expiry in memory and proposes the
  revocation through the log (as etcd's primary lessor does); a new leader restarts every
  lease's countdown; ``keepalive`` refreshes one at the leader.
* **Watch from a revision.** ``watch(key, start_revision, fn)`` first replays every change
  of ``key`` since ``start_revision``, then streams new ones: nothing is missed between a read
  and the watch, unlike ZooKeeper's one-shot watches.
* **Linearizable reads by default** (ReadIndex through the leader, thesis §6.4), serializable
  reads (``serializable=True``) answered from any server's local state.

The store is a Raft state machine (:class:`EtcdServer`, a :class:`dscourse.raft.RaftNode`);
:func:`etcd_cluster` builds servers and :class:`EtcdClient`s. Not modelled: ranges over key
prefixes, transactions (``Txn``), compaction, auth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..history import Recorder
from ..raft import ApplyMsg, RaftCluster, RaftNode, RaftOptions
from ..sim import Node


@dataclass(frozen=True)
class EtcdRequest:
    client: str
    seq: int
    op: tuple


@dataclass(frozen=True)
class EtcdReply:
    client: str
    seq: int
    ok: bool
    result: Any = None
    leader: str | None = None


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch: ``type`` is PUT or DELETE."""

    watch_id: int
    type: str
    key: str
    value: str | None
    mod_revision: int


@dataclass(frozen=True)
class Version:
    mod_revision: int
    create_revision: int
    version: int
    value: str | None  # None: deleted (a tombstone)
    lease: int


class EtcdServer(RaftNode):
    """A Raft server whose state machine is etcd's MVCC key-value store with leases."""

    LEASE_TICK_MS = 100.0

    def __init__(self, id: str, servers: Any, options: RaftOptions | None = None,
                 observer: Any = None) -> None:
        super().__init__(id, servers, options, observer)
        self.revision = 0
        self.versions: dict[str, list[Version]] = {}
        self.events: list[tuple[int, str, str, str | None]] = []   # (revision, type, key, value)
        self.leases: dict[int, tuple[int, set[str]]] = {}           # id -> (ttl_ms, keys)
        self.deadlines: dict[int, float] = {}                       # the leader's lessor
        self.sessions: dict[str, tuple[int, Any]] = {}
        self.waiting: dict[int, tuple[str, EtcdRequest]] = {}
        self.watchers: dict[int, tuple[str, str]] = {}              # watch id -> (client, key)
        self._lease_timer: int | None = None
        self._revoking: set[int] = set()

    # -- reads ---------------------------------------------------------------------------------
    def read(self, key: str, revision: int = 0) -> tuple[str, int, int, int] | None:
        """(value, mod_revision, create_revision, version) of ``key`` at ``revision`` (0: now)."""
        for v in reversed(self.versions.get(key, [])):
            if revision == 0 or v.mod_revision <= revision:
                return None if v.value is None else (v.value, v.mod_revision, v.create_revision, v.version)
        return None

    # -- requests ------------------------------------------------------------------------------
    def on_other_message(self, src: str, msg: Any) -> None:
        if type(msg) is not EtcdRequest:
            return
        kind = msg.op[0]
        if kind == "range":
            _, key, revision, serializable = msg.op
            if serializable:  # any server, its own state: may be stale
                self.send(src, EtcdReply(msg.client, msg.seq, True, (self.read(key, revision), self.revision)))
            elif not self.read_index((src, msg)):
                self.send(src, EtcdReply(msg.client, msg.seq, False, leader=self.leader_id))
            return
        if kind == "watch":
            _, key, start, watch_id = msg.op
            self.watchers[watch_id] = (src, key)
            for revision, etype, k, value in self.events:
                if k == key and revision >= start:
                    self.send(src, WatchEvent(watch_id, etype, k, value, revision))
            self.send(src, EtcdReply(msg.client, msg.seq, True, self.revision))
            return
        if kind == "keepalive":
            lease = msg.op[1]
            ok = self.role == "leader" and lease in self.leases
            if ok:
                self.deadlines[lease] = self.now + self.leases[lease][0]
            self.send(src, EtcdReply(msg.client, msg.seq, ok, lease if ok else None, self.leader_id))
            return
        done = self.sessions.get(msg.client)
        if done is not None and done[0] >= msg.seq:
            if done[0] == msg.seq:
                self.send(src, EtcdReply(msg.client, msg.seq, True, done[1]))
            return
        index, _term, ok = self.start((msg.client, msg.seq, msg.op))
        if not ok:
            self.send(src, EtcdReply(msg.client, msg.seq, False, leader=self.leader_id))
        else:
            self.waiting[index] = (src, msg)

    def on_read_ready(self, token: Any, index: int) -> None:
        src, req = token
        _, key, revision, _ = req.op
        self.send(src, EtcdReply(req.client, req.seq, True, (self.read(key, revision), self.revision)))

    def on_step_down(self) -> None:
        for src, req in self.waiting.values():
            self.send(src, EtcdReply(req.client, req.seq, False, leader=self.leader_id))
        self.waiting.clear()
        self.deadlines.clear()

    # -- the state machine ---------------------------------------------------------------------
    def _change(self, key: str, value: str | None, lease: int) -> None:
        self.revision += 1
        history = self.versions.setdefault(key, [])
        last = history[-1] if history else None
        alive = last is not None and last.value is not None
        if value is None:
            if not alive:
                self.revision -= 1
                return
            history.append(Version(self.revision, last.create_revision, 0, None, 0))  # type: ignore[union-attr]
            etype = "DELETE"
        else:
            create = last.create_revision if alive else self.revision  # type: ignore[union-attr]
            version = last.version + 1 if alive else 1  # type: ignore[union-attr]
            history.append(Version(self.revision, create, version, value, lease))
            etype = "PUT"
            if alive and last.lease and last.lease != lease and last.lease in self.leases:  # type: ignore[union-attr]
                self.leases[last.lease][1].discard(key)  # type: ignore[union-attr]
            if lease:
                self.leases[lease][1].add(key)
        self.events.append((self.revision, etype, key, value))
        for watch_id, (client, wkey) in sorted(self.watchers.items()):
            if wkey == key:
                self.send(client, WatchEvent(watch_id, etype, key, value, self.revision))

    def _execute(self, index: int, op: tuple) -> Any:
        kind = op[0]
        if kind == "put":
            _, key, value, lease = op
            if lease and lease not in self.leases:
                return "lease not found"
            self._change(key, value, lease)
            return self.revision
        if kind == "delete":
            self._change(op[1], None, 0)
            return self.revision
        if kind == "grant":
            self.leases[index] = (op[1], set())
            if self.role == "leader":
                self.deadlines[index] = self.now + op[1]
            return index
        if kind == "revoke":
            lease = self.leases.pop(op[1], None)
            self.deadlines.pop(op[1], None)
            self._revoking.discard(op[1])
            for key in sorted(lease[1] if lease else ()):
                self._change(key, None, 0)
            return lease is not None
        raise allowed("etcd op", kind, "put, delete, grant, revoke, range, watch or keepalive")

    def on_apply(self, msg: ApplyMsg) -> None:
        if msg.snapshot_valid or msg.command is None:  # the leader's no-op
            if self.role == "leader":  # a new leader restarts every lease's countdown
                for lease, (ttl, _) in sorted(self.leases.items()):
                    self.deadlines.setdefault(lease, self.now + ttl)
                self._arm_lessor()
            return
        client, seq, op = msg.command
        done = self.sessions.get(client)
        if done is not None and done[0] >= seq:
            result = done[1]
        else:
            result = self._execute(msg.index, op)
            self.sessions[client] = (seq, result)
        waiting = self.waiting.pop(msg.index, None)
        if waiting is not None:
            src, req = waiting
            mine = (client, seq) == (req.client, req.seq)
            self.send(src, EtcdReply(req.client, req.seq, mine, result if mine else None, self.leader_id))

    # -- the lessor --------------------------------------------------------------------------------
    def _arm_lessor(self) -> None:
        if self._lease_timer is None:
            self._lease_timer = self.set_timer(self.LEASE_TICK_MS, "lessor")

    def on_timer(self, name: str, payload: Any) -> None:
        if name != "lessor":
            return super().on_timer(name, payload)
        self._lease_timer = None
        if self.role != "leader":
            return
        for lease, deadline in sorted(self.deadlines.items()):
            if deadline <= self.now and lease not in self._revoking:
                self._revoking.add(lease)
                self.start(("__lessor__", -lease, ("revoke", lease)))
        self._arm_lessor()


class EtcdClient(Node):
    """A client process; :class:`Etcd` (below) is its synchronous face for notebooks."""

    def __init__(self, id: str, servers: tuple[str, ...], timeout_ms: float = 300.0) -> None:
        super().__init__(id)
        self.servers, self.timeout_ms = servers, timeout_ms
        self.target = 0
        self.seq = 0
        self.current: EtcdRequest | None = None
        self.result: Any = None
        self.done = True
        self.watches: dict[int, Callable[[WatchEvent], Any]] = {}
        self.next_watch = 0

    def request(self, op: tuple) -> None:
        self.seq += 1
        self.current = EtcdRequest(self.id, self.seq, op)
        self.done = False
        self._send()

    def _send(self) -> None:
        assert self.current is not None
        self.send(self.servers[self.target], self.current)
        self.set_timer(self.timeout_ms, "retry", self.current.seq)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "retry" and self.current is not None and self.current.seq == payload and not self.done:
            self.target = (self.target + 1) % len(self.servers)
            self._send()

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is WatchEvent:
            fn = self.watches.get(msg.watch_id)
            if fn is not None:
                fn(msg)
            return
        if type(msg) is not EtcdReply or self.current is None or msg.seq != self.current.seq or self.done:
            return
        if not msg.ok:
            if msg.leader in self.servers:
                self.target = self.servers.index(msg.leader)
            else:
                self.target = (self.target + 1) % len(self.servers)
            self.set_timer(10.0, "retry", self.current.seq)
            return
        self.done, self.result = True, msg.result


class Etcd:
    """Synchronous client calls (each drives the simulation until the answer arrives)."""

    def __init__(self, node: EtcdClient, cluster: EtcdCluster) -> None:
        self.node, self.cluster = node, cluster

    def _call(self, op: tuple, server: str | None = None) -> Any:
        if server is not None:
            self.node.target = self.node.servers.index(server)
        self.node.request(op)
        if not self.cluster.sim.run_until(lambda: self.node.done, 30_000):
            raise TimeoutError(f"etcd {op[0]} got no answer in 30 s of virtual time")
        return self.node.result

    def put(self, key: str, value: str, lease: int = 0) -> int:
        """Store ``value``; returns the new revision."""
        return self._call(("put", key, value, lease))

    def delete(self, key: str) -> int:
        return self._call(("delete", key))

    def get(self, key: str, revision: int = 0, serializable: bool = False,
            server: str | None = None) -> tuple[tuple[str, int, int, int] | None, int]:
        """((value, mod_revision, create_revision, version) or None, the store's revision)."""
        return self._call(("range", key, revision, serializable), server)

    def lease_grant(self, ttl_ms: int) -> int:
        return self._call(("grant", ttl_ms))

    def lease_revoke(self, lease: int) -> bool:
        return self._call(("revoke", lease))

    def keepalive(self, lease: int) -> int:
        return self._call(("keepalive", lease))

    def watch(self, key: str, start_revision: int, fn: Callable[[WatchEvent], Any],
              server: str | None = None) -> int:
        """Replay every change of ``key`` since ``start_revision``, then stream new ones."""
        self.node.next_watch += 1
        watch_id = self.node.next_watch
        self.node.watches[watch_id] = fn
        self._call(("watch", key, start_revision, watch_id), server)
        return watch_id


class EtcdCluster(RaftCluster):
    """``n`` etcd servers on Raft plus clients (``client()``); ``history`` records gets/puts."""

    def __init__(self, n: int = 3, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(n, seed=seed, node_class=EtcdServer, **kwargs)
        self.history = Recorder(self.sim)
        self._clients = 0

    def client(self) -> Etcd:
        self._clients += 1
        node = EtcdClient(f"e{self._clients}", tuple(self.ids))
        self.sim.add_node(node)
        return Etcd(node, self)


def etcd_cluster(n: int = 3, seed: int | None = None, **kwargs: Any) -> EtcdCluster:
    """``ds.zk.etcd_lite.etcd_cluster(3, seed=1)``: a ready etcd-like cluster on Raft."""
    return EtcdCluster(n, seed, **kwargs)
