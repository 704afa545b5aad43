"""Generic support for invariant monitors: a record of violations and a clear failure.

A protocol's monitor checks its safety properties whenever the state they depend on
changes and reports each breach with :meth:`Violations.report`; tests call
:meth:`Violations.assert_ok`. Nothing here is specific to one protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One breach of a named invariant at virtual time ``time`` (ms)."""

    invariant: str
    time: float
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant} violated at t={self.time:g} ms: {self.detail}"


class Violations:
    """The violations seen so far, in order; ``limit`` bounds how many are kept."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self.items: list[Violation] = []
        self.count = 0

    def report(self, invariant: str, time: float, detail: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(Violation(invariant, time, detail))

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Any:
        return iter(self.items)

    def names(self) -> list[str]:
        """The distinct invariants violated, in order of first violation."""
        return list(dict.fromkeys(v.invariant for v in self.items))

    def assert_ok(self) -> None:
        """Raise AssertionError describing the first violations, if any."""
        if self.count:
            shown = "\n  ".join(str(v) for v in self.items[:5])
            raise AssertionError(f"{self.count} invariant violation(s):\n  {shown}")
