"""Proxies that let trusted harness code drive a student's definitions in the sandbox.

Maelstrom's model (a node is a separate process that receives messages and answers with
messages) applied to ``ds.sim``: a :class:`RemoteNode` is a real :class:`dscourse.sim.Node`
in the parent's simulation; each handler call is forwarded to the child, which runs the
student's handler and answers with the actions it took (sends, timers, annotations, upcalls)
as tagged JSON. The parent checks every action's types and sizes exactly and applies it
itself. Nothing the child returns is ever called, unpickled or trusted beyond being data.

Every node instance runs in a sandbox of its own (:class:`Sandboxes` keeps one child per
node slot, ``(class, node id)``), so the simulated network is the only channel between
nodes: module globals are per process. A slot's process is reused by the next trial's node
of the same id (never by two live instances: the newer one takes it over).

:func:`make_node` is the one entry point harness code uses, so the same harness runs against
the student's real class in the notebook (``check``) and against a proxy in the grader.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigError
from ..sim import Node
from .registry import StudentError
from .runtime import wire
from .sandbox import Budget, Child, ChildError

ACTIONS = ("send", "timer", "cancel", "annotate", "up")
MAX_MESSAGE = 64 << 10        # bytes of one message or timer payload (encoded)
MAX_ANNOTATION = 4 << 10      # bytes of one annotation's fields (encoded)
MAX_ACTIONS_PER_CALL = 5000
#: Re-encoding a value parsed from a response line takes at most 4.5 times its bytes there (a
#: UTF-8 character becomes a ``\\u`` escape, ``9e15`` becomes ``9000000000000000.0``), so
#: no value in a line shorter than a size limit / EXPANSION can exceed that limit.
EXPANSION = 8
#: Answers that mention these may use numpy (a node's ``rng``): their sandboxes import it at
#: start-up. Only a hint: any other answer imports it on its first use of ``rng``.
NUMPY_HINT = re.compile(r"rng|numpy|\bnp\b")


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode      # built once, not per call


def _size(data: Any) -> int:
    return len(_ENCODE(data))


class Sandboxes:
    """The children that grade one exercise of one submission: ``main`` (loads the answer
    cells first, reports their names, runs functions, and hosts the first node slot) and one
    per further node slot, started when the harness creates the node. All share one
    :class:`~.sandbox.Budget`; :meth:`close` kills every one."""

    #: One process per node instance. ``False`` puts every node in ``main`` (the design before
    #: issue 12, which let nodes talk through globals): only ``benchmarks/bench_grading.py``
    #: sets it, to measure what the isolation costs.
    PER_NODE = True

    def __init__(self, cells: list[tuple[str, str]], names: list[str], *, timeout: float,
                 isolation: str = "auto", slot: int = 0, quota: list[int] | None = None,
                 forbid: dict | None = None) -> None:
        self.per_node = type(self).PER_NODE
        self.forbid = forbid          # {"modules": [...], "cells": [own cell indices]}: rules.py
        self.cells = cells
        self.names = names
        self.isolation = isolation
        self.slot = slot
        self.budget = Budget(timeout, quota)
        self.numpy = any(NUMPY_HINT.search(src) for _, src in cells)
        self.version = 0                  # counts changes of what nodes show the harness
        self.children: list[Child] = []
        self.main: Child | None = None
        self._slots: dict[str, Child] = {}
        self._owner: dict[str, int] = {}
        self._starting: set[str] = set()

    def __enter__(self) -> Sandboxes:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def launch(self) -> Child:
        """A fresh child, started and asked to load the answer cells, not yet waited for."""
        child = Child(timeout=self.budget.timeout, isolation=self.isolation, slot=self.slot,
                      files={"answers.json": json.dumps(self.cells)}, budget=self.budget,
                      numpy=self.numpy)
        self.children.append(child)
        child.launch()
        request: dict[str, Any] = {"op": "load", "cells": self.cells, "names": self.names}
        if self.forbid is not None:
            request["forbid"] = self.forbid
        child.send(request)
        return child

    def start(self) -> dict:
        """Start ``main``; returns its answer to the load request."""
        self.main = self.launch()
        self.main.ready()
        return self.main.receive()

    def reserve(self, key: str) -> None:
        """Start node slot ``key``'s process now, if it has none (harnesses create all their
        nodes before running, so their sandboxes start side by side)."""
        if key in self._slots:
            return
        if self.main is not None and (not self.per_node or self.main not in self._slots.values()):
            self._slots[key] = self.main          # main runs no node yet: the first slot's
        else:
            self._slots[key] = self.launch()
            self._starting.add(key)

    def take(self, key: str, owner: int) -> Child:
        """The process of node slot ``key``, now owned by the instance ``owner``."""
        self.reserve(key)
        child = self._slots[key]
        if key in self._starting:
            # Loading the same cells again for another node is charged once (to main), so a
            # slow top level does not cost once per node: the wait has its own limit instead.
            self._starting.discard(key)
            child.ready()
            loaded = child.receive(free=self.budget.timeout)
            if type(loaded.get("names")) is not dict or "error" in loaded:
                raise ChildError("crashed", "a node's sandbox answered the load request with "
                                            "malformed data")
        self._owner[key] = owner
        return child

    def owned(self, key: str, owner: int) -> Child:
        """The process of slot ``key`` if ``owner`` still owns it."""
        if self._owner.get(key) != owner:
            raise ChildError("crashed", f"two live node instances share the slot {key!r} "
                                        "(a harness must not keep an old trial's node running)")
        return self._slots[key]

    @property
    def blocked(self) -> set[str]:
        out: set[str] = set()
        for child in self.children:
            out |= child.blocked
        return out

    @property
    def refused(self) -> set[str]:
        out: set[str] = set()
        for child in self.children:
            out |= child.refused
        return out

    def tick(self) -> int:
        """A new value for :func:`observed_version`."""
        self.version += 1
        return self.version

    def close(self) -> None:
        for child in self.children:
            child.close()


class RemoteClass:
    """Stands for a student class loaded in ``sandboxes``; each instance gets its own process."""

    def __init__(self, sandboxes: Sandboxes, name: str) -> None:
        self.sandboxes = sandboxes
        self.name = name
        self._handles = 0

    def __repr__(self) -> str:
        return f"<sandboxed {self.name}>"

    def new_handle(self) -> int:
        self._handles += 1
        return self._handles


class RemoteFunction:
    """Stands for a student function in the sandbox; calls carry only tagged JSON."""

    def __init__(self, child: Child, name: str) -> None:
        self.child = child
        self.name = name

    def __repr__(self) -> str:
        return f"<sandboxed {self.name}()>"

    def __call__(self, *args: Any) -> Any:
        resp = self.child.request({"op": "fn", "name": self.name, "args": wire.encode(list(args))})
        _raise_student_error(resp, self.name)
        return _decode(resp.get("result"))


def _raise_student_error(resp: dict, where: str) -> None:
    err = resp.get("error")
    if err is None:
        return
    if type(err) is not dict:
        raise StudentError("Error", "the sandbox reported a malformed error")
    kind, msg = err.get("type"), err.get("msg")
    kind = kind if type(kind) is str else "Error"
    msg = msg if type(msg) is str else ""
    raise StudentError(kind[:80], msg[:400], f" (in {where})", err.get("not_implemented") is True)


def _decode(data: Any) -> Any:
    try:
        return wire.decode(data)
    except (wire.WireError, ValueError, TypeError):
        raise StudentError("WireError", "the sandbox returned a value that is not valid data") from None


def make_node(cls: Any, node_id: str, *args: Any, upcalls: dict[str, Callable] | None = None,
              observe: Sequence[str] = (), methods: Sequence[str] = (), **kwargs: Any) -> Node:
    """Instantiate a student node class, locally or in the sandbox.

    ``upcalls`` are callbacks the node may call as ``self.<name>(...)`` (e.g. ``deliver``);
    ``observe`` names attributes the harness reads after every handler call; ``methods``
    names extra methods the harness may call (e.g. ``reliable_send``).
    """
    upcalls = dict(upcalls or {})
    if isinstance(cls, RemoteClass):
        return RemoteNode(cls, cls.new_handle(), node_id, args, kwargs, upcalls, tuple(observe),
                          tuple(methods))
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise StudentError("TypeError", f"{getattr(cls, '__name__', cls)!r} is not a subclass of "
                                        "ds.sim.Node")
    node = cls(node_id, *args, **kwargs)
    for name, fn in upcalls.items():
        node.__dict__[name] = fn
    return node


def plain(msg: Any) -> Any:
    """A message as the library's own nodes read it: a sandboxed node's wire record decoded
    (any other message as it is)."""
    return wire.decode(msg["wire"]) if type(msg) is dict and "wire" in msg else msg


def make_plain_node(cls: Any, node_id: str, *args: Any, **kwargs: Any) -> Node:
    """:func:`make_node` for a student node that talks to the library's own nodes (replicas,
    clients, probes): a sandboxed node's sends reach them :func:`plain`, as a local node's
    would."""
    node = make_node(cls, node_id, *args, **kwargs)
    if isinstance(node, RemoteNode):
        send = node.send
        node.__dict__["send"] = lambda dst, msg: send(dst, plain(msg))
    return node


def observed_version(node: Any) -> int | None:
    """A number that changes whenever what the harness reads of ``node``'s observed attributes
    (``make_node(observe=...)``) may have changed, or None for a local node (whose attributes
    can change at any time: read them again). A harness that checks a property after every
    event need only re-check the nodes whose version changed: a sandboxed node's observed
    values change only when one of its own calls returns."""
    return node._version if isinstance(node, RemoteNode) else None


class RemoteNode(Node):
    """A node whose handlers run in the sandbox (see the module docstring).

    Each call sends the handler's arguments, ``now`` and the local clock; the node's peers
    only when they changed, the names it observes only when it is created, and the child
    answers with the observed values that changed (all of them after the proxy lost its
    copies in a crash: ``full``). The kernel still sets the child's ``_peers``, ``_now`` and
    ``_clock`` before every call, as ``sim.Node`` would be set.
    """

    #: Send the peers and ask for every observed value on every call (the protocol before
    #: issue 23's item 5): tests/grading/test_lean_protocol.py checks both give the same results.
    RESEND = False

    def __init__(self, spec: RemoteClass, handle: int, node_id: str, args: tuple, kwargs: dict,
                 upcalls: dict[str, Callable], observe: tuple[str, ...],
                 methods: tuple[str, ...]) -> None:
        super().__init__(node_id)
        d = self.__dict__
        d.update(_spec=spec, _handle=handle, _args=args, _kwargs=kwargs, _upcalls=upcalls,
                 _observe=observe, _methods=methods, _timers={}, _observed={},
                 _sent_peers=None, _synced=False, _version=spec.sandboxes.tick())
        self.stable.setdefault("_created", False)
        spec.sandboxes.reserve(self._slot)

    def __repr__(self) -> str:
        return f"<sandboxed {self._spec.name} {self.id}>"

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_spec" not in d and "_init_args" in d:
            # A crash wiped the proxy's own fields (the kernel keeps only what sim.Node keeps);
            # they are constructor arguments, so rebuild them: the harness may still inspect
            # a crashed node, as it can a local one.
            RemoteNode.__init__(self, *d["_init_args"][0], **d["_init_args"][1])
            return getattr(self, name)
        if name in d.get("_methods", ()):
            return lambda *args: self._call(name, [wire.encode(a) for a in args])
        if name in d.get("_observe", ()):
            return d["_observed"].get(name)
        raise AttributeError(name)

    # -- handlers --------------------------------------------------------------------------------
    def on_start(self) -> None:
        if not self.stable["_created"]:
            self.stable["_created"] = True
            self._spec.sandboxes.take(self._slot, self._handle)
            self._request({"op": "new", "h": self._handle, "name": self._spec.name,
                           "args": wire.encode([self.id, *self._args]),
                           "kwargs": wire.encode(self._kwargs),
                           "upcalls": sorted(self._upcalls), "observe": list(self._observe),
                           "exclusive": self._spec.sandboxes.per_node,
                           "rng_state": self.rng.bit_generator.state}, "__init__")
        self._call("on_start", [])

    def on_message(self, src: str, msg: Any) -> None:
        data = msg["wire"] if type(msg) is dict and set(msg) == {"type", "wire"} else wire.encode(msg)
        self._call("on_message", [src, data])

    def on_timer(self, name: str, payload: Any) -> None:
        entry = self._timers.pop(payload, None)
        self._call("on_timer", [name, entry[1] if entry else None])

    def on_crash(self) -> None:
        self._call("__crash__", [])

    def on_recover(self) -> None:
        self._call("__recover__", [])

    # -- the round trip ---------------------------------------------------------------------------
    def _call(self, method: str, args: list) -> Any:
        handle = self._handle          # first: after a crash this rebuilds the proxy's fields
        req = {"op": "call", "h": handle, "m": method, "args": args, "now": self.now,
               "clock": self.clock()}
        d = self.__dict__
        peers = self.peers
        if peers != d["_sent_peers"] or self.RESEND:
            req["peers"] = list(peers)
            d["_sent_peers"] = peers
        if not d["_synced"] or self.RESEND:
            req["full"] = True
        child = self._spec.sandboxes.owned(self._slot, handle)
        resp = child.request(req)
        _raise_student_error(resp, f"{self._spec.name}.{method}")
        self._apply(resp.get("actions", []), child.last_size)
        observed = resp.get("observe")
        if type(observed) is dict and observed:
            for name in self._observe:
                if name in observed:
                    self._observed[name] = _decode(observed[name])
            d["_version"] = self._spec.sandboxes.tick()
        d["_synced"] = True
        return _decode(resp.get("result"))

    @property
    def _slot(self) -> str:
        return f"{self._spec.name}/{self.id}"

    def _request(self, payload: dict, method: str) -> dict:
        resp = self._spec.sandboxes.owned(self._slot, self._handle).request(payload)
        _raise_student_error(resp, f"{self._spec.name}.{method}")
        return resp

    def _apply(self, actions: Any, size: int) -> None:
        """Apply the actions of one response (``size``: its line's bytes)."""
        if type(actions) is not list:
            raise StudentError("ProtocolError", "the sandbox returned malformed actions")
        if len(actions) > MAX_ACTIONS_PER_CALL:
            raise StudentError("ValueError", f"one handler call took {len(actions)} actions "
                                             f"(at most {MAX_ACTIONS_PER_CALL})")
        self._spec.sandboxes.budget.actions += len(actions)
        big = size * EXPANSION > MAX_ANNOTATION      # else no value in it can be too big
        for action in actions:
            if type(action) is not list or not action or action[0] not in ACTIONS:
                raise StudentError("ProtocolError", "the sandbox returned a malformed action")
            try:
                getattr(self, "_do_" + action[0])(*action[1:], big=big)
            except TypeError:
                raise StudentError("ProtocolError", f"malformed {action[0]} action") from None
            except ConfigError as exc:
                raise StudentError(type(exc).__name__, str(exc), f" (in {self._spec.name})") from None

    def _do_send(self, dst: Any, data: Any, *, big: bool = True) -> None:
        if type(dst) is not str:
            raise StudentError("TypeError", f"send() needs a node id (str), not {type(dst).__name__}")
        if big and _size(data) > MAX_MESSAGE:
            raise StudentError("ValueError", f"a message larger than {MAX_MESSAGE >> 10} KiB")
        self._hand_over(dst, {"type": wire.label(data), "wire": data})   # data: just decoded

    def _do_timer(self, handle: Any, delay: Any, name: Any, payload: Any, *, big: bool = True) -> None:
        if type(handle) is not int or type(name) is not str or type(delay) not in (int, float) \
                or not math.isfinite(delay) or delay < 0:
            raise StudentError("ValueError", f"set_timer({delay!r}, {name!r}) needs a delay >= 0 "
                                             "and a str name")
        if big and _size(payload) > MAX_MESSAGE:
            raise StudentError("ValueError", f"a timer payload larger than {MAX_MESSAGE >> 10} KiB")
        real = self.set_timer(delay, name[:100], handle)
        self._timers[handle] = (real, payload)

    def _do_cancel(self, handle: Any, *, big: bool = True) -> None:
        entry = self._timers.pop(handle, None) if type(handle) is int else None
        if entry is not None:
            self.cancel_timer(entry[0])

    def _do_annotate(self, data: Any, *, big: bool = True) -> None:
        if big and _size(data) > MAX_ANNOTATION:
            raise StudentError("ValueError", f"an annotation larger than {MAX_ANNOTATION >> 10} KiB "
                                             "(the grader keeps every annotation in the trace)")
        fields = _decode(data)
        if type(fields) is not dict or not fields or not all(type(k) is str for k in fields):
            raise StudentError("ValueError", "annotate() needs keyword fields")
        self.annotate(**fields)

    def _do_up(self, name: Any, args: Any, *, big: bool = True) -> None:
        if type(name) is not str or name not in self._upcalls or type(args) is not list:
            raise StudentError("AttributeError", f"no upcall {name!r}")
        self._upcalls[name](*[_decode(a) for a in args])
