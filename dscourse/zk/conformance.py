"""A conformance suite: scripted cases run against ``ds.zk`` and against a real ZooKeeper.

Each case drives one or more kazoo-API clients under a fresh base path and records what it
observes (return values, stats, exception class names, watch events). :func:`normalize`
makes two runs comparable field by field: zxids are replaced by their rank among the zxids the
case saw (they are compared by order, not value), times by a placeholder (after checking
``ctime <= mtime``), session ids by the client that owns them, the base path by ``{base}``.
The same cases grade exercise E7.1 (the data tree) and E7.2 (watches).

Semantics checked: ZooKeeper Programmer's Guide ("ZNodes", "Sequence Nodes", "Ephemeral
Nodes", "ZooKeeper Watches", "ZooKeeper Sessions"), kazoo's ``KazooClient`` API docs, and the
``multi`` results of ``PrepRequestProcessor``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CASES: dict[str, Callable[[Ctx], None]] = {}


def case(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    CASES[fn.__name__] = fn
    return fn


@dataclass
class Ctx:
    """What a case sees: ``zk`` (a started client), ``base`` (a fresh path), a backend."""

    backend: Any
    base: str
    zk: Any
    obs: list[tuple[str, Any]] = field(default_factory=list)
    clients: list[Any] = field(default_factory=list)

    def p(self, name: str) -> str:
        return f"{self.base}/{name}"

    def do(self, label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` and record its result, or the class name of what it raised."""
        try:
            value = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - recording which error class is the point
            self.obs.append((label, ("raises", type(e).__name__)))
            return None
        self.obs.append((label, value))
        return value

    def see(self, label: str, value: Any) -> None:
        self.obs.append((label, value))

    def client(self) -> Any:
        c = self.backend.new_client(len(self.clients))
        self.clients.append(c)
        return c

    def settle(self) -> None:
        self.backend.settle()


# -- normalization -----------------------------------------------------------------------------
STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion", "ephemeralOwner",
               "dataLength", "numChildren", "pzxid")


def _is_stat(x: Any) -> bool:
    return isinstance(x, tuple) and getattr(x, "_fields", None) == STAT_FIELDS


def _walk(x: Any, fn: Callable[[Any], Any]) -> Any:
    if _is_stat(x):
        return fn(x)
    if isinstance(x, list):
        return [_walk(v, fn) for v in x]
    if isinstance(x, tuple) and hasattr(x, "_fields") and type(x).__name__ == "WatchedEvent":
        return ("event", getattr(x, "type"), getattr(x, "state"), _walk(getattr(x, "path"), fn))  # noqa: B009
    if isinstance(x, tuple):
        return tuple(_walk(v, fn) for v in x)
    if isinstance(x, BaseException):
        return ("exc", type(x).__name__)
    return fn(x)


def normalize(obs: list[tuple[str, Any]], base: str, sessions: dict[int, str]) -> list[tuple[str, Any]]:
    """Comparable observations (see the module docstring)."""
    zxids: set[int] = set()

    def collect(x: Any) -> Any:
        if _is_stat(x):
            zxids.update((x.czxid, x.mzxid, x.pzxid))
        return x

    _walk(obs, collect)
    rank = {z: i for i, z in enumerate(sorted(zxids))}

    def norm(x: Any) -> Any:
        if _is_stat(x):
            d = dict(zip(STAT_FIELDS, x, strict=True))
            for k in ("czxid", "mzxid", "pzxid"):
                d[k] = f"z{rank[d[k]]}"
            d["ctime"] = d["mtime"] = "T" if x.ctime <= x.mtime else "T-out-of-order"
            d["ephemeralOwner"] = sessions.get(x.ephemeralOwner, x.ephemeralOwner) if x.ephemeralOwner else 0
            return tuple(sorted(d.items()))
        if isinstance(x, str) and base in x:
            return x.replace(base, "{base}")
        if isinstance(x, bytes):
            return ("bytes", x.decode("latin-1"))
        return x

    return [(label, _walk(value, norm)) for label, value in obs]


def run_case(name: str, backend: Any, base: str) -> list[tuple[str, Any]]:
    """Run one case on ``backend`` under ``base``; the normalized observations."""
    zk = backend.new_client(0)
    ctx = Ctx(backend, base, zk, clients=[zk])
    zk.create(base, makepath=True)
    try:
        CASES[name](ctx)
    finally:
        sessions = {c.client_id[0]: f"session{i}" for i, c in enumerate(ctx.clients) if c.client_id}
        sessions.update(getattr(backend, "old_sessions", {}))
        for c in ctx.clients:
            backend.close_client(c)
    return normalize(ctx.obs, base, sessions)


def _sorted_children(zk: Any, path: str, **kw: Any) -> Any:
    out = zk.get_children(path, **kw)
    if isinstance(out, tuple):
        return sorted(out[0]), out[1]
    return sorted(out)


# == the cases ================================================================================
# -- create / get / exists ---------------------------------------------------------------------
@case
def create_returns_path(t: Ctx) -> None:
    t.do("create", t.zk.create, t.p("a"))


@case
def create_then_get(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"hello")
    t.do("get", t.zk.get, t.p("a"))


@case
def create_existing(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("again", t.zk.create, t.p("a"))


@case
def create_without_parent(t: Ctx) -> None:
    t.do("create", t.zk.create, t.p("x/y"))


@case
def create_makepath(t: Ctx) -> None:
    t.do("create", t.zk.create, t.p("x/y/z"), b"deep", makepath=True)
    t.do("middle", t.zk.exists, t.p("x/y"))


@case
def create_empty_value(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("get", t.zk.get, t.p("a"))


@case
def create_root(t: Ctx) -> None:
    t.do("root", t.zk.create, "/")


@case
def create_value_not_bytes(t: Ctx) -> None:
    t.do("str value", t.zk.create, t.p("a"), "text")


@case
def create_relative_path_is_normalized(t: Ctx) -> None:
    t.do("create", t.zk.create, t.p("a")[1:])


@case
def create_double_slash_is_normalized(t: Ctx) -> None:
    t.do("create", t.zk.create, t.base + "//a")


@case
def create_dotdot_rejected(t: Ctx) -> None:
    t.do("create", t.zk.create, t.p("../a"))


@case
def create_large_value(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"x" * 1000)
    t.do("get", t.zk.get, t.p("a"))


@case
def get_missing(t: Ctx) -> None:
    t.do("get", t.zk.get, t.p("nope"))


@case
def exists_missing(t: Ctx) -> None:
    t.do("exists", t.zk.exists, t.p("nope"))


@case
def exists_present(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"12")
    t.do("exists", t.zk.exists, t.p("a"))


@case
def zookeeper_node_exists(t: Ctx) -> None:
    t.see("exists", t.zk.exists("/zookeeper") is not None)
    t.see("in root", "zookeeper" in t.zk.get_children("/"))


# -- set -------------------------------------------------------------------------------------------
@case
def set_bumps_version(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"0")
    t.do("set1", t.zk.set, t.p("a"), b"1")
    t.do("set2", t.zk.set, t.p("a"), b"22")
    t.do("get", t.zk.get, t.p("a"))


@case
def set_with_version(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("v0", t.zk.set, t.p("a"), b"x", version=0)
    t.do("v1", t.zk.set, t.p("a"), b"y", version=1)


@case
def set_bad_version(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("set", t.zk.set, t.p("a"), b"x", version=3)
    t.do("get", t.zk.get, t.p("a"))


@case
def set_missing(t: Ctx) -> None:
    t.do("set", t.zk.set, t.p("nope"), b"x")


@case
def set_stat_matches_get(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    stat = t.zk.set(t.p("a"), b"abc")
    t.see("same", stat == t.zk.get(t.p("a"))[1])


@case
def set_same_value_still_bumps(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"v")
    t.do("set", t.zk.set, t.p("a"), b"v")


@case
def set_empty_value(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"abc")
    t.do("set", t.zk.set, t.p("a"), b"")


# -- delete ----------------------------------------------------------------------------------
@case
def delete_node(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("delete", t.zk.delete, t.p("a"))
    t.do("exists", t.zk.exists, t.p("a"))


@case
def delete_missing(t: Ctx) -> None:
    t.do("delete", t.zk.delete, t.p("nope"))


@case
def delete_bad_version(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("delete", t.zk.delete, t.p("a"), version=5)


@case
def delete_after_set_versions(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.zk.set(t.p("a"), b"1")
    t.do("v0", t.zk.delete, t.p("a"), version=0)
    t.do("v1", t.zk.delete, t.p("a"), version=1)


@case
def delete_not_empty(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.zk.create(t.p("a/b"))
    t.do("delete", t.zk.delete, t.p("a"))


@case
def delete_recursive(t: Ctx) -> None:
    t.zk.create(t.p("a/b/c"), makepath=True)
    t.zk.create(t.p("a/d"))
    t.do("delete", t.zk.delete, t.p("a"), recursive=True)
    t.do("exists", t.zk.exists, t.p("a"))


@case
def delete_root(t: Ctx) -> None:
    t.do("delete", t.zk.delete, "/")


@case
def delete_zookeeper(t: Ctx) -> None:
    t.do("delete", t.zk.delete, "/zookeeper")


# -- children, cversion, numChildren, pzxid --------------------------------------------------
@case
def children_empty(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("children", t.zk.get_children, t.p("a"))


@case
def children_listed(t: Ctx) -> None:
    for name in ("c", "a", "b"):
        t.zk.create(t.p(name))
    t.do("children", _sorted_children, t.zk, t.base)


@case
def children_missing(t: Ctx) -> None:
    t.do("children", t.zk.get_children, t.p("nope"))


@case
def children_include_data(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"pp")
    t.zk.create(t.p("a/x"))
    t.do("children", _sorted_children, t.zk, t.p("a"), include_data=True)


@case
def parent_stat_after_creates(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    for name in ("x", "y", "z"):
        t.zk.create(t.p(f"a/{name}"))
    t.do("parent", t.zk.exists, t.p("a"))


@case
def parent_stat_after_delete(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.zk.create(t.p("a/x"))
    t.zk.create(t.p("a/y"))
    t.zk.delete(t.p("a/x"))
    t.do("parent", t.zk.exists, t.p("a"))


@case
def pzxid_is_last_child_change(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    child = t.zk.create(t.p("a/x"))
    t.do("child", t.zk.exists, child)
    t.do("parent", t.zk.exists, t.p("a"))


@case
def pzxid_ignores_child_data(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.zk.create(t.p("a/x"))
    t.zk.set(t.p("a/x"), b"changed")
    t.do("parent", t.zk.exists, t.p("a"))
    t.do("child", t.zk.exists, t.p("a/x"))


@case
def mzxid_ignores_children(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"d")
    t.zk.create(t.p("a/x"))
    t.do("parent", t.zk.get, t.p("a"))


# -- sequential ------------------------------------------------------------------------------
@case
def sequential_names(t: Ctx) -> None:
    for i in range(3):
        t.do(f"seq{i}", t.zk.create, t.p("s-"), sequence=True)


@case
def sequential_counter_after_delete(t: Ctx) -> None:
    t.zk.create(t.p("s-"), sequence=True)
    t.zk.create(t.p("x"))
    t.zk.delete(t.p("x"))
    t.do("next", t.zk.create, t.p("s-"), sequence=True)
    t.do("parent", t.zk.exists, t.base)


@case
def sequential_trailing_slash(t: Ctx) -> None:
    t.zk.create(t.p("q"))
    t.do("seq", t.zk.create, t.p("q") + "/", sequence=True)


@case
def sequential_separate_parents(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.zk.create(t.p("b"))
    t.do("a", t.zk.create, t.p("a/n-"), sequence=True)
    t.do("b", t.zk.create, t.p("b/n-"), sequence=True)
    t.do("a2", t.zk.create, t.p("a/n-"), sequence=True)


@case
def sequential_ephemeral(t: Ctx) -> None:
    path = t.do("create", t.zk.create, t.p("e-"), ephemeral=True, sequence=True)
    t.do("stat", t.zk.exists, path)


# -- ephemeral -----------------------------------------------------------------------------------
@case
def ephemeral_owner(t: Ctx) -> None:
    t.zk.create(t.p("e"), b"me", ephemeral=True)
    t.do("get", t.zk.get, t.p("e"))


@case
def ephemeral_no_children(t: Ctx) -> None:
    t.zk.create(t.p("e"), ephemeral=True)
    t.do("child", t.zk.create, t.p("e/c"))
    t.do("seq child", t.zk.create, t.p("e/c-"), sequence=True)


@case
def ephemeral_seen_by_other(t: Ctx) -> None:
    other = t.client()
    other.create(t.p("e"), ephemeral=True)
    t.zk.sync(t.p("e"))
    t.do("stat", t.zk.exists, t.p("e"))


@case
def ephemeral_removed_on_close(t: Ctx) -> None:
    other = t.client()
    other.create(t.p("e"), ephemeral=True)
    other.create(t.p("p"))
    t.backend.close_client(other)
    t.zk.sync(t.p("e"))
    t.do("ephemeral", t.zk.exists, t.p("e"))
    t.do("persistent", t.zk.exists, t.p("p"))


@case
def ephemeral_removed_on_expiry(t: Ctx) -> None:
    other = t.client()
    other.create(t.p("e"), ephemeral=True)
    states: list[str] = []
    other.add_listener(states.append)
    t.backend.expire(other)
    t.zk.sync(t.p("e"))
    t.do("ephemeral", t.zk.exists, t.p("e"))
    t.see("lost", "LOST" in states)


@case
def expired_client_gets_new_session(t: Ctx) -> None:
    other = t.client()
    before = other.client_id[0]
    t.backend.expire(other)
    t.backend.wait_connected(other)
    t.see("new session", other.client_id is not None and other.client_id[0] != before)
    t.do("works again", other.exists, t.base)


@case
def ensure_path_idempotent(t: Ctx) -> None:
    t.do("first", t.zk.ensure_path, t.p("a/b/c"))
    t.do("second", t.zk.ensure_path, t.p("a/b/c"))
    t.do("stat", t.zk.exists, t.p("a/b"))


# -- transactions --------------------------------------------------------------------------------
@case
def tx_success(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    tx = t.zk.transaction()
    tx.check(t.p("a"), 0)
    tx.create(t.p("b"), b"v")
    tx.set_data(t.p("a"), b"new")
    tx.delete(t.p("b"))
    t.do("commit", tx.commit)
    t.do("a", t.zk.get, t.p("a"))


@case
def tx_rollback(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    tx = t.zk.transaction()
    tx.create(t.p("b"))
    tx.create(t.p("a"))
    tx.set_data(t.p("a"), b"never")
    t.do("commit", tx.commit)
    t.do("b", t.zk.exists, t.p("b"))
    t.do("a", t.zk.get, t.p("a"))


@case
def tx_check_bad_version(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    tx = t.zk.transaction()
    tx.set_data(t.p("a"), b"x")
    tx.check(t.p("a"), 0)
    t.do("commit", tx.commit)


@case
def tx_check_missing(t: Ctx) -> None:
    tx = t.zk.transaction()
    tx.check(t.p("nope"), 0)
    t.do("commit", tx.commit)


@case
def tx_nested_create(t: Ctx) -> None:
    tx = t.zk.transaction()
    tx.create(t.p("a"))
    tx.create(t.p("a/b"), b"in")
    t.do("commit", tx.commit)
    t.do("child", t.zk.get, t.p("a/b"))


@case
def tx_delete_then_create(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"old")
    tx = t.zk.transaction()
    tx.delete(t.p("a"))
    tx.create(t.p("a"), b"new")
    t.do("commit", tx.commit)
    t.do("a", t.zk.get, t.p("a"))


@case
def tx_versioned_set(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    tx = t.zk.transaction()
    tx.set_data(t.p("a"), b"1", version=0)
    tx.set_data(t.p("a"), b"2", version=1)
    t.do("commit", tx.commit)


@case
def tx_delete_missing(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    tx = t.zk.transaction()
    tx.set_data(t.p("a"), b"x")
    tx.delete(t.p("nope"))
    t.do("commit", tx.commit)
    t.do("a", t.zk.get, t.p("a"))


@case
def tx_sequential(t: Ctx) -> None:
    tx = t.zk.transaction()
    tx.create(t.p("s-"), sequence=True)
    tx.create(t.p("s-"), sequence=True)
    t.do("commit", tx.commit)


@case
def tx_ephemeral_parent(t: Ctx) -> None:
    tx = t.zk.transaction()
    tx.create(t.p("e"), ephemeral=True)
    tx.create(t.p("e/c"))
    t.do("commit", tx.commit)
    t.do("e", t.zk.exists, t.p("e"))


@case
def tx_empty(t: Ctx) -> None:
    t.do("commit", t.zk.transaction().commit)


# -- watches ------------------------------------------------------------------------------------
def _events(t: Ctx) -> tuple[list, Callable[[Any], None]]:
    events: list = []
    return events, events.append


@case
def watch_data_changed(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get(t.p("a"), watch=fn)
    t.client().set(t.p("a"), b"x")
    t.settle()
    t.see("events", events)


@case
def watch_data_deleted(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get(t.p("a"), watch=fn)
    t.client().delete(t.p("a"))
    t.settle()
    t.see("events", events)


@case
def watch_exists_created(t: Ctx) -> None:
    events, fn = _events(t)
    t.do("exists", t.zk.exists, t.p("a"), watch=fn)
    t.client().create(t.p("a"))
    t.settle()
    t.see("events", events)


@case
def watch_exists_changed(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.exists(t.p("a"), watch=fn)
    t.client().set(t.p("a"), b"v")
    t.settle()
    t.see("events", events)


@case
def watch_child_created(t: Ctx) -> None:
    events, fn = _events(t)
    t.zk.get_children(t.base, watch=fn)
    t.client().create(t.p("kid"))
    t.settle()
    t.see("events", events)


@case
def watch_child_deleted(t: Ctx) -> None:
    t.zk.create(t.p("kid"))
    events, fn = _events(t)
    t.zk.get_children(t.base, watch=fn)
    t.client().delete(t.p("kid"))
    t.settle()
    t.see("events", events)


@case
def watch_child_parent_deleted(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get_children(t.p("a"), watch=fn)
    t.client().delete(t.p("a"))
    t.settle()
    t.see("events", events)


@case
def watch_child_ignores_data(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get_children(t.p("a"), watch=fn)
    t.client().set(t.p("a"), b"data")
    t.settle()
    t.see("events", events)


@case
def watch_one_shot(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get(t.p("a"), watch=fn)
    other = t.client()
    other.set(t.p("a"), b"1")
    other.set(t.p("a"), b"2")
    t.settle()
    t.see("events", events)


@case
def watch_same_function_twice(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get(t.p("a"), watch=fn)
    t.zk.get(t.p("a"), watch=fn)
    t.client().set(t.p("a"), b"1")
    t.settle()
    t.see("events", events)


@case
def watch_two_functions(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    e1, f1 = _events(t)
    e2, f2 = _events(t)
    t.zk.get(t.p("a"), watch=f1)
    t.zk.exists(t.p("a"), watch=f2)
    t.client().set(t.p("a"), b"1")
    t.settle()
    t.see("first", e1)
    t.see("second", e2)


@case
def watch_data_and_child_apart(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    data, fd = _events(t)
    kids, fc = _events(t)
    t.zk.get(t.p("a"), watch=fd)
    t.zk.get_children(t.p("a"), watch=fc)
    other = t.client()
    other.create(t.p("a/k"))
    t.settle()
    t.see("after child", (list(data), list(kids)))
    other.set(t.p("a"), b"x")
    t.settle()
    t.see("after set", (list(data), list(kids)))


@case
def watch_get_missing_not_registered(t: Ctx) -> None:
    events, fn = _events(t)
    t.do("get", t.zk.get, t.p("a"), watch=fn)
    t.client().create(t.p("a"))
    t.settle()
    t.see("events", events)


@case
def watch_own_write(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get(t.p("a"), watch=fn)
    t.zk.set(t.p("a"), b"mine")
    t.settle()
    t.see("events", events)


@case
def watch_rearm_sees_second(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    other = t.client()
    t.zk.get(t.p("a"), watch=fn)
    other.set(t.p("a"), b"1")
    t.settle()
    t.zk.get(t.p("a"), watch=fn)
    other.set(t.p("a"), b"2")
    t.settle()
    t.see("events", events)


@case
def watch_ephemeral_gone_on_close(t: Ctx) -> None:
    other = t.client()
    other.create(t.p("e"), ephemeral=True)
    t.zk.sync(t.p("e"))
    events, fn = _events(t)
    t.zk.exists(t.p("e"), watch=fn)
    t.backend.close_client(other)
    t.settle()
    t.see("events", events)


# -- sync and other clients -------------------------------------------------------------------
@case
def sync_returns_path(t: Ctx) -> None:
    t.do("sync", t.zk.sync, t.base)


@case
def other_client_reads_after_sync(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"v1")
    other = t.client()
    other.sync(t.p("a"))
    t.do("read", other.get, t.p("a"))


@case
def lock_recipe_contenders(t: Ctx) -> None:
    lock = t.zk.Lock(t.p("lock"), "first")
    t.do("acquire", lock.acquire)
    other = t.client().Lock(t.p("lock"), "second")
    t.do("try", other.acquire, blocking=False)
    t.do("contenders", lock.contenders)
    t.do("release", lock.release)
    t.do("second acquires", other.acquire, blocking=False)
    t.do("contenders after", other.contenders)
    other.release()


# -- ACLs ----------------------------------------------------------------------------------------
# Programmer's Guide, "ZooKeeper access control using ACLs"; PrepRequestProcessor.fixupACL and
# the checkACL calls of PrepRequestProcessor and FinalRequestProcessor (ZooKeeper 3.8).
def _acl(scheme: str, id: str, perms: int) -> Any:
    from .security import ACL, Id
    return ACL(perms, Id(scheme, id))


def _alice(perms: int = 31) -> Any:
    from .security import make_digest_acl_credential
    return _acl("digest", make_digest_acl_credential("alice", "secret"), perms)


def _tx(zk: Any, *ops: tuple) -> Any:
    tx = zk.transaction()
    for name, *args in ops:
        getattr(tx, name)(*args)
    return tx.commit()


@case
def acl_default_is_open(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    t.do("acl", t.zk.get_acls, t.p("a"))
    t.see("root", t.zk.get_acls("/")[0])


@case
def acl_config_node_read_only(t: Ctx) -> None:
    t.do("config", t.zk.get_acls, "/zookeeper/config")
    t.do("quota", t.zk.get_acls, "/zookeeper/quota")


@case
def acl_digest_denies_others(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"x", acl=[_alice()])
    t.do("get", t.zk.get, t.p("a"))
    t.do("exists", t.zk.exists, t.p("a"))
    t.do("children", t.zk.get_children, t.p("a"))
    t.do("set", t.zk.set, t.p("a"), b"y")
    t.do("get_acls", t.zk.get_acls, t.p("a"))
    t.do("set_acls", t.zk.set_acls, t.p("a"), [_acl("world", "anyone", 31)])
    t.do("create child", t.zk.create, t.p("a/c"))
    t.do("delete missing child", t.zk.delete, t.p("a/nope"))


@case
def acl_digest_after_add_auth(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"x", acl=[_alice()])
    t.do("auth", t.zk.add_auth, "digest", "alice:secret")
    t.do("get", t.zk.get, t.p("a"))
    t.do("set", t.zk.set, t.p("a"), b"y")
    t.do("get_acls", t.zk.get_acls, t.p("a"))
    t.do("create child", t.zk.create, t.p("a/c"))
    t.do("other", t.client().get, t.p("a"))


@case
def acl_wrong_password(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"x", acl=[_alice()])
    t.do("auth", t.zk.add_auth, "digest", "alice:guess")
    t.do("get", t.zk.get, t.p("a"))
    t.do("auth right", t.zk.add_auth, "digest", "alice:secret")
    t.do("get again", t.zk.get, t.p("a"))


@case
def acl_read_only_node(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"r", acl=[_acl("world", "anyone", 1)])
    t.do("get", t.zk.get, t.p("a"))
    t.do("set", t.zk.set, t.p("a"), b"w")
    t.do("set bad version", t.zk.set, t.p("a"), b"w", version=7)
    t.do("create child", t.zk.create, t.p("a/c"))
    t.do("get_acls", t.zk.get_acls, t.p("a"))
    t.do("delete", t.zk.delete, t.p("a"))


@case
def acl_digest_redacted_without_admin(t: Ctx) -> None:
    t.zk.create(t.p("a"), acl=[_acl("world", "anyone", 1), _alice()])
    t.do("without admin", t.zk.get_acls, t.p("a"))
    t.zk.add_auth("digest", "alice:secret")
    t.do("with admin", t.zk.get_acls, t.p("a"))


@case
def acl_create_needs_create_on_parent(t: Ctx) -> None:
    owner = t.client()
    owner.add_auth("digest", "alice:secret")
    owner.create(t.p("a"), acl=[_acl("world", "anyone", 31 & ~4), _alice()])
    owner.create(t.p("a/x"))
    t.do("create", t.zk.create, t.p("a/y"))
    t.do("create existing", t.zk.create, t.p("a/x"))
    t.do("owner creates", owner.create, t.p("a/y"))


@case
def acl_delete_needs_delete_on_parent(t: Ctx) -> None:
    t.zk.create(t.p("keep"), acl=[_acl("world", "anyone", 31 & ~8)])
    t.zk.create(t.p("keep/open"))
    t.do("delete open child", t.zk.delete, t.p("keep/open"))
    t.zk.create(t.p("free"))
    t.zk.create(t.p("free/locked"), acl=[_acl("world", "anyone", 1)])
    t.do("delete locked child", t.zk.delete, t.p("free/locked"))


@case
def acl_not_recursive(t: Ctx) -> None:
    owner = t.client()
    owner.add_auth("digest", "alice:secret")
    owner.create(t.p("a"), acl=[_alice()])
    owner.create(t.p("a/b"), b"open")
    t.do("list parent", t.zk.get_children, t.p("a"))
    t.do("read child", t.zk.get, t.p("a/b"))
    t.do("write child", t.zk.set, t.p("a/b"), b"mine")
    owner.set_acls(t.p("a"), [_acl("world", "anyone", 1)])
    t.do("child acl after parent change", t.zk.get_acls, t.p("a/b"))


@case
def acl_set_acls_versions(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"d")
    t.do("bad version", t.zk.set_acls, t.p("a"), [_acl("world", "anyone", 3)], version=5)
    t.do("v0", t.zk.set_acls, t.p("a"), [_acl("world", "anyone", 31)], version=0)
    t.do("v0 again", t.zk.set_acls, t.p("a"), [_acl("world", "anyone", 31)], version=0)
    t.do("any version", t.zk.set_acls, t.p("a"), [_acl("world", "anyone", 27)])
    t.do("get", t.zk.get, t.p("a"))
    t.do("missing", t.zk.set_acls, t.p("nope"), [_acl("world", "anyone", 31)])


@case
def acl_set_acls_needs_admin(t: Ctx) -> None:
    t.zk.create(t.p("a"), acl=[_acl("world", "anyone", 31 & ~16)])
    t.do("set_acls", t.zk.set_acls, t.p("a"), [_acl("world", "anyone", 31)])
    t.do("set", t.zk.set, t.p("a"), b"still writable")
    t.do("get_acls", t.zk.get_acls, t.p("a"))


@case
def acl_auth_scheme_is_the_creator(t: Ctx) -> None:
    from .security import CREATOR_ALL_ACL
    t.do("unauthenticated", t.zk.create, t.p("a"), acl=CREATOR_ALL_ACL)
    t.zk.add_auth("digest", "alice:secret")
    t.do("authenticated", t.zk.create, t.p("a"), acl=CREATOR_ALL_ACL)
    t.do("acl", t.zk.get_acls, t.p("a"))
    t.do("other", t.client().get, t.p("a"))


@case
def acl_invalid_acls(t: Ctx) -> None:
    for label, entry in (("world bob", ("world", "bob")), ("digest without hash", ("digest", "alice")),
                         ("digest empty hash", ("digest", "alice:")), ("unknown scheme", ("kerberos", "x")),
                         ("bad ip", ("ip", "300.1.2.3")), ("bad mask", ("ip", "10.0.0.0/33")),
                         ("auth unauthenticated", ("auth", "alice"))):
        t.do(label, t.zk.create, t.p(label.replace(" ", "_")), acl=[_acl(entry[0], entry[1], 31)])
    t.do("before missing parent", t.zk.create, t.p("nope/a"), acl=[_acl("world", "bob", 31)])
    t.zk.create(t.p("a"))
    t.do("set_acls empty", t.zk.set_acls, t.p("a"), [])
    t.do("set_acls invalid", t.zk.set_acls, t.p("a"), [_acl("digest", "x", 31)])


@case
def acl_empty_list_means_open(t: Ctx) -> None:
    t.do("create", t.zk.create, t.p("a"), acl=[])
    t.do("acl", t.zk.get_acls, t.p("a"))


@case
def acl_duplicates_removed(t: Ctx) -> None:
    t.zk.create(t.p("a"), acl=[_alice(), _alice(), _acl("world", "anyone", 1), _alice()])
    t.zk.add_auth("digest", "alice:secret")
    t.do("acl", t.zk.get_acls, t.p("a"))


@case
def acl_ip_scheme(t: Ctx) -> None:
    for label, pattern in (("exact", "127.0.0.1"), ("local net", "127.0.0.0/8"), ("other net", "10.0.0.0/8"),
                           ("other host", "127.0.0.2"), ("any", "0.0.0.0/0")):
        name = t.p(label.replace(" ", "_"))
        t.zk.create(name, b"ip", acl=[_acl("ip", pattern, 1)])
        t.do(label, t.zk.get, name)
    t.do("add ip auth", t.zk.add_auth, "ip", "10.1.2.3")
    t.do("still other net", t.zk.get, t.p("other_net"))


@case
def acl_no_permissions(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"x", acl=[_acl("world", "anyone", 0)])
    t.do("get", t.zk.get, t.p("a"))
    t.do("exists", t.zk.exists, t.p("a"))
    t.do("get_acls", t.zk.get_acls, t.p("a"))
    t.do("delete", t.zk.delete, t.p("a"))


@case
def acl_in_transactions(t: Ctx) -> None:
    t.zk.create(t.p("r"), acl=[_acl("world", "anyone", 0)])
    t.zk.create(t.p("a"))
    t.do("check unreadable", _tx, t.zk, ("check", t.p("r"), 0))
    t.do("create under it", _tx, t.zk, ("create", t.p("b")), ("create", t.p("r/x")))
    t.do("create with acl", _tx, t.zk, ("create", t.p("c"), b"v", [_alice()]), ("set_data", t.p("a"), b"1"))
    t.do("acl", t.zk.get_acls, t.p("c"))
    t.do("set inside", _tx, t.zk, ("set_data", t.p("c"), b"2"))


@case
def acl_ensure_path_with_acl(t: Ctx) -> None:
    from .security import CREATOR_ALL_ACL
    t.zk.add_auth("digest", "alice:secret")
    t.do("ensure", t.zk.ensure_path, t.p("x/y"), CREATOR_ALL_ACL)
    t.do("x", t.zk.get_acls, t.p("x"))
    t.do("y", t.zk.get_acls, t.p("x/y"))
    t.do("other lists x", t.client().get_children, t.p("x"))


@case
def acl_ephemeral_goes_with_its_session(t: Ctx) -> None:
    other = t.client()
    other.create(t.p("e"), acl=[_acl("world", "anyone", 1)], ephemeral=True)
    t.do("delete", t.zk.delete, t.p("e"))
    t.backend.close_client(other)
    t.zk.sync(t.p("e"))
    t.do("after close", t.zk.exists, t.p("e"))


@case
def acl_set_acls_keeps_data_and_mzxid(t: Ctx) -> None:
    t.zk.create(t.p("a"), b"data")
    before = t.zk.exists(t.p("a"))
    t.zk.set_acls(t.p("a"), [_acl("world", "anyone", 31), _alice(16)])
    after = t.zk.exists(t.p("a"))
    t.see("before", before)
    t.see("after", after)
    t.do("get", t.zk.get, t.p("a"))


@case
def acl_no_watch_on_set_acls(t: Ctx) -> None:
    t.zk.create(t.p("a"))
    events, fn = _events(t)
    t.zk.get(t.p("a"), watch=fn)
    t.client().set_acls(t.p("a"), [_acl("world", "anyone", 31)])
    t.settle()
    t.see("events", events)


@case
def acl_unknown_auth_scheme_fails_the_client(t: Ctx) -> None:
    other = t.client()
    states: list[str] = []
    other.add_listener(states.append)
    t.do("auth", other.add_auth, "kerberos", "alice")
    t.settle()
    t.do("next call", other.exists, t.base)
    t.see("lost", "LOST" in states)


class SimBackend:
    """The cases' view of a simulated ensemble: clients spread over the servers."""

    def __init__(self, seed: int = 1, servers: int = 3, server_class: Any = None) -> None:
        from .ensemble import ensemble
        self.ens = ensemble(servers=servers, seed=seed, **({"server_class": server_class} if server_class else {}))
        self.ens.run_until_leader()
        self.old_sessions: dict[int, str] = {}

    def new_client(self, i: int) -> Any:
        ids = sorted(self.ens.nodes)
        c = self.ens.client(server=ids[i % len(ids)], session_timeout_ms=4000, record=False)
        c.start()
        return c

    def settle(self) -> None:
        self.ens.run(100)

    def close_client(self, c: Any) -> None:
        if c.connected:
            c.stop()

    def expire(self, c: Any) -> None:
        self.old_sessions[c.client_id[0]] = "expired"
        self.ens.expire_session(c)

    def wait_connected(self, c: Any) -> None:
        self.ens.run_until(lambda: c.connected, 30_000)


def run_sim(names: list[str] | None = None, seed: int = 1) -> dict[str, list]:
    """Every case (or ``names``) on a fresh simulated ensemble each; normalized observations."""
    out = {}
    for name in names or list(CASES):
        out[name] = run_case(name, SimBackend(seed), f"/conformance/{name}")
    return out
