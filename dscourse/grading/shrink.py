"""Counterexamples a student can use: a failing protocol run, shrunk.

A test that failed on seed ``s`` is run again on ``s`` alone, with the fault schedule the
harness hands to :meth:`~dscourse.sim.Simulation.schedule_nemesis` recorded, and then with
parts of it left out. Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
Failure-Inducing Input", TSE 2002: the ``ddmin`` algorithm) finds a 1-minimal subset of the
nemesis actions under which the test still fails with the same property; first, every action
after the first violation is dropped (the run is shortened to the violation). Every rerun is
charged to a CPU budget (``time.process_time``, seconds of this process), shared by all the
tests of a submission, so shrinking never costs more than the instructor allows; when it runs
out, the smallest failing schedule found so far is kept.

The same rerun backs :func:`dscourse.grading.replay` in the student's kernel: the replay line
in the feedback (``ds.grading.replay("E6.1", test=..., seed=..., keep=[...])``) runs the
public test again on that seed with only those nemesis actions, and plays the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..checkers.trial import sharing_runs
from ..sim import Simulation
from ..sim.nemesis import Nemesis
from .registry import Context, Outcome, TestCase, check_seeds_args, run_test

SHRINK_CPU = 20.0        # CPU seconds per submission for shrinking (all of its tests)
MAX_RERUNS = 60          # reruns per failing test, whatever the budget


class Focused(Context):
    """A test context whose ``seeds(n)`` is just the one failing seed."""

    def __init__(self, case: TestCase, seed: int) -> None:
        super().__init__(case)
        self._seed = seed

    def seeds(self, n: int, group: str | None = None) -> list[int]:
        check_seeds_args(n, group)
        return [self._seed]


@contextmanager
def nemesis_filter(keep: frozenset[int] | None, record: list[Any]) -> Iterator[None]:
    """While active, every schedule given to ``Simulation.schedule_nemesis`` is appended to
    ``record`` (entries numbered across calls) and, with ``keep``, only the entries whose
    numbers are in ``keep`` are queued."""
    original = Simulation.schedule_nemesis

    def filtered(sim: Simulation, schedule: Any) -> None:
        entries = list(schedule.schedule if isinstance(schedule, Nemesis) else schedule)
        base = len(record)
        record.extend(entries)
        if keep is not None:
            entries = [e for i, e in enumerate(entries) if base + i in keep]
        original(sim, entries)

    Simulation.schedule_nemesis = filtered          # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Simulation.schedule_nemesis = original      # type: ignore[method-assign]


def rerun(case: TestCase, bindings: dict[str, Any], seed: int, keep: frozenset[int] | None = None,
          reraise: tuple[type[BaseException], ...] = ()) -> tuple[Outcome, list[Any]]:
    """Run public test ``case`` on ``seed`` alone, with only the nemesis entries in ``keep``
    (all with None); returns the outcome and the full schedule the harness asked for."""
    record: list[Any] = []
    with nemesis_filter(keep, record), sharing_runs(active=False):   # every rerun runs
        outcome = run_test(case, bindings, reraise=reraise, context=Focused(case, seed))
    return outcome, record


def prop(message: str) -> str:
    """The property a failure message names: the text before its first colon."""
    return message.split(":", 1)[0].strip()


def describe(entry: Any) -> str:
    """One nemesis entry as a line: ``"120 ms: crash n2"``."""
    try:
        when, *rest = entry
        action = rest[0] if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest
        words = " ".join(str(a) for a in action)
        return f"{float(when):g} ms: {words}"
    except (TypeError, ValueError):
        return repr(entry)[:120]


def when(entry: Any) -> float:
    try:
        return float(entry[0])
    except (TypeError, ValueError, IndexError):
        return float("inf")


@dataclass(frozen=True)
class Counterexample:
    """A failing run of a public test, shrunk: the seed, the nemesis schedule the harness drew
    (``original``), the entries kept (``keep``: still fails), and that run's outcome."""

    exercise: str
    test: str
    seed: int
    original: tuple[str, ...]
    keep: tuple[int, ...]
    message: str
    at: float | None
    reruns: int
    trace: Any = None

    @property
    def shrunk(self) -> tuple[str, ...]:
        return tuple(self.original[i] for i in self.keep)

    @property
    def replay_line(self) -> str:
        return (f'ds.grading.replay("{self.exercise}", test="{self.test}", seed={self.seed}, '
                f"keep={list(self.keep)})")

    def lines(self) -> list[str]:
        """The counterexample as text (feedback and ``results.json``)."""
        at = f" at {self.at:g} ms" if self.at is not None else ""
        if not self.original:
            out = [f"counterexample: seed {self.seed}, failing{at} in a run with no scheduled faults"]
        elif not self.shrunk:
            out = [f"counterexample: seed {self.seed}; the fault schedule shrunk from "
                   f"{len(self.original)} to 0 nemesis action(s), still failing{at}: it fails the same "
                   "way with none of them, so no fault is needed to show it"]
        else:
            out = [f"counterexample: seed {self.seed}; the fault schedule shrunk from "
                   f"{len(self.original)} to {len(self.shrunk)} nemesis action(s), still failing{at}:"]
            out += [f"    {line}" for line in self.shrunk]
        out.append(f"replay it in your notebook (after running the test cells): {self.replay_line}")
        return out


class Budget:
    """CPU seconds left for shrinking (shared by the tests of one submission)."""

    def __init__(self, seconds: float = SHRINK_CPU) -> None:
        self.left = seconds

    @contextmanager
    def charge(self) -> Iterator[None]:
        start = time.process_time()
        try:
            yield
        finally:
            self.left -= time.process_time() - start


def ddmin(items: list[int], fails: Callable[[list[int]], bool]) -> list[int]:
    """Zeller's ddmin: a subset of ``items`` on which ``fails`` still holds, 1-minimal when
    ``fails`` keeps answering (it returns False once the budget is spent)."""
    if fails([]):
        return []
    n = 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        for chunk in chunks:
            if fails(chunk):
                items, n = chunk, 2
                break
        else:
            for chunk in chunks:
                rest = [x for x in items if x not in chunk]
                if fails(rest):
                    items, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(items):
                    break
                n = min(len(items), 2 * n)
    return items


def shrink(case: TestCase, bindings: dict[str, Any], failed: Outcome, budget: Budget,
           reraise: tuple[type[BaseException], ...] = ()) -> Counterexample | None:
    """Shrink the failing run ``failed`` of public test ``case`` (None if it has no seed or
    does not fail again on its seed alone, or the budget is already spent)."""
    if failed.seed is None or case.hidden or budget.left <= 0:
        return None
    target = prop(failed.message)
    seed = failed.seed
    reruns = 0

    def attempt(keep: list[int] | None) -> tuple[bool, Outcome, list[Any]]:
        nonlocal reruns
        reruns += 1
        with budget.charge():
            outcome, record = rerun(case, bindings, seed, None if keep is None else frozenset(keep), reraise)
        ok = outcome.status == "failed" and prop(outcome.message) == target and outcome.seed == seed
        return ok, outcome, record

    still, outcome, record = attempt(None)
    if not still:
        return None                       # not reproducible on its own: nothing to shrink
    everything = list(range(len(record)))
    best: tuple[list[int], Outcome] = (everything, outcome)
    cut = outcome.at
    if cut is not None:                   # shorten: nothing after the first violation matters
        early = [i for i in everything if when(record[i]) <= cut]
        if len(early) < len(everything) and budget.left > 0:
            ok, o, _ = attempt(early)
            if ok:
                best = (early, o)

    def fails(keep: list[int]) -> bool:
        nonlocal best
        if budget.left <= 0 or reruns >= MAX_RERUNS:
            return False
        ok, o, _ = attempt(keep)
        if ok and len(keep) < len(best[0]):
            best = (sorted(keep), o)
        return ok

    if best[0]:
        ddmin(best[0], fails)
    keep, final = best
    return Counterexample(case.exercise, case.name, seed, tuple(describe(e) for e in record),
                          tuple(keep), final.message, final.at, reruns, final.trace)
