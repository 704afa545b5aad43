"""dscourse.locks: distributed locks on the simulated Redis, and what makes them safe (Chapter 9).

* recipes (:mod:`.clients`): :class:`NaiveLock` (``SETNX`` + ``DEL``), :class:`TokenLock`
  (``SET NX PX`` + token + Lua compare-and-delete), :class:`RLockClient` (Redisson's
  ``RLock`` with its scripts, watchdog and pub/sub wake-ups), :class:`RedlockClient`;
* :class:`FencedResource`, a storage service that rejects stale fencing tokens;
* :class:`Audit`, the mutual-exclusion checker (overlapping *believed* ownership, accepted
  stale writes);
* :func:`cluster`, the lock arena: clients, Redis servers (optionally a replica for failover)
  and the resource, with ``pause``, ``clock_jump`` and ``failover``;
* ``scenarios.arena`` and ``labs.arena_lab``: the chapter's lock arena; ``zk.zk_pause``: the ZooKeeper
  lock (``ds.zk``'s ``Lock``) under a pause longer than the session timeout; ``zkrw``: ZooKeeper
  mutex and read/write lock with many waiters, and the herd effect (``labs.herd_figure``);
  ``etcd``: etcd's lease lock on ``ds.zk.etcd_lite``; ``db``: database locks on real SQLite;
  ``realproc``: the real-process SIGSTOP lab on a real redis-server; ``exercises``: the
  harnesses of E9.1-E9.4 (all loaded on first use).
"""

from .._lazy import lazy
from .audit import Audit, Holding, WriteRecord
from .clients import ACQUIRE_FENCED, LockClient, NaiveLock, RedlockClient, RLockClient, TokenLock
from .cluster import RECIPES, LockCluster, cluster
from .messages import Write, WriteResult
from .resource import FencedResource

__all__ = ["ACQUIRE_FENCED", "RECIPES", "Audit", "FencedResource", "Holding", "LockClient", "LockCluster",
           "NaiveLock", "RLockClient", "RedlockClient", "TokenLock", "Write", "WriteRecord", "WriteResult",
           "cluster"]

__getattr__, __dir__ = lazy(__name__, globals(),
                            ("labs", "scenarios", "zk", "zkrw", "etcd", "db", "realproc", "exercises"))
