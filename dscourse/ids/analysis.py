"""Measuring ID schemes: ordering (k-sortedness), index locality (B+-tree page splits),
collision risk (the birthday bound against measured collisions) and throughput.

Only :func:`ids_per_second` reads the wall clock: it measures this machine, so its numbers
are for benchmarks and for cells marked as nondeterministic, never for tests.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from ..errors import allowed


def _ranks(ids: Sequence[Any]) -> list[int]:
    order = sorted(range(len(ids)), key=ids.__getitem__)
    ranks = [0] * len(ids)
    for r, i in enumerate(order):
        ranks[i] = r
    return ranks


def k_sortedness(ids: Sequence[Any]) -> int:
    """The smallest k such that every id is at most k places from its sorted position.

    0 means the sequence is sorted; ids from one Snowflake worker give 0; ids from many
    workers interleaved by arrival give a small k ("k-sorted", roughly time-ordered).
    """
    return max((abs(i - r) for i, r in enumerate(_ranks(ids))), default=0)


def inversion_rate(ids: Sequence[Any]) -> float:
    """Fraction of adjacent pairs that are out of order (0 sorted, ~0.5 random)."""
    if len(ids) < 2:
        return 0.0
    return sum(a > b for a, b in pairwise(ids)) / (len(ids) - 1)


@dataclass
class BPlusTreeStats:
    inserts: int
    pages: int
    splits: int
    capacity: int
    tail_inserts: int = 0

    @property
    def tail_fraction(self) -> float:
        """Share of inserts that landed in the last two leaves (the pages a buffer pool keeps
        hot); random keys touch the whole index instead."""
        return self.tail_inserts / self.inserts if self.inserts else 0.0

    @property
    def splits_per_1000(self) -> float:
        return 1000 * self.splits / self.inserts if self.inserts else 0.0

    @property
    def fill(self) -> float:
        """Average leaf fill factor (records / capacity)."""
        return self.inserts / (self.pages * self.capacity) if self.pages else 0.0


class BPlusTree:
    """The leaf level of a clustered index (InnoDB-like), counting page splits.

    A leaf holds ``capacity`` records, by default ``15/16`` of a 16 KiB page divided by
    ``key_bytes + row_bytes``. A full leaf splits in half, except the rightmost leaf, which
    splits at the insertion point (the new key and anything after it move to the new page),
    like InnoDB's heuristic for inserts at the end of the index. So ascending keys fill
    pages almost completely with one split per ``capacity`` inserts, nearly sorted
    (k-sorted) keys nearly so, and random keys split more often and leave pages about 69%
    full (ln 2).
    """

    def __init__(self, key_bytes: int = 8, row_bytes: int = 100, page_bytes: int = 16384,
                 capacity: int | None = None) -> None:
        for what, v in (("key_bytes", key_bytes), ("row_bytes", row_bytes),
                        ("page_bytes", page_bytes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (what != "row_bytes" and v == 0):
                raise allowed(what, v, "a positive int number of bytes")
        if capacity is None:
            capacity = (page_bytes * 15 // 16) // (key_bytes + row_bytes)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 2:
            raise allowed("capacity", capacity, "at least 2 records per page")
        self.capacity = capacity
        self._pages: list[list[Any]] = []
        self._mins: list[Any] = []
        self.splits = 0
        self.inserts = 0
        self.tail_inserts = 0

    def insert(self, key: Any) -> None:
        self.inserts += 1
        pages, mins = self._pages, self._mins
        if not pages:
            pages.append([key])
            mins.append(key)
            self.tail_inserts += 1
            return
        i = max(0, bisect.bisect_right(mins, key) - 1)
        page = pages[i]
        if i >= len(pages) - 2:
            self.tail_inserts += 1
        pos = bisect.bisect_right(page, key)
        page.insert(pos, key)
        if key < mins[i]:
            mins[i] = key
        if len(page) <= self.capacity:
            return
        self.splits += 1
        cut = pos if (i == len(pages) - 1 and pos > 0) else len(page) // 2
        right = page[cut:]
        del page[cut:]
        pages.insert(i + 1, right)
        mins.insert(i + 1, right[0])

    def insert_all(self, keys: Sequence[Any]) -> BPlusTreeStats:
        for k in keys:
            self.insert(k)
        return self.stats()

    def stats(self) -> BPlusTreeStats:
        return BPlusTreeStats(self.inserts, len(self._pages), self.splits, self.capacity,
                              self.tail_inserts)


def page_splits(keys: Sequence[Any], key_bytes: int = 8, **kwargs: Any) -> BPlusTreeStats:
    """Insert ``keys`` in order into a fresh :class:`BPlusTree` and return its statistics."""
    return BPlusTree(key_bytes=key_bytes, **kwargs).insert_all(keys)


def birthday_probability(n: int, bits: int) -> float:
    """P(at least one collision) among ``n`` uniform ``bits``-bit ids: 1 - exp(-n(n-1)/2^(bits+1))."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise allowed("n", n, "an int >= 0")
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
        raise allowed("bits", bits, "an int >= 1")
    return -math.expm1(-n * (n - 1) / 2.0 ** (bits + 1))


def measured_collision_rate(n: int, bits: int, rng: np.random.Generator, trials: int = 200) -> float:
    """Fraction of ``trials`` in which ``n`` random ``bits``-bit ids (bits <= 62) collide."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 62:
        raise allowed("bits", bits, "an int in [1, 62] for measuring")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise allowed("trials", trials, "an int >= 1")
    hits = 0
    for _ in range(trials):
        draws = rng.integers(0, 1 << bits, size=n, dtype=np.int64)
        hits += len(np.unique(draws)) < n
    return hits / trials


def ids_per_second(make: Callable[[], Any], n: int = 100_000, batch: Callable[[int], Any] | None = None) -> float:
    """Wall-clock throughput of ``make()`` (or of ``batch(n)``) on this machine (not deterministic)."""
    start = time.perf_counter()
    if batch is not None:
        batch(n)
    else:
        for _ in range(n):
            make()
    return n / (time.perf_counter() - start)
