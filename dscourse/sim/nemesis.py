"""The nemesis: timed fault schedules (curriculum §1.1 item 5) and random ones.

A schedule is a list of ``(time_ms, action)`` pairs, where ``action`` is a tuple
(``(time_ms, name, *args)`` flat tuples are accepted too). Times are absolute virtual
milliseconds. Actions, after Jepsen's nemesis vocabulary:

=====================================  ================================================
``("partition", [["a", "b"], ["c"]])``  ``sim.partition(["a", "b"], ["c"])``
``("heal",)``                           ``sim.heal()``
``("cut", "a", "b")``                   ``sim.cut("a", "b")`` (one-way)
``("crash", "c")``                      ``sim.crash("c")``
``("recover", "c")``                    ``sim.recover("c")``
``("pause", "b", 200)``                 ``sim.pause("b", 200)`` (stop-the-world, ms)
``("clock_jump", "d", -50)``            ``sim.clock_jump("d", -50)`` (ms, may be negative)
``("clock_drift", "d", 200)``           ``sim.clock_drift("d", 200)`` (oscillator drift, ppm)
``("clock_strobe", "d", 50, 5, 200)``   ``sim.clock_strobe("d", 50, 5, 200)`` (delta, period,
                                        duration ms: Jepsen's strobe-time)
``("slow_link", "a", "b", dist)``       ``sim.slow_link("a", "b", dist)`` (both directions)
=====================================  ================================================

:func:`random_schedule` draws fault/repair cycles from a seeded generator (the simulation's
``"nemesis"`` stream via ``sim.random_nemesis(...)``), one fault at a time, every fault
undone, like Jepsen's ``nemesis/compose`` with a ``stagger``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import allowed
from .clock import check_ppm
from .dist import as_dist
from .errors import NemesisError
from .queue import to_us

if TYPE_CHECKING:
    from .kernel import Simulation

# action name -> (argument kinds); "id" a node id, "ms" a duration >= 0, "delta" any ms,
# "groups" a list of lists of ids, "dist" a latency distribution or number, "ppm" a drift.
ACTIONS: dict[str, tuple[str, ...]] = {
    "partition": ("groups",),
    "heal": (),
    "cut": ("id", "id"),
    "crash": ("id",),
    "recover": ("id",),
    "pause": ("id", "ms"),
    "clock_jump": ("id", "delta"),
    "clock_drift": ("id", "ppm"),
    "clock_strobe": ("id", "delta", "ms", "ms"),
    "slow_link": ("id", "id", "dist"),
}
RANDOM_KINDS: tuple[str, ...] = ("partition", "crash", "pause", "clock_jump")
# opt-in kinds for random schedules (not in the default, so default schedules never change)
CLOCK_KINDS: tuple[str, ...] = ("clock_drift", "clock_strobe")


class Nemesis:
    """A parsed, validated schedule: ``actions`` is a list of ``(time_us, name, args)``."""

    def __init__(self, schedule: Iterable[Sequence[Any]]) -> None:
        if isinstance(schedule, (str, bytes)) or not hasattr(schedule, "__iter__"):
            raise NemesisError(f"schedule={schedule!r} is not allowed: expected a list of "
                               "(time_ms, action) pairs")
        self.schedule = list(schedule)
        self.actions: list[tuple[int, str, tuple[Any, ...]]] = [
            _parse(i, entry) for i, entry in enumerate(self.schedule)]

    def __repr__(self) -> str:
        return f"Nemesis({self.schedule!r})"

    def check(self, sim: Simulation) -> None:
        """Check node ids and times against ``sim`` (raises NemesisError naming the entry)."""
        for i, (time_us, name, args) in enumerate(self.actions):
            if time_us < sim._now:
                raise NemesisError(f"nemesis entry {i} {self.schedule[i]!r}: time "
                                   f"{time_us / 1000} ms is before now ({sim.now} ms)")
            ids = [a for kind, a in zip(ACTIONS[name], args, strict=False) if kind == "id"]
            if name == "partition":
                ids = [n for group in args for n in group]
            for node_id in ids:
                if node_id not in sim._nodes:
                    raise NemesisError(f"nemesis entry {i} {self.schedule[i]!r}: node id="
                                       f"{node_id!r} is not in the simulation: expected one of "
                                       f"{', '.join(map(repr, sim._nodes)) or 'none yet'}")


def _parse(i: int, entry: Any) -> tuple[int, str, tuple[Any, ...]]:
    where = f"nemesis entry {i} {entry!r}"
    if not isinstance(entry, (tuple, list)) or len(entry) < 2:
        raise NemesisError(f"{where} is not allowed: expected (time_ms, action), "
                           'e.g. (100, ("crash", "c"))')
    time_ms, *rest = entry
    action = tuple(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else tuple(rest)
    try:
        time_us = to_us("time_ms", time_ms)
    except ValueError as exc:
        raise NemesisError(f"{where}: {exc}") from None
    if not action or action[0] not in ACTIONS:
        raise NemesisError(f"{where}: action {action[0] if action else None!r} is not allowed: "
                           f"expected one of {', '.join(ACTIONS)}")
    name, args = action[0], action[1:]
    kinds = ACTIONS[name]
    if len(args) != len(kinds):
        shape = ", ".join([repr(name), *kinds])
        raise NemesisError(f"{where}: {name} takes {len(kinds)} argument(s): expected ({shape})")
    parsed: list[Any] = []
    for kind, arg in zip(kinds, args, strict=True):
        try:
            parsed.append(_argument(kind, arg))
        except ValueError as exc:
            raise NemesisError(f"{where}: {exc}") from None
    if name == "partition":
        return time_us, name, tuple(parsed[0])
    return time_us, name, tuple(parsed)


def _argument(kind: str, arg: Any) -> Any:
    if kind == "id":
        if not isinstance(arg, str):
            raise allowed("node id", arg, "a str")
        return arg
    if kind == "ms":
        to_us("duration", arg)
        return arg
    if kind == "delta":
        to_us("delta", arg, negative=True)
        return arg
    if kind == "dist":
        return as_dist(arg)
    if kind == "ppm":
        return check_ppm("clock_drift ppm", arg)
    if isinstance(arg, (str, bytes)) or not all(
            isinstance(g, (list, tuple)) and all(isinstance(n, str) for n in g) for g in arg):
        raise allowed("partition groups", arg, 'a list of lists of node ids, e.g. [["a"], ["b", "c"]]')
    return [list(g) for g in arg]


def random_schedule(nodes: Sequence[str], rng: np.random.Generator, *, until: float,
                    start: float = 0.0, kinds: Sequence[str] = RANDOM_KINDS,
                    mean_gap: float = 200.0, mean_duration: float = 300.0,
                    max_clock_jump: float = 100.0,
                    max_drift_ppm: float = 100_000.0) -> list[tuple[float, tuple[Any, ...]]]:
    """Fault/repair cycles between ``start`` and ``until`` ms, one fault at a time.

    Each cycle waits an exponential gap (mean ``mean_gap`` ms), then injects one fault drawn
    from ``kinds`` for an exponential duration (mean ``mean_duration``): a random
    bipartition then ``heal``; a crash then ``recover``; a pause; or a clock jump of up to
    ``max_clock_jump`` ms either way. The opt-in :data:`CLOCK_KINDS` add a drift of up to
    ``max_drift_ppm`` either way (then back to drift 0) and a strobe of up to
    ``max_clock_jump`` ms flipping every 1-10 ms. Every fault is undone, even after
    ``until``. Times are whole milliseconds. Only ``rng.random()`` is used, so schedules are
    stable across numpy versions.
    """
    if not nodes:
        raise allowed("nodes", nodes, "at least one node id")
    known = RANDOM_KINDS + CLOCK_KINDS
    for kind in kinds:
        if kind not in known:
            raise allowed("nemesis kind", kind, f"one of {', '.join(known)}")
    if not kinds:
        raise allowed("kinds", kinds, f"a non-empty list drawn from {', '.join(known)}")
    for what, v in (("mean_gap", mean_gap), ("mean_duration", mean_duration),
                    ("max_clock_jump", max_clock_jump), ("until", until), ("start", start)):
        to_us(what, v)
    check_ppm("max_drift_ppm", max_drift_ppm)
    nodes = list(nodes)
    u = rng.random

    def exp(mean: float) -> float:
        return max(1.0, float(round(-mean * math.log1p(-u()))))

    schedule: list[tuple[float, tuple[Any, ...]]] = []
    t = float(math.ceil(start)) + exp(mean_gap)
    while t < until:
        kind = kinds[int(u() * len(kinds))]
        duration = exp(mean_duration)
        victim = nodes[int(u() * len(nodes))]
        if kind == "partition" and len(nodes) > 1:
            order = [n for _, n in sorted((u(), n) for n in nodes)]
            k = 1 + int(u() * (len(nodes) - 1))
            schedule += [(t, ("partition", [order[:k], order[k:]])), (t + duration, ("heal",))]
        elif kind == "crash":
            schedule += [(t, ("crash", victim)), (t + duration, ("recover", victim))]
        elif kind == "pause":
            schedule.append((t, ("pause", victim, duration)))
        elif kind == "clock_jump":
            delta = float(round((2 * u() - 1) * max_clock_jump))
            schedule.append((t, ("clock_jump", victim, delta)))
        elif kind == "clock_drift":
            ppm = float(round((2 * u() - 1) * max_drift_ppm))
            schedule += [(t, ("clock_drift", victim, ppm)), (t + duration, ("clock_drift", victim, 0.0))]
        elif kind == "clock_strobe":
            delta = float(round((2 * u() - 1) * max_clock_jump))
            period = float(1 + int(u() * 10))
            schedule.append((t, ("clock_strobe", victim, delta, period, duration)))
        t += duration + exp(mean_gap)
    return schedule
