"""A trial: one seeded run of a property check, and what it found.

Exercise harnesses (``ds.grading.ch01``, ``ds.ids.exercises``, ...) return trials; the grader
turns the first violation into feedback and keeps the seed and the trace for the diagram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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

    def violate(self, message: str, at: float | None = None) -> None:
        """Record a violated property (``at``: virtual ms of the first one)."""
        if not self.violations:
            self.at = at
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(message)

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
