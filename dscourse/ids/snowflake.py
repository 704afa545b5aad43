"""The Snowflake generator with a configurable layout and clock-rollback policy.

One generator owns one (datacenter, worker) pair. Within a tick it counts ``sequence`` up;
when the sequence is exhausted it waits for the next tick (Twitter's ``tilNextMillis``).
What it does when the clock reads *earlier* than the last timestamp is the policy:

* ``"raise"`` -- refuse (Twitter's original: "Clock moved backwards. Refusing to generate id").
* ``"wait"`` -- Leaf-snowflake (``SnowflakeIDGenImpl.get``): if the offset is at most
  ``max_wait_ms`` (5), sleep ``2 * offset`` and read the clock again; still behind, or a
  larger offset, is an error. Leaf also starts each new millisecond's sequence at a random
  value below 100 (``random_start=100``) so that low-traffic ids are not all even.
* ``"logical"`` -- Seata's improved snowflake (apache/incubator-seata PR #3175) and
  UidGenerator's ``CachedUidGenerator``: the clock is read only at start-up; timestamp and
  sequence are one counter that is incremented for every id, so a full sequence "borrows"
  the next tick and a clock that steps back is simply never seen. Seata sleeps 5 ms once
  when the counter has caught up with the clock (``waitIfNecessary``); so does this model.

The core is the step function :meth:`Snowflake.next_at` (a clock reading in, an id or a
:class:`Wait` out), which simulation nodes drive with timers; :meth:`Snowflake.next_id`
drives it with an injectable clock that can sleep (:class:`~dscourse.ids.clock.FakeClock`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import allowed
from .clock import Clock, valid_clock
from .errors import ClockRollbackError, ExhaustedError
from .layout import TWITTER, Layout

POLICIES = ("raise", "wait", "logical")
SEATA_SLEEP_MS = 5


@dataclass(frozen=True)
class Wait:
    """The generator cannot issue now: retry after ``ms`` (``reason``: exhausted/rollback/logical)."""

    ms: int
    reason: str


class Snowflake:
    """A Snowflake generator for one worker.

    ``layout`` (default Twitter's), ``worker`` and ``datacenter`` (and ``business``) ids that
    must fit the layout, ``clock`` (anything with ``ms()`` and ``sleep()``), ``policy`` (see
    the module docstring), ``max_wait_ms`` for ``"wait"``, ``random_start`` (new ticks start
    their sequence at ``rng.integers(random_start)``; needs ``rng``, a numpy Generator).
    """

    def __init__(self, layout: Layout = TWITTER, *, worker: int = 0, datacenter: int = 0,
                 business: int = 0, clock: Clock | None = None, policy: str = "raise",
                 max_wait_ms: int = 5, random_start: int = 0,
                 rng: np.random.Generator | None = None) -> None:
        if not isinstance(layout, Layout):
            raise allowed("layout", layout, "a ds.ids.Layout (e.g. ds.ids.TWITTER)")
        if policy not in POLICIES:
            raise allowed("policy", policy, f"one of {', '.join(POLICIES)}")
        if isinstance(max_wait_ms, bool) or not isinstance(max_wait_ms, int) or max_wait_ms < 0:
            raise allowed("max_wait_ms", max_wait_ms, "an int >= 0")
        seq_limit = layout.limit("sequence")
        if (isinstance(random_start, bool) or not isinstance(random_start, int)
                or not 0 <= random_start <= seq_limit):
            raise allowed("random_start", random_start, f"an int in [0, {seq_limit}]")
        if random_start and not isinstance(rng, np.random.Generator):
            raise allowed("rng", rng, "a numpy Generator when random_start > 0")
        for name, value in (("worker", worker), ("datacenter", datacenter),
                            ("business", business)):
            lim = layout.limit(name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < lim:
                raise allowed(f"{name} id", value, f"an int with 0 <= {name} < {lim} "
                              f"({layout.bits(name)} bits in layout {layout.name!r})")
        self.layout = layout
        self.worker, self.datacenter, self.business = worker, datacenter, business
        self.clock = None if clock is None else valid_clock(clock)
        self.policy = policy
        self.max_wait_ms = max_wait_ms
        self.random_start = random_start
        self.rng = rng
        self._ts_bits = layout.bits("timestamp")
        self._seq_bits = layout.bits("sequence")
        self._seq_mask = seq_limit - 1
        present = {n: v for n, v in (("worker", worker), ("datacenter", datacenter),
                                     ("business", business)) if layout.bits(n)}
        self._fixed = layout.encode(**present)
        self._ts_shift = layout.shift("timestamp")
        self._seq_shift = layout.shift("sequence")
        self.last_tick = -1       # timestamp field of the last id
        self.sequence = 0         # sequence field of the last id
        self._counter: int | None = None  # "logical": (tick << seq_bits) | sequence
        self.waits: dict[str, int] = {"exhausted": 0, "rollback": 0, "logical": 0}
        self.waited_ms = 0

    # -- the step function -------------------------------------------------------------------
    def tick_of(self, now_ms: int) -> int:
        """The timestamp field for clock reading ``now_ms``."""
        return (now_ms - self.layout.epoch_ms) // self.layout.unit_ms

    def _make(self, tick: int, seq: int) -> int:
        if not 0 <= tick < (1 << self._ts_bits):
            raise ExhaustedError(f"timestamp field {tick} does not fit {self._ts_bits} bits: the "
                                 f"layout's epoch {self.layout.epoch_ms} is in the future or "
                                 f"its {self.layout.lifetime_years:.1f} years are over")
        return self._fixed | (tick << self._ts_shift) | (seq << self._seq_shift)

    def next_at(self, now_ms: int, retried: bool = False) -> int | Wait:
        """Issue an id for clock reading ``now_ms``, or say how long to wait.

        ``retried`` is True when this call follows a rollback or logical :class:`Wait`
        (Leaf checks the clock only once more; Seata sleeps only once).
        """
        tick = self.tick_of(now_ms)
        if not 0 <= tick < (1 << self._ts_bits):
            self._make(tick, 0)  # raises ExhaustedError: the clock is outside the layout's range
        if self.policy == "logical":
            return self._logical(tick, retried)
        last = self.last_tick
        if tick < last:
            offset_ms = (last - tick) * self.layout.unit_ms
            if self.policy == "wait" and not retried and offset_ms <= self.max_wait_ms:
                return Wait(2 * offset_ms, "rollback")
            raise ClockRollbackError(self.layout.epoch_ms + last * self.layout.unit_ms,
                                     now_ms, self.policy)
        if tick == last:
            seq = (self.sequence + 1) & self._seq_mask
            if seq == 0:  # exhausted: wait for the next tick (tilNextMillis)
                next_ms = self.layout.epoch_ms + (last + 1) * self.layout.unit_ms
                return Wait(max(1, next_ms - now_ms), "exhausted")
        else:
            if self.random_start:
                assert self.rng is not None  # __init__ requires a Generator when random_start > 0
                seq = int(self.rng.integers(self.random_start))
            else:
                seq = 0
            self.last_tick = tick
        self.sequence = seq
        return self._make(tick, seq)

    def _logical(self, tick: int, retried: bool) -> int | Wait:
        if self._counter is None:  # the only clock read that matters: start-up
            self._counter = tick << self._seq_bits
        if not retried and (self._counter >> self._seq_bits) >= tick:
            return Wait(SEATA_SLEEP_MS, "logical")
        self._counter += 1
        t, seq = self._counter >> self._seq_bits, self._counter & self._seq_mask
        self.last_tick, self.sequence = t, seq
        return self._make(t, seq)

    # -- driving it with a clock ------------------------------------------------------------
    def _clock(self) -> Clock:
        if self.clock is None:
            raise allowed("clock", None, "a clock passed to Snowflake(clock=...) to call "
                          "next_id(); or call next_at(now_ms) yourself")
        return self.clock

    def next_id(self) -> int:
        """The next id, sleeping on the clock when the step function says to wait."""
        clock = self._clock()
        retried = False
        while True:
            out = self.next_at(clock.ms(), retried)
            if type(out) is int:
                return out
            assert isinstance(out, Wait)
            self.waits[out.reason] += 1
            self.waited_ms += out.ms
            clock.sleep(out.ms)
            retried = out.reason != "exhausted"

    def next_ids(self, n: int) -> list[int]:
        """``n`` ids; a tick's ids come out as one ``range`` when the sequence is lowest."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise allowed("n", n, "an int >= 0")
        if self.policy == "logical" or not self.layout.sequence_lowest:
            return [self.next_id() for _ in range(n)]
        out: list[int] = []
        mask = self._seq_mask
        while len(out) < n:
            first = self.next_id()  # handles new ticks, rollback and exhaustion
            out.append(first)
            take = min(n - len(out), mask - self.sequence)
            if take > 0:
                out.extend(range(first + 1, first + 1 + take))
                self.sequence += take
        return out

    def decode(self, ident: int) -> dict[str, int]:
        """The fields of ``ident`` under this generator's layout."""
        return self.layout.decode(ident)

    def __repr__(self) -> str:
        return (f"Snowflake({self.layout.name}, worker={self.worker}, "
                f"datacenter={self.datacenter}, policy={self.policy!r})")
