"""E15.2's harness: Apollo-style releases and rollback as pure functions of a plain store.

The student writes ``publish(store, key, content) -> store`` and ``rollback(store, key) ->
store`` over a store of plain data (the harness starts from :data:`EMPTY_STORE`)::

    {"releases": {key: [{"release_key": str, "content": str}, ...]},   # every release, oldest first
     "active": {key: release_key},                                     # what clients get
     "abandoned": [release_key, ...],                                  # rolled back, never active again
     "messages": [[id, key], ...]}                                     # the ReleaseMessage table

Apollo's rules (``ReleaseService.publish``/``rollback``, ``ReleaseMessage``): a publish adds one
new release with a release key never used before and makes it active; a rollback abandons the
active release and makes the latest earlier release that is not abandoned active again (no new
release); each publish and rollback appends a release message whose id (the
``notificationId``) is larger than every earlier one. Properties (one test each):

* ``immutable`` -- a release key, once seen, always has the same content;
* ``monotonic`` -- the message table only grows, its ids strictly increase in table order,
  and every publish appends a message for its key;
* ``append_only`` -- each key's history (its release keys) only grows at the end: a publish
  adds exactly one release, a rollback none, nothing is removed or reordered;
* ``converge`` -- Apollo clients (the library's :class:`ApolloClient`, long-polling a server
  that answers from the student's store) hold, after every operation, the content the
  library's :class:`ReleaseStore` says is active, rolled-back content included.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import ConfigError, allowed
from ..sim import Node, Simulation, UniformInt, reliable, stream
from .client import ApolloClient
from .messages import ConfigsReply, Notifications, NotificationsReply, QueryConfig
from .model import ReleaseStore
from .server import APOLLO_HOLD_MS

Fn = Callable[..., Any]
RELEASE_PROPERTIES = ("immutable", "monotonic", "append_only", "converge")
EMPTY_STORE: dict[str, Any] = {"releases": {}, "active": {}, "abandoned": [], "messages": []}
KEYS = ("app+default+application", "app+default+db")
_SHAPE = ('{"releases": {key: [{"release_key": str, "content": str}, ...]}, "active": {key: release_key}, '
          '"abandoned": [release_key, ...], "messages": [[id, key], ...]}')


def check_store(store: Any) -> dict[str, Any]:
    """``store`` if it has the documented shape (exact types), else a ``ConfigError``."""
    ok = type(store) is dict and set(store) == {"releases", "active", "abandoned", "messages"}
    ok = ok and type(store["releases"]) is dict and all(
        type(k) is str and type(h) is list and all(
            type(r) is dict and set(r) == {"release_key", "content"} and type(r["release_key"]) is str
            and type(r["content"]) is str for r in h) for k, h in store["releases"].items())
    ok = ok and type(store["active"]) is dict and all(type(k) is str and type(v) is str
                                                      for k, v in store["active"].items())
    ok = ok and type(store["abandoned"]) is list and all(type(v) is str for v in store["abandoned"])
    ok = ok and type(store["messages"]) is list and all(
        type(m) is list and len(m) == 2 and type(m[0]) is int and type(m[1]) is str for m in store["messages"])
    if not ok:
        raise allowed("store", json.dumps(store, default=repr)[:120], _SHAPE)
    return store


def active_content(store: dict[str, Any], key: str) -> tuple[str, str] | None:
    """``(release key, content)`` of the active release of ``key`` in a student store."""
    rk = store["active"].get(key)
    if rk is None:
        return None
    for r in store["releases"].get(key, ()):
        if r["release_key"] == rk:
            return rk, r["content"]
    raise allowed(f"active release of {key!r}", rk, "a release key in that key's history")


def notification_id(store: dict[str, Any], key: str) -> int:
    """The largest message id of ``key`` (-1 if none), as ``ReleaseMessageServiceWithCache``."""
    return max((m[0] for m in store["messages"] if m[1] == key), default=-1)


def operations(seed: int, count: int) -> list[tuple[str, str, str]]:
    """A random valid sequence of ``("publish", key, content)`` / ``("rollback", key, "")``:
    a rollback only where an earlier live release exists (checked on the library's store)."""
    rng = stream(seed, "E15.2")
    ref, ops = ReleaseStore(), []
    for i in range(count):
        key = KEYS[int(rng.integers(len(KEYS)))]
        can = ref.current(key) is not None and any(
            r.release_key not in ref.abandoned for r in ref.history(key)[:ref.active[key]])
        if can and rng.random() < 0.4:
            ref.rollback(key, float(i))
            ops.append(("rollback", key, ""))
        else:
            content = f"timeout: {int(rng.integers(100, 1000))}\nrev: {i}"
            ref.publish(key, content, float(i))
            ops.append(("publish", key, content))
    return ops


#: public fixed scenario: publish A, B, C to one key, roll back twice (to A), publish D, roll back (to A)
SCRIPT = [("publish", KEYS[0], "v: A"), ("publish", KEYS[1], "pool: 8"), ("publish", KEYS[0], "v: B"),
          ("publish", KEYS[0], "v: C"), ("rollback", KEYS[0], ""), ("rollback", KEYS[0], ""),
          ("publish", KEYS[1], "pool: 16"), ("publish", KEYS[0], "v: D"), ("rollback", KEYS[0], "")]


def _describe(op: tuple[str, str, str]) -> str:
    kind, key, content = op
    return f"publish({key!r}, {content!r})" if kind == "publish" else f"rollback({key!r})"


def _step(publish: Fn, rollback: Fn, store: dict[str, Any], op: tuple[str, str, str]) -> dict[str, Any]:
    kind, key, content = op
    arg = copy.deepcopy(store)
    out = publish(arg, key, content) if kind == "publish" else rollback(arg, key)
    return copy.deepcopy(check_store(out))


def _structure(ops: list[tuple[str, str, str]], stores: list[dict[str, Any]]) -> dict[str, str]:
    """The first break of ``immutable``, ``monotonic`` and ``append_only`` along the run."""
    problems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for i, op in enumerate(ops):
        before, after = stores[i], stores[i + 1]
        where = f"after operation {i + 1}, {_describe(op)}"
        for history in after["releases"].values():
            for r in history:
                old = seen.setdefault(r["release_key"], r["content"])
                if old != r["content"] and "immutable" not in problems:
                    problems["immutable"] = (f"Immutable: {where}, release {r['release_key']!r} holds "
                                             f"{r['content']!r}; it held {old!r} (a release never changes: "
                                             "publish a new one)")
        bm, am = before["messages"], after["messages"]
        if "monotonic" not in problems:
            ids = [m[0] for m in am]
            if am[:len(bm)] != bm:
                problems["monotonic"] = f"Monotonic: {where}, earlier release messages changed: {bm} became {am}"
            elif any(b <= a for a, b in itertools.pairwise(ids)):
                problems["monotonic"] = (f"Monotonic: {where}, the message ids are {ids}: they must strictly "
                                         "increase (one table, one counter, for every key)")
            elif op[0] == "publish" and not any(m[1] == op[1] for m in am[len(bm):]):
                problems["monotonic"] = f"Monotonic: {where}, no release message was appended for {op[1]!r}"
        if "append_only" not in problems:
            for key in set(before["releases"]) | set(after["releases"]):
                b = [r["release_key"] for r in before["releases"].get(key, [])]
                a = [r["release_key"] for r in after["releases"].get(key, [])]
                grew = 1 if op[0] == "publish" and op[1] == key else 0
                if a[:len(b)] != b or len(a) != len(b) + grew:
                    problems["append_only"] = (f"Append-only: {where}, the history of {key!r} went from {b} to {a}; "
                                               f"expected {'one release appended' if grew else 'no change'}")
                    break
    return problems


def release_trial(publish: Fn, rollback: Fn, seed: int, *, count: int = 0,
                  properties: Iterable[str] = ("immutable", "monotonic", "append_only")) -> Trial:
    """Apply :data:`SCRIPT` (``count == 0``) or ``count`` random operations and check the
    store after each one; every failed property is listed."""
    props = selected(properties, RELEASE_PROPERTIES)
    trial = Trial(seed)
    ops = SCRIPT if count == 0 else operations(seed, count)
    stores = [copy.deepcopy(EMPTY_STORE)]
    try:
        for op in ops:
            stores.append(_step(publish, rollback, stores[-1], op))
    except ConfigError as exc:
        return trial.fail(f"unusable answer after {_describe(op)}: {exc}")
    problems = _structure(ops, stores)
    for p in props:
        if p in problems:
            trial.violate(problems[p])
    return trial


class StudentApolloService(Node):
    """A config service answering ``/notifications/v2`` and ``/configs`` from the student's
    store (the ids and active releases it holds): a poll is answered at once if a key's
    latest message id is above the client's, else held 60 s; an operation (a timer
    ``"op"``) runs the student's function and answers the held polls it concerns."""

    publish_fn: Fn = staticmethod(lambda store, key, content: store)
    rollback_fn: Fn = staticmethod(lambda store, key: store)

    def __init__(self, id: str = "server") -> None:
        super().__init__(id)
        self.held: dict[tuple[str, int], dict[str, int]] = {}

    @property
    def store(self) -> dict[str, Any]:
        return self.stable.setdefault("store", copy.deepcopy(EMPTY_STORE))

    def news(self, posted: dict[str, int]) -> tuple[tuple[str, int], ...]:
        return tuple((k, notification_id(self.store, k)) for k, nid in posted.items()
                     if notification_id(self.store, k) > nid)

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is Notifications:
            posted = dict(msg.notifications)
            news = self.news(posted)
            if news:
                self.send(src, NotificationsReply(msg.rid, news))
            else:
                self.held[(src, msg.rid)] = posted
                self.set_timer(APOLLO_HOLD_MS, "hold", (src, msg.rid))
        elif type(msg) is QueryConfig:
            found = active_content(self.store, msg.key)
            if found is None:
                self.send(src, ConfigsReply(msg.rid, msg.key, 404, "", None))
            else:
                self.send(src, ConfigsReply(msg.rid, msg.key, 200, found[0], found[1]))

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "hold":
            if self.held.pop(payload, None) is not None:
                self.send(payload[0], NotificationsReply(payload[1], ()))
        elif name == "op":
            kind, key, content = payload
            self.stable["store"] = _step(type(self).publish_fn, type(self).rollback_fn, self.store,
                                         (kind, key, content))
            for cr, posted in list(self.held.items()):
                news = self.news(posted)
                if news:
                    del self.held[cr]
                    self.send(cr[0], NotificationsReply(cr[1], news))


def converge_trial(publish: Fn, rollback: Fn, seed: int, *, clients: int = 5, count: int = 0,
                   settle_ms: float = 2_000.0) -> Trial:
    """``converge``: run :data:`SCRIPT` (or ``count`` random operations) ``settle_ms`` apart
    on a service answering from the student's store; after each, every client must hold the
    content the library's :class:`ReleaseStore` makes active."""
    trial = Trial(seed)
    ops = SCRIPT if count == 0 else operations(seed, count)
    cls = type("ReleaseService", (StudentApolloService,),
               {"publish_fn": staticmethod(publish), "rollback_fn": staticmethod(rollback)})
    sim = Simulation(seed=seed, network=reliable(latency=UniformInt(1, 10)))
    trial.trace = sim.trace
    server = cls("server")
    nodes = [ApolloClient(f"c{i}", "server", KEYS) for i in range(clients)]
    for node in (server, *nodes):
        sim.add_node(node)
    ref = ReleaseStore()
    try:
        for i, op in enumerate(ops):
            server.set_timer(settle_ms * (i + 1) - sim.now, "op", op)
            sim.run(until=settle_ms * (i + 1))
            (ref.publish(op[1], op[2], sim.now) if op[0] == "publish" else ref.rollback(op[1], sim.now))
            sim.run(until=settle_ms * (i + 2) - 1)
            for c in nodes:
                r = ref.current(op[1])
                want = None if r is None else r.content
                if c.get(op[1]) != want:
                    return trial.fail(f"Converge: {settle_ms:g} ms after operation {i + 1}, {_describe(op)}, client "
                                      f"{c.id} held {c.get(op[1])!r} for {op[1]!r}; the active release is {want!r}")
    except ConfigError as exc:
        trial.violate(f"unusable answer: {exc}", sim.now)
    return trial
