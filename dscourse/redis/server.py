"""The Redis server node: a keyspace with expiry, plus persistence that survives crashes.

Durability model (Redis docs, "Redis persistence"). A simulated crash is a *host* crash
(power loss, kernel panic, or failing over to a machine that never saw the data): only what
was made durable survives, i.e. ``self.stable``.

* ``persistence="none"``: nothing survives; the counter restarts from 0.
* ``"rdb"``: a snapshot of the whole keyspace every ``rdb_every_ms`` (Redis ``save``
  points); everything written since the last snapshot is lost.
* ``"aof"``: each write is appended to the AOF buffer; ``appendfsync="always"`` makes it
  durable before the reply is sent, so an acknowledged write is never lost;
  ``"everysec"`` fsyncs the buffer once a second (up to about a second of acknowledged
  writes lost); ``"no"`` leaves flushing to the OS (``os_flush_ms``, Linux writes dirty
  pages back after about 30 s).

Lost increments are why ``INCR``-based ids can *repeat* after a restart (seed erratum G7).
On recovery the server rebuilds the keyspace from the snapshot or by replaying the AOF.
Expiry times are absolute times on the node's own clock (``Node.clock()``), so a clock jump
on the server expires keys early or late, as on a real Redis.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from ..errors import DscourseError, allowed
from ..sim import Node
from .messages import Command, Reply

PERSISTENCE = ("none", "rdb", "aof")
APPENDFSYNC = ("always", "everysec", "no")
WRITE_EFFECTS = ("set", "del")


class RedisError(DscourseError):
    """A command error, as Redis would return it (``ERR ...``, ``WRONGTYPE ...``)."""


def _key(value: Any) -> str:
    if not isinstance(value, str):
        raise RedisError(f"ERR key must be a str, got {value!r}")
    return value


def _int_arg(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise RedisError(f"ERR {what} is not an integer or out of range")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise RedisError(f"ERR {what} is not an integer or out of range") from None


class RedisServer(Node):
    """A single Redis instance. Send it ``Command(req, ("INCR", "id"))``; it answers ``Reply``.

    ``execute(*args)`` runs a command directly (for code on the same simulated machine).
    """

    def __init__(self, id: str = "redis", *, persistence: str = "aof",
                 appendfsync: str = "everysec", rdb_every_ms: float = 60_000,
                 os_flush_ms: float = 30_000) -> None:
        super().__init__(id)
        if persistence not in PERSISTENCE:
            raise allowed("persistence", persistence, f"one of {', '.join(PERSISTENCE)}")
        if appendfsync not in APPENDFSYNC:
            raise allowed("appendfsync", appendfsync, f"one of {', '.join(APPENDFSYNC)}")
        for what, v in (("rdb_every_ms", rdb_every_ms), ("os_flush_ms", os_flush_ms)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise allowed(what, v, "a positive number of milliseconds")
        self.persistence, self.appendfsync = persistence, appendfsync
        self.rdb_every_ms, self.os_flush_ms = rdb_every_ms, os_flush_ms
        self.data: dict[str, str] = {}
        self.expires: dict[str, float] = {}
        self.aof_buffer: list[tuple[Any, ...]] = []
        self.commands = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def on_start(self) -> None:
        st = self.stable
        if self.persistence == "rdb" and "rdb" in st:
            self.data, self.expires = dict(st["rdb"][0]), dict(st["rdb"][1])
        elif self.persistence == "aof":
            for effect in st.get("aof", []):
                self._apply(effect)
        if self.persistence == "rdb":
            self.set_timer(self.rdb_every_ms, "bgsave")
        elif self.persistence == "aof" and self.appendfsync != "always":
            self.set_timer(1000 if self.appendfsync == "everysec" else self.os_flush_ms, "fsync")
        self.annotate(role="redis", keys=len(self.data))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "bgsave":
            self.stable["rdb"] = (dict(self.data), dict(self.expires))
            self.set_timer(self.rdb_every_ms, "bgsave")
        elif name == "fsync":
            self._fsync()
            self.set_timer(1000 if self.appendfsync == "everysec" else self.os_flush_ms, "fsync")

    def _fsync(self) -> None:
        if self.aof_buffer:
            self.stable.setdefault("aof", []).extend(self.aof_buffer)
            self.aof_buffer = []

    def on_message(self, src: str, msg: Any) -> None:
        if not isinstance(msg, Command):
            return
        try:
            reply = Reply(msg.req, self.execute(*msg.args))
        except RedisError as exc:
            reply = Reply(msg.req, None, str(exc))
        self.send(src, reply)

    # -- the keyspace ------------------------------------------------------------------------
    def _alive(self, key: str) -> bool:
        at = self.expires.get(key)
        if at is not None and self.clock() >= at:
            self._write(("del", key))
        return key in self.data

    def _apply(self, effect: tuple[Any, ...]) -> None:
        if effect[0] == "set":
            _, key, value, at = effect
            self.data[key] = value
            if at is None:
                self.expires.pop(key, None)
            else:
                self.expires[key] = at
        else:
            self.data.pop(effect[1], None)
            self.expires.pop(effect[1], None)

    def _write(self, effect: tuple[Any, ...]) -> None:
        self._apply(effect)
        if self.persistence == "aof":
            self.aof_buffer.append(effect)
            if self.appendfsync == "always":
                self._fsync()

    def execute(self, *args: Any) -> Any:
        """Run one command and return its reply value (raises :class:`RedisError`)."""
        if not args or not isinstance(args[0], str):
            raise RedisError(f"ERR unknown command {args!r}")
        self.commands += 1
        name, rest = args[0].upper(), args[1:]
        handler = getattr(self, f"_cmd_{name.lower()}", None)
        if handler is None:
            raise RedisError(f"ERR unknown command '{args[0]}', expected one of GET, SET, DEL, "
                             "EXISTS, INCR, INCRBY, PTTL, PEXPIRE")
        try:
            inspect.signature(handler).bind(*rest)
        except TypeError:
            raise RedisError(f"ERR wrong number of arguments for '{name.lower()}' command") from None
        return handler(*rest)

    def _cmd_get(self, key: Any) -> str | None:
        key = _key(key)
        return self.data[key] if self._alive(key) else None

    def _cmd_set(self, key: Any, value: Any, *options: Any) -> str | None:
        """``SET key value [NX|XX] [PX ms|EX s]``: "OK", or None when NX/XX refuses."""
        key = _key(key)
        nx = xx = False
        at: float | None = None
        opts = [o.upper() if isinstance(o, str) else o for o in options]
        i = 0
        while i < len(opts):
            o = opts[i]
            if o == "NX":
                nx = True
            elif o == "XX":
                xx = True
            elif o in ("PX", "EX") and i + 1 < len(opts):
                n = _int_arg(opts[i + 1], "expire time")
                if n <= 0:
                    raise RedisError("ERR invalid expire time in 'set' command")
                at = self.clock() + (n if o == "PX" else 1000 * n)
                i += 1
            else:
                raise RedisError("ERR syntax error")
            i += 1
        if nx and xx:
            raise RedisError("ERR syntax error")
        exists = self._alive(key)
        if (nx and exists) or (xx and not exists):
            return None
        self._write(("set", key, str(value), at))
        return "OK"

    def _cmd_del(self, *keys: Any) -> int:
        n = 0
        for key in keys:
            if self._alive(_key(key)):
                self._write(("del", key))
                n += 1
        return n

    def _cmd_exists(self, *keys: Any) -> int:
        return sum(self._alive(_key(k)) for k in keys)

    def _cmd_incrby(self, key: Any, increment: Any) -> int:
        key = _key(key)
        inc = _int_arg(increment, "increment")
        old = self.data[key] if self._alive(key) else "0"
        value = _int_arg(old, "value") + inc
        if not -(1 << 63) <= value < (1 << 63):
            raise RedisError("ERR increment or decrement would overflow")
        self._write(("set", key, str(value), self.expires.get(key)))
        return value

    def _cmd_incr(self, key: Any) -> int:
        return self._cmd_incrby(key, 1)

    def _cmd_pttl(self, key: Any) -> int:
        key = _key(key)
        if not self._alive(key):
            return -2
        at = self.expires.get(key)
        return -1 if at is None else max(0, math.ceil(at - self.clock()))

    def _cmd_pexpire(self, key: Any, ms: Any) -> int:
        key = _key(key)
        n = _int_arg(ms, "timeout")
        if not self._alive(key):
            return 0
        self._write(("set", key, self.data[key], self.clock() + n))
        return 1
