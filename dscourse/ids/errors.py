"""Errors of the ID generators (runtime faults, not configuration mistakes)."""

from __future__ import annotations

from ..errors import DscourseError


class ClockRollbackError(DscourseError):
    """The clock moved back further than the generator's rollback policy tolerates."""

    def __init__(self, last_ms: int, now_ms: int, policy: str) -> None:
        self.last_ms, self.now_ms, self.policy = last_ms, now_ms, policy
        super().__init__(f"clock moved back {last_ms - now_ms} ms (last timestamp {last_ms}, "
                         f"now {now_ms}); policy {policy!r} refuses to issue an id")


class ExhaustedError(DscourseError):
    """A generator ran out of ids (timestamp bits or an allocator's range)."""
