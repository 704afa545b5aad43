"""Physical clocks of simulated nodes: offset, drift, NTP-style step or slew, a monotonic clock.

The model (Chapter 2). Every node has an *oscillator* that runs at rate ``1 + drift_ppm·10⁻⁶``
against true (virtual) time. Its **wall clock** (``Node.clock()``) is the oscillator plus an
offset that faults and synchronisation move:

* ``clock_jump`` adds a signed delta at once (an operator or a VM migration setting the time);
* ``clock_drift`` changes the oscillator's rate (temperature, a throttled VM);
* ``clock_strobe`` flips the clock between ``+delta`` and its normal reading every ``period``
  for ``duration`` (Jepsen's ``strobe-time`` nemesis, which finds code that assumes time only
  moves forward);
* :class:`NTP` synchronisation every ``every_ms`` reads the reference (true time, plus an
  optional error drawn from the node's ``"clock:<id>"`` stream) and corrects the offset either
  by a **step** (set the clock: it may go backwards) or by a **slew** (run the clock faster or
  slower by at most ``max_slew_ppm`` until the offset is gone, as ``adjtime(3)`` does: it
  never goes backwards; ntpd's maximum slew is 500 ppm; Mills et al., RFC 5905).

Its **monotonic clock** (``Node.monotonic()``, the analogue of ``time.monotonic`` or
``System.nanoTime``; Linux's ``CLOCK_MONOTONIC_RAW``) is the oscillator alone: it counts from
when the node was added and is never moved by jumps, strobes or synchronisation, so it never
goes back, but it drifts.

**Timers run on local elapsed time.** ``set_timer(d)`` fires when the node's monotonic clock
has advanced by ``d``: after ``d / (1 + drift_ppm·10⁻⁶)`` true ms, using the rate in force when
the timer was set. A clock jump, strobe or NTP step never moves a pending timer. This is what
an OS timer on a drifting oscillator does, and it is why a lease holder must allow for drift
(``ds.clocks.Lease``) while Raft's *safety* never depends on it (only its availability). With
drift 0, the default, timers and clocks are exactly true time plus offset and cost nothing.

Every change is a *breakpoint*: the clock is piecewise linear in true time and is evaluated
lazily (synchronisations, strobe flips and the end of a slew are applied when the clock is
next read, in time order), so NTP adds no events to the queue and no entries to the trace;
the settings that determine it are traced (``clock_set``, ``clock_drift``, ``clock_strobe``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import allowed
from .queue import to_us

if TYPE_CHECKING:
    from .kernel import Simulation

PPM = 1e-6
MAX_DRIFT_PPM = 500_000.0     # the oscillator runs at a rate in [0.5, 1.5]
SYNC_MODES = ("step", "slew")


def check_ppm(what: str, value: object, limit: float = MAX_DRIFT_PPM) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) > limit:
        raise allowed(what, value, f"a number of ppm in [-{limit:g}, {limit:g}]")
    return float(value)


@dataclass(frozen=True)
class NTP:
    """NTP-style synchronisation every ``every_ms`` true ms, by ``mode`` "step" or "slew".

    ``max_slew_ppm`` bounds the slew rate (ntpd and ``adjtime``: 500 ppm); ``step_over_ms``,
    in slew mode, steps instead when the offset is larger (ntpd's step threshold is 128 ms;
    ``None``: always slew); ``error_ms`` is the reference's error: each synchronisation reads
    true time plus a uniform draw in ``[-error_ms, error_ms]`` from the node's ``"clock:<id>"``
    stream. The first synchronisation happens ``every_ms`` after the setting.
    """

    every_ms: float = 1000.0
    mode: str = "slew"
    max_slew_ppm: float = 500.0
    step_over_ms: float | None = None
    error_ms: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.every_ms, bool) or not isinstance(self.every_ms, (int, float)) \
                or not math.isfinite(self.every_ms) or self.every_ms <= 0:
            raise allowed("NTP every_ms", self.every_ms, "a number of ms > 0")
        if self.mode not in SYNC_MODES:
            raise allowed("NTP mode", self.mode, f"one of {', '.join(SYNC_MODES)}")
        if check_ppm("NTP max_slew_ppm", self.max_slew_ppm) <= 0:
            raise allowed("NTP max_slew_ppm", self.max_slew_ppm, "a rate in ppm > 0")
        if self.step_over_ms is not None:
            to_us("NTP step_over_ms", self.step_over_ms)
        to_us("NTP error_ms", self.error_ms)


class PhysicalClock:
    """One node's clocks as piecewise-linear functions of true time (integer µs in, µs out).

    ``read(t)`` is the wall clock, ``monotonic(t)`` the monotonic clock, ``timer_delay(d)``
    the true delay of a local delay. ``t`` must never decrease between calls (the kernel's
    time never does). Counters: ``steps`` (NTP steps), ``backward_steps`` (steps that set
    the clock back), ``slews`` (NTP slews started).
    """

    __slots__ = (
        "backward_steps",
        "l0",
        "m0",
        "mt0",
        "next_sync",
        "osc",
        "rng",
        "slew",
        "slew_end",
        "slews",
        "steps",
        "strobe",
        "sync",
        "t0",
    )

    def __init__(self, now_us: int, local_us: float, *, drift_ppm: float = 0.0,
                 sync: NTP | None = None, rng: np.random.Generator | None = None,
                 monotonic_us: float = 0.0) -> None:
        self.t0: float = now_us
        self.l0: float = float(local_us)
        self.mt0: float = now_us
        self.m0: float = float(monotonic_us)
        self.osc = 1.0 + check_ppm("drift_ppm", drift_ppm) * PPM
        self.slew = 0.0
        self.slew_end: float | None = None
        self.strobe: list[Any] | None = None      # [delta_us, period_us, end_us, next_flip, up]
        self.rng = rng
        self.steps = self.backward_steps = self.slews = 0
        self.sync: NTP | None = None
        self.next_sync: float | None = None
        self.set_sync(now_us, sync)

    def __repr__(self) -> str:
        return (f"<PhysicalClock drift={self.drift_ppm:g} ppm sync={self.sync} "
                f"steps={self.steps} slews={self.slews}>")

    # -- reading -----------------------------------------------------------------------------
    @property
    def drift_ppm(self) -> float:
        return (self.osc - 1.0) / PPM

    def read(self, t: int) -> float:
        """The wall clock at true time ``t`` (µs)."""
        self._advance(t)
        return self.l0 + (t - self.t0) * (self.osc + self.slew)

    def offset(self, t: int) -> float:
        """Wall clock minus true time at ``t`` (µs)."""
        return self.read(t) - t

    def monotonic(self, t: int) -> float:
        """The monotonic clock at ``t`` (µs since the node was added): the oscillator alone."""
        return self.m0 + (t - self.mt0) * self.osc

    def timer_delay(self, delay_us: int) -> int:
        """True µs until the monotonic clock has advanced ``delay_us``."""
        return round(delay_us / self.osc)

    # -- changes (each at true time t, after everything due before it) ------------------------
    def jump(self, t: int, delta_us: float) -> None:
        self._rebase(t)
        self.l0 += delta_us

    def set_drift(self, t: int, drift_ppm: float) -> None:
        self._rebase(t)
        self.m0 += (t - self.mt0) * self.osc
        self.mt0 = t
        self.osc = 1.0 + check_ppm("drift_ppm", drift_ppm) * PPM

    def set_sync(self, t: int, sync: NTP | None) -> None:
        if sync is not None and not isinstance(sync, NTP):
            raise allowed("sync", sync, "None or ds.sim.NTP(every_ms=..., mode='step' | 'slew')")
        self._rebase(t)
        self.sync = sync
        self.next_sync = None if sync is None else t + sync.every_ms * 1000

    def start_strobe(self, t: int, delta_us: float, period_us: int, duration_us: int) -> None:
        self._rebase(t)
        if self.strobe is not None and self.strobe[4]:
            self.l0 -= self.strobe[0]         # a strobe in progress ends (back to normal) first
        self.strobe = [delta_us, period_us, t + duration_us, t, False]
        self._advance(t)

    # -- the lazy evaluation -----------------------------------------------------------------
    def _rebase(self, t: float) -> None:
        self._advance(t)
        self.l0 += (t - self.t0) * (self.osc + self.slew)
        self.t0 = t

    def _advance(self, t: float) -> None:
        """Apply every breakpoint due at or before ``t``, in time order."""
        while True:
            due = math.inf
            which = ""
            if self.slew_end is not None and self.slew_end <= t:
                due, which = self.slew_end, "slew_end"
            strobe = self.strobe
            if strobe is not None and min(strobe[3], strobe[2]) <= t and min(strobe[3], strobe[2]) < due:
                due, which = min(strobe[3], strobe[2]), "strobe"
            if self.next_sync is not None and self.next_sync <= t and self.next_sync < due:
                due, which = self.next_sync, "sync"
            if not which:
                return
            self.l0 += (due - self.t0) * (self.osc + self.slew)
            self.t0 = due
            if which == "slew_end":
                self.slew, self.slew_end = 0.0, None
            elif which == "strobe":
                self._flip(due)
            else:
                self._synchronise(due)

    def _flip(self, t: float) -> None:
        strobe = self.strobe
        assert strobe is not None
        delta, period, end, _, up = strobe
        if t >= end:                          # the strobe is over: leave the clock unstrobed
            if up:
                self.l0 -= delta
            self.strobe = None
            return
        self.l0 += -delta if up else delta
        strobe[4] = not up
        strobe[3] = t + period

    def _synchronise(self, t: float) -> None:
        sync = self.sync
        assert sync is not None
        self.next_sync = t + sync.every_ms * 1000
        reference = t
        if sync.error_ms and self.rng is not None:
            reference += (2 * self.rng.random() - 1) * sync.error_ms * 1000
        offset = self.l0 - reference
        if sync.mode == "step" or (sync.step_over_ms is not None
                                   and abs(offset) > sync.step_over_ms * 1000):
            self.l0 = reference
            self.slew, self.slew_end = 0.0, None
            self.steps += 1
            self.backward_steps += offset > 0
        elif offset:
            rate = sync.max_slew_ppm * PPM
            self.slew = -rate if offset > 0 else rate
            self.slew_end = t + abs(offset) / rate
            self.slews += 1


class Clocks:
    """Clock settings and faults of :class:`~dscourse.sim.kernel.Simulation` (mixed in).

    A node's clock is plain (true time plus the offset ``clock_jump`` moves) until one of these
    gives it drift or synchronisation; then it is a :class:`PhysicalClock`.
    """

    def physical_clock(self: Simulation, node_id: str) -> PhysicalClock:
        """The node's :class:`PhysicalClock` (created, drift 0, on first use)."""
        self._node(node_id)
        pc = self._physical.get(node_id)
        if pc is None:
            local = self._now + self._clock_offset[node_id]
            self._clock_offset[node_id] = 0
            pc = self._physical[node_id] = PhysicalClock(
                self._now, local, rng=self.rng(f"clock:{node_id}"),
                monotonic_us=self._now - self._added_at(node_id))
        return pc

    def _added_at(self: Simulation, node_id: str) -> int:
        return self._boot.get(node_id, 0)

    def set_clock(self: Simulation, node_id: str, *, offset_ms: float | None = None,
                  drift_ppm: float | None = None, sync: NTP | str | None = "keep") -> None:
        """Set a node's clock: ``offset_ms`` (wall clock minus true time now), ``drift_ppm``,
        ``sync`` (an :class:`NTP`, or ``None`` to stop synchronising). Traced as ``clock_set``."""
        if drift_ppm is not None:
            check_ppm("drift_ppm", drift_ppm)
        if offset_ms is not None:
            to_us("offset_ms", offset_ms, negative=True)
        if sync != "keep" and sync is not None and not isinstance(sync, NTP):
            raise allowed("sync", sync, "None or ds.sim.NTP(every_ms=..., mode='step' | 'slew')")
        pc = self.physical_clock(node_id)
        now = self._now
        if offset_ms is not None:
            pc.jump(now, now + offset_ms * 1000 - pc.read(now))
        if drift_ppm is not None:
            pc.set_drift(now, drift_ppm)
        if sync != "keep":
            pc.set_sync(now, sync)  # type: ignore[arg-type]
        self._rec((now, "clock_set", node_id, None, None, None,
                   {"offset_ms": round(pc.offset(now) / 1000, 6), "drift_ppm": pc.drift_ppm,
                    "sync": None if pc.sync is None else asdict(pc.sync)}))

    def drift_clocks(self: Simulation, max_drift_ppm: float, *, max_offset_ms: float = 0.0,
                     sync: NTP | None = None) -> dict[str, tuple[float, float]]:
        """Give every node present a drift in ``±max_drift_ppm`` and an offset in
        ``±max_offset_ms``, uniform draws from its ``"clock:<id>"`` stream (so the same seed
        gives the same clocks), and the same ``sync``. Returns ``{id: (offset_ms, drift_ppm)}``."""
        check_ppm("max_drift_ppm", max_drift_ppm)
        to_us("max_offset_ms", max_offset_ms)
        drawn = {}
        for node_id in self._order:
            u = self.rng(f"clock:{node_id}").random(2).tolist()
            offset = round((2 * u[0] - 1) * max_offset_ms, 3)
            drift = round((2 * u[1] - 1) * max_drift_ppm, 3)
            self.set_clock(node_id, offset_ms=offset, drift_ppm=drift, sync=sync)
            drawn[node_id] = (offset, drift)
        return drawn

    def clock_drift(self: Simulation, node_id: str, ppm: float) -> None:
        """Set a node's oscillator drift to ``ppm`` (a nemesis action; pending timers keep
        their firing times)."""
        check_ppm("clock_drift ppm", ppm)
        self.physical_clock(node_id).set_drift(self._now, ppm)
        self._rec((self._now, "clock_drift", node_id, None, None, None, ppm))

    def clock_strobe(self: Simulation, node_id: str, delta_ms: float, period_ms: float,
                     duration_ms: float) -> None:
        """Flip a node's clock between ``+delta_ms`` and normal every ``period_ms`` for
        ``duration_ms`` (Jepsen's ``strobe-time``), ending unstrobed. A nemesis action."""
        delta = to_us("clock_strobe delta_ms", delta_ms, negative=True)
        period = to_us("clock_strobe period_ms", period_ms)
        if period <= 0:
            raise allowed("clock_strobe period_ms", period_ms, "a number of ms > 0")
        duration = to_us("clock_strobe duration_ms", duration_ms)
        self.physical_clock(node_id).start_strobe(self._now, delta, period, duration)
        self._rec((self._now, "clock_strobe", node_id, None, None, None,
                   {"delta_ms": delta_ms, "period_ms": period_ms, "duration_ms": duration_ms}))

    def _monotonic(self: Simulation, node_id: str) -> float:
        pc = self._physical.get(node_id) if self._physical else None
        if pc is not None:
            return pc.monotonic(self._now) / 1000
        return (self._now - self._added_at(node_id)) / 1000
