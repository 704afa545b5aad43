"""ZooKeeper locks with many waiters at once: the mutex, kazoo's read/write lock, and the herd.

ZooKeeper Recipes, "Locks" and "Shared Locks": every contender creates an ephemeral-sequential
child of the lock node; a *write* contender (kazoo's ``WriteLock`` and ``Lock``, node name
``__lock__``) is blocked by every earlier child, a *read* contender (``ReadLock``, ``__rlock__``)
only by earlier write children; it waits on the latest child that blocks it (kazoo's
``Lock._get_predecessor``) and lists the children again when that one goes, because the
predecessor may have been a waiter whose session expired (seed erratum E13).

The herd-effect version (``strategy="parent"``) has every waiter watch the *parent*'s children
instead, so every create and delete wakes every waiter (羊群效应). :func:`herd` counts the
watch notifications per release for both.

:class:`Contender` is event-driven (``ds.zk``'s async calls with ``rawlink``), so any number of
contenders wait at once in one simulation; ``rule`` (default :func:`blocker`) decides what a
contender waits for, which is what exercise E9.4 asks a student to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import zk as zookeeper
from ..errors import allowed

READ, WRITE = "__rlock__", "__lock__"
KINDS = {"read": READ, "write": WRITE}
#: Curator's ``InterProcessReadWriteLock`` node names (exercise E9.4 uses them).
CURATOR = {"read": "__READ__", "write": "__WRIT__"}
STRATEGIES = ("predecessor", "parent")
Rule = Callable[[list[str], str], Any]


def sequence(name: str) -> int:
    """The sequence number ZooKeeper appended to a sequential node's name (``%010d``)."""
    return int(name[-10:])


def blocker(children: list[str], me: str) -> str | None:
    """The child ``me`` must wait for, or None when it holds the lock (kazoo's semantics).

    A write node is blocked by every earlier lock node, a read node by earlier write nodes
    only; the one to wait for is the latest of those (its predecessor).
    """
    kinds = (WRITE, READ) if WRITE in me else (WRITE,)
    mine = sequence(me)
    earlier = [c for c in children if any(k in c for k in kinds) and sequence(c) < mine]
    return max(earlier, key=sequence) if earlier else None


@dataclass
class LockLog:
    """Grants and releases of every contender: ``(time, name, kind, event)`` rows."""

    rows: list[tuple[float, str, str, str]] = field(default_factory=list)

    def add(self, now: float, name: str, kind: str, event: str) -> None:
        self.rows.append((now, name, kind, event))

    def grants(self) -> list[str]:
        return [name for _, name, _, event in self.rows if event == "granted"]

    def violations(self) -> list[str]:
        """Read/write exclusion broken: a writer with anyone else, at any moment of the log."""
        out: list[str] = []
        holders: dict[str, str] = {}
        for t, name, kind, event in self.rows:
            if event == "granted":
                others = {n: k for n, k in holders.items() if n != name}
                if others and (kind == "write" or "write" in others.values()):
                    out.append(f"t={t:g} ms: {name} ({kind}) granted while {', '.join(sorted(others))} "
                               f"({', '.join(sorted(set(others.values())))}) held the lock")
                holders[name] = kind
            else:
                holders.pop(name, None)
        return out


class Contender:
    """One client's request for the lock at ``path`` (``kind`` read or write)."""

    def __init__(self, client: Any, path: str, name: str, *, kind: str = "write",
                 strategy: str = "predecessor", rule: Rule = blocker, log: LockLog | None = None,
                 names: dict[str, str] | None = None, prefix: str | None = None) -> None:
        if kind not in KINDS:
            raise allowed("kind", kind, f"one of {', '.join(KINDS)}")
        if strategy not in STRATEGIES:
            raise allowed("strategy", strategy, f"one of {', '.join(STRATEGIES)}")
        self.client, self.path, self.name, self.kind = client, path.rstrip("/"), name, kind
        self.strategy, self.rule, self.log = strategy, rule, log if log is not None else LockLog()
        self.names = names or KINDS
        self.prefix = f"{name}-" if prefix is None else prefix
        self.node: str | None = None
        self.held = False
        self.lost = False
        self.notifications = 0
        self.waits_on: list[str | None] = []  # what the rule answered at each check
        client.add_listener(self._state)

    def _state(self, state: str) -> None:
        if state == zookeeper.KazooState.LOST:  # the session expired: its node is gone
            self.lost = True
            self.held = False

    @property
    def sim(self) -> Any:
        return self.client._sim

    def request(self) -> None:
        """Create this contender's ephemeral-sequential node and start waiting (returns at once)."""
        path = f"{self.path}/{self.prefix}{self.names[self.kind]}"
        self.client.create_async(path, self.name.encode(), ephemeral=True, sequence=True).rawlink(self._created)

    def _created(self, result: Any) -> None:
        if not result.successful():
            self.lost = True
            return
        self.node = result.value.rsplit("/", 1)[1]
        self._check()

    def _check(self) -> None:
        if self.held or self.lost:
            return
        watch = self._notified if self.strategy == "parent" else None
        self.client.get_children_async(self.path, watch=watch).rawlink(self._children)

    def _children(self, result: Any) -> None:
        if self.held or self.lost:
            return
        if not result.successful():  # the session expired: this contender is out
            self.lost = True
            return
        children = list(result.value[0])  # (children, stat), as kazoo's async result
        if self.node not in children:  # our session expired and took the node with it
            self.lost = True
            return
        target = self.rule(list(children), str(self.node))
        self.waits_on.append(target)
        if target is None:
            self.held = True
            self.log.add(self.sim.now, self.name, self.kind, "granted")
        elif self.strategy == "predecessor":
            self.client.exists_async(f"{self.path}/{target}", watch=self._notified).rawlink(self._exists)

    def _exists(self, result: Any) -> None:
        if result.successful() and result.value is None:  # already gone: look again
            self._check()

    def _notified(self, event: Any) -> None:
        self.notifications += 1
        self._check()

    def release(self) -> None:
        """Delete this contender's node (the next waiter hears of it through its watch)."""
        if self.held and self.node is not None:
            self.held = False
            self.log.add(self.sim.now, self.name, self.kind, "released")
            self.client.delete_async(f"{self.path}/{self.node}")


@dataclass
class LockRun:
    """A finished :func:`contend` run: its ensemble, contenders (in request order) and log."""

    ensemble: Any
    contenders: list[Contender]
    log: LockLog
    releases: int = 0

    @property
    def notifications(self) -> int:
        return sum(c.notifications for c in self.contenders)


def contend(kinds: list[str] | str, *, strategy: str = "predecessor", rule: Rule = blocker, seed: int = 1,
            hold_ms: float = 50.0, expire: tuple[int, ...] = (), path: str = "/locks/resource",
            timeout_ms: float = 60_000, names: dict[str, str] | None = None) -> LockRun:
    """Contenders of ``kinds`` (e.g. ``["write", "read", "read"]``, or ``"write"`` repeated by
    ``len``) request the lock one after another on a 3-server ensemble; every holder releases
    ``hold_ms`` after its own grant, until every contender has held the lock once. The
    contenders at indices ``expire`` have their sessions expired while they wait (after the
    first grant). Runs until done or ``timeout_ms`` of virtual time; ``names`` maps each kind to
    its node name (default kazoo's)."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    e = zookeeper.ensemble(3, seed=seed)
    e.run_until_leader()
    log = LockLog()
    contenders = []
    rng = e.sim.rng("locks:contenders")
    for i, kind in enumerate(kinds):
        # kazoo and Curator start each node name with a random id (uuid4); the name then sorts
        # in no useful order: only the sequence number orders the contenders
        prefix = f"_c_{rng.bytes(4).hex()}-"
        client = e.client(session_timeout_ms=4000, record=False)
        client.start()
        contenders.append(Contender(client, path, f"c{i}", kind=kind, strategy=strategy, rule=rule, log=log,
                                      names=names, prefix=prefix))
    contenders[0].client.ensure_path(path)
    for c in contenders:  # one by one, so the sequence order is the request order
        c.request()
        e.sim.run_until(lambda c=c: c.node is not None or c.lost, 5_000)
    run = LockRun(e, contenders, log)
    end = e.sim.now + timeout_ms
    expired = False

    def granted_at(c: Contender) -> float:
        return max(t for t, name, _, event in log.rows if name == c.name and event == "granted")

    while e.sim.now < end:
        e.sim.run_until(lambda: any(c.held for c in contenders)
                        or all(c.lost or c.name in log.grants() for c in contenders), end - e.sim.now)
        if not expired and expire:
            expired = True
            for i in expire:
                e.expire_session(contenders[i].client)
        holders = [c for c in contenders if c.held]
        if not holders:
            break
        # each holder releases hold_ms after its own grant (readers granted together, apart)
        due = min(granted_at(c) for c in holders) + hold_ms
        if due > e.sim.now:
            e.sim.run(until=due)
        for c in holders:
            if c.held and granted_at(c) + hold_ms <= e.sim.now:
                c.release()
                run.releases += 1
    e.sim.run(until=e.sim.now + 50)
    return run


def herd(waiters: int, strategy: str = "predecessor", *, seed: int = 1) -> dict[str, float]:
    """Watch notifications while ``waiters`` + 1 write contenders take the lock in turn."""
    if isinstance(waiters, bool) or not isinstance(waiters, int) or waiters < 1:
        raise allowed("waiters", waiters, "an int >= 1")
    run = contend(["write"] * (waiters + 1), strategy=strategy, seed=seed)
    return {"waiters": waiters, "releases": run.releases, "notifications": run.notifications,
            "per_grant": run.notifications / max(1, run.releases)}
