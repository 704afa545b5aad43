"""The scene: what the pictures show, computed from a trace (no drawing here).

(Called a *scene*, not a model: in dscourse a *model* is a sequential specification that
a history is checked against, ``dscourse.checkers.models``.)

:func:`spacetime_scene` turns a trace (TRACE.md contract) into lanes, message arrows,
drops, duplicates, crash and pause bars, partition spans and annotations;
:func:`cluster_state` replays a trace up to a time and returns the cluster as the
:func:`~dscourse.viz.cluster` picture needs it (roles, crashed and paused nodes, blocked
links, in-flight messages). Both accept a :class:`~dscourse.sim.Trace`, a simulation (its
``.trace``) or any iterable of ``Event`` records. Times in the results are milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed

US_PER_MS = 1000


def events_of(source: Any) -> list:
    """The event list of a trace, a simulation (``.trace``) or an iterable of events."""
    trace = getattr(source, "trace", source)
    events = getattr(trace, "events", None)
    if events is not None:
        return list(events)
    try:
        return list(trace)
    except TypeError:
        raise allowed("trace", source, "a Trace, a Simulation or an iterable of trace Events") from None


def node_order(events: Sequence, nodes: Iterable[str] | None = None) -> list[str]:
    """Lanes: ``nodes`` if given, else every node in order of first appearance in the trace."""
    if nodes is not None:
        order = list(nodes)
        if len(set(order)) != len(order) or not all(isinstance(n, str) for n in order):
            raise allowed("nodes", nodes, "distinct node ids (str)")
        return order
    seen: dict[str, None] = {}
    for e in events:
        for n in (e.node, e.peer):
            if n is not None and n not in seen:
                seen[n] = None
        if e.kind == "partition":
            for group in partition_groups(e.data):
                for n in group:
                    seen.setdefault(n, None)
    return list(seen)


def partition_groups(data: Any) -> list[list[str]]:
    """The groups of a "partition" event (``data`` is the list of groups or ``{"groups": ...}``)."""
    groups = data.get("groups", []) if isinstance(data, dict) else data
    return [list(g) for g in groups or []]


@dataclass(frozen=True)
class Message:
    """One send and what became of it: deliveries (first is the original), drops."""

    msg_id: int
    src: str
    dst: str
    label: str
    sent: float
    delivered: tuple[float, ...] = ()
    dropped: tuple[tuple[float, str], ...] = ()   # (time, reason)
    duplicates: int = 0


@dataclass(frozen=True)
class Span:
    """A time interval on one lane (crash or pause) or across lanes (partition, cut)."""

    kind: str
    start: float
    end: float | None            # None: still open at the end of the trace
    node: str | None = None
    detail: Any = None


@dataclass(frozen=True)
class Mark:
    """A point event on a lane: an annotation, a timer firing, a clock jump."""

    kind: str
    time: float
    node: str
    detail: Any = None


@dataclass
class SpacetimeScene:
    """Everything :func:`~dscourse.viz.spacetime` draws."""

    nodes: list[str]
    messages: list[Message]
    spans: list[Span]
    marks: list[Mark]
    end: float                                   # time of the last event (ms)


def spacetime_scene(source: Any, nodes: Iterable[str] | None = None) -> SpacetimeScene:
    """Collect the drawable parts of a trace (see module docstring)."""
    events = events_of(source)
    order = node_order(events, nodes)
    sends: dict[int, dict[str, Any]] = {}
    spans: list[Span] = []
    marks: list[Mark] = []
    open_down: dict[tuple[str, str], tuple[float, Any]] = {}   # (kind, node) -> start
    open_part: tuple[float, Any] | None = None
    open_cuts: dict[tuple[str, str], float] = {}
    end = 0.0
    for e in events:
        t = e.time / US_PER_MS
        end = max(end, t)
        k = e.kind
        if k == "send":
            sends[e.msg_id] = {"msg_id": e.msg_id, "src": e.node, "dst": e.peer,
                               "label": e.label or "?", "sent": t, "delivered": [],
                               "dropped": [], "duplicates": 0}
        elif k in ("deliver", "drop", "duplicate") and e.msg_id in sends:
            m = sends[e.msg_id]
            if k == "deliver":
                m["delivered"].append(t)
            elif k == "drop":
                reason = e.data.get("reason", "loss") if isinstance(e.data, dict) else "loss"
                m["dropped"].append((t, reason))
            else:
                m["duplicates"] += 1
        elif k in ("crash", "pause"):
            open_down[(k, e.node)] = (t, e.data)
        elif k in ("recover", "resume"):
            start = open_down.pop(("crash" if k == "recover" else "pause", e.node), None)
            if start is not None:
                spans.append(Span("crash" if k == "recover" else "pause", start[0], t, e.node, start[1]))
        elif k == "partition":
            if open_part is not None:
                spans.append(Span("partition", open_part[0], t, None, open_part[1]))
            open_part = (t, partition_groups(e.data))
        elif k == "cut":
            open_cuts.setdefault((e.node, e.peer), t)
        elif k == "heal":
            if open_part is not None:
                spans.append(Span("partition", open_part[0], t, None, open_part[1]))
                open_part = None
            for (a, b), since in sorted(open_cuts.items(), key=lambda kv: kv[1]):
                spans.append(Span("cut", since, t, None, [a, b]))
            open_cuts.clear()
        elif k == "annotate":
            marks.append(Mark("annotate", t, e.node, e.data))
        elif k == "timer_fire":
            marks.append(Mark("timer", t, e.node, e.label))
        elif k == "clock_jump":
            marks.append(Mark("clock_jump", t, e.node, e.data))
    for (kind, node), (since, data) in open_down.items():
        spans.append(Span(kind, since, None, node, data))
    if open_part is not None:
        spans.append(Span("partition", open_part[0], None, None, open_part[1]))
    for (a, b), since in open_cuts.items():
        spans.append(Span("cut", since, None, None, [a, b]))
    spans.sort(key=lambda s: (s.start, s.kind, s.node or ""))
    messages = [Message(m["msg_id"], m["src"], m["dst"], m["label"], m["sent"],
                        tuple(m["delivered"]), tuple(m["dropped"]), m["duplicates"])
                for m in sends.values()]
    return SpacetimeScene(order, messages, spans, marks, end)


@dataclass
class ClusterState:
    """The cluster at one instant, as :func:`~dscourse.viz.cluster` draws it."""

    time: float                                   # ms
    nodes: list[str]
    roles: dict[str, str | None] = field(default_factory=dict)
    crashed: set[str] = field(default_factory=set)
    paused: set[str] = field(default_factory=set)
    groups: list[list[str]] = field(default_factory=list)       # current partition, [] if none
    cut: set[tuple[str, str]] = field(default_factory=set)     # directed links cut one-way
    in_flight: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (src, dst) -> labels

    def blocked(self, a: str, b: str) -> bool:
        """True if messages from ``a`` to ``b`` cannot get through (partition or cut)."""
        if (a, b) in self.cut:
            return True
        if not self.groups:
            return False
        ga = next((i for i, g in enumerate(self.groups) if a in g), None)
        gb = next((i for i, g in enumerate(self.groups) if b in g), None)
        return ga != gb


def cluster_state(source: Any, at: float | None = None,
                  nodes: Iterable[str] | None = None) -> ClusterState:
    """Replay ``source``'s trace up to time ``at`` (ms, inclusive; ``None``: the whole trace).

    In-flight messages are sends not yet delivered or dropped (a duplicate adds a copy).
    Roles come from the latest ``annotate(role=...)`` of each node.
    """
    events = events_of(source)
    if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0):
        raise allowed("at", at, "None or a time in ms >= 0")
    limit = None if at is None else round(at * US_PER_MS)
    state = ClusterState(time=0.0, nodes=node_order(events, nodes))
    flying: dict[int, list[Any]] = {}   # msg_id -> [src, dst, label, copies]
    for e in events:
        if limit is not None and e.time > limit:
            break
        state.time = e.time / US_PER_MS
        k = e.kind
        if k == "send":
            flying[e.msg_id] = [e.node, e.peer, e.label or "?", 1]
        elif k == "duplicate" and e.msg_id in flying:
            flying[e.msg_id][3] += 1
        elif k in ("deliver", "drop") and e.msg_id in flying:
            flying[e.msg_id][3] -= 1
            if flying[e.msg_id][3] <= 0:
                del flying[e.msg_id]
        elif k == "crash":
            state.crashed.add(e.node)
        elif k == "recover":
            state.crashed.discard(e.node)
        elif k == "pause":
            state.paused.add(e.node)
        elif k == "resume":
            state.paused.discard(e.node)
        elif k == "partition":
            state.groups = partition_groups(e.data)
        elif k == "cut":
            state.cut.add((e.node, e.peer))
        elif k == "heal":
            state.groups, state.cut = [], set()
        elif k == "annotate" and isinstance(e.data, dict) and "role" in e.data:
            state.roles[e.node] = e.data["role"]
    if at is not None:
        state.time = float(at)
    for src, dst, label, copies in flying.values():
        state.in_flight.setdefault((src, dst), []).extend([label] * copies)
    for n in state.nodes:
        state.roles.setdefault(n, None)
    return state
