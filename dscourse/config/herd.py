"""The thundering herd when a configuration server restarts, with and without jitter.

Every client holds a connection to the server (Nacos 2.x's gRPC stream; for Apollo, the held
``/notifications/v2`` request). When the server process restarts, its host resets every
connection at once, so every client starts its reconnect schedule at the same instant. The
schedules the clients ship with have no random part:

* Nacos 2.x ``RpcClient.reconnect``: try at once, then sleep ``min(retryTurns + 1, 50) * 100``
  ms between tries (100 ms, 200 ms, ... at most 5 s) -- :data:`NACOS2`;
* Apollo ``RemoteConfigLongPollService``: ``ExponentialSchedulePolicy(1, 120)``, 1 s doubling
  to at most 120 s after each failure -- :data:`APOLLO`.

Clients that failed together retry together, so the restarted server meets all of them in
the same few milliseconds. Full jitter (AWS Architecture Blog, "Exponential Backoff and
Jitter", 2015: wait uniform in ``[0, delay)``) spreads them out. :func:`herd` measures the
requests per second at the server after the restart (:class:`Herd`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..gateway import backoff_ms
from ..notebook import default_seed
from ..sim import Network, Simulation, Uniform
from .client import NacosClient
from .messages import HealthCheck, Subscribe
from .server import NacosConfigServer

KEY = "application.yaml"
#: ``RpcClient``: the connect (``ServerCheckRequest``) timeout, ms
CONNECT_TIMEOUT_MS = 3_000
BUCKET_MS = 100.0


@dataclass(frozen=True)
class Reconnect:
    """A reconnect schedule: the wait before retry ``n`` (0-based) after a failed try is
    ``min(cap, base * (n + 1))`` (``"linear"``) or ``min(cap, base * 2**n)``
    (``"exponential"``); with ``jitter`` a uniform draw in ``[0, that)`` (full jitter).
    ``immediate``: the first try after a reset is made at once (Nacos) or after one wait (Apollo)."""

    name: str
    kind: str
    base_ms: float
    cap_ms: float
    immediate: bool
    jitter: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "exponential"):
            raise allowed("kind", self.kind, "'linear' or 'exponential'")
        if not (self.base_ms > 0 and self.cap_ms >= self.base_ms):
            raise allowed("backoff", (self.base_ms, self.cap_ms), "base_ms > 0 and cap_ms >= base_ms")

    def delay(self, n: int, rng: Any) -> float:
        if self.kind == "exponential":
            return backoff_ms(n, self.base_ms, self.cap_ms, rng if self.jitter else None)
        ceiling = min(self.cap_ms, self.base_ms * (n + 1))
        return float(rng.uniform(0, ceiling)) if self.jitter else ceiling

    def jittered(self) -> Reconnect:
        return Reconnect(self.name + " + jitter", self.kind, self.base_ms, self.cap_ms, self.immediate, True)


NACOS2 = Reconnect("Nacos 2.x", "linear", 100.0, 5_000.0, immediate=True)
APOLLO = Reconnect("Apollo", "exponential", 1_000.0, 120_000.0, immediate=False)


@dataclass(frozen=True)
class Connect:
    rid: int


@dataclass(frozen=True)
class Connected:
    rid: int


@dataclass(frozen=True)
class Refused:
    rid: int
    reason: str  # "down" (connection refused by the host) or "overloaded"


@dataclass(frozen=True)
class Reset:
    """The server's host resets the connection (the process died)."""


class RestartingServer(NacosConfigServer):
    """A Nacos server whose process can :meth:`restart`; ``capacity_per_s`` (None: unlimited)
    caps the connections it accepts per second, counted in 100 ms windows (a server warming
    up after a restart; beyond it a client is refused and backs off)."""

    def __init__(self, id: str = "server", capacity_per_s: float | None = None) -> None:
        super().__init__(id)
        if capacity_per_s is not None and not capacity_per_s > 0:
            raise allowed("capacity_per_s", capacity_per_s, "None or a number > 0")
        self.capacity_per_s = capacity_per_s
        self.connections: set[str] = set()
        self.down_until = -1.0
        self.window = (-1, 0)  # (100 ms window index, connections accepted in it)

    def restart(self, down_ms: float) -> None:
        """The process dies now and is back ``down_ms`` later: every connection is reset, held
        polls and subscriptions are lost (the releases stay: they are in the database)."""
        for c in sorted(self.connections):
            self.send(c, Reset())
        self.connections.clear()
        self.subscribers.clear()
        for cr in list(self.held):
            self.release_held(*cr)
        self.down_until = self.now + down_ms

    def on_message(self, src: str, msg: Any) -> None:
        if self.now < self.down_until:
            if type(msg) is Connect:
                self.send(src, Refused(msg.rid, "down"))
            return
        if type(msg) is Connect:
            w = int(self.now // BUCKET_MS)
            n = self.window[1] if self.window[0] == w else 0
            if self.capacity_per_s is not None and n >= self.capacity_per_s * BUCKET_MS / 1000:
                self.send(src, Refused(msg.rid, "overloaded"))
                return
            self.window = (w, n + 1)
            self.connections.add(src)
            self.send(src, Connected(msg.rid))
        elif src in self.connections:
            super().on_message(src, msg)


class ReconnectingClient(NacosClient):
    """A Nacos 2.x client that boots at a random moment in ``[0, boot_spread_ms)``, connects,
    batch-listens (``Subscribe`` with its MD5s) and health-checks every 5 s; after a
    :class:`Reset` or a refused or timed-out connect it follows ``policy``."""

    def __init__(self, id: str, server: str, policy: Reconnect, boot_spread_ms: float = 5_000.0) -> None:
        super().__init__(id, server, (KEY,), push=True)
        self.policy, self.boot_spread_ms = policy, boot_spread_ms
        self.connected = False
        self.failures = 0
        self.connect_rid = 0
        self.keepalive: int | None = None

    @property
    def connected_at(self) -> list[float]:
        return self.stable.setdefault("connected_at", [])

    def on_start(self) -> None:
        self.set_timer(float(self.rng.uniform(0, self.boot_spread_ms)), "connect")

    def connect(self) -> None:
        rid = self.connect_rid = self.next_rid()
        self.send(self.server, Connect(rid))
        self.set_timer(CONNECT_TIMEOUT_MS, "connect_timeout", rid)

    def failed(self) -> None:
        self.set_timer(self.policy.delay(self.failures, self.rng), "connect")
        self.failures += 1

    def on_message(self, src: str, msg: Any) -> None:
        t = type(msg)
        if t is Connected and msg.rid == self.connect_rid and not self.connected:
            self.connected, self.failures = True, 0
            self.connected_at.append(self.now)
            self.send(self.server, Subscribe(self.next_rid(), self.md5s()))
            if self.keepalive is None:
                self.keepalive = self.set_timer(5_000.0, "keepalive")
        elif t is Refused and msg.rid == self.connect_rid and not self.connected:
            self.connect_rid = 0
            self.failed()
        elif t is Reset:
            self.connected = False
            if self.keepalive is not None:
                self.cancel_timer(self.keepalive)
                self.keepalive = None
            if self.policy.immediate:
                self.connect()
            else:
                self.failed()
        elif self.connected:
            super().on_message(src, msg)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "connect":
            self.connect()
        elif name == "connect_timeout":
            if payload == self.connect_rid and not self.connected:
                self.connect_rid = 0
                self.failed()
        elif name == "keepalive":
            self.send(self.server, HealthCheck(self.next_rid()))
            self.keepalive = self.set_timer(5_000.0, "keepalive")
        elif name == "fetch_timeout":
            super().on_timer(name, payload)


@dataclass(frozen=True)
class Herd:
    """Requests reaching the server per :data:`BUCKET_MS` bucket from the restart on."""

    policy: str
    clients: int
    restart_at: float
    up_at: float
    counts: tuple[int, ...]  # requests per bucket, from restart_at
    reconnected_ms: float  # from up_at until the last client is connected again (inf: not all)
    refused: int  # connects refused after up_at (overload)
    stale: int = 0  # clients whose snapshot differs from the server's release at the end

    def rates(self) -> list[float]:
        """Requests per second in each bucket."""
        return [n * 1000 / BUCKET_MS for n in self.counts]

    def after_up(self) -> list[float]:
        skip = int((self.up_at - self.restart_at) // BUCKET_MS)
        return self.rates()[skip:]

    @property
    def peak_per_s(self) -> float:
        return max(self.after_up())

    @property
    def mean_per_s(self) -> float:
        r = self.after_up()
        return sum(r) / len(r)


def herd(policy: Reconnect = NACOS2, clients: int = 2_000, seed: int | None = None, down_ms: float = 10_000,
         window_s: float = 60.0, capacity_per_s: float | None = None,
         publish_after_ms: float | None = None) -> Herd:
    """``clients`` clients with ``policy`` settle on one server (10 s), which then restarts and
    is down ``down_ms``; count the requests reaching it until ``window_s`` after it is back.
    ``publish_after_ms``: publish a new release that long after the server is back (while
    clients are still reconnecting). Links: 1-10 ms uniform latency, FIFO."""
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise allowed("clients", clients, "an int >= 1")
    if not (window_s > 0 and down_ms >= 0):
        raise allowed("window", (down_ms, window_s), "down_ms >= 0 and window_s > 0")
    sim = Simulation(seed=default_seed(seed), network=Network(latency=Uniform(1.0, 10.0), fifo=True))
    server = RestartingServer("server", capacity_per_s)
    sim.add_node(server)
    server.publish(KEY, "v: 0")
    nodes = [ReconnectingClient(f"c{i}", "server", policy) for i in range(clients)]
    for n in nodes:
        sim.add_node(n)
    sim.run(until=10_000)
    restart_at = sim.now
    server.restart(down_ms)
    up_at = restart_at + down_ms
    end = up_at + window_s * 1000
    start = len(sim.trace)
    if publish_after_ms is not None:
        server.set_timer(down_ms + publish_after_ms, "publish", (KEY, "v: 1"))
    sim.run(until=end)
    counts = [0] * round((end - restart_at) / BUCKET_MS)
    refused = 0
    for e in sim.trace.events[start:]:
        if e.kind != "send":
            continue
        if e.peer == "server":
            i = int((e.time / 1000 - restart_at) // BUCKET_MS)
            if 0 <= i < len(counts):
                counts[i] += 1
        elif e.node == "server" and e.label == "Refused" and e.time / 1000 >= up_at:
            refused += 1
    last = [n.connected_at[-1] if n.connected_at and n.connected else float("inf") for n in nodes]
    done = max(last)
    stale = sum(1 for n in nodes if n.md5(KEY) != server.store.md5(KEY))
    return Herd(policy.name, clients, restart_at, up_at, tuple(counts),
                done - up_at if done != float("inf") else float("inf"), refused, stale)
