"""Leases under bounded clock drift (Gray and Cheriton, "Leases: An Efficient Fault-Tolerant
Mechanism for Distributed File Cache Consistency", SOSP 1989).

A server grants a lease of term ``T``; it re-grants only after ``T`` has passed on *its* clock.
A holder measures the term on *its own* clock, starting when it *asked* (before the grant was
sent, so message delay only makes it more careful). If the holder's clock may run slow by a
factor ``1 − ρ`` relative to the server's, ``T`` of the server's time can be as little as
``T·(1 − ρ)`` on the holder's clock, so the holder stops at local ``T·(1 − ρ) − margin``
(:func:`lease_budget`); ``margin`` covers the time to stop using the resource (an operation
already in flight). A holder that ignores ρ and stops at ``T − margin`` overruns the lease by
up to :func:`naive_overrun` of true time, and then two holders use the resource at once.

In the simulation the server is the reference (drift 0) and each holder's timers run on its
own drifting oscillator (``ds.sim`` timers measure local elapsed time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed
from ..sim import Constant, Network, Node, Simulation


def _check(T: float, rho: float, margin: float) -> None:
    for what, v in (("T", T), ("margin", margin)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise allowed(what, v, "a number of ms >= 0")
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0 <= rho < 1:
        raise allowed("rho", rho, "a drift bound in [0, 1), e.g. 0.01 for 1%")


def lease_budget(T: float, rho: float, margin: float) -> float:
    """Local ms a holder may use a lease of term ``T``, from its request: ``T·(1−ρ) − margin``."""
    _check(T, rho, margin)
    return T * (1 - rho) - margin


def naive_overrun(T: float, rho: float, margin: float) -> float:
    """True ms by which a holder that stops at local ``T − margin`` outlives the lease, when its
    clock runs slow by ρ and the grant arrives at once: ``(T − margin)/(1 − ρ) − T`` (if > 0)."""
    _check(T, rho, margin)
    return max(0.0, (T - margin) / (1 - rho) - T)


@dataclass(frozen=True)
class Request:
    holder: str


@dataclass(frozen=True)
class Grant:
    holder: str
    term_ms: float
    number: int


@dataclass(frozen=True)
class Busy:
    """The lease is taken; it expires in ``retry_ms`` (on the server's clock)."""

    holder: str
    retry_ms: float


class LeaseServer(Node):
    """Grants the lease to a request that finds it free, else answers :class:`Busy` (the
    holder asks again later); the lease is free again ``term_ms`` after the grant, on the
    server's clock. (No queue: a grant must answer a *fresh* request, since the holder counts
    its term from the moment it asked.)"""

    def __init__(self, id: str = "server", term_ms: float = 100.0) -> None:
        super().__init__(id)
        self.term_ms = term_ms
        self.holder: str | None = None
        self.expires = 0.0
        self.granted = 0

    def on_message(self, src: str, msg: Any) -> None:
        if not isinstance(msg, Request):
            return
        if self.holder is not None:
            self.send(src, Busy(self.holder, round(self.expires - self.monotonic(), 3)))
            return
        self.holder = msg.holder
        self.expires = self.monotonic() + self.term_ms
        self.granted += 1
        self.send(src, Grant(msg.holder, self.term_ms, self.granted))
        self.set_timer(self.term_ms, "expire")
        self.annotate(lease=msg.holder)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "expire":
            self.holder = None


@dataclass
class Use:
    """One holder's use of the resource in *true* time (for the checker; the holder never sees it)."""

    holder: str
    start: float
    end: float | None = None
    lease: int = 0


class LeaseHolder(Node):
    """Asks for the lease, uses the resource for ``budget_ms`` of its own clock counted from the
    request, rests ``rest_ms``, asks again (after a :class:`Busy`, when the server says the
    lease expires). Uses are logged to ``uses`` in true time."""

    def __init__(self, id: str, budget_ms: float, uses: list[Use] | None = None,
                 rest_ms: float = 7.0, first_ms: float = 0.0, server: str = "server") -> None:
        super().__init__(id)
        self.budget_ms, self.rest_ms, self.first_ms, self.server = budget_ms, rest_ms, first_ms, server
        self.uses = uses if uses is not None else []
        self.asked: float | None = None
        self.using: Use | None = None

    def on_start(self) -> None:
        self.set_timer(self.first_ms, "ask")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "ask":
            self.asked = self.monotonic()
            self.send(self.server, Request(self.id))
        elif name == "stop" and self.using is not None:
            self.using.end = self.now
            self.using = None
            self.annotate(use="stop")
            self.set_timer(self.rest_ms, "ask")

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Busy):
            self.asked = None
            self.set_timer(max(msg.retry_ms, 0.001), "ask")
        elif isinstance(msg, Grant) and self.asked is not None:
            remaining = self.budget_ms - (self.monotonic() - self.asked)
            self.asked = None
            if remaining > 0:
                self.using = Use(self.id, self.now, None, msg.number)
                self.uses.append(self.using)
                self.annotate(use="start")
                self.set_timer(remaining, "stop")
            else:
                self.set_timer(self.rest_ms, "ask")


@dataclass
class LeaseRun:
    """A finished lease run: ``sim``, ``uses`` and the true-time ``overlaps`` between holders."""

    sim: Simulation
    uses: list[Use]
    term_ms: float
    overlaps: list[tuple[Use, Use, float]] = field(default_factory=list)

    def worst_overlap(self) -> float:
        return max((o for _, _, o in self.overlaps), default=0.0)


def overlaps(uses: list[Use]) -> list[tuple[Use, Use, float]]:
    """Pairs of uses by different holders that overlap in true time, with the overlap (ms)."""
    done = sorted((u for u in uses if u.end is not None), key=lambda u: u.start)
    out = []
    for i, a in enumerate(done):
        for b in done[i + 1:]:
            if b.start >= a.end:  # type: ignore[operator]
                break
            if a.holder != b.holder:
                out.append((a, b, min(a.end, b.end) - b.start))  # type: ignore[type-var, operator]
    return out


def lease_run(budget: float | Callable[..., float] = lease_budget, *, term_ms: float = 100.0,
              rho: float = 0.05, margin: float = 2.0, drift_ppm: Mapping[str, float] | None = None,
              latency_ms: float = 1.0, holders: int = 2, until_ms: float = 2_000.0,
              seed: int = 1) -> LeaseRun:
    """Run a lease server and ``holders`` holders; ``budget`` is the holders' budget in local
    ms, or a function ``(T, rho, margin) -> ms``. ``drift_ppm`` sets holders' drift (default:
    the first holder runs slow by the full ρ, the worst case)."""
    budget_ms = budget(term_ms, rho, margin) if callable(budget) else budget
    sim = Simulation(seed, network=Network(latency=Constant(latency_ms), fifo=True))
    sim.add_node(LeaseServer("server", term_ms))
    uses: list[Use] = []
    names = [f"h{i + 1}" for i in range(holders)]
    for i, name in enumerate(names):
        sim.add_node(LeaseHolder(name, budget_ms, uses, first_ms=float(i)))
    drifts = dict(drift_ppm) if drift_ppm is not None else {names[0]: -rho * 1e6}
    for name, ppm in drifts.items():
        sim.set_clock(name, drift_ppm=ppm)
    sim.run(until=until_ms)
    return LeaseRun(sim, uses, term_ms, overlaps(uses))
