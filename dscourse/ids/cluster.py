"""One-line builders: a simulation with databases (or Redis, or a registry) and allocators.

``c = ds.ids.cluster("leaf", allocators=3, seed=1)`` then ``c.run(until=...)``;
``c.issued`` collects every :class:`~.messages.Issued` id and ``c.duplicates()`` checks
them. Kinds: ``"autoincrement"``
(``dbs`` masters with increment/offset), ``"leaf"`` (one database), ``"tinyid"`` (``dbs``
databases with delta = dbs and remainders 0..dbs-1), ``"redis"`` (``INCR`` on one Redis with
``persistence``/``appendfsync``) and ``"leaf-snowflake"`` (worker ids from a ``ds.zk``
ZooKeeper ensemble of ``zk_servers`` servers in the same simulation, ``c.ensemble``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import zk
from ..errors import allowed
from ..notebook import default_seed
from ..redis import RedisServer
from ..sim import Constant, Network, Simulation, reliable
from ..sim.cluster import Cluster
from .allocator import Allocator
from .autoincrement import AutoIncrementClient
from .db import Database
from .leaf_snowflake import LeafSnowflakeNode, ZooKeeperConnector
from .messages import Issued
from .redis_incr import RedisIncrClient
from .segment import LeafSegmentAllocator, TinyidAllocator

KINDS = ("autoincrement", "leaf", "tinyid", "redis", "leaf-snowflake")


class IdCluster(Cluster):
    """An ID service built by :func:`cluster`: ``sim``, ``nodes``, the ``servers`` and
    ``allocators`` (ids), every id handed out so far (``issued``, in order) and the checks."""

    def __init__(self, kind: str, sim: Simulation, servers: list[str], allocators: list[str],
                 issued: list[Issued], ensemble: Any = None) -> None:
        super().__init__(sim, sim.nodes)
        self.ensemble = ensemble  # the ZooKeeper ensemble of "leaf-snowflake", else None
        self.kind = kind
        self.servers = servers
        self.allocators = allocators
        self.issued = issued

    def __repr__(self) -> str:
        return (f"<IdCluster {self.kind!r} {len(self.allocators)} allocators, "
                f"{len(self.servers)} servers t={self.sim.now:g} ms issued={len(self.issued)}>")

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as ``sim, issued``, the builder's former tuple shape (``ids/labs.py`` still
        unpacks it)."""
        return iter((self.sim, self.issued))

    def ids(self) -> list[int]:
        """The ids issued so far, in the order they were handed out."""
        return [r.id for r in self.issued]

    def duplicates(self) -> list[int]:
        """Ids issued more than once (sorted); uniqueness holds while this is empty."""
        return duplicates(self.issued)


def cluster(kind: str, *, allocators: int = 3, dbs: int = 2, seed: int | None = None,
            step: int = 1000, db_latency_ms: float = 1.0, network: Network | None = None,
            persistence: str = "aof", appendfsync: str = "everysec", zk_servers: int = 3,
            provision: bool = True, **allocator_options: Any) -> IdCluster:
    """Build an :class:`IdCluster` of ``kind`` with ``allocators`` allocator nodes ``a0, a1, ...``.

    Server nodes are ``db0, db1, ...`` (or ``redis``, or ZooKeeper's ``zk1 .. zkN``); links
    between nodes have latency ``db_latency_ms`` each way. Extra keywords go to every allocator
    (``timeout_ms`` defaults to four one-way latencies plus 10 ms). For ``"leaf-snowflake"``
    the ensemble elects a leader before the Leaf servers start and, with ``provision``, an
    operator creates ``/snowflake/leaf/forever`` (see :mod:`.leaf_snowflake` for why).
    """
    if kind not in KINDS:
        raise allowed("kind", kind, f"one of {', '.join(KINDS)}")
    if isinstance(allocators, bool) or not isinstance(allocators, int) or allocators < 1:
        raise allowed("allocators", allocators, "an int >= 1")
    if isinstance(dbs, bool) or not isinstance(dbs, int) or dbs < 1:
        raise allowed("dbs", dbs, "an int >= 1")
    allocator_options.setdefault("timeout_ms", 4 * db_latency_ms + 10)
    sim = Simulation(seed=default_seed(seed), network=network or reliable(Constant(db_latency_ms)))
    sink: list[Issued] = []
    make: type[Allocator]
    extra: dict[str, Any]  # make's own options, beside sink and allocator_options
    if kind == "autoincrement":
        servers = [sim.add_node(Database(f"db{i}", auto_increment=(dbs, i + 1))).id
                   for i in range(dbs)]
        make, extra = AutoIncrementClient, {"dbs": servers}
    elif kind == "leaf":
        servers = [sim.add_node(Database("db0", rows={"order": {"step": step}})).id]
        make, extra = LeafSegmentAllocator, {"db": "db0", "biz": "order"}
    elif kind == "tinyid":
        servers = [sim.add_node(Database(f"db{i}", rows={"order": {"step": step, "delta": dbs,
                                                                  "remainder": i}})).id
                   for i in range(dbs)]
        make, extra = TinyidAllocator, {"dbs": servers, "biz": "order"}
    elif kind == "redis":
        servers = [sim.add_node(RedisServer("redis", persistence=persistence,
                                            appendfsync=appendfsync)).id]
        make, extra = RedisIncrClient, {}
    else:
        ens = zk.ensemble(zk_servers, sim=sim)
        if ens.run_until_leader() is None:
            raise RuntimeError("the ZooKeeper ensemble elected no leader in 60 s")
        if provision:
            admin = ens.client(record=False)
            admin.start()
            admin.ensure_path("/snowflake/leaf/forever")
            admin.stop()
        servers = list(ens.nodes)
        make, extra = LeafSnowflakeNode, {"connector": ZooKeeperConnector(ens)}
    names = [sim.add_node(make(f"a{i}", sink=sink, **extra, **allocator_options)).id for i in range(allocators)]
    return IdCluster(kind, sim, servers, names, sink, ens if kind == "leaf-snowflake" else None)


@dataclass(frozen=True)
class RedisCrash:
    """One :func:`redis_crash` run: the counter before the crash and after the restart,
    the increments that were lost (``before - after``), ids issued and ids issued twice."""

    persistence: str
    appendfsync: str
    before: int
    after: int
    issued: int
    duplicates: int

    @property
    def lost(self) -> int:
        return max(0, self.before - self.after)


def redis_crash(persistence: str, appendfsync: str = "everysec", *, crash_ms: float = 100_500.0,
                down_ms: float = 100.0, after_ms: float | None = None, allocators: int = 2,
                demand_interval_ms: float = 50.0, seed: int | None = None) -> RedisCrash:
    """Take ids with ``INCR`` from one Redis, crash its host at ``crash_ms``, restart it
    ``down_ms`` later, and keep taking ids for ``after_ms`` (default: as long as before the
    crash, so every lost increment is handed out again). The loss window is what was not yet
    durable: nothing with ``appendfsync always``; since the last once-a-second fsync with
    ``everysec``; since the last OS write-back (every 30 s) with ``no``; since the last
    snapshot (every 60 s) with RDB; everything without persistence (Redis docs, "Redis
    persistence"). The default crash time, 100.5 s, lies 0.5 s, 10.5 s and 40.5 s after the
    last of each, so the windows differ."""
    if isinstance(crash_ms, bool) or not isinstance(crash_ms, (int, float)) or not crash_ms > 0:
        raise allowed("crash_ms", crash_ms, "a time in ms > 0")
    c = cluster("redis", allocators=allocators, seed=seed, persistence=persistence,
                appendfsync=appendfsync, demand_interval_ms=demand_interval_ms)

    def counter() -> int:
        redis = c.sim.nodes["redis"]
        assert isinstance(redis, RedisServer)
        return int(redis.execute("GET", "id") or 0)

    c.run(until=crash_ms)
    before = counter()
    c.crash("redis")
    c.run(until=crash_ms + down_ms)
    c.recover("redis")
    c.run(until=crash_ms + down_ms)
    after = counter()
    c.run(until=crash_ms + down_ms + (crash_ms if after_ms is None else after_ms))
    return RedisCrash(persistence, appendfsync, before, after, len(c.issued), len(c.duplicates()))


def duplicates(sink: list[Issued]) -> list[int]:
    """Ids issued more than once (sorted)."""
    seen: set[int] = set()
    dup: set[int] = set()
    for rec in sink:
        (dup if rec.id in seen else seen).add(rec.id)
    return sorted(dup)
