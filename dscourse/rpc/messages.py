"""Wire messages of the exchange layer (Dubbo's ``Request``/``Response`` with a request id, and
its heartbeat events). Payloads are bytes from a :mod:`.codec`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """A call: ``rid`` matches the response; ``payload`` encodes service, method, args."""

    rid: int
    codec: str
    payload: bytes


@dataclass(frozen=True)
class Response:
    """``status`` is ``"ok"`` or ``"biz"`` (the method raised; ``payload`` holds the message)."""

    rid: int
    status: str
    payload: bytes


@dataclass(frozen=True)
class Heartbeat:
    """Dubbo's heartbeat request on an idle channel (``HeartbeatTimerTask``)."""

    seq: int


@dataclass(frozen=True)
class HeartbeatAck:
    seq: int
