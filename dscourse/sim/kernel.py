"""The discrete-event kernel: :class:`Simulation`, its event loop and controlled scheduling.

A plain binary heap of events keyed ``(time, priority, seq)`` (curriculum §1.1 item 1), in
the spirit of SimPy's ``core.py`` but without coroutines: handlers are ordinary methods of
:class:`~dscourse.sim.node.Node`. Time is integer microseconds inside and milliseconds
(float) in the public API. ``seq`` is a global insertion counter, so ties are broken by
insertion order and a run is a pure function of the seed and the code.

Queue entries are small lists ``[time, priority, seq, kind, id, node, peer, label, msg,
data]`` whose fields are named by the constants of :mod:`.queue` (``e[KIND]``, ``e[MSG]``);
a cancelled timer or a debugger-dropped message is marked dead in place and skipped when
popped. Priorities at equal times: nemesis actions, then resumes and the backlog of a
resumed node, then node starts, then messages and timers (in insertion order).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import fields, replace
from heapq import heappop, heappush
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError, allowed
from .clock import Clocks, PhysicalClock
from .dist import Dist
from .errors import DuplicateNodeError, NodeCrashedError, UnknownNodeError, UnknownPendingError
from .faults import Faults
from .network import LinkModel, Network, is_reply, reliable
from .node import DETACHED, Node
from .queue import (
    CALL,
    CRASHED,
    DATA,
    DEAD,
    DELIVER,
    ID,
    KIND,
    LABEL,
    MSG,
    NODE,
    P_MSG,
    P_START,
    PAUSED,
    PEER,
    RESUME,
    SEQ,
    START,
    TIME,
    TIMER,
    Entry,
    to_us,
)
from .rng import Uniforms, check_seed, stream
from .trace import _ATOMIC, Trace, Unrendered, jsonable, label_of, private

_KIND_NAMES = {DELIVER: "deliver", TIMER: "timer", START: "start", CALL: "nemesis",
               RESUME: "resume"}


class Pending(NamedTuple):
    """A queued delivery or timer, as shown by :meth:`Simulation.pending`.

    ``time`` is integer microseconds like :class:`~dscourse.sim.trace.Event`; ``node`` is the
    receiver (delivery) or owner (timer); ``peer`` the sender; ``label`` the message type or
    timer name; ``msg`` the message or the timer payload.
    """

    id: int
    kind: str
    time: int
    node: str | None
    peer: str | None
    label: str | None
    msg: Any


class _Link:
    """Kernel-side state of one directed link: its model, random stream and FIFO horizon."""

    __slots__ = ("const_us", "drop", "duplicate", "fifo", "last", "latency", "long_delay",
                 "long_reorder", "model", "slow", "uniform")

    def __init__(self, model: LinkModel, uniform: Uniforms) -> None:
        self.uniform = uniform
        self.last = 0
        self.configure(model)

    def configure(self, model: LinkModel) -> None:
        self.model = model
        lat: Dist = model.latency  # type: ignore[assignment]  # LinkModel made it a Dist
        self.latency = lat
        self.drop, self.duplicate = model.drop, model.duplicate
        self.fifo, self.slow = model.fifo, model.slow
        long_delay: Dist = model.long_delay  # type: ignore[assignment]  # made a Dist too
        self.long_reorder, self.long_delay = model.long_reorder, long_delay
        const = lat.constant
        simple = const is not None and not (model.drop or model.duplicate or model.long_reorder)
        self.const_us = round(const * model.slow * 1000) if const is not None and simple else None


class Simulation(Faults, Clocks):
    """A deterministic simulated distributed system.

    ``Simulation(seed, network=...)``: ``seed`` (a non-negative int, always given: a run is a
    pure function of it) determines every random choice; ``network`` is the default model of every
    link (default :func:`~dscourse.sim.network.reliable`). Faults (crash, pause, partition,
    ...) come from :class:`~dscourse.sim.faults.Faults`.
    """

    def __init__(self, seed: int, network: Network | LinkModel | None = None) -> None:
        if seed is None:
            raise allowed("seed", seed, "a non-negative int (ds.sim takes the seed explicitly; "
                          "ds.setup's seed is the default of topic builders and widgets, "
                          "resolved with dscourse.notebook.default_seed(seed))")
        self.seed = check_seed(seed)
        if network is None:
            network = reliable()
        if not isinstance(network, LinkModel):
            raise allowed("network", network, "a Network (e.g. ds.sim.reliable(), "
                          "ds.sim.lossy(), ds.sim.labrpc_unreliable())")
        self.network = network
        self._default_link = network.link_model()
        self.trace = Trace()
        self._rec = self.trace.append
        self._lazy_trace = False  # the model checker's: sends keep messages unrendered (Unrendered)
        self._now = 0
        self._heap: list[Entry] = []
        self._seq = 0  # the next queue seq: a plain counter, so checkpoints can read it
        self._nodes: dict[str, Node] = {}
        self._order: tuple[str, ...] = ()
        self._on_message: dict[str, Callable[[str, Any], None]] = {}
        self._on_timer: dict[str, Callable[[str, Any], None]] = {}
        self._timers: dict[str, dict[int, Entry]] = {}
        self._links: dict[str, dict[str, _Link]] = {}
        self._overrides: dict[tuple[str, str], LinkModel] = {}
        self._streams: dict[str, np.random.Generator] = {}
        self._impaired: dict[str, str] = {}
        self._backlog: dict[str, list[Entry]] = {}
        self._resume_at: dict[str, Entry] = {}
        self._blocked: set[tuple[str, str]] = set()
        self._partition_pairs: set[tuple[str, str]] = set()
        self._cuts: set[tuple[str, str]] = set()
        self._clock_offset: dict[str, int] = {}
        self._physical: dict[str, PhysicalClock] = {}   # nodes with drift or NTP (sim/clock.py)
        self._boot: dict[str, int] = {}                 # when each node was added (monotonic clock)

    def __repr__(self) -> str:
        return (f"<Simulation seed={self.seed} now={self.now} ms nodes={','.join(self._order)} "
                f"events={len(self.trace)}>")

    # -- public state ------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Virtual time in milliseconds."""
        return self._now / 1000

    @property
    def nodes(self) -> MappingProxyType[str, Node]:
        """The nodes by id, in the order they were added (read-only)."""
        return MappingProxyType(self._nodes)

    def rng(self, name: str) -> np.random.Generator:
        """The named random stream ``name`` (the same generator on every call)."""
        gen = self._streams.get(name)
        if gen is None:
            gen = self._streams[name] = stream(self.seed, name)
        return gen

    def status(self, node_id: str) -> str:
        """``"up"``, ``"crashed"`` or ``"paused"``."""
        self._node(node_id)
        return self._impaired.get(node_id, "up")

    @property
    def blocked(self) -> frozenset[tuple[str, str]]:
        """Directed links ``(src, dst)`` currently cut by a partition or ``cut``."""
        return frozenset(self._blocked)

    def link(self, src: str, dst: str) -> LinkModel:
        """The model currently used for the directed link ``src -> dst``."""
        self._node(src)
        self._node(dst)
        return self._overrides.get((src, dst), self._default_link)

    def set_link(self, src: str, dst: str, **changes: Any) -> LinkModel:
        """Override fields of the directed link ``src -> dst`` (``latency``, ``drop``, ...)."""
        names = {f.name for f in fields(LinkModel)}
        for key in changes:
            if key not in names:
                raise allowed("set_link field", key, f"one of {', '.join(sorted(names))}")
        model = replace(self.link(src, dst), **changes)
        self._overrides[(src, dst)] = model
        cached = self._links[src].get(dst)
        if cached is not None:
            cached.configure(model)
        self._rec((self._now, "link", src, dst, None, None, model.settings()))
        return model

    # -- building ----------------------------------------------------------------------------
    def add_node(self, node: Node) -> Node:
        """Attach ``node``; its ``on_start()`` runs at the current virtual time."""
        if not isinstance(node, Node):
            raise allowed("node", node, "an instance of a ds.sim.Node subclass")
        node_id = node.__dict__.get("id")
        if node_id is None:
            raise ConfigError(f"{type(node).__name__} has no id: its __init__ must call "
                              "super().__init__(id)")
        if node_id in self._nodes:
            raise DuplicateNodeError(f"node id={node_id!r} is already taken: expected a new id, "
                                     f"not one of {', '.join(self._nodes)}")
        if node.__dict__.get("_sim", DETACHED) is not DETACHED:
            raise allowed("node", node, "a node not yet added to a simulation")
        node.__dict__["_sim"] = self
        node.__dict__["rng"] = self.rng(f"node:{node_id}")
        self._nodes[node_id] = node
        self._order = tuple(self._nodes)
        self._on_message[node_id] = node.on_message
        self._on_timer[node_id] = node.on_timer
        self._timers[node_id] = {}
        self._links[node_id] = {}
        self._clock_offset[node_id] = 0
        self._boot[node_id] = self._now
        self._push(self._now, P_START, START, node=node_id)
        return node

    def _next_seq(self) -> int:
        """Take the next queue seq (it also names messages, timers and pending events)."""
        seq = self._seq
        self._seq = seq + 1
        return seq

    def _push(self, at: int, priority: int, kind: int, id: int | None = None,
              node: str | None = None, peer: str | None = None, label: str | None = None,
              msg: Any = None, data: Any = None) -> Entry:
        """Queue a new entry at time ``at`` (us) with the next seq and return it."""
        entry = [at, priority, self._next_seq(), kind, id, node, peer, label, msg, data]
        heappush(self._heap, entry)
        return entry

    def _node(self, node_id: Any) -> Node:
        try:
            return self._nodes[node_id]
        except (KeyError, TypeError):
            known = ", ".join(map(repr, self._nodes)) or "none yet"
            raise UnknownNodeError(f"node id={node_id!r} is not in the simulation: "
                                   f"expected one of {known}") from None

    def _peers(self, node_id: str) -> tuple[str, ...]:
        return tuple(n for n in self._order if n != node_id)

    def _clock(self, node_id: str) -> float:
        if self._physical and node_id in self._physical:
            return self._physical[node_id].read(self._now) / 1000
        return (self._now + self._clock_offset[node_id]) / 1000

    def _check_up(self, node_id: str, action: str) -> None:
        if self._impaired.get(node_id) == CRASHED:
            raise NodeCrashedError(f"node {node_id!r} is crashed: it cannot {action} "
                                   "(recover it first)")

    # -- node actions ------------------------------------------------------------------------
    def _broadcast(self, src: str, msg: Any) -> list[int]:
        # render once for every destination (the model checker's searches: never here)
        rendered = None if self._lazy_trace else (label_of(msg), jsonable(msg))
        send = self._send
        return [send(src, dst, msg, rendered) for dst in self._peers(src)]

    def _send(self, src: str, dst: str, msg: Any, rendered: tuple[str, Any] | None = None,
              owned: bool = False, _atomic: frozenset = _ATOMIC, _heappush: Callable = heappush) -> int:
        """Trace a send and queue its delivery (or drop it). The message id is the queue
        ``seq`` of its first copy, so a pending delivery's id equals its ``msg_id``.
        ``owned``: the sender hands ``msg`` over (built for this send, no reference kept), so
        the receiver may have it without the private copy (:meth:`Node._hand_over`)."""
        if self._impaired and self._impaired.get(src) == CRASHED:
            self._check_up(src, "send")
        try:
            link = self._links[src][dst]
        except KeyError:
            link = self._new_link(src, dst)
        cls = type(msg)
        if cls in _atomic:
            label = cls.__name__
            data = msg
        elif rendered is not None:
            label, data = rendered
            if not owned:
                msg = private(msg)
        elif self._lazy_trace:
            label = label_of(msg)
            data = Unrendered(msg if owned else (msg := private(msg)))
        else:
            label, data = label_of(msg), jsonable(msg)
            if not owned:
                msg = private(msg)
        mid = self._seq  # the hot path: self._next_seq() inlined
        self._seq = mid + 1
        now = self._now
        rec = self._rec
        rec((now, "send", src, dst, mid, label, data))
        if self._blocked and (src, dst) in self._blocked:
            rec((now, "drop", src, dst, mid, label, {"reason": "partition"}))
            return mid
        const = link.const_us
        if const is not None:
            at = now + const
            if link.fifo:
                if at < link.last:
                    at = link.last
                link.last = at
            # a queue entry (sim/queue.py): time, priority, seq, kind, id, node, peer, label, msg, data
            _heappush(self._heap, [at, P_MSG, mid, DELIVER, mid, dst, src, label, msg, data])
            return mid
        u = link.uniform
        if link.drop and u() < link.drop:
            rec((now, "drop", src, dst, mid, label, {"reason": "loss"}))
            return mid
        copies = 2 if link.duplicate and u() < link.duplicate else 1
        for copy in range(copies):
            seq = mid
            if copy:
                rec((now, "duplicate", src, dst, mid, label, data))
                seq, msg = self._next_seq(), private(msg)
            delay = link.latency.sample(u) * link.slow
            if link.long_reorder and is_reply(label, msg) and u() < link.long_reorder:
                delay += link.long_delay.sample(u)
            at = now + round(delay * 1000)
            if link.fifo:
                if at < link.last:
                    at = link.last
                link.last = at
            _heappush(self._heap, [at, P_MSG, seq, DELIVER, mid, dst, src, label, msg, data])
        return mid

    def _new_link(self, src: str, dst: str) -> _Link:
        self._node(dst)
        model = self._overrides.get((src, dst), self._default_link)
        link = self._links[src][dst] = _Link(model, Uniforms(self.rng(f"net:{src}->{dst}")))
        return link

    def _set_timer(self, node_id: str, delay_ms: float, name: str, payload: Any) -> int:
        self._check_up(node_id, "set a timer")
        delay = to_us("delay_ms", delay_ms)
        if not isinstance(name, str):
            raise allowed("timer name", name, "a str")
        data = payload if type(payload) in _ATOMIC else jsonable(payload)
        if self._physical and node_id in self._physical:  # local elapsed time (sim/clock.py)
            delay = self._physical[node_id].timer_delay(delay)
        # a timer's handle is its queue seq (its pending id)
        entry = self._push(self._now + delay, P_MSG, TIMER, self._seq, node_id, None, name,
                           payload, data)
        handle = entry[SEQ]
        self._timers[node_id][handle] = entry
        self._rec((self._now, "timer_set", node_id, None, handle, name,
                   {"at": entry[TIME], "payload": data}))
        return handle

    def _cancel_timer(self, node_id: str, handle: int) -> bool:
        if isinstance(handle, bool) or not isinstance(handle, int):
            raise allowed("timer handle", handle, "an int returned by set_timer")
        entry = self._timers[node_id].pop(handle, None)
        if entry is None:
            return False
        entry[KIND] = DEAD
        self._rec((self._now, "timer_cancel", node_id, None, handle, entry[LABEL], None))
        return True

    def _annotate(self, node_id: str, fields_: dict[str, Any]) -> None:
        if not fields_:
            raise allowed("annotate()", "no fields", "at least one keyword, e.g. role='leader'")
        self._rec((self._now, "annotate", node_id, None, None, ",".join(sorted(fields_)),
                   jsonable(fields_)))

    # -- the event loop ----------------------------------------------------------------------
    def _execute(self, e: Entry) -> None:
        """Run one popped, live entry at the current time."""
        kind = e[KIND]
        if kind == DELIVER:
            dst, src = e[NODE], e[PEER]
            impaired = self._impaired
            if impaired and dst in impaired:
                if impaired[dst] == PAUSED:
                    self._backlog[dst].append(e)
                    return
                self._rec((self._now, "drop", src, dst, e[ID], e[LABEL], {"reason": "crashed"}))
                return
            if self._blocked and (src, dst) in self._blocked:
                self._rec((self._now, "drop", src, dst, e[ID], e[LABEL], {"reason": "partition"}))
                return
            self._rec((self._now, "deliver", dst, src, e[ID], e[LABEL], e[DATA]))
            self._on_message[dst](src, e[MSG])
        elif kind == TIMER:
            owner = e[NODE]
            if self._impaired and owner in self._impaired:  # paused (crash cancels timers)
                self._backlog[owner].append(e)
                return
            del self._timers[owner][e[ID]]
            self._rec((self._now, "timer_fire", owner, None, e[ID], e[LABEL], e[DATA]))
            self._on_timer[owner](e[LABEL], e[MSG])
        elif kind == START:
            node_id = e[NODE]
            state = self._impaired.get(node_id)
            if state == PAUSED:
                self._backlog[node_id].append(e)
            elif state is None:
                self._rec((self._now, "start", node_id, None, None, None, None))
                self._nodes[node_id].on_start()
        elif kind == CALL:
            getattr(self, e[LABEL])(*e[MSG])
        elif kind == RESUME:
            self._resume(e[NODE])

    def _pop(self, until: int | None) -> Entry | None:
        """Pop the next live entry due at or before ``until`` and advance the clock to it."""
        heap = self._heap
        while heap:
            if until is not None and heap[0][TIME] > until:
                return None
            e = heappop(heap)
            if e[KIND] != DEAD:
                if e[TIME] > self._now:
                    self._now = e[TIME]
                return e
        return None

    def run(self, until: float | None = None) -> None:
        """Run until virtual time ``until`` ms (then set ``now`` to it), or until no events are left."""
        limit = None if until is None else to_us("until", until)
        if limit is not None and limit < self._now:
            raise allowed("until", until, f"a time >= now ({self.now} ms)")
        heap, pop, execute = self._heap, heappop, self._execute
        on_message, rec, impaired, blocked = self._on_message, self._rec, self._impaired, self._blocked
        horizon = math.inf if limit is None else limit
        push = heappush
        while heap:
            e = pop(heap)
            # the entry's fields (sim/queue.py), unpacked at once: cheaper than indexing
            t, _priority, _seq, kind, mid, dst, src, label, msg, data = e
            if t > horizon:
                push(heap, e)
                break
            if kind == DELIVER and not impaired and not blocked:  # the hot path, inlined
                now = self._now
                if t > now:
                    self._now = now = t
                rec((now, "deliver", dst, src, mid, label, data))
                on_message[dst](src, msg)
            elif kind != DEAD:
                if t > self._now:
                    self._now = t
                execute(e)
        if limit is not None and limit > self._now:
            self._now = limit

    def peek(self) -> Pending | None:
        """The event :meth:`step` would run next, without running it (``None`` if none is left).

        Like ``step()``'s result, its ``kind`` is "deliver", "timer", "start", "resume" or
        "nemesis". (Added for the model checker, which runs the kernel's own events itself.)
        """
        live = [e for e in self._heap if e[KIND] != DEAD]
        return _describe(min(live)) if live else None

    def step(self) -> Pending | None:
        """Run the next event in normal order and return it (``None`` when nothing is left).

        The result is a :class:`Pending` whose ``kind`` is "deliver" or "timer", or, for the
        kernel's own events, "start", "resume" or "nemesis" (``label`` = the action's name).
        """
        e = self._pop(None)
        if e is None:
            return None
        described = _describe(e)
        self._execute(e)
        return described

    def run_until(self, predicate: Callable[..., bool], timeout: float) -> bool:
        """Run until ``predicate()`` (or ``predicate(sim)``) holds; False after ``timeout`` ms.

        The predicate is checked before every event; on timeout ``now`` is ``start + timeout``.
        """
        deadline = self._now + to_us("timeout", timeout)
        check = _as_check(predicate, self)
        while True:
            if check():
                return True
            e = self._pop(deadline)
            if e is None:
                if deadline > self._now:
                    self._now = deadline
                return bool(check())
            self._execute(e)

    # -- controlled scheduling (message debugger, model checking) ---------------------------
    def pending(self) -> list[Pending]:
        """Every queued delivery and timer, in the order they would fire."""
        return [_describe(e) for e in sorted(e for e in self._heap if e[KIND] in (DELIVER, TIMER))]

    def _find(self, pending_id: int, kinds: tuple[int, ...]) -> Entry:
        for e in self._heap:
            if e[SEQ] == pending_id and e[KIND] in kinds:
                return e
        what = "delivery" if kinds == (DELIVER,) else "delivery or timer"
        raise UnknownPendingError(f"pending id={pending_id!r} is not a pending {what}: expected "
                                  "an id from sim.pending()")

    def fire(self, pending_id: int) -> Pending:
        """Run that pending delivery or timer now (time advances to max(now, its time))."""
        e = self._find(pending_id, (DELIVER, TIMER))
        live = list(e)
        e[KIND] = DEAD
        if live[TIME] > self._now:
            self._now = live[TIME]
        if live[KIND] == TIMER:
            self._timers[live[NODE]][live[ID]] = live
        self._execute(live)
        return _describe(live)

    def drop(self, pending_id: int) -> None:
        """Drop a pending delivery (trace "drop" with reason "debugger")."""
        e = self._find(pending_id, (DELIVER,))
        e[KIND] = DEAD
        self._rec((self._now, "drop", e[PEER], e[NODE], e[ID], e[LABEL], {"reason": "debugger"}))

    def duplicate(self, pending_id: int) -> int:
        """Enqueue a copy of a pending delivery (same time and msg_id); returns the copy's id."""
        e = self._find(pending_id, (DELIVER,))
        copy = list(e)
        copy[SEQ], copy[MSG] = self._next_seq(), private(e[MSG])
        heappush(self._heap, copy)
        self._rec((self._now, "duplicate", e[PEER], e[NODE], e[ID], e[LABEL], e[DATA]))
        return copy[SEQ]


def _describe(e: Entry) -> Pending:
    return Pending(e[SEQ], _KIND_NAMES[e[KIND]], e[TIME], e[NODE], e[PEER], e[LABEL], e[MSG])


def _as_check(predicate: Callable[..., bool], sim: Simulation) -> Callable[[], bool]:
    if not callable(predicate):
        raise allowed("predicate", predicate, "a function of no arguments or of the simulation")
    try:
        params = inspect.signature(predicate).parameters.values()
        required = [p for p in params if p.default is p.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        required = []
    if required:
        return lambda: predicate(sim)
    return predicate
