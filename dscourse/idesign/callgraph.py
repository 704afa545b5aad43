"""A simulated microservice call graph that logs TraceIds and SpanIds (the trace-tree lab).

Service nodes call their downstream services one after another over the simulated network
(a stand-in for Chapter 12's RPC stubs). Every service writes log lines with the trace id and
the span id: ``sr``/``ss`` (server receive/send) and ``cs``/``cr`` (client send/receive),
Zipkin's annotation names. :func:`reconstruct` rebuilds the call tree from shuffled lines
using only the span ids, which is what a tracing backend does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import allowed
from ..ids import NodeClock
from ..notebook import default_seed
from ..sim import Node, Simulation
from .tracing import SpanContext, TraceIdGenerator, parent_span_id, valid_span_id

DEFAULT_GRAPH = {"A": ["B", "C", "D"], "C": ["E", "F"]}


class LogLine(NamedTuple):
    time: float
    service: str
    trace_id: str
    span_id: str
    kind: str        # sr, ss, cs, cr
    peer: str | None


@dataclass(frozen=True)
class Call:
    trace_id: str
    span_id: str


@dataclass(frozen=True)
class Return:
    trace_id: str
    span_id: str


class Service(Node):
    """A service that, per incoming call, calls each of ``downstream`` in turn."""

    def __init__(self, id: str, *, downstream: list[str], log: list[LogLine],
                 ip: str, pid: int) -> None:
        super().__init__(id)
        self.downstream, self.log = list(downstream), log
        self.tracer = TraceIdGenerator(ip=ip, pid=pid, clock=NodeClock(self))
        self.active: dict[tuple[str, str], tuple[SpanContext, str | None, int]] = {}

    def _line(self, ctx: SpanContext | Any, span_id: str, kind: str, peer: str | None) -> None:
        self.log.append(LogLine(self.now, self.id, ctx.trace_id, span_id, kind, peer))

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Call):
            ctx = SpanContext(msg.trace_id, msg.span_id)
            self._line(ctx, ctx.span_id, "sr", src)
            self.active[(ctx.trace_id, ctx.span_id)] = (ctx, src, 0)
            self._next(ctx)
        elif isinstance(msg, Return):
            parent = parent_span_id(msg.span_id)
            assert parent is not None
            ctx, _caller, _ = self.active[(msg.trace_id, parent)]
            self._line(ctx, msg.span_id, "cr", src)
            self._next(ctx)
        elif msg == "request":  # an external request: this service is the root
            ctx = SpanContext(self.tracer.next(), "0")
            self._line(ctx, "0", "sr", src)
            self.active[(ctx.trace_id, "0")] = (ctx, None, 0)
            self._next(ctx)

    def _next(self, ctx: SpanContext) -> None:
        key = (ctx.trace_id, ctx.span_id)
        _, caller, done = self.active[key]
        if done < len(self.downstream):
            callee = self.downstream[done]
            self.active[key] = (ctx, caller, done + 1)
            child = ctx.child()
            self._line(ctx, child.span_id, "cs", callee)
            self.send(callee, Call(child.trace_id, child.span_id))
            return
        del self.active[key]
        self._line(ctx, ctx.span_id, "ss", caller)
        if caller is not None:
            self.send(caller, Return(ctx.trace_id, ctx.span_id))


class User(Node):
    """Sends ``requests`` requests to the root service, ``every_ms`` apart."""

    def __init__(self, id: str, *, root: str, requests: int, every_ms: float) -> None:
        super().__init__(id)
        self.root, self.left, self.every_ms = root, requests, every_ms

    def on_start(self) -> None:
        self.on_timer("go", None)

    def on_timer(self, name: str, payload: Any) -> None:
        if self.left > 0:
            self.left -= 1
            self.send(self.root, "request")
            self.set_timer(self.every_ms, "go")


def call_graph(graph: dict[str, list[str]] | None = None, *, requests: int = 2, seed: int | None = None,
               every_ms: float = 0.5) -> tuple[Simulation, list[LogLine]]:
    """Build and run a call graph (default A->B,C,D; C->E,F); returns the sim and its log."""
    graph = DEFAULT_GRAPH if graph is None else graph
    if not isinstance(graph, dict) or not graph:
        raise allowed("graph", graph, "a dict service -> list of downstream services")
    names = list(dict.fromkeys([*graph, *(s for v in graph.values() for s in v)]))
    root = names[0]
    sim = Simulation(seed=default_seed(seed))
    log: list[LogLine] = []
    for i, name in enumerate(names):
        sim.add_node(Service(name, downstream=graph.get(name, []), log=log,
                             ip=f"10.0.0.{i + 1}", pid=4000 + 37 * i))
    sim.add_node(User("user", root=root, requests=requests, every_ms=every_ms))
    sim.run()
    return sim, log


def reconstruct(lines: list[LogLine]) -> dict[str, dict[str, str]]:
    """Per trace id, ``{span_id: server service}`` from server-side (``sr``) lines."""
    out: dict[str, dict[str, str]] = {}
    for line in lines:
        if line.kind == "sr":
            out.setdefault(line.trace_id, {})[valid_span_id(line.span_id)] = line.service
    return {t: dict(sorted(spans.items(), key=lambda kv: _path(kv[0])))
            for t, spans in sorted(out.items())}


def _path(span_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in span_id.split("."))


def render_tree(spans: dict[str, str]) -> str:
    """An indented text tree of one trace's spans."""
    return "\n".join(f"{'  ' * span.count('.')}{span}  {service}"
                     for span, service in sorted(spans.items(), key=lambda kv: _path(kv[0])))
