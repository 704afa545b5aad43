"""Segment (号段) allocators on simulated databases: Leaf's double buffer and Tinyid.

**Leaf-segment** (Meituan Leaf, ``SegmentIDGenImpl``; the Meituan tech blog "Leaf"): a
segment is ``[max_id - step, max_id)`` obtained by ``UPDATE leaf_alloc SET max_id = max_id +
step``. A buffer holds two segments; once more than 10% of the current one is consumed
(``idle < 0.9 * step``) the next is fetched in the background, so the switch costs nothing
when the database answers within the segment's lifetime. The step adapts (``updateSegmentFromDb``):
if the previous segment lasted less than 15 minutes the step doubles (up to 1,000,000); if it
lasted 30 minutes or more it halves (never below the row's step); otherwise it stays.

**Tinyid** (Didi, ``DbSegmentIdServiceImpl``, ``SegmentId``, ``CachedIdGenerator``): the
row carries ``delta`` and ``remainder``, and a segment issues the ids in ``(old_max, new_max]``
congruent to ``remainder`` mod ``delta``; several databases with the same ``delta`` and
different remainders therefore never collide, and the service keeps running while one is
down. A segment is claimed with an optimistic update on ``version`` (retried on conflict);
the next segment is loaded asynchronously once the id reaches 20% of the segment.

Neither can issue a duplicate when a reply is lost and the request retried: a retry claims
a *new* range, and the lost one is simply skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from .allocator import Allocator
from .messages import AllocSegment, CasMaxId, CasResult, DbError, Issued, QueryRow, Row, SegmentRow

SEGMENT_DURATION_MS = 15 * 60 * 1000
MAX_STEP = 1_000_000


def leaf_next_step(step: int, min_step: int, duration_ms: float,
                   segment_duration_ms: float = SEGMENT_DURATION_MS, max_step: int = MAX_STEP) -> int:
    """Leaf's step rule: double if the last segment lasted < 15 min (unless that passes
    ``max_step``), keep if < 30 min, else halve if the result stays >= ``min_step``."""
    if duration_ms < segment_duration_ms:
        return step if step * 2 > max_step else step * 2
    if duration_ms < 2 * segment_duration_ms:
        return step
    return step // 2 if step // 2 >= min_step else step


@dataclass
class Segment:
    """``value`` is the next id; the segment is usable while ``value < max`` (Leaf) or, for
    Tinyid, while ``value + delta <= max`` (ids ``value + k*delta``)."""

    value: int
    max: int
    step: int
    delta: int = 1
    loading_at: int | None = None  # Tinyid: load the next segment once ids reach this


class LeafSegmentAllocator(Allocator):
    """A Leaf server instance for one biz tag, using the database ``db``.

    ``prefetch`` is the consumed fraction that triggers loading the next segment (0.1);
    ``adapt`` turns on the step rule, with ``segment_duration_ms`` (15 min) and ``max_step``.
    ``step_rule(step, min_step, duration_ms)`` and ``prefetch_rule(next_value, max_id, step)``
    replace Leaf's rules (the exercises plug a student's functions in here).
    """

    prefetch: float  # set in __init__ after validation; typed here because prefetch_rule reads it

    def __init__(self, id: str, *, db: str, biz: str, sink: list[Issued],
                 demand_interval_ms: float = 1.0, timeout_ms: float = 50.0, prefetch: float = 0.1,
                 adapt: bool = True, segment_duration_ms: float = SEGMENT_DURATION_MS,
                 max_step: int = MAX_STEP, stop_ms: float | None = None,
                 step_rule: Callable[[int, int, float], int] | None = None,
                 prefetch_rule: Callable[[int, int, int], bool] | None = None) -> None:
        super().__init__(id, sink=sink, demand_interval_ms=demand_interval_ms,
                         timeout_ms=timeout_ms, stop_ms=stop_ms)
        self.step_rule = step_rule or (lambda step, min_step, duration: leaf_next_step(
            step, min_step, duration, segment_duration_ms, max_step))
        self.prefetch_rule = prefetch_rule or (
            lambda value, max_id, step: max_id - value < (1 - self.prefetch) * step)
        if isinstance(prefetch, bool) or not isinstance(prefetch, (int, float)) or not 0 <= prefetch <= 1:
            raise allowed("prefetch", prefetch, "a consumed fraction in [0, 1] (Leaf uses 0.1)")
        self.db, self.biz = db, biz
        self.prefetch, self.adapt = prefetch, adapt
        self.segment_duration_ms, self.max_step = segment_duration_ms, max_step
        self.current: Segment | None = None
        self.next: Segment | None = None
        self.loading = False
        self.init_ok = False
        self.step = 0
        self.min_step = 0
        self.update_ms = 0.0
        self.loads: list[tuple[float, int]] = []   # (time, step) of each segment received
        self.stalls = 0            # episodes in which a request found both segments empty
        self._stalled = False

    def boot(self) -> None:
        self.load()

    def load(self) -> None:
        """Fetch a segment (``updateSegmentFromDb``): the step is decided when asking."""
        if self.loading:
            return
        self.loading = True
        if not self.init_ok or self.update_ms == 0 or not self.adapt:
            step = None
        else:
            step = self.step_rule(self.step, self.min_step, self.now - self.update_ms)
        self._ask(step)

    def _ask(self, step: int | None) -> None:
        self.call(self.db, lambda req: AllocSegment(req, self.biz, step), "segment",
                  self.timeout_ms, step)

    def on_segment(self, reply: Any, step: int | None) -> None:
        if isinstance(reply, DbError):
            raise allowed("biz tag", self.biz, f"a row in database {self.db!r} ({reply.reason})")
        assert isinstance(reply, SegmentRow)
        if not self.init_ok:
            self.init_ok = True
            self.step = self.min_step = reply.step
        elif self.update_ms == 0 or step is None:
            self.update_ms = self.now
            self.step = self.min_step = reply.step
        else:
            self.update_ms = self.now
            self.step = reply.step
        seg = Segment(reply.max_id - reply.step, reply.max_id, reply.step)
        self.loads.append((self.now, reply.step))
        self.annotate(max_id=reply.max_id, step=reply.step)
        if self.current is None or self.current.value >= self.current.max:
            self.current = seg
        else:
            self.next = seg
        self.loading = False
        self.serve()

    def on_segment_timeout(self, step: int | None) -> None:
        self._ask(step)  # retry; if the lost reply had been applied, that range is skipped

    def take(self) -> int | None:
        cur = self.current
        if cur is not None and cur.value < cur.max:
            ident = cur.value
            cur.value += 1
            self._stalled = False
            if self.next is None and not self.loading and self.prefetch_rule(cur.value, cur.max, cur.step):
                self.load()
            return ident
        if self.next is not None:
            self.current, self.next = self.next, None
            return self.take()
        if not self._stalled:
            self._stalled = True
            self.stalls += 1
        self.load()
        return None


class TinyidAllocator(Allocator):
    """A Tinyid generator for one biz type over databases ``dbs`` (tried in a seeded random
    order; a timeout moves on to the next one). ``loading_percent`` defaults to 20;
    ``segment_rule`` replaces :func:`tinyid_segment` (the exercises plug a student's in)."""

    def __init__(self, id: str, *, dbs: list[str], biz: str, sink: list[Issued],
                 demand_interval_ms: float = 1.0, timeout_ms: float = 50.0,
                 loading_percent: int = 20, stop_ms: float | None = None,
                 segment_rule: Callable[[int, int, int, int, int], tuple[int, int, int]] | None = None
                 ) -> None:
        super().__init__(id, sink=sink, demand_interval_ms=demand_interval_ms,
                         timeout_ms=timeout_ms, stop_ms=stop_ms)
        if not isinstance(dbs, (list, tuple)) or not dbs or not all(isinstance(d, str) for d in dbs):
            raise allowed("dbs", dbs, "a non-empty list of database node ids")
        if (isinstance(loading_percent, bool) or not isinstance(loading_percent, int)
                or not 0 <= loading_percent <= 100):
            raise allowed("loading_percent", loading_percent, "an int in [0, 100]")
        self.dbs, self.biz, self.loading_percent = list(dbs), biz, loading_percent
        self.segment_rule = segment_rule or tinyid_segment
        self.current: Segment | None = None
        self.next: Segment | None = None
        self.loading = False
        self.conflicts = 0
        self.failovers = 0

    def boot(self) -> None:
        self.load()

    def load(self) -> None:
        if not self.loading:
            self.loading = True
            self._query(str(self.dbs[int(self.rng.integers(len(self.dbs)))]))

    def _query(self, db: str) -> None:
        self.call(db, lambda req: QueryRow(req, self.biz), "row", self.timeout_ms, db)

    def _other_db(self, db: str) -> str:
        self.failovers += 1
        return self.dbs[(self.dbs.index(db) + 1) % len(self.dbs)]

    def on_row(self, reply: Any, db: str) -> None:
        if isinstance(reply, DbError):
            raise allowed("biz type", self.biz, f"a row in database {db!r} ({reply.reason})")
        assert isinstance(reply, Row)
        new_max = reply.max_id + reply.step
        self.call(db, lambda req: CasMaxId(req, self.biz, new_max, reply.max_id, reply.version),
                  "cas", self.timeout_ms, (db, reply))

    def on_row_timeout(self, db: str) -> None:
        self._query(self._other_db(db))

    def on_cas(self, reply: CasResult, ctx: tuple[str, Row]) -> None:
        db, row = ctx
        if not reply.ok:  # version conflict: another generator won; read again
            self.conflicts += 1
            self._query(db)
            return
        first, last, loading = self.segment_rule(row.max_id, row.step, row.delta, row.remainder,
                                                 self.loading_percent)
        seg = Segment(first - row.delta, last, row.step, row.delta, loading)
        self.annotate(db=db, max_id=seg.max)
        if self.current is None or not _usable(self.current):
            self.current = seg
        else:
            self.next = seg
        self.loading = False
        self.serve()

    def on_cas_timeout(self, ctx: tuple[str, Row]) -> None:
        self._query(self._other_db(ctx[0]))  # re-read: a version bump means it was applied

    def take(self) -> int | None:
        cur = self.current
        if cur is not None and _usable(cur):
            cur.value += cur.delta
            if (cur.loading_at is not None and cur.value >= cur.loading_at
                    and self.next is None and not self.loading):
                self.load()
            return cur.value
        if self.next is not None:
            self.current, self.next = self.next, None
            return self.take()
        self.load()
        return None


def _usable(seg: Segment) -> bool:
    return seg.value + seg.delta <= seg.max


def tinyid_segment(old_max: int, step: int, delta: int, remainder: int,
                   loading_percent: int = 20) -> tuple[int, int, int]:
    """Tinyid's ``SegmentId`` after ``init()``: the ids are ``first, first + delta, ... <= last``
    with ``first`` the smallest id above ``old_max`` congruent to ``remainder`` mod ``delta``,
    ``last = old_max + step``; loading of the next segment starts once an id reaches
    ``old_max + step * loading_percent / 100``."""
    first = old_max + 1 + (remainder - (old_max + 1)) % delta
    return first, old_max + step, old_max + step * loading_percent // 100
