"""dscourse.redis: a minimal single-node Redis emulator running as a ``dscourse.sim`` node.

Strings with virtual-time expiry (``GET``, ``SET`` with ``NX``/``XX``/``PX``/``EX``, ``DEL``,
``EXISTS``, ``PTTL``, ``PEXPIRE``, ``INCR``, ``INCRBY``) and the persistence modes whose crash
semantics matter: none, RDB snapshots every T, and AOF with ``appendfsync`` ``always``,
``everysec`` or ``no``. Chapter 10 uses it for ``INCR`` ids (and shows how a crash repeats
them); Chapter 9's locks extend it (``SET NX PX``, compare-and-delete).

To extend it, subclass :class:`RedisServer` and add a method ``_cmd_<name>(self, *args)`` per
command (``execute`` dispatches on the name and checks the arity); write through ``_write``
with a ``("set", key, value, expire_at)`` or ``("del", key)`` effect so that persistence and
crash recovery cover the new command too.
"""

from .messages import Command, Reply
from .server import APPENDFSYNC, PERSISTENCE, RedisError, RedisServer

__all__ = ["APPENDFSYNC", "PERSISTENCE", "Command", "RedisError", "RedisServer", "Reply"]
