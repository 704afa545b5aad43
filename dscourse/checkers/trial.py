"""A trial: one seeded run of a property check, and what it found.

Exercise harnesses (``ds.grading.ch01``, ``ds.ids.exercises``, ...) return trials; the grader
turns the first violation into feedback and keeps the seed and the trace for the diagram.

Partial credit judges each property of an exercise in a test of its own, on the same seeded
runs. Inside :func:`sharing_runs` (the grader opens one per exercise of a submission,
``check()`` one per call) a harness that asks :func:`judged_once` runs such a run once, judged
for every property, and gives each test its properties' share -- exactly what a run judged
for those properties alone finds (see :meth:`Trial.only` for why, and when it runs again).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed

MAX_VIOLATIONS = 20


@dataclass
class Trial:
    """One seeded run: ``violations`` (empty when every property held), the trace, the seed.

    ``error`` is an exception the code under test raised; ``at`` the virtual time (ms) of
    the first violation, for the diagram's window; ``facts`` anything worth reporting.
    """

    seed: int
    violations: list[str] = field(default_factory=list)
    trace: Any = None
    error: BaseException | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    at: float | None = None

    @property
    def ok(self) -> bool:
        return not self.violations and self.error is None

    #: the ``at`` of each violation, in order (for :meth:`only`)
    moments: list[float | None] = field(default_factory=list, repr=False)

    def violate(self, message: str, at: float | None = None) -> None:
        """Record a violated property (``at``: virtual ms of the first one)."""
        if not self.violations:
            self.at = at
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(message)
            self.moments.append(at)

    def only(self, want: frozenset[str], known: tuple[str, ...], *,
             stops_early: bool) -> Trial | None:
        """This trial (a run judged for every property of ``known``) as a run judged for
        ``want`` alone would have found it, or None when that cannot be told from it.

        A violation belongs to the property its message starts with (``"in order: ..."``); a
        message naming none of ``known`` (a malformed value) is judged whatever is wanted, so
        it stays. The workload, faults and the student's code do not depend on what is judged,
        so the two runs are the same run -- up to where one of them stops. A harness that
        ``stops_early`` ends a run at its first violation: when none of that run's violations
        is wanted, the run for ``want`` would have gone on, so it must run itself (None). And
        a run that hit :data:`MAX_VIOLATIONS` may have dropped a wanted one (None)."""
        if len(self.violations) >= MAX_VIOLATIONS:
            return None
        mine = [(m, at) for m, at in zip(self.violations, self.moments, strict=True)
                if (p := property_of(m, known)) is None or p in want]
        if stops_early and self.violations and not mine:
            return None
        part = Trial(self.seed, trace=self.trace, error=self.error, facts=dict(self.facts))
        for message, at in mine:
            part.violate(message, at)
        return part

    def fail(self, message: str) -> Trial:
        """Record a violation and return the trial, so a harness can ``return trial.fail(...)``."""
        self.violate(message)
        return self


def judged(trial: Trial, body: Callable[[], None], violation: type[Exception]) -> Trial:
    """Run ``body`` for ``trial``: a ``violation`` raised inside ends the trial as a violated
    property (the exception's message); anything else propagates to the caller."""
    try:
        body()
    except violation as exc:
        return trial.fail(str(exc))
    return trial


def selected(properties: Iterable[str], known: tuple[str, ...]) -> tuple[str, ...]:
    """The properties a harness is asked to judge, each one of ``known`` (else a clear error)."""
    chosen = tuple(properties)
    for p in chosen:
        if p not in known:
            raise allowed("properties", p, f"a tuple of {known}")
    return chosen


def property_of(message: str, known: tuple[str, ...]) -> str | None:
    """The property of ``known`` a violation message names first (``"quiet: ..."``), or None."""
    for p in known:
        if message.startswith(p + ":"):
            return p
    return None


_SHARED: list[dict[Hashable, Trial] | None] = []


@contextmanager
def sharing_runs(active: bool = True) -> Iterator[None]:
    """Within the block, :func:`judged_once` runs each run once (``active=False``: never, e.g.
    while a shrinker replays runs with faults left out). Open it where the code under test
    cannot change: one exercise of one submission, one ``check()``."""
    _SHARED.append({} if active else None)
    try:
        yield
    finally:
        _SHARED.pop()


def judged_once(key: Hashable, want: frozenset[str], known: tuple[str, ...],
                run: Callable[[frozenset[str]], Trial], *, stops_early: bool) -> Trial:
    """``run(want)``, or inside :func:`sharing_runs` the share of ``want`` in ``run(known)``
    made once per ``key`` (which must name everything the run depends on: the code under
    test, the seed, the workload's parameters; an unhashable key is never shared)."""
    memo = _SHARED[-1] if _SHARED else None
    if memo is None:
        return run(want)
    try:
        full = memo.get(key)
    except TypeError:
        return run(want)
    if full is None:
        full = memo[key] = run(frozenset(known))
    part = full.only(want, known, stops_early=stops_early)
    return part if part is not None else run(want)
