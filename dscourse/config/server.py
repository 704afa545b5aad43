"""The configuration servers: Nacos 1.x long polling and 2.x push, Apollo's notifications/v2.

Both keep a :class:`~.model.ReleaseStore` in ``stable`` (a database survives a crash). An
operator publishes with :meth:`publish`/:meth:`rollback` (the admin console, at the current
virtual time) or schedules it with a ``"publish"``/``"rollback"`` timer.
"""

from __future__ import annotations

from typing import Any

from ..sim import Node
from .gray import GrayRule
from .messages import (
    ConfigReply,
    ConfigsReply,
    GetConfig,
    HealthCheck,
    HealthCheckResponse,
    Listen,
    ListenReply,
    Notifications,
    NotificationsReply,
    Push,
    QueryConfig,
    Subscribe,
)
from .model import AuditEntry, Release, ReleaseStore, md5

#: Nacos ``LongPollingService``: the server answers this much before the client's timeout
HOLD_MARGIN_MS = 500
#: Nacos: the hold is at least 10 s whatever the client asks
MIN_HOLD_MS = 10_000
#: Apollo ``NotificationControllerV2``: a held request answers 304 after 60 s
APOLLO_HOLD_MS = 60_000
#: Apollo ``ReleaseMessageScanner``: the release-message table is scanned every second
SCAN_INTERVAL_MS = 1_000


class _ConfigServer(Node):
    """What both servers share: the store, the admin operations, held requests."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        # (client, rid) -> (what the poll posted: key -> MD5 or notificationId, hold timer)
        self.held: dict[tuple[str, int], tuple[dict[str, Any], int]] = {}

    @property
    def store(self) -> ReleaseStore:
        return self.stable.setdefault("store", ReleaseStore())

    def publish(self, key: str, content: str, operator: str = "admin", comment: str = "") -> Release:
        r = self.store.publish(str(key), content, self.now, operator, comment)
        self.changed(r.key)
        return r

    def rollback(self, key: str, operator: str = "admin") -> Release:
        r = self.store.rollback(str(key), self.now, operator)
        self.changed(r.key)
        return r

    def changed(self, key: str) -> None:
        """React to a change of ``key`` (each server its own way)."""

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "publish":
            self.publish(*payload)
        elif name == "rollback":
            self.rollback(payload)

    def release_held(self, client: str, rid: int) -> None:
        _, handle = self.held.pop((client, rid))
        self.cancel_timer(handle)

    def waiting(self, key: str) -> list[tuple[str, int]]:
        """The held requests that listen to ``key``, in arrival order."""
        return [cr for cr, (keys, _) in self.held.items() if key in keys]


class NacosConfigServer(_ConfigServer):
    """Nacos 1.x ``LongPollingService`` and 2.x push (``RpcConfigChangeNotifier``).

    Long poll (``addLongPollingClient``): compare each posted MD5 with the server's; if any
    differs, answer at once with *those groupKeys only*; otherwise hold the request for the
    client's timeout minus 500 ms (at least 10 s) and answer an empty list then. A change
    (``DataChangeTask``) answers every held request listening to that key with that key.
    ``compare_on_arrival=False`` is the broken variant that only waits for change events (it
    loses a publish that lands between two polls; Chapter 15's race).

    Push: a :class:`Subscribe` registers the connection; each change sends :class:`Push` to
    every subscriber, which then fetches the content.
    """

    def __init__(self, id: str = "server", compare_on_arrival: bool = True) -> None:
        super().__init__(id)
        self.compare_on_arrival = compare_on_arrival
        self.subscribers: dict[str, set[str]] = {}  # key -> connection (client) ids

    def state(self) -> tuple[Any, ...]:
        """What the model checker compares (times, release keys and timer handles left out):
        the MD5 of every key and the held polls with what they posted."""
        store = self.store
        return (tuple(sorted((k, store.md5(k)) for k in store.releases)),
                tuple(sorted((c, r, tuple(sorted(p.items()))) for (c, r), (p, _) in self.held.items())))

    def stale_holds(self) -> list[tuple[str, int]]:
        """Held polls that posted an MD5 the server no longer has: a client parked behind the
        latest release (the lost-update state; the model checker's invariant)."""
        store = self.store
        return [cr for cr, (posted, _) in self.held.items()
                if any(store.md5(k) != m for k, m in posted.items())]

    def changed_keys(self, md5s: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
        """The keys whose posted MD5 differs from the server's (``MD5Util.compareMd5``)."""
        store = self.store
        return tuple(k for k, m in md5s if store.md5(k) != m)

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is Listen:
            self.on_listen(src, msg)
        elif type(msg) is GetConfig:
            r = self.store.current(msg.key)
            self.send(src, ConfigReply(msg.rid, msg.key, None if r is None else r.content,
                                       "" if r is None else r.md5))
        elif type(msg) is HealthCheck:
            self.send(src, HealthCheckResponse(msg.rid))
        elif type(msg) is Subscribe:
            for k, _ in msg.md5s:
                self.subscribers.setdefault(k, set()).add(src)
            self.send(src, ListenReply(msg.rid, self.changed_keys(msg.md5s)))

    def on_listen(self, src: str, msg: Listen) -> None:
        """``LongPollingService.addLongPollingClient``: answer changed keys now, or hold."""
        changed = self.changed_keys(msg.md5s) if self.compare_on_arrival else ()
        if changed:
            self.send(src, ListenReply(msg.rid, changed))
            return
        hold = max(MIN_HOLD_MS, msg.timeout - HOLD_MARGIN_MS)
        handle = self.set_timer(hold, "hold_timeout", (src, msg.rid))
        self.held[(src, msg.rid)] = (dict(msg.md5s), handle)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "hold_timeout":
            src, rid = payload
            if (src, rid) in self.held:
                del self.held[(src, rid)]
                self.send(src, ListenReply(rid, ()))
        else:
            super().on_timer(name, payload)

    def changed(self, key: str) -> None:
        """``DataChangeTask.run``: answer every held poll on ``key`` with ``key``; push to subscribers."""
        for src, rid in self.waiting(key):
            self.release_held(src, rid)
            self.send(src, ListenReply(rid, (key,)))
        for src in sorted(self.subscribers.get(key, ())):
            self.send(src, Push(key))


class ApolloConfigService(_ConfigServer):
    """Apollo's config service: ``NotificationControllerV2`` and ``ConfigController``.

    Every publish writes a release message; :data:`SCAN_INTERVAL_MS` later at most, the
    ``ReleaseMessageScanner`` sees it and ``handleMessage`` answers every held request watching
    that namespace with ``(namespace, notificationId)``. A request whose ids are already behind
    the *scanned* messages is answered at once; otherwise it is held 60 s and answered 304.
    ``/configs`` answers 304 when the client's release key is still the active one. Gray rules
    (:meth:`gray_release`) give matching clients the gray release instead.
    """

    def __init__(self, id: str = "server") -> None:
        super().__init__(id)
        self.scanned = 0  # the largest release-message id the scanner has seen
        self.latest_scanned: dict[str, int] = {}

    def on_start(self) -> None:
        self.scanned = 0
        self.latest_scanned = {}
        self.scan()

    def scan(self) -> None:
        """``ReleaseMessageScanner.scanMessages``: new rows since the last scan, in id order."""
        for m in self.store.messages[self.scanned:]:
            self.scanned = m.id
            self.latest_scanned[m.message] = m.id
            for src, rid in self.waiting(m.message):
                self.release_held(src, rid)
                self.send(src, NotificationsReply(rid, ((m.message, m.id),)))
        self.set_timer(SCAN_INTERVAL_MS, "scan")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "scan":
            self.scan()
        elif name == "hold_timeout":
            src, rid = payload
            if (src, rid) in self.held:
                del self.held[(src, rid)]
                self.send(src, NotificationsReply(rid, ()))
        else:
            super().on_timer(name, payload)

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is Notifications:
            news = tuple((k, self.latest_scanned[k]) for k, nid in msg.notifications
                         if self.latest_scanned.get(k, -1) > nid)
            if news:
                self.send(src, NotificationsReply(msg.rid, news))
                return
            handle = self.set_timer(APOLLO_HOLD_MS, "hold_timeout", (src, msg.rid))
            self.held[(src, msg.rid)] = (dict(msg.notifications), handle)
        elif type(msg) is QueryConfig:
            r = self.effective(msg.key, src, msg.ip, msg.labels)
            if r is None:
                self.send(src, ConfigsReply(msg.rid, msg.key, 404, "", None))
            elif r.release_key == msg.release_key:
                self.send(src, ConfigsReply(msg.rid, msg.key, 304, r.release_key, None))
            else:
                self.send(src, ConfigsReply(msg.rid, msg.key, 200, r.release_key, r.content))

    # -- gray release -----------------------------------------------------------------------
    @property
    def gray(self) -> dict[str, tuple[GrayRule, Release]]:
        return self.stable.setdefault("gray", {})

    def effective(self, key: str, client: str, ip: str = "", labels: tuple[str, ...] = ()) -> Release | None:
        """The release ``client`` gets: the gray one if a gray rule matches it, else the main one."""
        g = self.gray.get(key)
        if g is not None and g[0].matches(client, key, ip, labels):
            return g[1]
        return self.store.current(key)

    def gray_release(self, key: str, content: str, rule: GrayRule, operator: str = "admin") -> Release:
        """Publish ``content`` to the clients ``rule`` matches only (a gray branch release)."""
        key = str(key)
        store = self.store
        r = Release(f"{key}#gray", len(store.audit) + 1, f"{int(self.now):010d}-{len(store.audit) + 1:06x}-gray",
                    content, md5(content), self.now, operator, "gray")
        self.gray[key] = (rule, r)
        store.audit.append(AuditEntry(self.now, operator, "gray", key, r.release_key, store._message(key),
                                      store.version_of(key)))
        return r

    def merge_gray(self, key: str, operator: str = "admin") -> Release:
        """"Merge to full release": the gray content becomes the main release for everyone."""
        _, r = self.gray.pop(str(key))
        return self.publish(key, r.content, operator, "merged gray")

    def abandon_gray(self, key: str, operator: str = "admin") -> None:
        """"Abandon gray": gray clients go back to the main release."""
        key = str(key)
        _, r = self.gray.pop(key)
        self.store.audit.append(AuditEntry(self.now, operator, "abandon gray", key, r.release_key,
                                           self.store._message(key), self.store.version_of(key)))

