"""dscourse.redis: a single-node Redis emulator running as a ``dscourse.sim`` node.

Strings with virtual-time expiry (``GET``, ``SET`` with ``NX``/``XX``/``PX``/``EX``/``GET``,
``SETEX``, ``DEL``, ``EXISTS``, ``PTTL``, ``PEXPIRE``, ``INCR``, ``INCRBY``), hashes (``HSET``,
``HGET``, ``HINCRBY``, ``HDEL``, ``HEXISTS``, ``HGETALL``, ``HLEN``), pub/sub (``PUBLISH``,
``SUBSCRIBE``), and ``EVAL``/``EVALSHA``/``SCRIPT LOAD`` running real Lua 5.1 (through
``lupa``) atomically, with Redis's conversion rules. Persistence modes whose crash semantics
matter: none, RDB snapshots every T, and AOF with ``appendfsync`` ``always``, ``everysec``
or ``no``. Chapter 10 uses it for ``INCR`` ids; Chapter 9's locks for ``SET NX PX``, Lua
compare-and-delete and Redisson's scripts. ``client(sim, "redis")`` is a redis-py-compatible
client; ``tests/real`` checks the replies and errors against a real ``redis-server``.

To extend it, subclass :class:`RedisServer` and add a method ``_cmd_<name>(self, *args)`` per
command (``execute`` dispatches on the name and checks the arity); write through ``_write``
with a ``("set", key, value, expire_at)`` or ``("del", key)`` effect so that persistence and
crash recovery cover the new command too.
"""

from .client import PubSub, Redis, client, response_error
from .messages import Command, Published, Replicate, Reply
from .scripts import (
                      COMPARE_AND_DELETE,
                      REDISSON_LOCK,
                      REDISSON_RENEW,
                      REDISSON_UNLOCK,
                      REDISSON_UNLOCK_MESSAGE,
                      SCG_RATE_LIMITER,
)
from .server import APPENDFSYNC, PERSISTENCE, RedisServer
from .values import DataError, NoScriptError, RedisError, ResponseError, Status

__all__ = ["APPENDFSYNC", "COMPARE_AND_DELETE", "PERSISTENCE", "REDISSON_LOCK", "REDISSON_RENEW", "REDISSON_UNLOCK",
           "REDISSON_UNLOCK_MESSAGE", "SCG_RATE_LIMITER", "Command", "DataError", "NoScriptError", "PubSub",
           "Published", "Redis", "RedisError", "RedisServer", "Replicate", "Reply", "ResponseError", "Status",
           "client", "response_error"]
