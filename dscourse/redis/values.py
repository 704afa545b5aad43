"""Reply values and errors shared by the server, its Lua engine and the client."""

from __future__ import annotations

from ..errors import DscourseError


class RedisError(DscourseError):
    """A command error as Redis sends it, prefix included (``ERR ...``, ``WRONGTYPE ...``)."""


class ResponseError(RedisError):
    """What :func:`dscourse.redis.client` raises, as redis-py's ``ResponseError`` does.

    ``str(exc)`` is redis-py's text: the reply with a leading ``ERR ``/``NOSCRIPT `` (the codes
    redis-py maps to its own classes) removed; ``exc.reply`` is the full reply, prefix kept.
    """

    def __init__(self, message: str, reply: str | None = None) -> None:
        super().__init__(message)
        self.reply = message if reply is None else reply


class NoScriptError(ResponseError):
    """``EVALSHA`` of a script the server does not have (redis-py's ``NoScriptError``)."""


class Status(str):
    """A status reply (``+OK``), as opposed to a bulk string: Lua sees it as ``{ok=...}``."""

    __slots__ = ()


class DataError(RedisError, ValueError):
    """A call redis-py refuses before sending it (e.g. ``nx`` and ``xx`` together)."""
