"""Messages between lock clients and the protected resource (frozen, as every message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Write:
    """A write to the :class:`~dscourse.locks.FencedResource`, carrying the fencing token."""

    req: int
    client: str
    token: int | None
    write_id: int
    value: Any = None


@dataclass(frozen=True)
class WriteResult:
    """The resource's answer: ``accepted``, or rejected with a ``reason``."""

    req: int
    accepted: bool
    reason: str = ""
