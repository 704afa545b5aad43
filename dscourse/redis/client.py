"""A redis-py-compatible client for the simulated server: ``ds.redis.client(sim, "redis")``.

The same method names, arguments and return types as redis-py's ``redis.Redis`` for the
commands :class:`~dscourse.redis.RedisServer` implements, so code written against redis-py
runs unchanged on virtual time (and the conformance suite runs one script against both).
A call runs the command at once, at the current virtual time, as a client on the server's
own host would (no network in between); a client elsewhere sends
:class:`~dscourse.redis.Command` messages instead. Errors raise :class:`ResponseError` (or
:class:`NoScriptError`) with redis-py's text; a crashed server raises ``ConnectionError``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from ..errors import allowed
from .values import DataError, NoScriptError, RedisError, ResponseError

# the error codes redis-py strips from the message (redis._parsers.base.EXCEPTION_CLASSES)
_STRIPPED = ("ERR", "OOM", "WRONGPASS", "EXECABORT", "LOADING", "NOSCRIPT", "READONLY", "NOAUTH",
             "NOPERM", "ASK", "TRYAGAIN", "MOVED", "CLUSTERDOWN", "CROSSSLOT", "MASTERDOWN")


def response_error(reply: str) -> ResponseError:
    """The exception redis-py raises for the error reply ``reply``."""
    code = reply.split(" ")[0]
    text = reply[len(code) + 1:] if code in _STRIPPED else reply
    return (NoScriptError if code == "NOSCRIPT" else ResponseError)(text, reply)


class Redis:
    """A connection to one simulated server; see the module docstring."""

    def __init__(self, sim: Any, server_id: str, *, decode_responses: bool = False) -> None:
        self.sim, self.server_id, self.decode_responses = sim, server_id, decode_responses

    def __repr__(self) -> str:
        return f"<ds.redis client of {self.server_id!r}>"

    # -- plumbing ---------------------------------------------------------------------------
    def _server(self) -> Any:
        if self.sim.status(self.server_id) == "crashed":
            raise ConnectionError(f"Redis server {self.server_id!r} is down")
        return self.sim.nodes[self.server_id]

    def encode(self, value: Any) -> str:
        """An argument as redis-py sends it: bytes, str, int or float (never bool or None)."""
        if isinstance(value, bytes):
            return value.decode("utf-8", "surrogateescape")
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(f"Invalid input of type: '{type(value).__name__}'. "
                            "Convert to a bytes, string, int or float first.")
        return repr(value)

    def decode(self, value: Any) -> Any:
        if isinstance(value, str):
            return value if self.decode_responses else value.encode("utf-8", "surrogateescape")
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        return value

    def execute_command(self, *args: Any) -> Any:
        """Send one command; returns the raw reply (decoded as redis-py would, no callback)."""
        words = [self.encode(a) for a in args]
        try:
            value = self._server().execute(*words)
        except RedisError as exc:
            raise response_error(str(exc)) from None
        return self.decode(value)

    # -- strings and keys -------------------------------------------------------------------
    def set(self, name: Any, value: Any, ex: int | None = None, px: int | None = None,
            nx: bool = False, xx: bool = False, keepttl: bool = False, get: bool = False,
            exat: Any = None, pxat: Any = None) -> Any:
        """``SET``: True, or None when NX/XX refuses; with ``get=True`` the old value."""
        if keepttl or exat is not None or pxat is not None:
            raise allowed("keepttl/exat/pxat", (keepttl, exat, pxat), "unset (not simulated)")
        if nx and xx:
            raise DataError("``nx`` and ``xx`` are mutually exclusive.")
        args: list[Any] = ["SET", name, value]
        if ex is not None:
            args += ["EX", ex]
        if px is not None:
            args += ["PX", px]
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        if get:
            args.append("GET")
            return self.execute_command(*args)
        reply = self.execute_command(*args)
        return None if reply is None else True

    def setex(self, name: Any, time: int, value: Any) -> bool:
        return self.execute_command("SETEX", name, time, value) is not None

    def get(self, name: Any) -> Any:
        return self.execute_command("GET", name)

    def delete(self, *names: Any) -> int:
        return self.execute_command("DEL", *names)

    def exists(self, *names: Any) -> int:
        return self.execute_command("EXISTS", *names)

    def incr(self, name: Any, amount: int = 1) -> int:
        return self.execute_command("INCRBY", name, amount)

    incrby = incr

    def pexpire(self, name: Any, time: int) -> bool:
        return bool(self.execute_command("PEXPIRE", name, time))

    def pttl(self, name: Any) -> int:
        return self.execute_command("PTTL", name)

    def type(self, name: Any) -> Any:
        return self.execute_command("TYPE", name)

    def ping(self) -> bool:
        return self.execute_command("PING") is not None

    def time(self) -> tuple[int, int]:
        sec, usec = self._server().execute("TIME")
        return int(sec), int(usec)

    # -- hashes ------------------------------------------------------------------------------
    def hset(self, name: Any, key: Any = None, value: Any = None, mapping: dict[Any, Any] | None = None,
             items: list[Any] | None = None) -> int:
        """``HSET``: the number of fields added (redis-py's signature)."""
        pieces: list[Any] = []
        if key is not None:
            pieces += [key, value]
        for k, v in (mapping or {}).items():
            pieces += [k, v]
        pieces += list(items or [])
        if not pieces:
            raise allowed("hset arguments", (key, value, mapping, items), "at least one field and value")
        return self.execute_command("HSET", name, *pieces)

    def hget(self, name: Any, key: Any) -> Any:
        return self.execute_command("HGET", name, key)

    def hincrby(self, name: Any, key: Any, amount: int = 1) -> int:
        return self.execute_command("HINCRBY", name, key, amount)

    def hdel(self, name: Any, *keys: Any) -> int:
        return self.execute_command("HDEL", name, *keys)

    def hexists(self, name: Any, key: Any) -> bool:
        return bool(self.execute_command("HEXISTS", name, key))

    def hgetall(self, name: Any) -> dict[Any, Any]:
        flat = self.execute_command("HGETALL", name)
        return dict(zip(flat[::2], flat[1::2], strict=True))

    def hlen(self, name: Any) -> int:
        return self.execute_command("HLEN", name)

    # -- scripting ---------------------------------------------------------------------------
    def eval(self, script: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self.execute_command("EVAL", script, numkeys, *keys_and_args)

    def evalsha(self, sha: Any, numkeys: int, *keys_and_args: Any) -> Any:
        return self.execute_command("EVALSHA", sha, numkeys, *keys_and_args)

    def script_load(self, script: Any) -> str:
        sha = self.execute_command("SCRIPT", "LOAD", script)
        return sha.decode() if isinstance(sha, bytes) else sha

    def script_exists(self, *args: Any) -> list[bool]:
        return [bool(x) for x in self.execute_command("SCRIPT", "EXISTS", *args)]

    def script_flush(self) -> bool:
        return self.execute_command("SCRIPT", "FLUSH") is not None

    # -- pub/sub -----------------------------------------------------------------------------
    def publish(self, channel: Any, message: Any) -> int:
        return self.execute_command("PUBLISH", channel, message)

    def pubsub(self) -> PubSub:
        return PubSub(self)


#: How long ``get_message(timeout=None)`` waits at most, in virtual seconds.
WAIT_FOREVER_S = 3600.0


class PubSub:
    """redis-py's ``PubSub`` for the simulated server: messages queue up here on delivery."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.queue: deque[dict[str, Any]] = deque()
        self.channels: list[str] = []

    def _event(self, kind: str, channel: str, data: Any) -> None:
        self.queue.append({"type": kind, "pattern": None, "channel": self.client.decode(channel),
                           "data": data})

    def deliver(self, channel: str, message: str) -> None:
        """Called by the server on ``PUBLISH``."""
        self._event("message", channel, self.client.decode(message))

    def subscribe(self, *channels: Any) -> None:
        server = self.client._server()
        for ch in channels:
            name = self.client.encode(ch)
            n = server.subscribe(self, name)
            if name not in self.channels:
                self.channels.append(name)
            self._event("subscribe", name, n)

    def unsubscribe(self, *channels: Any) -> None:
        server = self.client._server()
        for name in [self.client.encode(c) for c in channels] or list(self.channels):
            n = server.subscribe(self, name, unsubscribe=True)
            if name in self.channels:
                self.channels.remove(name)
            self._event("unsubscribe", name, n)

    def _next(self, ignore_subscribe_messages: bool) -> Any:
        while self.queue:
            msg = self.queue.popleft()
            if ignore_subscribe_messages and msg["type"] in ("subscribe", "unsubscribe"):
                continue
            return msg
        return None

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0) -> Any:
        """The next message, or None, as redis-py's ``PubSub.get_message``.

        ``timeout`` is in seconds of *virtual* time: 0 returns at once; a positive timeout
        drives the simulation until a message arrives or the timeout has elapsed (then ``now``
        is the moment of arrival, or start + timeout); None waits until a message arrives (at
        most :data:`WAIT_FOREVER_S`, one virtual hour, so a run without publishers still ends).
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not math.isfinite(timeout) or timeout < 0):
            raise allowed("timeout", timeout, "a number of seconds >= 0, or None to wait for a message")
        msg = self._next(ignore_subscribe_messages)
        sim = self.client.sim
        if timeout is None:  # block, as redis-py does; here at most one hour of virtual time
            timeout = WAIT_FOREVER_S
        deadline = sim.now + timeout * 1000.0
        while msg is None and deadline - sim.now >= 0.001:  # virtual time counts whole microseconds
            sim.run_until(lambda: bool(self.queue), deadline - sim.now)
            msg = self._next(ignore_subscribe_messages)
        return msg

    def close(self) -> None:
        if self.channels and self.client.sim.status(self.client.server_id) != "crashed":
            self.unsubscribe()
        self.queue.clear()


def client(sim: Any, server_id: str, decode_responses: bool = False) -> Redis:
    """A redis-py-compatible client of the :class:`~dscourse.redis.RedisServer` ``server_id``."""
    return Redis(sim, server_id, decode_responses=decode_responses)
