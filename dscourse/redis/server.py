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

from ..errors import allowed
from ..sim import Node
from .lua import LuaEngine
from .messages import Command, Published, Replicate, Reply
from .values import RedisError, Status

PERSISTENCE = ("none", "rdb", "aof")
APPENDFSYNC = ("always", "everysec", "no")
WRITE_EFFECTS = ("set", "del")
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_IN_SCRIPTS = ("subscribe", "unsubscribe")


def _key(value: Any) -> str:
    if not isinstance(value, str):
        raise RedisError(f"ERR key must be a str, got {value!r}")
    return value


def _int_arg(value: Any, what: str = "value") -> int:
    """An integer argument, or Redis's own ``ERR value is not an integer or out of range``."""
    if isinstance(value, bool):
        raise RedisError(NOT_INTEGER)
    if isinstance(value, int):
        return value
    try:
        text = str(value)
        if text != text.strip() or (len(text) > 1 and text.lstrip("-").startswith("0")):
            raise ValueError(text)
        return int(text)
    except ValueError:
        raise RedisError(NOT_INTEGER) from None


class RedisServer(Node):
    """A single Redis instance. Send it ``Command(req, ("INCR", "id"))``; it answers ``Reply``.

    ``execute(*args)`` runs a command directly (for code on the same simulated machine).
    """

    def __init__(self, id: str = "redis", *, persistence: str = "aof",
                 appendfsync: str = "everysec", rdb_every_ms: float = 60_000,
                 os_flush_ms: float = 30_000, replicas: tuple[str, ...] = (),
                 repl_every_ms: float = 0.0) -> None:
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
        # asynchronous replication (Redis docs, "Redis replication"): every write effect is
        # streamed to the replicas after the client's reply, so a failover can lose it
        # streamed to the replicas after the client's reply, so a failover can lose it; with
        # ``repl_every_ms`` > 0 effects wait in the master's output buffer for that long and
        # die with it in a crash
        self.replicas = tuple(replicas)
        if isinstance(repl_every_ms, bool) or not isinstance(repl_every_ms, (int, float)) or not repl_every_ms >= 0:
            raise allowed("repl_every_ms", repl_every_ms, "a number of ms >= 0")
        self.repl_every_ms = repl_every_ms
        self.repl_buffer: list[tuple[Any, ...]] = []
        self.data: dict[str, str | dict[str, str]] = {}
        self.expires: dict[str, float] = {}
        self.aof_buffer: list[tuple[Any, ...]] = []
        self.commands = 0
        # connections do not survive a crash: subscribers and the script cache start empty
        self.subscribers: dict[str, list[Any]] = {}
        self._lua: LuaEngine | None = None

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
        elif name == "replicate":
            for effect in self.repl_buffer:
                for replica in self.replicas:
                    self.send(replica, Replicate(effect))
            self.repl_buffer = []
        elif name == "fsync":
            self._fsync()
            self.set_timer(1000 if self.appendfsync == "everysec" else self.os_flush_ms, "fsync")

    def _fsync(self) -> None:
        if self.aof_buffer:
            self.stable.setdefault("aof", []).extend(self.aof_buffer)
            self.aof_buffer = []

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Replicate):
            self._write(msg.effect)
            return
        if not isinstance(msg, Command):
            return
        try:
            name = msg.args[0].lower() if msg.args and isinstance(msg.args[0], str) else ""
            if name in NOT_IN_SCRIPTS:
                reply = Reply(msg.req, self.subscribe(src, *msg.args[1:], unsubscribe=name == "unsubscribe"))
            else:
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
            self.data[key] = dict(value) if isinstance(value, dict) else value
            if at is None:
                self.expires.pop(key, None)
            else:
                self.expires[key] = at
        else:
            self.data.pop(effect[1], None)
            self.expires.pop(effect[1], None)

    def _write(self, effect: tuple[Any, ...]) -> None:
        if effect[0] == "set" and isinstance(effect[2], dict):
            effect = (effect[0], effect[1], dict(effect[2]), effect[3])  # a snapshot for the AOF
        self._apply(effect)
        if self.persistence == "aof":
            self.aof_buffer.append(effect)
            if self.appendfsync == "always":
                self._fsync()
        if not self.replicas:
            return
        if self.repl_every_ms <= 0:
            for replica in self.replicas:
                self.send(replica, Replicate(effect))
            return
        if not self.repl_buffer:
            self.set_timer(self.repl_every_ms, "replicate")
        self.repl_buffer.append(effect)

    def execute(self, *args: Any, from_script: bool = False) -> Any:
        """Run one command and return its reply value (raises :class:`RedisError`).

        Replies: ``str`` (bulk string), :class:`Status` (status reply such as ``OK``), ``int``,
        ``None`` (nil) and ``list`` (array), as Redis's RESP2 protocol has them.
        """
        if not args or not isinstance(args[0], str):
            if from_script:
                raise RedisError("ERR Unknown Redis command called from script")
            raise RedisError(f"ERR unknown command {args!r}")
        self.commands += 1
        name, rest = args[0].lower(), args[1:]
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None or (from_script and name in ("eval", "evalsha", "script")):
            if from_script:
                raise RedisError("ERR Unknown Redis command called from script")
            words = " ".join(f"'{a}'" for a in rest)
            raise RedisError(f"ERR unknown command '{args[0]}', with args beginning with: {words} ")
        try:
            inspect.signature(handler).bind(*rest)
        except TypeError:
            if from_script:
                raise RedisError("ERR Wrong number of args calling Redis command from script") from None
            raise RedisError(f"ERR wrong number of arguments for '{name}' command") from None
        return handler(*rest)

    # -- typed access --------------------------------------------------------------------------
    def _string(self, key: str) -> str | None:
        if not self._alive(key):
            return None
        value = self.data[key]
        if not isinstance(value, str):
            raise RedisError(WRONGTYPE)
        return value

    def _hash(self, key: str) -> dict[str, str]:
        """The hash at ``key`` (a new empty one when missing); WRONGTYPE for a string."""
        if not self._alive(key):
            return {}
        value = self.data[key]
        if not isinstance(value, dict):
            raise RedisError(WRONGTYPE)
        return value

    def _cmd_get(self, key: Any) -> str | None:
        return self._string(_key(key))

    def _cmd_set(self, key: Any, value: Any, *options: Any) -> str | None:
        """``SET key value [NX|XX] [GET] [PX ms|EX s]``: "OK", or None when NX/XX refuses.

        With ``GET`` the reply is the old value (nil when there was none) instead of "OK".
        """
        key = _key(key)
        nx = xx = get = False
        at: float | None = None
        opts = [o.upper() if isinstance(o, str) else o for o in options]
        i = 0
        while i < len(opts):
            o = opts[i]
            if o == "NX":
                nx = True
            elif o == "XX":
                xx = True
            elif o == "GET":
                get = True
            elif o in ("PX", "EX") and i + 1 < len(opts) and at is None:
                n = _int_arg(opts[i + 1])
                if n <= 0:
                    raise RedisError("ERR invalid expire time in 'set' command")
                at = self.clock() + (n if o == "PX" else 1000 * n)
                i += 1
            else:
                raise RedisError("ERR syntax error")
            i += 1
        if nx and xx:
            raise RedisError("ERR syntax error")
        old = self._string(key) if get else None
        exists = self._alive(key)
        if (nx and exists) or (xx and not exists):
            return old if get else None
        self._write(("set", key, str(value), at))
        return old if get else Status("OK")

    def _cmd_setnx(self, key: Any, value: Any) -> int:
        """``SETNX key value``: 1 if set, 0 if the key exists (no expiry: the naive lock)."""
        return 0 if self._cmd_set(key, value, "NX") is None else 1

    def _cmd_setex(self, key: Any, seconds: Any, value: Any) -> str:
        n = _int_arg(seconds)
        if n <= 0:
            raise RedisError("ERR invalid expire time in 'setex' command")
        self._write(("set", _key(key), str(value), self.clock() + 1000 * n))
        return Status("OK")

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
        inc = _int_arg(increment)
        old = self._string(key)
        value = _int_arg("0" if old is None else old) + inc
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
        """``PEXPIRE key ms``: 1, or 0 when the key is missing; ``ms <= 0`` deletes the key."""
        key = _key(key)
        n = _int_arg(ms)
        if not self._alive(key):
            return 0
        if n <= 0:
            self._write(("del", key))
        else:
            self._write(("set", key, self.data[key], self.clock() + n))
        return 1

    def _cmd_ping(self, *message: Any) -> str:
        if len(message) > 1:
            raise RedisError("ERR wrong number of arguments for 'ping' command")
        return str(message[0]) if message else Status("PONG")

    def _cmd_time(self) -> list[str]:
        """``TIME``: this node's clock as [seconds, microseconds] (strings, as Redis replies)."""
        us = int(self.clock() * 1000)
        return [str(us // 1_000_000), str(us % 1_000_000)]

    def _cmd_type(self, key: Any) -> str:
        key = _key(key)
        if not self._alive(key):
            return Status("none")
        return Status("hash" if isinstance(self.data[key], dict) else "string")

    # -- hashes (Redis docs, "Redis hashes") ------------------------------------------------------
    def _hwrite(self, key: str, h: dict[str, str]) -> None:
        if h:
            self._write(("set", key, h, self.expires.get(key)))
        elif key in self.data:
            self._write(("del", key))

    def _cmd_hset(self, key: Any, *pairs: Any) -> int:
        """``HSET key field value [field value ...]``: the number of fields added."""
        key = _key(key)
        if not pairs or len(pairs) % 2:
            raise RedisError("ERR wrong number of arguments for 'hset' command")
        h = dict(self._hash(key))
        added = 0
        for f, v in zip(pairs[::2], pairs[1::2], strict=True):
            added += str(f) not in h
            h[str(f)] = str(v)
        self._hwrite(key, h)
        return added

    def _cmd_hget(self, key: Any, field: Any) -> str | None:
        return self._hash(_key(key)).get(str(field))

    def _cmd_hexists(self, key: Any, field: Any) -> int:
        return int(str(field) in self._hash(_key(key)))

    def _cmd_hdel(self, key: Any, field: Any, *fields: Any) -> int:
        key = _key(key)
        h = dict(self._hash(key))
        n = 0
        for f in (field, *fields):
            n += h.pop(str(f), None) is not None
        if n:
            self._hwrite(key, h)
        return n

    def _cmd_hgetall(self, key: Any) -> list[str]:
        return [x for pair in self._hash(_key(key)).items() for x in pair]

    def _cmd_hlen(self, key: Any) -> int:
        return len(self._hash(_key(key)))

    def _cmd_hincrby(self, key: Any, field: Any, increment: Any) -> int:
        key = _key(key)
        inc = _int_arg(increment)
        h = dict(self._hash(key))
        try:
            old = _int_arg(h.get(str(field), "0"))
        except RedisError:
            raise RedisError("ERR hash value is not an integer") from None
        value = old + inc
        if not -(1 << 63) <= value < (1 << 63):
            raise RedisError("ERR increment or decrement would overflow")
        h[str(field)] = str(value)
        self._hwrite(key, h)
        return value

    # -- pub/sub (Redis docs, "Redis Pub/Sub": at-most-once, to whoever is subscribed now) ------
    def subscribe(self, subscriber: Any, *channels: Any, unsubscribe: bool = False) -> int:
        """(Un)subscribe a node id, or an object with ``deliver(channel, message)``.

        Returns how many channels ``subscriber`` is subscribed to afterwards.
        """
        if not channels and not unsubscribe:
            raise RedisError("ERR wrong number of arguments for 'subscribe' command")
        for ch in (channels or [c for c, subs in self.subscribers.items() if subscriber in subs]):
            subs = self.subscribers.setdefault(str(ch), [])
            if unsubscribe and subscriber in subs:
                subs.remove(subscriber)
            elif not unsubscribe and subscriber not in subs:
                subs.append(subscriber)
        return sum(subscriber in subs for subs in self.subscribers.values())

    def _cmd_publish(self, channel: Any, message: Any) -> int:
        """``PUBLISH channel message``: the number of subscribers it was delivered to."""
        subs = list(self.subscribers.get(str(channel), ()))
        for sub in subs:
            if isinstance(sub, str):
                self.send(sub, Published(str(channel), str(message)))
            else:
                sub.deliver(str(channel), str(message))
        return len(subs)

    # -- scripting (Redis docs, "Scripting with Lua") ---------------------------------------------
    @property
    def lua(self) -> LuaEngine:
        if self._lua is None:
            self._lua = LuaEngine(self.execute)
        return self._lua

    def _script_args(self, numkeys: Any, args: tuple[Any, ...]) -> tuple[list[str], list[str]]:
        n = _int_arg(numkeys)
        if n < 0:
            raise RedisError("ERR Number of keys can't be negative")
        if n > len(args):
            raise RedisError("ERR Number of keys can't be greater than number of args")
        return [str(a) for a in args[:n]], [str(a) for a in args[n:]]

    def _cmd_eval(self, script: Any, numkeys: Any, *args: Any) -> Any:
        """``EVAL script numkeys key... arg...``: runs atomically (this whole event)."""
        keys, argv = self._script_args(numkeys, args)
        return self.lua.run(self.lua.load(str(script)), keys, argv)

    def _cmd_evalsha(self, sha: Any, numkeys: Any, *args: Any) -> Any:
        keys, argv = self._script_args(numkeys, args)
        return self.lua.run(str(sha).lower(), keys, argv)

    def _cmd_script(self, sub: Any, *args: Any) -> Any:
        """``SCRIPT LOAD body`` / ``SCRIPT EXISTS sha...`` / ``SCRIPT FLUSH``."""
        what = str(sub).upper()
        if what == "LOAD" and len(args) == 1:
            return self.lua.load(str(args[0]))
        if what == "EXISTS" and args:
            return [int(str(a).lower() in self.lua.scripts) for a in args]
        if what == "FLUSH" and len(args) <= 1:
            self._lua = None
            return Status("OK")
        raise RedisError(f"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try SCRIPT HELP.")
