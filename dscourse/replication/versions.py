"""Reconciling concurrent versions: last-writer-wins versus version vectors.

*Last-writer-wins* (LWW) orders versions by a timestamp and keeps the largest, so of two
concurrent writes one silently disappears, and a writer with a slow clock loses even to
writes that happened before it. *Version vectors* (Parker et al. 1983; Dynamo,
DeCandia et al. 2007, §4.4) count updates per replica; a version supersedes another iff
its vector dominates, and concurrent versions are kept side by side as *siblings* for the
application (or a merge function) to reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import allowed

VersionVector = tuple  # sorted ((replica, count), ...): hashable, JSON-able


def vv(counts: Mapping[str, int] | None = None) -> VersionVector:
    """A version vector from ``{replica: count}`` (zero counts are dropped)."""
    counts = counts or {}
    for k, v in counts.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise allowed("version vector entry", (k, v), "(replica id str, count int >= 0)")
    return tuple(sorted((k, v) for k, v in counts.items() if v))


def increment(vector: VersionVector, replica: str) -> VersionVector:
    """``vector`` with ``replica``'s count plus one (an update coordinated by ``replica``)."""
    counts = dict(vector)
    counts[replica] = counts.get(replica, 0) + 1
    return vv(counts)


def merge(a: VersionVector, b: VersionVector) -> VersionVector:
    """The pointwise maximum: a vector that has seen both."""
    counts = dict(a)
    for k, v in b:
        counts[k] = max(counts.get(k, 0), v)
    return vv(counts)


def compare(a: VersionVector, b: VersionVector) -> str:
    """``"equal"``, ``"before"`` (a happened before b), ``"after"`` or ``"concurrent"``."""
    da, db = dict(a), dict(b)
    keys = set(da) | set(db)
    le = all(da.get(k, 0) <= db.get(k, 0) for k in keys)
    ge = all(da.get(k, 0) >= db.get(k, 0) for k in keys)
    if le and ge:
        return "equal"
    return "before" if le else "after" if ge else "concurrent"


def reconcile(versions: Iterable[tuple[VersionVector, Any]]) -> list[tuple[VersionVector, Any]]:
    """Keep the versions no other version supersedes (the siblings), sorted, deduplicated."""
    items = sorted(set(versions), key=repr)
    return [(v, x) for v, x in items
            if not any(compare(v, w) == "before" for w, _ in items)]


def lww(versions: Iterable[tuple[Any, Any]]) -> tuple[Any, Any]:
    """Last-writer-wins: the ``(timestamp, value)`` with the largest timestamp."""
    items = list(versions)
    if not items:
        raise allowed("versions", items, "at least one (timestamp, value) pair")
    return max(items, key=lambda tv: tv[0])
