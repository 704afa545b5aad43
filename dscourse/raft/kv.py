"""A linearizable key-value store replicated with Raft, its clerk, and a test cluster.

Client interaction follows §8 of the paper (and 6.5840's kvraft):

* Every client operation carries ``(client, seq)``. The server keeps a *session* per client:
  the highest ``seq`` applied and its result, so a retried write that was already applied is
  answered from the session instead of being applied twice (§8: "the state machine tracks
  the latest serial number processed for each client").
* Writes go through the log. Reads are linearizable either through the log too
  (``read="log"``) or with ReadIndex (``read="index"``, thesis §6.4): the leader notes its
  commit index, confirms with a heartbeat round that it still leads, waits until that index
  is applied, then reads locally. ReadIndex needs an entry of the leader's term committed,
  which the start-of-term no-op provides.
* ``snapshot_every`` compacts the log (§7): the snapshot holds the data and the sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checkers.linearizability import Operation
from ..errors import allowed
from ..history import Recorder
from ..sim import Network, Node, random_schedule
from .builder import RaftCluster
from .messages import ApplyMsg
from .node import RaftNode
from .observer import Observer
from .options import RaftOptions

OPS = ("get", "put", "append")
READ_MODES = ("index", "log")


@dataclass(frozen=True)
class KVRequest:
    """A clerk's operation: ``op`` is get, put or append."""

    client: str
    seq: int
    op: str
    key: str
    value: str = ""


@dataclass(frozen=True)
class KVReply:
    """``ok`` False means "not the leader, try elsewhere" (``leader`` is a hint)."""

    client: str
    seq: int
    ok: bool
    value: str | None = None
    leader: str | None = None


class KVServer(RaftNode):
    """A Raft server whose state machine is a dict of strings with client sessions."""

    def __init__(self, id: str, servers: Any, options: RaftOptions | None = None,
                 observer: Observer | None = None, read: str = "index",
                 snapshot_every: int | None = None) -> None:
        super().__init__(id, servers, options, observer)
        if read not in READ_MODES:
            raise allowed("read", read, f"one of {', '.join(READ_MODES)}")
        if snapshot_every is not None and (not isinstance(snapshot_every, int) or snapshot_every < 1):
            raise allowed("snapshot_every", snapshot_every, "None or an int >= 1")
        self.read_mode = read
        self.snapshot_every = snapshot_every
        self.data: dict[str, str] = {}
        self.sessions: dict[str, tuple[int, str | None]] = {}  # client -> (seq, result)
        self.waiting: dict[int, tuple[str, KVRequest]] = {}    # log index -> (src, request)

    def on_other_message(self, src: str, msg: Any) -> None:
        if type(msg) is not KVRequest:
            return
        if msg.op == "get" and self.read_mode == "index":
            if not self.read_index((src, msg)):
                self.send(src, KVReply(msg.client, msg.seq, False, leader=self.leader_id))
            return
        done = self.sessions.get(msg.client)
        if done is not None and done[0] >= msg.seq:  # a retry of an applied operation
            if done[0] == msg.seq:
                self.send(src, KVReply(msg.client, msg.seq, True, done[1]))
            return
        index, _term, ok = self.start((msg.client, msg.seq, msg.op, msg.key, msg.value))
        if not ok:
            self.send(src, KVReply(msg.client, msg.seq, False, leader=self.leader_id))
        else:
            self.waiting[index] = (src, msg)

    def on_apply(self, msg: ApplyMsg) -> None:
        if msg.snapshot_valid:
            data, sessions = msg.snapshot
            self.data, self.sessions = dict(data), dict(sessions)
            return
        result = None
        if msg.command is not None:  # None is the leader's no-op
            client, seq, op, key, value = msg.command
            done = self.sessions.get(client)
            if done is not None and done[0] >= seq:
                result = done[1]  # a duplicate in the log: do not apply it twice
            else:
                if op == "put":
                    self.data[key] = value
                elif op == "append":
                    self.data[key] = self.data.get(key, "") + value
                else:
                    result = self.data.get(key, "")
                self.sessions[client] = (seq, result)
        waiting = self.waiting.pop(msg.index, None)
        if waiting is not None:
            src, req = waiting
            mine = msg.command is not None and msg.command[:2] == (req.client, req.seq)
            self.send(src, KVReply(req.client, req.seq, mine, result if mine else None,
                                   leader=self.leader_id))
        if self.snapshot_every and msg.index - self.base_index >= self.snapshot_every:
            self.snapshot(msg.index, (dict(self.data), dict(self.sessions)))

    def on_read_ready(self, token: Any, index: int) -> None:
        src, req = token
        self.send(src, KVReply(req.client, req.seq, True, self.data.get(req.key, "")))

    def on_step_down(self) -> None:
        for src, req in self.waiting.values():
            self.send(src, KVReply(req.client, req.seq, False, leader=self.leader_id))
        self.waiting.clear()


class Clerk(Node):
    """A client process: ``ops`` random operations on ``keys``, one at a time, each retried
    (same ``seq``) at another server after ``timeout`` ms or a "not leader" reply.

    Each operation is recorded in ``history`` (a :class:`~dscourse.history.Recorder`, shared by
    the cluster's clerks): ``invoke`` when it starts, ``ok`` when a server answers it (``f`` is
    the op, ``value`` the key, or ``(key, value)`` for put and append).
    """

    def __init__(self, id: str, servers: Any, ops: int = 20,
                 keys: tuple[str, ...] = ("a", "b", "c"), timeout: float = 300.0,
                 think: float = 20.0, history: Recorder | None = None) -> None:
        super().__init__(id)
        self.servers = tuple(servers)
        self.ops, self.keys, self.timeout, self.think = ops, tuple(keys), timeout, think
        self.seq = 0
        self.target = 0
        self.current: KVRequest | None = None
        self.history = Recorder() if history is None else history
        self._timer: int | None = None

    def on_start(self) -> None:
        self.target = int(self.rng.integers(len(self.servers)))
        self.set_timer(float(self.rng.random()) * self.think, "next")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "next":
            self._next()
        elif self.current is not None and self.current.seq == payload:
            self._timer = None
            if name == "timeout":  # no answer: try the next server
                self.target = (self.target + 1) % len(self.servers)
            self._send()

    def _next(self) -> None:
        if self.seq >= self.ops:
            return
        self.seq += 1
        op = OPS[int(self.rng.integers(3))]
        key = self.keys[int(self.rng.integers(len(self.keys)))]
        value = f"{self.id}.{self.seq} " if op != "get" else ""
        self.current = KVRequest(self.id, self.seq, op, key, value)
        self.history.invoke(self.id, op, key if op == "get" else (key, value), self.now)
        self.annotate(op=op, key=key, seq=self.seq)
        self._send()

    def _send(self) -> None:
        cur = self.current
        assert cur is not None  # callers send only the request in flight
        if self._timer is not None:
            self.cancel_timer(self._timer)
        self.send(self.servers[self.target], cur)
        self._timer = self.set_timer(self.timeout, "timeout", cur.seq)

    def on_message(self, src: str, msg: Any) -> None:
        cur = self.current
        if type(msg) is not KVReply or cur is None or msg.seq != cur.seq:
            return
        assert self._timer is not None  # _send armed it for the request in flight
        if not msg.ok:
            hint = msg.leader
            self.target = (self.servers.index(hint) if hint in self.servers and hint != src
                           else (self.target + 1) % len(self.servers))
            self.cancel_timer(self._timer)
            self._timer = self.set_timer(5.0, "resend", cur.seq)
            return
        self.cancel_timer(self._timer)
        self._timer = None
        self.history.ok(self.id, msg.value if cur.op == "get" else None, self.now)
        self.current = None
        self.set_timer(float(self.rng.random()) * self.think, "next")


class KVCluster(RaftCluster):
    """A Raft KV cluster with ``clients`` clerks ``c1 ..``; ``history()`` for ``lin.check``.

    ``server_class`` swaps in a variant of :class:`KVServer` (the chapter breaks reads with one).
    """

    def __init__(self, n: int = 5, clients: int = 3, ops: int = 20, seed: int | None = None,
                 network: Network | None = None, options: RaftOptions | None = None,
                 read: str = "index", snapshot_every: int | None = None,
                 keys: tuple[str, ...] = ("a", "b", "c"),
                 server_class: type[KVServer] = KVServer) -> None:
        if not (isinstance(server_class, type) and issubclass(server_class, KVServer)):
            raise allowed("server_class", server_class, "KVServer or a subclass of it")
        super().__init__(n, seed, network, options, node_class=server_class, read=read,
                         snapshot_every=snapshot_every)
        self.recorder = Recorder(self.sim)
        self.clerks: list[Clerk] = []
        for i in range(clients):
            self.clerks.append(Clerk(f"c{i + 1}", self.ids, ops, keys, history=self.recorder))
            self.sim.add_node(self.clerks[-1])
        self.sim.run(until=self.sim.now)

    def nemesis(self, until: float, kinds: tuple[str, ...] = ("partition", "crash", "pause"),
                **options: Any) -> list[tuple]:
        """Schedule random faults on the servers until ``until`` ms (see
        ``ds.sim.random_schedule``). A partition splits only the servers (as one-way cuts in
        both directions); the clerks still reach every server, as Jepsen's clients do."""
        schedule = random_schedule(self.ids, self.sim.rng("nemesis"), start=self.now,
                                   until=until, kinds=kinds, **options)
        out: list[tuple] = []
        for t, action in schedule:
            if action[0] == "partition":
                a, b = action[1]
                out += [(t, ("cut", x, y)) for x in a for y in b]
                out += [(t, ("cut", y, x)) for x in a for y in b]
            else:
                out.append((t, action))
        self.sim.schedule_nemesis(out)
        return out

    def done(self) -> bool:
        return all(c.seq >= c.ops and c.current is None for c in self.clerks)

    def history(self) -> list[Operation]:
        """The clerks' operations for ``lin.check(..., lin.kv())``, clerk by clerk: inputs
        ``(op, key)`` or ``(op, key, value)``; an operation still in flight has ``ret = inf``
        and output ``UNKNOWN`` (it may or may not have taken effect)."""
        return self.recorder.operations(flat=True, processes=[c.id for c in self.clerks])


def kv_cluster(n: int = 5, clients: int = 3, seed: int | None = None, **kwargs: Any) -> KVCluster:
    """A ready Raft key-value cluster: ``kv_cluster(5, clients=3, seed=1).run(5000)``."""
    return KVCluster(n, clients, seed=seed, **kwargs)
