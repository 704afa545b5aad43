"""Wire messages of both long-poll protocols (frozen data; keys travel as their string names).

Nacos 1.x (``ClientWorker.LongPollingRunnable`` and ``ConfigController.listener``):
:class:`Listen` is ``POST /v1/cs/configs/listener`` with ``Listening-Configs`` (each key and
the MD5 the client has); :class:`ListenReply` lists the changed groupKeys (empty on the
server's timeout); :class:`GetConfig`/:class:`ConfigReply` is ``GET /v1/cs/configs``.

Apollo (``RemoteConfigLongPollService`` and ``NotificationControllerV2``):
:class:`Notifications` is ``GET /notifications/v2`` with ``(namespace, notificationId)``
pairs; :class:`NotificationsReply` is 304 (``items`` empty) or the changed namespaces with their
new ids; :class:`QueryConfig`/:class:`ConfigsReply` is ``GET /configs/{appId}/{cluster}/{ns}``
with ``releaseKey`` (304 when it is still current).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Listen:
    rid: int
    md5s: tuple[tuple[str, str], ...]  # (groupKey, md5 the client has)
    timeout: float  # the client's Long-Pulling-Timeout header, ms


@dataclass(frozen=True)
class ListenReply:
    rid: int
    changed: tuple[str, ...]


@dataclass(frozen=True)
class GetConfig:
    rid: int
    key: str


@dataclass(frozen=True)
class ConfigReply:
    rid: int
    key: str
    content: str | None  # None: 404, never published
    md5: str


@dataclass(frozen=True)
class Notifications:
    rid: int
    notifications: tuple[tuple[str, int], ...]  # (key, notificationId the client has)


@dataclass(frozen=True)
class NotificationsReply:
    rid: int
    items: tuple[tuple[str, int], ...]  # empty: HTTP 304

    @property
    def status(self) -> int:
        return 200 if self.items else 304


@dataclass(frozen=True)
class QueryConfig:
    rid: int
    key: str
    release_key: str
    ip: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigsReply:
    rid: int
    key: str
    status: int  # 200, 304 (release key unchanged) or 404
    release_key: str
    content: str | None


@dataclass(frozen=True)
class Push:
    """Nacos 2.x ``ConfigChangeNotifyRequest`` over the client's long-lived gRPC stream."""

    key: str


@dataclass(frozen=True)
class Subscribe:
    """Nacos 2.x ``ConfigBatchListenRequest`` on the long-lived connection."""

    rid: int
    md5s: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HealthCheck:
    """Nacos 2.x ``HealthCheckRequest`` on an idle long-lived connection (``RpcClient``'s
    ``keepAliveTime``, 5 s); the server answers :class:`HealthCheckResponse`."""

    rid: int


@dataclass(frozen=True)
class HealthCheckResponse:
    rid: int
