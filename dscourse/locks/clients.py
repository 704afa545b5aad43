"""Lock clients on the simulated Redis: the recipes of Chapter 9, from naive to Redlock.

Each client loops: acquire, *believe* it holds the lock, work for ``work_ms``, write to the
resource with its fencing token, release, think, repeat. What it believes and what it wrote
go to the :class:`~dscourse.locks.audit.Audit`. Recipes (Redis docs, "Distributed Locks with
Redis"; Redisson docs, "Locks and synchronizers"):

* :class:`NaiveLock`: ``SETNX`` then a separate ``PEXPIRE``, released by ``DEL``: a client whose
  lease ran out deletes the next holder's lock.
* :class:`TokenLock`: ``SET key token NX PX lease`` (one atomic command, here inside a script
  that also ``INCR``\\ s the fencing counter), released by the Lua compare-and-delete
  (``release="del"`` switches to the naive ``DEL`` for the lab's toggle).
* :class:`RLockClient`: Redisson's ``RLock``: the reentrant hash ``{owner: count}`` and Redisson's
  own scripts, a watchdog renewing every lease/3 while the client lives (seed erratum F2),
  and a pub/sub wake-up on the unlock channel instead of polling.
* :class:`RedlockClient`: Redlock over N independent masters: a majority of ``SET NX PX``
  *and* elapsed < TTL; validity = TTL - elapsed - drift (TTL x 1% + 2 ms); on failure it
  releases every instance (seed erratum F1). It has no fencing token.

The fencing token comes from ``INCR`` of a counter on the lock's Redis, atomically with the
acquisition where the recipe allows it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from ..errors import allowed
from ..redis import (
    COMPARE_AND_DELETE,
    REDISSON_LOCK,
    REDISSON_RENEW,
    REDISSON_UNLOCK,
    REDISSON_UNLOCK_MESSAGE,
    Command,
    Published,
    Reply,
)
from ..sim import Node
from .audit import Audit
from .messages import Write, WriteResult

# SET NX PX and the fencing counter's INCR in one atomic step.
ACQUIRE_FENCED = ("if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
                  "return redis.call('incr', KEYS[2]) end return false")
RELEASES = ("lua", "del")


class LockClient(Node, ABC):
    """The acquire / work / write / release loop shared by every recipe (module docstring)."""

    def __init__(self, id: str, *, redis: tuple[str, ...] = ("redis",), audit: Audit,
                 resource: str = "storage", key: str = "lock", lease_ms: float = 100.0,
                 work_ms: float = 30.0, think_ms: float = 20.0, retry_ms: float = 10.0,
                 timeout_ms: float = 50.0, rounds: int | None = None) -> None:
        super().__init__(id)
        for what, v in (("lease_ms", lease_ms), ("work_ms", work_ms), ("think_ms", think_ms),
                        ("retry_ms", retry_ms), ("timeout_ms", timeout_ms)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise allowed(what, v, "a positive number of ms")
        if not redis:
            raise allowed("redis", redis, "at least one Redis server id")
        self.redis, self.audit, self.resource, self.key = tuple(redis), audit, resource, key
        self.fence_key = f"{key}:fence"
        self.lease_ms, self.work_ms, self.think_ms = lease_ms, work_ms, think_ms
        self.retry_ms, self.timeout_ms, self.rounds = retry_ms, timeout_ms, rounds
        self.req = 0
        self.pending: dict[int, tuple[str, Any]] = {}
        self.done = 0
        self.token: int | None = None
        self.phase = "idle"

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def server(self) -> str:
        """The Redis this client talks to (a failover points every client at the new master)."""
        return self.redis[0]

    def command(self, server: str, args: tuple[Any, ...], on: str, ctx: Any = None) -> int:
        self.req += 1
        self.pending[self.req] = (on, ctx)
        self.send(server, Command(self.req, args))
        self.set_timer(self.timeout_ms, "timeout", self.req)
        return self.req

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Reply | WriteResult):
            entry = self.pending.pop(msg.req, None)
            if entry is not None:
                getattr(self, f"on_{entry[0]}")(msg, entry[1])
        elif isinstance(msg, Published):
            self.on_published(msg)

    def on_published(self, msg: Published) -> None:
        pass

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "timeout":
            entry = self.pending.pop(payload, None)
            if entry is not None:
                getattr(self, f"on_{entry[0]}")(Reply(payload, None, "timeout"), entry[1])
        else:
            getattr(self, f"tick_{name}")(payload)

    # -- the loop -----------------------------------------------------------------------------
    def on_start(self) -> None:
        self.set_timer(float(self.rng.uniform(0, self.think_ms)), "try")

    def tick_try(self, _: Any) -> None:
        if self.rounds is not None and self.done >= self.rounds:
            return
        self.phase = "acquiring"
        self.acquire()

    def granted(self, token: int | None) -> None:
        """The lock is believed held from now (``token`` may arrive later: :meth:`set_token`)."""
        self.phase = "holding"
        self.token = token
        self.audit.acquired(self.id, self.now, token, self.lease_ms)
        self.annotate(holds=True, token=token)
        self.set_timer(self.work_ms, "work")

    def denied(self) -> None:
        self.phase = "idle"
        self.set_timer(float(self.rng.uniform(0.5, 1.5)) * self.retry_ms, "try")

    def tick_work(self, _: Any) -> None:
        wid = self.audit.sent(self.id, self.now, self.token)
        self.req += 1
        self.pending[self.req] = ("written", None)
        self.send(self.resource, Write(self.req, self.id, self.token, wid, f"{self.id}#{self.done}"))
        self.set_timer(self.timeout_ms, "timeout", self.req)

    def on_written(self, msg: Any, _: Any) -> None:
        self.phase = "releasing"
        self.audit.released(self.id, self.now)
        self.annotate(holds=False)
        self.done += 1
        self.release()

    def released(self) -> None:
        self.phase = "idle"
        self.set_timer(float(self.rng.uniform(0.5, 1.5)) * self.think_ms, "try")

    def on_crash(self) -> None:
        self.audit.released(self.id, self.now)

    # -- the recipe -----------------------------------------------------------------------------
    @abstractmethod
    def acquire(self) -> None:
        """Start one attempt to take the lock (the recipe's first step)."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock back after the critical section."""

    def on_ignored(self, msg: Reply, _: Any) -> None:
        pass


class NaiveLock(LockClient):
    """``SETNX`` + ``PEXPIRE`` (two commands) and ``DEL``: the recipe the seed starts from."""

    def acquire(self) -> None:
        self.command(self.server, ("SETNX", self.key, self.id), "setnx")

    def on_setnx(self, msg: Reply, _: Any) -> None:
        if msg.value != 1:
            self.denied()
            return
        self.command(self.server, ("PEXPIRE", self.key, int(self.lease_ms)), "ignored")
        self.granted(None)
        self.command(self.server, ("INCR", self.fence_key), "token")

    def on_token(self, msg: Reply, _: Any) -> None:
        if msg.error is None and self.audit.holding(self.id) is not None:
            self.token = int(msg.value)
            self.audit.set_token(self.id, self.token)

    def release(self) -> None:
        self.command(self.server, ("DEL", self.key), "del")

    def on_del(self, msg: Reply, _: Any) -> None:
        self.released()


class TokenLock(LockClient):
    """``SET key token NX PX`` with the fencing ``INCR`` in one script; compare-and-delete release."""

    def __init__(self, id: str, *, release: str = "lua", **kw: Any) -> None:
        super().__init__(id, **kw)
        if release not in RELEASES:
            raise allowed("release", release, f"one of {', '.join(RELEASES)}")
        self.release_by = release
        self.value = ""

    def acquire(self) -> None:
        self.value = f"{self.id}:{self.done}"
        self.command(self.server, ("EVAL", ACQUIRE_FENCED, 2, self.key, self.fence_key, self.value,
                                   int(self.lease_ms)), "set")

    def on_set(self, msg: Reply, _: Any) -> None:
        if msg.error is None and msg.value is not None:
            self.granted(int(msg.value))
        else:
            self.denied()

    def release(self) -> None:
        if self.release_by == "del":
            self.command(self.server, ("DEL", self.key), "del")
        else:
            self.command(self.server, ("EVAL", COMPARE_AND_DELETE, 1, self.key, self.value), "del")

    def on_del(self, msg: Reply, _: Any) -> None:
        self.released()


class RLockClient(LockClient):
    """Redisson's ``RLock`` (``RedissonLock``): reentrant hash, watchdog, pub/sub wake-ups.

    ``depth`` nested ``lock()`` calls per round need ``depth`` unlocks. With ``watchdog=True``
    (Redisson's default when no ``leaseTime`` is given) a renewal runs every ``lease_ms / 3``
    while this client lives and holds the lock; a pause longer than the lease loses it.
    """

    def __init__(self, id: str, *, watchdog: bool = True, depth: int = 1, **kw: Any) -> None:
        super().__init__(id, **kw)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise allowed("depth", depth, "an int >= 1")
        self.watchdog, self.depth = watchdog, depth
        self.owner = f"{id}:1"  # Redisson's "<client uuid>:<thread id>" (seed erratum F5)
        self.channel = f"redisson_lock__channel:{{{self.key}}}"
        self.held = 0
        self.renewals = 0
        self.subscribed = False
        self.renew_timer: int | None = None
        self.wait_timer: int | None = None

    def acquire(self) -> None:
        self.command(self.server, ("EVAL", REDISSON_LOCK, 1, self.key, int(self.lease_ms), self.owner), "lock")

    def on_lock(self, msg: Reply, _: Any) -> None:
        if msg.error is not None:
            self.denied()
        elif msg.value is None:
            self.held += 1
            if self.held < self.depth:
                self.acquire()  # reentrant: the same owner locks again
                return
            self.granted(None)
            self.command(self.server, ("INCR", self.fence_key), "token")
            if self.watchdog:
                self.renew_timer = self.set_timer(self.lease_ms / 3, "renew")
        else:  # the holder's remaining TTL: wait for the unlock message, or that long
            self.phase = "waiting"
            if not self.subscribed:
                self.subscribed = True
                self.command(self.server, ("SUBSCRIBE", self.channel), "ignored")
            self.wait_timer = self.set_timer(max(1.0, float(msg.value)), "try")

    def on_published(self, msg: Published) -> None:
        if msg.channel == self.channel and self.phase == "waiting":
            if self.wait_timer is not None:
                self.cancel_timer(self.wait_timer)
            self.wait_timer = None
            self.tick_try(None)

    def on_token(self, msg: Reply, _: Any) -> None:
        if msg.error is None and self.audit.holding(self.id) is not None:
            self.token = int(msg.value)
            self.audit.set_token(self.id, self.token)

    def tick_renew(self, _: Any) -> None:
        self.renew_timer = None
        if self.held:
            self.command(self.server, ("EVAL", REDISSON_RENEW, 1, self.key, int(self.lease_ms), self.owner), "renew")

    def on_renew(self, msg: Reply, _: Any) -> None:
        if msg.value == 1 and self.held:
            self.renewals += 1
            self.audit.renewals.append((self.now, self.id))
            self.renew_timer = self.set_timer(self.lease_ms / 3, "renew")

    def release(self) -> None:
        self.command(self.server, ("EVAL", REDISSON_UNLOCK, 2, self.key, self.channel, REDISSON_UNLOCK_MESSAGE,
                                   int(self.lease_ms), self.owner), "unlock")

    def on_unlock(self, msg: Reply, _: Any) -> None:
        self.held = max(0, self.held - 1)
        if msg.value == 0 and self.held:
            self.release()  # still held reentrantly: unlock again
            return
        self.held = 0
        if self.renew_timer is not None:
            self.cancel_timer(self.renew_timer)
            self.renew_timer = None
        self.released()


class RedlockClient(LockClient):
    """Redlock (Redis docs, "The Redlock Algorithm") over the independent masters ``redis``."""

    def __init__(self, id: str, *, drift_factor: float = 0.01, **kw: Any) -> None:
        super().__init__(id, **kw)
        self.drift_factor = drift_factor
        self.value = ""
        self.started = 0.0
        self.acks: set[str] = set()
        self.answers = 0
        self.validity = 0.0

    @property
    def quorum(self) -> int:
        return len(self.redis) // 2 + 1

    def acquire(self) -> None:
        self.value = f"{self.id}:{self.done}:{self.req}"
        self.started = self.clock()  # step 1: the current time, on this client's clock
        self.acks, self.answers = set(), 0
        for server in self.redis:  # step 2: SET NX PX on every instance, each with a short timeout
            self.command(server, ("SET", self.key, self.value, "NX", "PX", int(self.lease_ms)), "set", server)

    def on_set(self, msg: Reply, server: str) -> None:
        if self.phase != "acquiring":
            return
        self.answers += 1
        if msg.error is None and msg.value is not None:
            self.acks.add(server)
        if self.answers < len(self.redis):
            return
        validity = self.decide(len(self.acks), len(self.redis), self.clock() - self.started)
        self.validity = validity if validity is not None else 0.0
        if validity is not None:
            self.granted(None)
        else:  # step 5: unlock every instance, even those that seemed to refuse
            self.unlock_all()
            self.denied()

    def decide(self, acks: int, n: int, elapsed: float) -> float | None:
        """Steps 3-4: the lock's validity (ms) if ``acks`` of ``n`` instances are a majority and
        validity = TTL - elapsed - drift (TTL x drift_factor + 2 ms) remains; else None."""
        validity = self.lease_ms - elapsed - (self.lease_ms * self.drift_factor + 2)
        return validity if acks >= n // 2 + 1 and validity > 0 else None

    def unlock_all(self) -> None:
        for server in self.redis:
            self.command(server, ("EVAL", COMPARE_AND_DELETE, 1, self.key, self.value), "ignored")

    def release(self) -> None:
        self.unlock_all()
        self.released()
