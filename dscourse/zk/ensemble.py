"""``ds.zk.ensemble(servers=3, observers=0, seed=1)``: a ZooKeeper ensemble on the simulator."""

from __future__ import annotations

from typing import Any

from ..errors import allowed
from ..history import Recorder
from ..notebook import default_seed
from ..sim import Constant, Network, Simulation
from ..sim.cluster import Cluster
from .client import ClientNode, Handle, KazooClient
from .datatree import NoopTxn
from .election import LEADING
from .invariants import ZabMonitor
from .messages import Txn, zxid, zxid_str
from .server import ZKOptions, ZKServer


class Ensemble(Cluster):
    """``servers`` voters ``zk1 .. zkN`` and ``observers`` more, watched by a :class:`ZabMonitor`.

    ``client(server=None, session_timeout_ms=10000)`` adds a kazoo-compatible client (its
    ``get``/``set`` calls are recorded in ``history``, a :class:`~dscourse.history.Recorder`);
    ``leader()``, ``roles()``, ``zxids()`` and ``check()`` inspect the ensemble. ``server_class``
    swaps in a subclass (a deliberately broken server, or an exercise's answer). ``preset``
    gives servers a history before they start: ``{"zk1": (epoch, count)}`` logs no-op
    transactions ``epoch:1 .. epoch:count`` with ``currentEpoch = epoch``, and
    ``(epoch, count, current_epoch)`` a server that accepted a later epoch without logging in
    it (the election sandbox, exercise E8.1).

    ``sim`` joins an existing :class:`~dscourse.sim.Simulation` instead of making one (other
    topics run ZooKeeper beside their own nodes: Leaf-snowflake's worker ids, the RPC
    registry); its seed and network are then the simulation's, the servers are named
    ``<prefix>1 ..`` and the clients ``<prefix>-c1 ..`` so that they cannot collide with the
    simulation's other nodes."""

    def __init__(self, servers: int = 3, observers: int = 0, seed: int | None = None,
                 network: Network | None = None, options: ZKOptions | None = None,
                 server_class: type[ZKServer] = ZKServer,
                 preset: dict[str, tuple[int, ...]] | None = None, *, sim: Simulation | None = None,
                 prefix: str = "zk") -> None:
        if isinstance(servers, bool) or not isinstance(servers, int) or not 1 <= servers <= 9:
            raise allowed("servers", servers, "an int from 1 to 9 (voting servers)")
        if isinstance(observers, bool) or not isinstance(observers, int) or not 0 <= observers <= 5:
            raise allowed("observers", observers, "an int from 0 to 5")
        if not isinstance(prefix, str) or not prefix.isidentifier():
            raise allowed("prefix", prefix, "a name such as 'zk' (letters, digits, _)")
        self.nodes: dict[str, ZKServer] = {}
        if sim is None:
            sim = Simulation(default_seed(seed), network=network)
            self.client_prefix = "c"
        else:
            if not isinstance(sim, Simulation):
                raise allowed("sim", sim, "a ds.sim.Simulation (or None for a new one)")
            if seed is not None or network is not None:
                raise allowed("seed/network", (seed, network), "None when joining a simulation (it has its own)")
            self.client_prefix = f"{prefix}-c"
        super().__init__(sim, self.nodes)
        self.options = options or ZKOptions()
        self.monitor = ZabMonitor()
        n = servers + observers
        self.ids = {i: f"{prefix}{i}" for i in range(1, n + 1)}
        taken = [node_id for node_id in self.ids.values() if node_id in sim.nodes]
        if taken:
            raise allowed("prefix", prefix, f"one whose server names are free ({', '.join(taken)} "
                                            "already in the simulation)")
        voters = tuple(range(1, servers + 1))
        obs = tuple(range(servers + 1, n + 1))
        for i, node_id in self.ids.items():
            server = server_class(node_id, i, self.ids, voters, obs, self.options, self.monitor)
            self.sim.add_node(server)
            self.nodes[node_id] = server
        for a in self.nodes:
            for b in self.nodes:
                if a < b:
                    self._tcp(a, b)
        for node_id, spec in sorted((preset or {}).items()):
            if node_id not in self.nodes:
                raise allowed("preset server", node_id, f"one of {', '.join(self.nodes)}")
            ok = isinstance(spec, tuple) and len(spec) in (2, 3) and all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in spec)
            if not ok or spec[-1] < spec[0]:
                raise allowed(f"preset[{node_id!r}]", spec, "(epoch, count) or (epoch, count, current_epoch >= epoch) "
                                                           "of non-negative ints")
            epoch, count = spec[0], spec[1]
            current = spec[2] if len(spec) == 3 else epoch
            self.nodes[node_id].stable.update(
                current_epoch=current, accepted_epoch=current,
                log=[Txn(zxid(epoch, c), 0, 0, 0, NoopTxn()) for c in range(1, count + 1)])
        self.history = Recorder(self.sim)
        self.clients: dict[str, KazooClient] = {}
        self.sim.run(until=self.sim.now)

    def _tcp(self, a: str, b: str) -> None:
        """ZooKeeper talks over TCP (quorum and client connections): a stream is delivered in
        order or breaks. So both directions between ``a`` and ``b`` are FIFO links (loss and
        duplication stay: a gap breaks the connection, a duplicate is dropped); a link that
        cannot reorder anyway (constant latency, no long reordering) is left as it is."""
        for src, dst in ((a, b), (b, a)):
            m = self.sim.link(src, dst)
            if not m.fifo and (not isinstance(m.latency, Constant) or m.long_reorder > 0):
                self.sim.set_link(src, dst, fifo=True)

    def __repr__(self) -> str:
        return f"<Ensemble {len(self.nodes)} servers t={self.sim.now:g} ms leader={self.leader()}>"

    # -- clients -------------------------------------------------------------------------------
    def client(self, server: str | None = None, session_timeout_ms: int = 10_000,
               record: bool = True, *, ip: str = "127.0.0.1", auth_data: Any = None,
               default_acl: Any = None, hosts: Any = None) -> KazooClient:
        """A new client (not started) that connects to ``server`` first (default: chosen by the
        client's own random stream, like kazoo's shuffled host list). ``hosts`` limits the
        servers it may use (kazoo's connection string; default: all). ``ip`` is the address the
        servers see (its ``ip`` ACL identity); ``auth_data`` (``[(scheme, credential)]``) and
        ``default_acl`` are kazoo's constructor arguments."""
        if server is not None and server not in self.nodes:
            raise allowed("server", server, f"one of {', '.join(self.nodes)} or None")
        if isinstance(session_timeout_ms, bool) or not isinstance(session_timeout_ms, int) or session_timeout_ms < 1:
            raise allowed("session_timeout_ms", session_timeout_ms, "a positive int (ms)")
        cid = f"{self.client_prefix}{len(self.clients) + 1}"
        rng = self.sim.rng(f"zk-client:{cid}")
        order = [self.ids[i] for i in sorted(self.ids)]
        order = [order[int(j)] for j in rng.permutation(len(order))]
        if hosts is not None:
            if isinstance(hosts, str) or not hosts or any(h not in self.nodes for h in hosts):
                raise allowed("hosts", hosts, f"a non-empty list of servers among {', '.join(self.nodes)}")
            order = [h for h in order if h in hosts]
        if server is not None:
            if server not in order:
                raise allowed("server", server, f"one of hosts={hosts!r}")
            order.remove(server)
            order.insert(0, server)
        from .acl import ipv4
        if not isinstance(ip, str) or ipv4(ip) is None:
            raise allowed("ip", ip, "a dotted IPv4 address such as '10.0.0.5'")
        node = ClientNode(cid, tuple(order), session_timeout_ms, ip, Handle())  # kept over restarts
        self.sim.add_node(node)
        for s in self.nodes:
            self._tcp(cid, s)
        zk = KazooClient(node, self.sim, self.history if record else None, default_acl, auth_data)
        self.clients[cid] = zk
        return zk

    def expire_session(self, client: KazooClient, timeout: float = 30_000) -> bool:
        """Expire ``client``'s session now, as the leader does when it times out (the test
        suites' stand-in for kazoo's two-clients trick); runs until the client hears of it."""
        leader = self.leader()
        session = client.client_id[0] if client.client_id else None
        if leader is None or session is None or not self.nodes[leader].expire(session):
            return False
        return self.sim.run_until(lambda: client.client_id is None or client.client_id[0] != session, timeout)

    # -- state -----------------------------------------------------------------------------------
    def leader(self) -> str | None:
        """The established leader (serving, in the broadcast phase) of the highest epoch."""
        best = None
        for node_id, s in self.nodes.items():
            if self.up(node_id) and s.role == LEADING and s.phase == "broadcast":
                if best is None or s.new_epoch > best.new_epoch:
                    best = s
        return None if best is None else best.id

    def run_until_leader(self, timeout: float = 60_000) -> str | None:
        """Run until a leader is established and every live server serves (or ``timeout`` ms)."""
        self.sim.run_until(lambda: self.leader() is not None and self.settled(), timeout)
        return self.leader()

    def settled(self) -> bool:
        return all(s.serving for node_id, s in self.nodes.items() if self.up(node_id))

    def roles(self) -> dict[str, str]:
        return {node_id: (s.role if self.up(node_id) else "crashed") for node_id, s in self.nodes.items()}

    def zxids(self) -> dict[str, str]:
        """Each server's last applied zxid as ``epoch:counter``, or ``"crashed"`` for a server
        that is down (as in :meth:`roles`; one crashed before it started has applied nothing)."""
        return {node_id: (zxid_str(s.applied) if self.up(node_id) else "crashed") for node_id, s in self.nodes.items()}

    def check(self) -> list[str]:
        """Safety violations seen so far (empty when ZAB's properties held at every step)."""
        out = [f"t={t:g}: {m}" for t, m in self.monitor.violations]
        out += [f"quorum-acked {zxid_str(z)} lost" for z in self.monitor.lost()]
        return out

    def converged(self) -> bool:
        """Every live serving server holds the same tree."""
        digests = {s.tree.digest() for node_id, s in self.nodes.items() if self.up(node_id) and s.serving}
        return len(digests) <= 1


def ensemble(servers: int = 3, observers: int = 0, seed: int | None = None, **kwargs: Any) -> Ensemble:
    """Build an :class:`Ensemble` (``network=``, ``options=`` as keywords)."""
    return Ensemble(servers, observers, seed, **kwargs)
