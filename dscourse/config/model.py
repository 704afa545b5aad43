"""The data models of the two configuration centers and their immutable releases.

* Nacos (``nacos.io`` docs, "Open API: configuration management"): a configuration is named by
  ``namespace`` (``tenant``), ``group`` and ``dataId``; the server and client compare the
  content's MD5, and the long-poll wire names a key by its *groupKey* ``dataId+group+tenant``.
* Apollo (``ctripcorp/apollo`` wiki, "Apollo design" §1.2): a configuration is named by
  ``appId``, ``cluster`` and ``namespace`` (per environment); a *release* is an immutable
  snapshot with a ``releaseKey``; every publish writes a ``ReleaseMessage`` whose
  auto-increment id is the ``notificationId`` clients long-poll for.

:class:`ReleaseStore` keeps, per key, the immutable release history, the active release,
rollback (the active release is abandoned, the previous one becomes active again, as Apollo's
``ReleaseService.rollback``), the audit log, and the release-message table.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field

from ..errors import allowed

#: the MD5 a client posts for a key it has no content for (Nacos posts an empty string)
NO_MD5 = ""


def md5(content: str) -> str:
    """The hex MD5 of ``content`` in UTF-8 (Nacos's ``MD5Utils.md5Hex(content, "UTF-8")``)."""
    return hashlib.md5(content.encode("utf-8")).hexdigest()


def _name(what: str, value: object) -> str:
    if not isinstance(value, str) or not value or "+" in value:
        raise allowed(what, value, "a non-empty str without '+'")
    return value


@dataclass(frozen=True)
class NacosKey:
    """Nacos's ``(namespace, group, dataId)``; ``str(key)`` is the groupKey ``dataId+group+tenant``."""

    data_id: str
    group: str = "DEFAULT_GROUP"
    namespace: str = "public"

    def __post_init__(self) -> None:
        _name("data_id", self.data_id), _name("group", self.group), _name("namespace", self.namespace)

    def __str__(self) -> str:
        return f"{self.data_id}+{self.group}+{self.namespace}"


@dataclass(frozen=True)
class ApolloKey:
    """Apollo's ``(appId, cluster, namespace)``; ``str(key)`` is the ReleaseMessage content
    ``appId+cluster+namespace`` (``ReleaseMessageKeyGenerator``)."""

    app_id: str
    namespace: str = "application"
    cluster: str = "default"

    def __post_init__(self) -> None:
        _name("app_id", self.app_id), _name("cluster", self.cluster), _name("namespace", self.namespace)

    def __str__(self) -> str:
        return f"{self.app_id}+{self.cluster}+{self.namespace}"


@dataclass(frozen=True)
class Release:
    """One immutable release of one key: never edited, only superseded or abandoned."""

    key: str
    version: int
    release_key: str
    content: str
    md5: str
    time: float
    operator: str = "admin"
    comment: str = ""


@dataclass(frozen=True)
class AuditEntry:
    time: float
    operator: str
    action: str  # "publish" | "rollback" | "gray" | "abandon gray"
    key: str
    release_key: str
    notification_id: int = -1  # the release message it wrote (its notificationId)
    active_version: int = 0  # the main release's version after it (0: none)


@dataclass(frozen=True)
class ReleaseMessage:
    """Apollo's ``ReleaseMessage`` row: ``id`` (auto-increment, the notificationId) and the key."""

    id: int
    message: str


@dataclass
class ReleaseStore:
    """Releases, history, rollback, audit and release messages of one configuration service."""

    releases: dict[str, list[Release]] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)  # key -> index into releases[key]
    abandoned: set[str] = field(default_factory=set)  # release keys
    audit: list[AuditEntry] = field(default_factory=list)
    messages: list[ReleaseMessage] = field(default_factory=list)
    latest: dict[str, int] = field(default_factory=dict)  # key -> id of its latest release message

    def current(self, key: str) -> Release | None:
        """The active release of ``key``, or None if it was never published."""
        i = self.active.get(key)
        return None if i is None else self.releases[key][i]

    def md5(self, key: str) -> str:
        r = self.current(key)
        return NO_MD5 if r is None else r.md5

    def history(self, key: str) -> list[Release]:
        """Every release of ``key``, oldest first (abandoned ones included)."""
        return list(self.releases.get(key, ()))

    def publish(self, key: str, content: str, time: float, operator: str = "admin",
                comment: str = "") -> Release:
        """A new immutable release of ``key``; it becomes active and a release message is written."""
        if not isinstance(content, str):
            raise allowed("content", content, "a str")
        history = self.releases.setdefault(key, [])
        version = len(history) + 1
        release_key = f"{int(time):010d}-{len(self.audit) + 1:06x}"  # time + counter, as ReleaseKeyGenerator
        r = Release(key, version, release_key, content, md5(content), time, operator, comment)
        history.append(r)
        self.active[key] = len(history) - 1
        self.audit.append(AuditEntry(time, operator, "publish", key, release_key, self._message(key), version))
        return r

    def rollback(self, key: str, time: float, operator: str = "admin") -> Release:
        """Abandon the active release of ``key``; the latest earlier non-abandoned one becomes
        active (Apollo ``ReleaseService.rollback``); a release message tells the clients."""
        cur = self.current(key)
        if cur is None:
            raise allowed("rollback key", key, "a key with a release")
        i = self.active[key] - 1
        history = self.releases[key]
        while i >= 0 and history[i].release_key in self.abandoned:
            i -= 1
        if i < 0:
            raise allowed("rollback key", key, "a key with an earlier release to roll back to")
        self.abandoned.add(cur.release_key)
        self.active[key] = i
        self.audit.append(AuditEntry(time, operator, "rollback", key, cur.release_key, self._message(key),
                                     history[i].version))
        return history[i]

    def _message(self, key: str) -> int:
        m = ReleaseMessage(len(self.messages) + 1, key)
        self.messages.append(m)
        self.latest[key] = m.id
        return m.id

    def diff(self, key: str, old: int, new: int) -> list[str]:
        """The unified diff from version ``old`` to version ``new`` of ``key`` (1-based, as
        :attr:`Release.version`), as the console's release-history page shows it."""
        history = self.releases.get(key, [])
        for v in (old, new):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= len(history):
                raise allowed("version", v, f"a version of {key!r} from 1 to {len(history)}")
        a, b = history[old - 1], history[new - 1]
        return list(difflib.unified_diff(a.content.splitlines(), b.content.splitlines(),
                                         f"v{old} {a.release_key}", f"v{new} {b.release_key}", lineterm="", n=1))

    def timeline(self, key: str) -> list[AuditEntry]:
        """``key``'s audit trail, oldest first."""
        return [a for a in self.audit if a.key == key]

    def version_of(self, key: str) -> int:
        cur = self.current(key)
        return 0 if cur is None else cur.version

    def notification_id(self, key: str) -> int:
        """The id of the latest release message of ``key`` (-1 if none), as
        ``ReleaseMessageServiceWithCache`` answers."""
        return self.latest.get(key, -1)
