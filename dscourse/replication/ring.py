"""Consistent hashing: which replicas hold a key (DeCandia et al. 2007, §4.2).

Replicas sit on a ring at the hash of their id; a key's *preference list* is every replica
clockwise from the key's hash. The first ``n`` are its home replicas; the rest are the
fallbacks a sloppy quorum uses, in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from ..errors import allowed


def _position(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


class Ring:
    """The ring over ``replicas`` (ids)."""

    def __init__(self, replicas: Sequence[str]) -> None:
        ids = list(replicas)
        if not ids or len(set(ids)) != len(ids) or not all(isinstance(r, str) for r in ids):
            raise allowed("replicas", ids, "a non-empty list of distinct str ids")
        self.replicas = tuple(sorted(ids, key=_position))
        self._cache = lru_cache(maxsize=4096)(self._preference)

    def _preference(self, key: str) -> tuple[str, ...]:
        p = _position("key:" + key)
        start = next((i for i, r in enumerate(self.replicas) if _position(r) >= p), 0)
        return self.replicas[start:] + self.replicas[:start]

    def preference(self, key: str) -> tuple[str, ...]:
        """Every replica, in the order ``key`` uses them (home replicas first)."""
        if not isinstance(key, str):
            raise allowed("key", key, "a str")
        return self._cache(key)

    def home(self, key: str, n: int) -> tuple[str, ...]:
        """The ``n`` home replicas of ``key``."""
        return self.preference(key)[:n]
