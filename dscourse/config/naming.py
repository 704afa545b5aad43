"""Nacos's two consistency modes, small: the naming service's AP and CP sides under a partition.

Nacos runs two protocols side by side (Nacos docs, "Nacos consistency protocols" and "Distro
protocol"; alibaba/nacos#502 "Registering ephemeral instance as well as persistent instances"):

* **ephemeral instances** (the default, ``ephemeral=true``) live in memory under **Distro**, an
  AP protocol: every server accepts writes for the clients it is responsible for (in 2.x, the
  clients connected to it), stores them at once, syncs them to the other servers after a
  delay (1 s) and every 5 s sends each peer a checksum of its data; a peer whose copy differs
  asks for the data again. Reads are answered from the local copy. Under a partition both
  sides keep registering; their views diverge and heal after the partition does.
* **persistent instances** (``ephemeral=false``) go through **JRaft**, a CP protocol: a write
  commits only through a leader with a majority. Here the CP side is ``ds.raft``'s replicated
  key-value store: a registration is a put; in the minority it is never acknowledged.

The configuration module is a third case: a Nacos cluster with an external MySQL keeps configs
in the database (no consensus between Nacos servers); only with embedded storage
(``-Dembedded_storage=true``, Derby) does the cluster replicate configs through JRaft.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..notebook import default_seed
from ..raft import KVReply, KVRequest, kv_cluster
from ..sim import Node, Simulation, reliable
from ..sim.cluster import Cluster

#: Distro: a change is synced to the peers this long after it (``distro.data.sync.delayMs``)
SYNC_DELAY_MS = 1_000
#: Distro: each server sends its peers a checksum of its data this often (``verifyIntervalMs``)
VERIFY_INTERVAL_MS = 5_000
#: a registering client gives up on a server after this long and tries the next one
REGISTER_TIMEOUT_MS = 500
MODES = ("ap", "cp")


@dataclass(frozen=True)
class Register:
    instance: str


@dataclass(frozen=True)
class Registered:
    instance: str


@dataclass(frozen=True)
class DistroData:
    """The instances ``owner`` is responsible for (a full copy of its slice)."""

    owner: str
    instances: tuple[str, ...]


@dataclass(frozen=True)
class DistroVerify:
    owner: str
    checksum: str


@dataclass(frozen=True)
class DistroQuery:
    owner: str


def checksum(instances: Sequence[str]) -> str:
    return hashlib.md5("\n".join(sorted(instances)).encode()).hexdigest()


class DistroServer(Node):
    """One Nacos server's Distro side for ephemeral instances (see the module docstring)."""

    def __init__(self, id: str, servers: Sequence[str]) -> None:
        super().__init__(id)
        self.servers = tuple(s for s in servers if s != id)
        self.owned: set[str] = set()  # instances of the clients connected here
        self.replicas: dict[str, tuple[str, ...]] = {}  # owner -> its slice, as last synced
        self.sync_pending = False

    def instances(self) -> set[str]:
        """What a read at this server returns: its own slice and every replica."""
        return set(self.owned).union(*self.replicas.values())

    def on_start(self) -> None:
        self.set_timer(VERIFY_INTERVAL_MS, "verify")

    def on_message(self, src: str, msg: Any) -> None:
        t = type(msg)
        if t is Register:
            self.owned.add(msg.instance)  # written at once: no quorum, no leader
            self.send(src, Registered(msg.instance))
            if not self.sync_pending:
                self.sync_pending = True
                self.set_timer(SYNC_DELAY_MS, "sync")
        elif t is DistroData:
            self.replicas[msg.owner] = msg.instances
        elif t is DistroVerify:
            if checksum(self.replicas.get(msg.owner, ())) != msg.checksum:
                self.send(src, DistroQuery(msg.owner))
        elif t is DistroQuery and msg.owner == self.id:
            self.send(src, DistroData(self.id, tuple(sorted(self.owned))))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "sync":
            self.sync_pending = False
            for s in self.servers:
                self.send(s, DistroData(self.id, tuple(sorted(self.owned))))
        elif name == "verify":
            for s in self.servers:
                self.send(s, DistroVerify(self.id, checksum(tuple(self.owned))))
            self.set_timer(VERIFY_INTERVAL_MS, "verify")


class Registrar(Node):
    """A client registering one instance: ``register`` sends it to its first server and, with no
    answer within :data:`REGISTER_TIMEOUT_MS`, to the next of ``servers`` (those it can reach).
    In ``"cp"`` mode the registration is a put on the Raft store; a "not the leader" answer
    sends it to the hinted leader if it is one of ``servers``, else to the next. ``stable``
    keeps ``("registered", time)`` once acknowledged."""

    def __init__(self, id: str, servers: Sequence[str], instance: str, mode: str) -> None:
        super().__init__(id)
        self.servers, self.instance, self.mode = tuple(servers), instance, mode
        self.target, self.attempt = 0, 0
        self.done = False

    @property
    def registered_at(self) -> float | None:
        return self.stable.get("registered")

    def on_timer(self, name: str, payload: Any) -> None:
        if self.done or (name != "register" and payload != self.attempt):
            return
        if name == "timeout":
            self.target = (self.target + 1) % len(self.servers)
        self.send_attempt()

    def send_attempt(self) -> None:
        self.attempt += 1
        dst = self.servers[self.target]
        if self.mode == "ap":
            self.send(dst, Register(self.instance))
        else:
            self.send(dst, KVRequest(self.id, 1, "put", self.instance, self.id))
        self.set_timer(REGISTER_TIMEOUT_MS, "timeout", self.attempt)

    def on_message(self, src: str, msg: Any) -> None:
        if self.done:
            return
        if type(msg) is Registered or (type(msg) is KVReply and msg.ok):
            self.done = True
            self.stable["registered"] = self.now
        elif type(msg) is KVReply:  # not the leader: try the hinted leader (or the next) shortly
            hint = msg.leader
            self.target = (self.servers.index(hint) if hint in self.servers and hint != src
                           else (self.target + 1) % len(self.servers))
            self.set_timer(5.0, "resend", self.attempt)


class NamingCluster(Cluster):
    """Three Nacos servers ``s1..s3`` in ``mode`` ``"ap"`` (Distro, ephemeral instances) or
    ``"cp"`` (Raft via ``ds.raft``, persistent instances). :meth:`register` adds a client that
    registers one instance with the servers it names; :meth:`views` is what each server returns."""

    def __init__(self, sim: Simulation, nodes: dict[str, Node], mode: str, servers: list[str]) -> None:
        super().__init__(sim, nodes)
        self.mode, self.servers = mode, servers
        self.registrars: dict[str, Registrar] = {}

    def register(self, client: str, instance: str, servers: Sequence[str], at: float | None = None) -> Registrar:
        bad = [s for s in servers if s not in self.servers]
        if not servers or bad:
            raise allowed("servers", bad or servers, f"one or more of {self.servers}")
        r = Registrar(client, servers, instance, self.mode)
        self.sim.add_node(r)
        self.registrars[client] = r
        r.set_timer(0.0 if at is None else at - self.now, "register")
        return r

    def views(self) -> dict[str, set[str]]:
        """Each up server's instance list (for CP: what its applied state machine holds)."""
        out = {}
        for s in self.servers:
            if not self.up(s):
                continue
            node: Any = self.sim.nodes[s]
            out[s] = node.instances() if self.mode == "ap" else set(node.data)
        return out

    def converged(self) -> bool:
        v = list(self.views().values())
        return all(x == v[0] for x in v)


def naming_cluster(mode: str = "ap", seed: int | None = None) -> NamingCluster:
    """Three servers in ``mode`` (see :class:`NamingCluster`), settled (a Raft leader elected)."""
    if mode not in MODES:
        raise allowed("mode", mode, f"one of {MODES}")
    servers = ["s1", "s2", "s3"]
    if mode == "cp":
        kv = kv_cluster(3, clients=0, seed=seed)
        kv.run(2_000)
        return NamingCluster(kv.sim, dict(kv.nodes), mode, servers)
    sim = Simulation(seed=default_seed(seed), network=reliable(latency=1.0))
    nodes: dict[str, Node] = {}
    for s in servers:
        nodes[s] = sim.add_node(DistroServer(s, servers))
    sim.run(until=2_000)
    return NamingCluster(sim, nodes, mode, servers)
