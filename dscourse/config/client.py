"""Configuration clients with a local snapshot cache and listeners.

Every client keeps ``stable["snapshot"]``: key -> (content, md5, release key), the local
snapshot file (Nacos ``LocalConfigInfoProcessor``, Apollo ``LocalFileConfigRepository``) that
survives a restart, so :meth:`get` serves the last known config, never an empty one, while the
server is down. ``stable["received"]`` logs every update applied: (time, key, md5).
Listeners are called as ``listener(client_id, key, content)`` after an update.

A restart (crash and recovery of the client's node) does not call the listeners with the
snapshot: Nacos's ``CacheData`` loads the failover copy or snapshot when it is created and
``addListener`` records that content's MD5 as the listener's ``lastCallMd5``, so a listener
hears only of a content whose MD5 differs (one published while the client was down arrives
after the first poll). The application reads the snapshot on start with ``getConfig``, here
:meth:`ConfigClient.get`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import allowed
from ..sim import Node
from .messages import (
    ConfigReply,
    ConfigsReply,
    GetConfig,
    HealthCheck,
    Listen,
    ListenReply,
    Notifications,
    NotificationsReply,
    Push,
    QueryConfig,
    Subscribe,
)
from .model import NO_MD5, md5

Listener = Callable[[str, str, str], None]

#: Nacos ``ClientWorker``: the Long-Pulling-Timeout the client posts and waits, ms
NACOS_TIMEOUT_MS = 30_000
#: how long a client waits for a content fetch before polling again
FETCH_TIMEOUT_MS = 3_000
#: Apollo ``RemoteConfigLongPollService``: the client's read timeout on the long poll, ms
APOLLO_TIMEOUT_MS = 90_000
#: Apollo ``RemoteConfigRepository`` / Nacos 2.x: the periodic fallback pull, ms
REFRESH_MS = 5 * 60_000
#: Nacos 2.x ``RpcClient``: a health check on a connection idle this long (``keepAliveTime``), ms
KEEPALIVE_MS = 5_000


class ConfigClient(Node):
    """What every client shares: the snapshot, ``get``, applying an update, listeners."""

    def __init__(self, id: str, server: str, keys: Sequence[str], listeners: Sequence[Listener] = ()) -> None:
        super().__init__(id)
        keys = tuple(str(k) for k in keys)
        if not keys or len(set(keys)) != len(keys):
            raise allowed("keys", keys, "one or more distinct config keys")
        self.server, self.keys, self.listeners = server, keys, tuple(listeners)
        self.rid = 0
        self.poll_rid = 0  # the rid of the long poll in flight
        self.poll_timer: int | None = None

    @property
    def snapshot(self) -> dict[str, tuple[str, str, str]]:
        return self.stable.setdefault("snapshot", {})

    @property
    def received(self) -> list[tuple[float, str, str]]:
        return self.stable.setdefault("received", [])

    def get(self, key: str, default: str | None = None) -> str | None:
        """The content of ``key`` from the local snapshot (what the application reads)."""
        entry = self.snapshot.get(str(key))
        return default if entry is None else entry[0]

    def md5(self, key: str) -> str:
        entry = self.snapshot.get(key)
        return NO_MD5 if entry is None else entry[1]

    def apply(self, key: str, content: str, release_key: str = "") -> None:
        """Store an update in the snapshot and call the listeners if the content changed."""
        digest = md5(content)
        old = self.snapshot.get(key)
        self.snapshot[key] = (content, digest, release_key)
        if old is None or old[1] != digest:
            self.received.append((self.now, key, digest))
            for listener in self.listeners:
                listener(self.id, key, content)

    def next_rid(self) -> int:
        self.rid += 1
        return self.rid


class NacosClient(ConfigClient):
    """Nacos 1.x ``ClientWorker.LongPollingRunnable``: post every key's MD5, wait up to 30 s;
    on an answer fetch each changed key's content, then poll again with the new MD5s; on a
    timeout poll again. ``push=True`` is Nacos 2.x: subscribe once on the long-lived
    connection, fetch on each :class:`Push`, and re-check every MD5 every 5 minutes."""

    def __init__(self, id: str, server: str, keys: Sequence[str], listeners: Sequence[Listener] = (),
                 push: bool = False) -> None:
        super().__init__(id, server, keys, listeners)
        self.push = push
        self.fetching: dict[str, int] = {}  # key -> rid of the fetch in flight

    def state(self) -> tuple[Any, ...]:
        """What the model checker compares: MD5s held, request ids, fetches and poll in flight."""
        return (self.md5s(), self.rid, self.poll_rid, tuple(sorted(self.fetching.items())),
                self.poll_timer is None)

    def md5s(self) -> tuple[tuple[str, str], ...]:
        return tuple((k, self.md5(k)) for k in self.keys)

    def on_start(self) -> None:
        if self.push:
            self.send(self.server, Subscribe(self.next_rid(), self.md5s()))
            self.set_timer(REFRESH_MS, "resync")
            self.set_timer(KEEPALIVE_MS, "keepalive")
        else:
            self.listen()

    def listen(self) -> None:
        rid = self.poll_rid = self.next_rid()
        self.send(self.server, Listen(rid, self.md5s(), NACOS_TIMEOUT_MS))
        self.poll_timer = self.set_timer(NACOS_TIMEOUT_MS, "poll_timeout", rid)

    def fetch(self, key: str) -> None:
        rid = self.next_rid()
        self.fetching[key] = rid
        self.send(self.server, GetConfig(rid, key))
        self.set_timer(FETCH_TIMEOUT_MS, "fetch_timeout", (key, rid))

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is ListenReply:
            if self.push:
                for k in msg.changed:
                    self.fetch(k)
                return
            if msg.rid != self.poll_rid or self.poll_timer is None:
                return  # a stale answer to a poll we gave up on
            self.cancel_timer(self.poll_timer)
            self.poll_timer = None
            for k in msg.changed:
                self.fetch(k)
            if not self.fetching:
                self.listen()
        elif type(msg) is ConfigReply:
            if self.fetching.get(msg.key) != msg.rid:
                return
            del self.fetching[msg.key]
            if msg.content is not None:
                self.apply(msg.key, msg.content)
            if not self.push and not self.fetching and self.poll_timer is None:
                self.listen()
        elif type(msg) is Push:
            self.fetch(msg.key)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "poll_timeout" and payload == self.poll_rid:
            self.poll_timer = None
            self.listen()
        elif name == "fetch_timeout":
            key, rid = payload
            if self.fetching.get(key) == rid:
                del self.fetching[key]
                if self.push:
                    self.fetch(key)
                elif not self.fetching and self.poll_timer is None:
                    self.listen()  # the old MD5 is still posted, so the server answers at once
        elif name == "keepalive":
            self.send(self.server, HealthCheck(self.next_rid()))
            self.set_timer(KEEPALIVE_MS, "keepalive")
        elif name == "resync":
            self.send(self.server, Subscribe(self.next_rid(), self.md5s()))
            self.set_timer(REFRESH_MS, "resync")


class ApolloClient(ConfigClient):
    """Apollo ``RemoteConfigLongPollService`` + ``RemoteConfigRepository``: long-poll
    ``/notifications/v2`` with each namespace's notificationId (90 s client timeout); on an
    answer record the new ids, fetch ``/configs`` with the release key, and poll again at once;
    a 304 just polls again; every 5 minutes pull every namespace anyway (the fallback)."""

    def __init__(self, id: str, server: str, keys: Sequence[str], listeners: Sequence[Listener] = (),
                 ip: str = "", labels: tuple[str, ...] = ()) -> None:
        super().__init__(id, server, keys, listeners)
        self.ip, self.labels = ip, labels
        self.notification_ids = dict.fromkeys(self.keys, -1)
        self.queried: dict[str, int] = {}  # key -> rid of the latest /configs query (older answers are stale)

    def on_start(self) -> None:
        for k in self.keys:
            self.query(k)
        self.long_poll()
        self.set_timer(REFRESH_MS, "refresh")

    def release_key(self, key: str) -> str:
        entry = self.snapshot.get(key)
        return "" if entry is None else entry[2]

    def query(self, key: str) -> None:
        rid = self.queried[key] = self.next_rid()
        self.send(self.server, QueryConfig(rid, key, self.release_key(key), self.ip, self.labels))

    def long_poll(self) -> None:
        rid = self.poll_rid = self.next_rid()
        self.send(self.server, Notifications(rid, tuple(self.notification_ids.items())))
        self.poll_timer = self.set_timer(APOLLO_TIMEOUT_MS, "poll_timeout", rid)

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is NotificationsReply:
            if msg.rid != self.poll_rid or self.poll_timer is None:
                return
            self.cancel_timer(self.poll_timer)
            self.poll_timer = None
            for k, nid in msg.items:
                if nid > self.notification_ids.get(k, -1):
                    self.notification_ids[k] = nid
                    self.query(k)
            self.long_poll()
        elif type(msg) is ConfigsReply and msg.status == 200 and msg.content is not None:
            if msg.rid == self.queried.get(msg.key):  # Apollo syncs one query at a time: newest wins
                self.apply(msg.key, msg.content, msg.release_key)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "poll_timeout" and payload == self.poll_rid:
            self.poll_timer = None
            self.long_poll()
        elif name == "refresh":
            for k in self.keys:
                self.query(k)
            self.set_timer(REFRESH_MS, "refresh")


class PollingClient(ConfigClient):
    """The baseline: fetch every key every ``interval`` ms whether it changed or not (a
    fixed-interval pull, as a plain HTTP client of Spring Cloud Config would). The first
    poll is at a random offset in ``[0, interval)`` so clients do not poll in lockstep."""

    def __init__(self, id: str, server: str, keys: Sequence[str], listeners: Sequence[Listener] = (),
                 interval: float = 10_000) -> None:
        super().__init__(id, server, keys, listeners)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise allowed("interval", interval, "a poll interval > 0 ms")
        self.interval = float(interval)

    def on_start(self) -> None:
        self.set_timer(float(self.rng.uniform(0, self.interval)), "poll")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "poll":
            for k in self.keys:
                self.send(self.server, GetConfig(self.next_rid(), k))
            self.set_timer(self.interval, "poll")

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is ConfigReply and msg.content is not None:
            self.apply(msg.key, msg.content)
