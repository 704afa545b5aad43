"""The physical clock model (dscourse.sim.clock) on its own: drift, jumps, strobes, NTP step and slew."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dscourse.sim.clock import NTP, PhysicalClock

MS = 1000


def readings(clock: PhysicalClock, until_ms: int, every_us: int = 250) -> list[float]:
    return [clock.read(t) for t in range(0, until_ms * MS + 1, every_us)]


@given(drift=st.floats(-200_000, 200_000), t=st.integers(0, 10**9))
def test_a_free_running_clock_gains_drift_ppm(drift: float, t: int) -> None:
    clock = PhysicalClock(0, 0.0, drift_ppm=drift)
    assert clock.read(t) == pytest.approx(t * (1 + drift * 1e-6), abs=1e-6 * max(t, 1))
    assert clock.monotonic(t) == clock.read(t)


@given(drift=st.floats(-100_000, 100_000), offset_ms=st.floats(-500, 500),
       every_ms=st.integers(5, 200), slew_ppm=st.floats(1_000, 300_000),
       error_ms=st.floats(0, 20))
def test_a_slewed_clock_never_goes_backwards(drift: float, offset_ms: float, every_ms: int,
                                             slew_ppm: float, error_ms: float) -> None:
    import numpy as np

    clock = PhysicalClock(0, offset_ms * MS, drift_ppm=drift, rng=np.random.default_rng(1),
                          sync=NTP(every_ms=every_ms, mode="slew", max_slew_ppm=slew_ppm,
                                   error_ms=error_ms))
    values = readings(clock, 1000)
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert clock.steps == 0


@given(drift=st.floats(1_000, 100_000), every_ms=st.integers(5, 200))
def test_a_stepped_fast_clock_goes_backwards_at_every_sync(drift: float, every_ms: int) -> None:
    clock = PhysicalClock(0, 0.0, drift_ppm=drift, sync=NTP(every_ms=every_ms, mode="step"))
    syncs = range(every_ms * MS, 1000 * MS + 1, every_ms * MS)
    pairs = [(clock.read(t - 1), clock.read(t)) for t in syncs]   # just before, at each sync
    assert all(after < before for before, after in pairs)
    assert [after for _, after in pairs] == pytest.approx(list(syncs), abs=1e-6)  # reset to true time
    assert clock.backward_steps == 1000 // every_ms


@given(offset_ms=st.floats(-300, 300).filter(lambda x: abs(x) > 1), slew_ppm=st.floats(10_000, 400_000))
def test_slew_removes_the_offset_at_the_bounded_rate(offset_ms: float, slew_ppm: float) -> None:
    clock = PhysicalClock(0, offset_ms * MS, sync=NTP(every_ms=1, mode="slew", max_slew_ppm=slew_ppm))
    needed_us = abs(offset_ms * MS) / (slew_ppm * 1e-6)   # true time to remove the offset
    halfway = MS + int(needed_us / 2)
    assert abs(clock.offset(halfway)) == pytest.approx(abs(offset_ms * MS) / 2, rel=1e-3, abs=2)
    done = MS + int(needed_us) + 2 * MS
    assert clock.offset(done) == pytest.approx(0, abs=1)


def test_step_over_threshold_steps_a_large_offset_and_slews_a_small_one() -> None:
    big = PhysicalClock(0, 200 * MS, sync=NTP(every_ms=10, mode="slew", step_over_ms=128))
    assert big.read(10 * MS) == pytest.approx(10 * MS)
    assert (big.steps, big.slews) == (1, 0)
    small = PhysicalClock(0, 50 * MS, sync=NTP(every_ms=10, mode="slew", step_over_ms=128))
    assert small.offset(10 * MS) == pytest.approx(50 * MS)
    assert (small.steps, small.slews) == (0, 1)


@given(delta_ms=st.integers(-100, 100).filter(bool), period_ms=st.integers(1, 20),
       duration_ms=st.integers(0, 200), probe_ms=st.integers(0, 400))
def test_strobe_flips_between_plus_delta_and_normal_then_ends_normal(
        delta_ms: int, period_ms: int, duration_ms: int, probe_ms: int) -> None:
    clock = PhysicalClock(0, 0.0)
    clock.start_strobe(0, delta_ms * MS, period_ms * MS, duration_ms * MS)
    offset = clock.offset(probe_ms * MS)
    if probe_ms >= duration_ms:
        assert offset == 0
    else:
        up = (probe_ms // period_ms) % 2 == 0
        assert offset == (delta_ms * MS if up else 0)


@given(jumps=st.lists(st.tuples(st.integers(1, 50), st.integers(-80, 80)), max_size=8),
       drift=st.floats(-50_000, 50_000))
def test_monotonic_ignores_jumps_and_timers_follow_the_oscillator(jumps: list[tuple[int, int]],
                                                                  drift: float) -> None:
    clock = PhysicalClock(0, 0.0, drift_ppm=drift)
    t = 0
    for gap, delta in jumps:
        t += gap * MS
        clock.jump(t, delta * MS)
    assert clock.monotonic(t) == pytest.approx(t * (1 + drift * 1e-6), abs=1e-3)
    assert clock.offset(t) == pytest.approx(sum(d for _, d in jumps) * MS + t * drift * 1e-6, abs=1e-3)
    # a local 100 ms timer takes 100/(1+drift) true ms
    assert clock.timer_delay(100 * MS) == round(100 * MS / (1 + drift * 1e-6))


def test_drift_change_keeps_clocks_continuous() -> None:
    clock = PhysicalClock(0, 0.0, drift_ppm=100_000)
    before = clock.read(50 * MS)
    clock.set_drift(50 * MS, -100_000)
    assert clock.read(50 * MS) == pytest.approx(before)
    assert clock.read(150 * MS) == pytest.approx(55 * MS + 90 * MS)
    assert clock.monotonic(150 * MS) == pytest.approx(145 * MS)


@pytest.mark.parametrize("bad", [dict(every_ms=0), dict(mode="smear"), dict(max_slew_ppm=0),
                                 dict(error_ms=-1), dict(every_ms=float("nan"))])
def test_bad_ntp_settings_are_config_errors(bad: dict) -> None:
    with pytest.raises(ValueError, match="NTP"):
        NTP(**bad)


def test_impossible_drift_is_rejected() -> None:
    with pytest.raises(ValueError, match="drift_ppm"):
        PhysicalClock(0, 0.0, drift_ppm=2_000_000)
