"""Leaf-snowflake on the simulator: worker ids from ZooKeeper (``ds.zk``), rollback detection.

Meituan Leaf (``SnowflakeZookeeperHolder.init``, ``SnowflakeIDGenImpl``, Leaf source on GitHub): at
start-up a server lists ``/snowflake/<name>/forever``. If a child ``<ip:port>-<seq>`` carries
its address it reuses ``<seq>`` as its 10-bit worker id, after checking that its clock is not
behind the ``timestamp`` it last wrote into that node; otherwise it creates a **persistent
sequential** node ``<ip:port>-`` (creating the parents if needed) and takes the sequence
number. It then writes the worker id into a local cache file (``workerID.properties``) and
every 3 s writes ``{"ip", "port", "timestamp"}`` into its node. At run time it waits
``2 * offset`` for a rollback of at most 5 ms and otherwise fails the request.

When ``/snowflake/<name>/forever`` does not exist yet (the very first start), Leaf creates it
and its node but keeps the worker id's initial value, 0, whatever sequence number the node
got: servers that start together on an empty ZooKeeper all take worker 0. The cluster
builder therefore provisions the path first unless asked not to.

The start-up path sits in one ``try``: when ZooKeeper cannot be reached *or the clock check
fails* (``CheckLastTimeException`` is thrown inside that ``try``), the ``catch`` reads the
worker id from the local cache file and the server starts anyway, without reporting its time
again. ``on_check_failure="cache"`` (the default) does what that code does;
``"refuse"`` does what Leaf's design article describes (the server does not start).

Each server talks to ZooKeeper through its own kazoo-compatible client (a
:class:`ZooKeeperConnector` keeps one per server); a crash of the server closes that
connection, and a restart opens a new session. The local cache file lives in ``stable``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import zk
from ..errors import allowed
from .allocator import Allocator, positive
from .clock import NodeClock
from .errors import ClockRollbackError
from .layout import LEAF, Layout
from .messages import Issued
from .snowflake import Snowflake, Wait

REPORT_EVERY_MS = 3000  # ``scheduleWithFixedDelay(..., 1L, 3L, TimeUnit.SECONDS)``
FIRST_REPORT_MS = 1000
CACHE_FILE = "workerID.properties"
CHECK_FAILURE = ("cache", "refuse")


class ZooKeeperConnector:
    """One kazoo-compatible ZooKeeper client per Leaf server, on ``ensemble`` (a
    :class:`dscourse.zk.Ensemble` in the same simulation). The client object outlives the
    server's crashes; the server's crash crashes the client's process too (a restarted server
    opens a new session). ``session_timeout_ms`` is Leaf's Curator setting (6 s)."""

    def __init__(self, ensemble: Any, session_timeout_ms: int = 6000) -> None:
        self.ensemble = ensemble
        self.session_timeout_ms = session_timeout_ms
        self.clients: dict[str, Any] = {}

    def client(self, owner: str) -> Any:
        """``owner``'s client, started (asynchronously) if its process is down or new."""
        if owner not in self.clients:
            self.clients[owner] = self.ensemble.client(session_timeout_ms=self.session_timeout_ms, record=False)
        c = self.clients[owner]
        if not self.ensemble.up(c.id):
            self.ensemble.recover(c.id)
        return c

    def owner_crashed(self, owner: str) -> None:
        c = self.clients.get(owner)
        if c is not None and self.ensemble.up(c.id):
            self.ensemble.crash(c.id)


class LeafSnowflakeNode(Allocator):
    """A Leaf-snowflake server: registers with ZooKeeper, checks its clock, issues ids on demand.

    ``status`` is ``"registering"``, ``"serving"``, ``"refused"`` (clock behind the last report
    and ``on_check_failure="refuse"``) or ``"failed"`` (no ZooKeeper within ``zk_timeout_ms``
    and no local cache); ``started_from`` is ``"zookeeper"`` or ``"cache"``; ``errors`` counts
    requests failed by a rollback over 5 ms. ``leaf_name`` names the ZooKeeper subtree,
    ``port`` completes the server's address ``<id>:<port>``.
    """

    def __init__(self, id: str, *, sink: list[Issued], connector: ZooKeeperConnector, leaf_name: str = "leaf",
                 port: int = 8080, layout: Layout = LEAF, epoch_ms: int = 1_700_000_000_000,
                 on_check_failure: str = "cache", zk_timeout_ms: float = 10_000.0,
                 demand_interval_ms: float = 1.0, timeout_ms: float = 50.0, stop_ms: float | None = None) -> None:
        super().__init__(id, sink=sink, demand_interval_ms=demand_interval_ms,
                         timeout_ms=timeout_ms, stop_ms=stop_ms)
        if on_check_failure not in CHECK_FAILURE:
            raise allowed("on_check_failure", on_check_failure, " or ".join(map(repr, CHECK_FAILURE)))
        if "-" in id or "/" in id:
            raise allowed("Leaf-snowflake node id", id, "a name without '-' or '/' (it becomes a znode name)")
        self.connector, self.layout = connector, layout
        self.forever = f"/snowflake/{leaf_name}/forever"
        self.address = f"{id}:{port}"
        self.on_check_failure = on_check_failure
        self.zk_timeout_ms = positive("zk_timeout_ms", zk_timeout_ms)
        self.clock_src = NodeClock(self, epoch_ms)
        self.gen: Snowflake | None = None
        self.status = "registering"
        self.started_from: str | None = None
        self.znode: str | None = None
        self.errors = 0
        self.waited_rollbacks = 0
        self.last_update = 0
        self._waiting_until: float | None = None
        self._retried = False

    # -- start-up: SnowflakeZookeeperHolder.init --------------------------------------------
    def boot(self) -> None:
        self.stable["boot"] = self.stable.get("boot", 0) + 1
        self.zk = self.connector.client(self.id)
        self.zk.start_async()
        self.set_timer(self.zk_timeout_ms, "zk_timeout", self.stable["boot"])
        self._then(self.zk.get_children_async(self.forever), self._on_children)

    def on_crash(self) -> None:
        self.connector.owner_crashed(self.id)

    def _then(self, result: Any, step: Callable[[Any], None]) -> None:
        """Run ``step(result)`` when the ZooKeeper call finishes, if this incarnation of the
        server is still starting (a crash or a timeout since makes the reply moot)."""
        boot = self.stable["boot"]

        def done(r: Any) -> None:
            if not self.sim_up() or self.stable.get("boot") != boot or self.status != "registering":
                return
            step(r)

        result.rawlink(done)

    def sim_up(self) -> bool:
        return self.connector.ensemble.up(self.id)

    def _data(self) -> bytes:
        """``buildData()``: the JSON Leaf writes into its node."""
        ip, port = self.address.rsplit(":", 1)
        return json.dumps({"ip": ip, "port": port, "timestamp": self.clock_src.ms()}).encode()

    def _on_children(self, r: Any) -> None:
        if isinstance(r.exception, zk.NoNodeError):  # ``checkExists(forever) == null``: the first start
            return self._create_parents(_ancestors(self.forever), r)
        if r.exception is not None:
            return self._fall_back(f"ZooKeeper: {type(r.exception).__name__}")
        mine = {key.split("-")[0]: key for key in r.value[0]}.get(self.address)
        if mine is None:
            return self._then(self.zk.create_async(f"{self.forever}/{self.address}-", self._data(), sequence=True),
                              self._on_created)
        self.znode = f"{self.forever}/{mine}"
        worker = int(mine.rsplit("-", 1)[1])
        self._then(self.zk.get_async(self.znode), lambda g: self._check_time(g, worker))

    def _create_parents(self, todo: list[str], r: Any) -> None:
        """``creatingParentsIfNeeded``: each missing ancestor in turn (another server may win)."""
        if r.exception is not None and not isinstance(r.exception, (zk.NodeExistsError, zk.NoNodeError)):
            return self._fall_back(f"ZooKeeper: {type(r.exception).__name__}")
        if not todo:
            return self._then(self.zk.create_async(f"{self.forever}/{self.address}-", self._data(), sequence=True),
                              lambda c: self._on_created(c, first_start=True))
        self._then(self.zk.create_async(todo[0]), lambda nxt: self._create_parents(todo[1:], nxt))

    def _on_created(self, r: Any, first_start: bool = False) -> None:
        if r.exception is not None:
            return self._fall_back(f"ZooKeeper: {type(r.exception).__name__}")
        self.znode = r.value
        # Leaf parses the sequence number only on the "new node" branch; on the first-start
        # branch ``workerID`` keeps its initial value
        self._start(0 if first_start else int(r.value.rsplit("-", 1)[1]), "zookeeper")

    def _check_time(self, r: Any, worker: int) -> None:
        """``checkInitTimeStamp``: the clock must not be behind the last reported time."""
        if r.exception is not None:
            return self._fall_back(f"ZooKeeper: {type(r.exception).__name__}")
        reported = json.loads(r.value[0].decode())["timestamp"]
        behind = reported - self.clock_src.ms()
        if behind > 0:
            self.annotate(check="failed", behind_ms=behind)
            if self.on_check_failure == "refuse":
                self.status = "refused"
                self.annotate(status="refused", behind_ms=behind)
                return
            return self._fall_back(f"CheckLastTimeException: clock {behind} ms behind the last report")
        self._start(worker, "zookeeper")

    def _fall_back(self, why: str) -> None:
        """The ``catch``: the worker id from the local cache file, or no start at all."""
        cached = self.stable.get(CACHE_FILE)
        self.annotate(fallback=why)
        if cached is None:
            self.status = "failed"
            self.annotate(status="failed", why="no local workerID cache")
            return
        self._start(cached, "cache")

    def _start(self, worker: int, source: str) -> None:
        if not 0 <= worker < self.layout.max_workers:
            self.status = "failed"
            self.annotate(status="failed", why=f"worker id {worker} >= {self.layout.max_workers}")
            return
        self.gen = Snowflake(self.layout, worker=worker, policy="wait", random_start=100, rng=self.rng)
        self.status, self.started_from = "serving", source
        self.annotate(status="serving", worker=worker, started_from=source)
        if source == "zookeeper":
            self.stable[CACHE_FILE] = worker  # updateLocalWorkerID
            self.set_timer(FIRST_REPORT_MS, "report")  # the catch path never reports
        self.serve()

    # -- run time -------------------------------------------------------------------------------
    def on_other_timer(self, name: str, payload: Any) -> None:
        if name == "report":
            now = self.clock_src.ms()
            if now >= self.last_update:  # ``updateNewData`` skips while the clock is behind
                self.zk.set_async(self.znode, self._data())
                self.last_update = now
            self.set_timer(REPORT_EVERY_MS, "report")
        elif name == "wait_over":
            self._waiting_until = None
            self.serve()
        elif name == "zk_timeout" and payload == self.stable.get("boot") and self.status == "registering":
            self._fall_back(f"ZooKeeper not reached in {self.zk_timeout_ms:g} ms")

    def take(self) -> int | None:
        if self.gen is None or self._waiting_until is not None:
            return None
        try:
            out = self.gen.next_at(self.clock_src.ms(), self._retried)
        except ClockRollbackError:
            self.errors += 1
            self._retried = False
            self.waiting.pop(0)  # the caller gets an error instead of an id
            self.annotate(error="clock rollback")
            return self.take() if self.waiting else None
        if isinstance(out, Wait):
            self._retried = out.reason != "exhausted"
            self.waited_rollbacks += self._retried
            self._waiting_until = self.now + out.ms
            self.set_timer(out.ms, "wait_over")
            return None
        self._retried = False
        return out


def _ancestors(path: str) -> list[str]:
    """``/a``, ``/a/b``, ``/a/b/c`` for ``/a/b/c``."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]
