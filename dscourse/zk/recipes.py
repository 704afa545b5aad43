"""Recipes on the kazoo API: the lock and the leader election (ZooKeeper Recipes, "Locks" and
"Leader Election"; kazoo's ``kazoo.recipe.lock.Lock`` and ``kazoo.recipe.election.Election``).

Each contender creates an ephemeral sequential node ``<path>/<random>__lock__<seq>`` holding its
identifier and watches only its predecessor, so a release wakes one waiter (no herd effect:
seed erratum E14). When the predecessor goes, the waiter lists the children again rather than
assuming it is first: the predecessor may have been a waiter whose session expired (E13).
On a real server, ``ds.zk.connect(...)`` returns kazoo's own client, whose ``Lock`` and
``Election`` are kazoo's; code that uses them runs unchanged on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import LockTimeout, NoNodeError

NODE_NAME = "__lock__"


def _sequence(name: str) -> int:
    return int(name[-10:])


class Lock:
    """``client.Lock(path, identifier)``: ``acquire(blocking=True, timeout=None)``, ``release()``,
    ``contenders()``, ``is_acquired``; a context manager."""

    def __init__(self, client: Any, path: str, identifier: str | None = None) -> None:
        self.client = client
        self.path = path.rstrip("/") or "/"
        self.data = str(identifier or "").encode("utf-8")
        self.node: str | None = None
        self.is_acquired = False
        self._woken = False

    def _prefix(self) -> str:
        # kazoo uses uuid4().hex; here the client process's own random stream (deterministic)
        return self.client._node.rng.bytes(16).hex() + NODE_NAME

    def _sorted(self) -> list[str]:
        children = [c for c in self.client.get_children(self.path) if NODE_NAME in c]
        return sorted(children, key=_sequence)

    def _wake(self, event: Any) -> None:
        self._woken = True

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; with ``blocking`` wait (driving the simulation) up to ``timeout`` s."""
        if self.is_acquired:
            return True
        self.client.ensure_path(self.path)
        self.node = self.client.create(f"{self.path}/{self._prefix()}", self.data, ephemeral=True, sequence=True)
        mine = self.node.rsplit("/", 1)[1]
        waited = 0.0
        while True:
            children = self._sorted()
            if mine not in children:  # our session expired and took the node with it
                self.node = None
                raise NoNodeError(f"{self.path}/{mine}")
            i = children.index(mine)
            if i == 0:
                self.is_acquired = True
                return True
            if not blocking:
                self._cancel()
                return False
            self._woken = False
            if self.client.exists(f"{self.path}/{children[i - 1]}", watch=self._wake) is None:
                continue
            sim = self.client._sim
            start = sim.now
            remaining = 3600.0 if timeout is None else max(timeout - waited, 0)
            sim.run_until(lambda: self._woken, timeout=remaining * 1000)
            waited += (sim.now - start) / 1000
            if not self._woken:
                self._cancel()
                raise LockTimeout(f"failed to acquire lock on {self.path} after {timeout} seconds")

    def _cancel(self) -> None:
        if self.node is not None:
            try:
                self.client.delete(self.node)
            except NoNodeError:
                pass
            self.node = None

    def release(self) -> bool:
        if not self.is_acquired:
            return False
        self._cancel()
        self.is_acquired = False
        return True

    def contenders(self) -> list[str]:
        """The identifiers of every contender, lock holder first."""
        out = []
        for name in self._sorted():
            try:
                data, _ = self.client.get(f"{self.path}/{name}")
            except NoNodeError:
                continue
            out.append(data.decode("utf-8"))
        return out

    def __enter__(self) -> Lock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class Election:
    """``client.Election(path, identifier)``: ``run(func, *args)`` blocks until elected, calls
    ``func``, then steps down; ``contenders()`` lists the identifiers, leader first."""

    def __init__(self, client: Any, path: str, identifier: str | None = None) -> None:
        self.lock = Lock(client, path, identifier)

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not callable(func):
            raise ValueError("leader function is not callable")
        self.lock.acquire()
        try:
            return func(*args, **kwargs)
        finally:
            self.lock.release()

    def cancel(self) -> None:
        self.lock._cancel()

    def contenders(self) -> list[str]:
        return self.lock.contenders()
