"""Messages between ID allocators and the simulated databases and registries (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Issued(NamedTuple):
    """One id handed to the application: who, when it was asked for, when it was given."""

    node: str
    requested_ms: float
    issued_ms: float
    id: int


@dataclass(frozen=True)
class AllocSegment:
    """Leaf: ``UPDATE leaf_alloc SET max_id = max_id + step`` (``step`` None: the row's step)."""

    req: int
    biz: str
    step: int | None = None


@dataclass(frozen=True)
class SegmentRow:
    """Leaf's reply: the row after the update."""

    req: int
    biz: str
    max_id: int
    step: int


@dataclass(frozen=True)
class QueryRow:
    """Tinyid: ``SELECT ... FROM tiny_id_info WHERE biz_type = ?``."""

    req: int
    biz: str


@dataclass(frozen=True)
class Row:
    """Tinyid's row: ``max_id``, ``step``, ``version``, ``delta``, ``remainder``."""

    req: int
    biz: str
    max_id: int
    step: int
    version: int
    delta: int
    remainder: int


@dataclass(frozen=True)
class CasMaxId:
    """Tinyid: ``UPDATE ... SET max_id=new, version=version+1 WHERE max_id=old AND version=v``."""

    req: int
    biz: str
    new_max: int
    old_max: int
    version: int


@dataclass(frozen=True)
class CasResult:
    """Rows updated: ``ok`` is True for 1 row, False for 0 (someone else won)."""

    req: int
    ok: bool


@dataclass(frozen=True)
class Insert:
    """Auto-increment: insert a row and return its id (``LAST_INSERT_ID()``)."""

    req: int


@dataclass(frozen=True)
class Inserted:
    req: int
    id: int


@dataclass(frozen=True)
class DbError:
    req: int
    reason: str
