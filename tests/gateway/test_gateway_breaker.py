"""Resilience4j's CircuitBreaker state machine: documented transitions, count- and time-based
windows, minimum calls, slow calls, half-open trial calls; properties over random outcomes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.gateway import CLOSED, DISABLED, FORCED_OPEN, HALF_OPEN, OPEN, TIME_BASED, CircuitBreaker


def breaker(**kw):
    cfg = dict(sliding_window_size=10, minimum_number_of_calls=5, wait_duration_in_open_state_ms=1000,
               permitted_number_of_calls_in_half_open_state=3)
    cfg.update(kw)
    return CircuitBreaker("b", **cfg)


def call(b, t, ok=True, duration=1.0):
    assert b.try_acquire(t)
    (b.on_success if ok else b.on_error)(duration, t)


def test_minimum_number_of_calls_before_any_rate():
    b = breaker()
    for t in range(4):   # four failures: below the minimum of five, no rate yet
        call(b, t, ok=False)
        assert b.state == CLOSED
        assert b.rates(t) == (-1.0, -1.0)
    call(b, 4, ok=False)
    assert b.state == OPEN


def test_failure_rate_equal_to_threshold_opens():
    b = breaker(minimum_number_of_calls=4)
    for t, ok in enumerate([True, False, True]):
        call(b, t, ok)
    assert b.state == CLOSED
    call(b, 3, ok=False)   # 2 of 4 = 50% >= 50%
    assert b.state == OPEN


def test_below_threshold_stays_closed_and_window_slides():
    b = breaker(sliding_window_size=4, minimum_number_of_calls=4)
    for t, ok in enumerate([False, True, True, True, True, True, True]):
        call(b, t, ok)
    assert b.state == CLOSED
    assert b.rates(10) == (0.0, 0.0)   # the early failure slid out of the last four calls


def test_count_based_minimum_is_capped_by_window_size():
    b = breaker(sliding_window_size=3, minimum_number_of_calls=100)
    for t in range(3):
        call(b, t, ok=False)
    assert b.state == OPEN


def test_open_rejects_until_wait_then_half_open_permits_exactly_n():
    b = breaker(minimum_number_of_calls=5)
    for t in range(5):
        call(b, t, ok=False)
    opened = 4
    assert not b.try_acquire(opened + 500)
    assert not b.try_acquire(opened + 1000)   # R4j: the wait must be over (isAfter), not just reached
    assert b.state == OPEN and b.not_permitted == 2
    assert b.try_acquire(opened + 1001) and b.state == HALF_OPEN
    assert b.try_acquire(opened + 1002) and b.try_acquire(opened + 1003)
    assert not b.try_acquire(opened + 1004)   # the fourth trial call is not permitted
    for t in (1010, 1011):
        b.on_success(1, t)
        assert b.state == HALF_OPEN   # decided only when all three trial calls completed
    b.on_success(1, 1012)
    assert b.state == CLOSED
    assert [(x.from_state, x.to_state) for x in b.transitions] == [(CLOSED, OPEN), (OPEN, HALF_OPEN),
                                                                  (HALF_OPEN, CLOSED)]


def test_half_open_failures_reopen():
    b = breaker(minimum_number_of_calls=5)
    for t in range(5):
        call(b, t, ok=False)
    for t in (2000, 2001, 2002):
        assert b.try_acquire(t)
    b.on_success(1, 2003)
    b.on_error(1, 2004)
    b.on_error(1, 2005)   # 2 of 3 failed: 66% >= 50%
    assert b.state == OPEN and b.opened_at == 2005


def test_slow_calls_open_the_breaker():
    b = breaker(slow_call_rate_threshold=60, slow_call_duration_threshold_ms=100)
    for t, d in enumerate([100, 101, 150, 20, 200]):   # 100 is not slow: slow means longer than the threshold
        call(b, t, True, d)
    assert b.state == OPEN   # 3 of 5 slow = 60%
    b2 = breaker(slow_call_rate_threshold=60, slow_call_duration_threshold_ms=100)
    for t, d in enumerate([100, 100, 150, 20, 200]):
        call(b2, t, True, d)
    assert b2.state == CLOSED   # 2 of 5 = 40%


def test_time_based_window_forgets_old_seconds():
    b = breaker(sliding_window_type=TIME_BASED, sliding_window_size=2, minimum_number_of_calls=3)
    call(b, 0, ok=False)
    call(b, 500, ok=False)
    call(b, 2500, ok=False)   # the calls of second 0 are outside the last two seconds
    assert b.state == CLOSED and b.window.totals(2500)[0] == 1
    call(b, 2600, ok=False)
    call(b, 3100, ok=False)   # seconds 2 and 3: three failures
    assert b.state == OPEN


def test_automatic_transition_and_manual_states():
    b = breaker(automatic_transition_from_open_to_half_open=True)
    for t in range(5):
        call(b, t, ok=False)
    assert b.tick(1004) == HALF_OPEN and b.transitions[-1].time_ms == 1004
    b.transition_to_forced_open(2000)
    assert not b.try_acquire(10**9)
    b.transition_to_disabled(2001)
    for t in range(3000, 3020):
        call(b, t, ok=False)
    assert b.state == DISABLED
    assert b.transitions[-2].to_state == FORCED_OPEN


@pytest.mark.parametrize("kw", [dict(failure_rate_threshold=0), dict(failure_rate_threshold=101),
                                dict(sliding_window_type="SESSION"), dict(sliding_window_size=0),
                                dict(permitted_number_of_calls_in_half_open_state=1.5)])
def test_bad_config_names_the_value(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        CircuitBreaker(**kw)


@settings(max_examples=60, deadline=None)
@given(outcomes=st.lists(st.tuples(st.booleans(), st.integers(0, 300), st.integers(0, 700)), max_size=120),
       permitted=st.integers(1, 5), window=st.integers(1, 8), timed=st.booleans())
def test_state_machine_invariants(outcomes, permitted, window, timed):
    b = breaker(sliding_window_size=window, minimum_number_of_calls=3,
                permitted_number_of_calls_in_half_open_state=permitted, slow_call_duration_threshold_ms=200,
                slow_call_rate_threshold=80, sliding_window_type=TIME_BASED if timed else "COUNT_BASED")
    now, in_half_open = 0.0, 0
    for ok, duration, gap in outcomes:
        now += gap
        was, opened_at = b.state, b.opened_at
        permitted_now = b.try_acquire(now)
        if was == OPEN and now <= opened_at + 1000:
            assert not permitted_now   # never a call while open and waiting
        if b.state == HALF_OPEN and permitted_now:
            in_half_open += 1
            assert in_half_open <= permitted
        if b.state != HALF_OPEN:
            in_half_open = 0
        if permitted_now:
            (b.on_success if ok else b.on_error)(duration, now)
        if b.state != HALF_OPEN:
            in_half_open = 0
    prev = CLOSED
    for tr in b.transitions:   # the recorded transitions form one chain of legal moves
        assert tr.from_state == prev
        assert (tr.from_state, tr.to_state) in {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN),
                                                (HALF_OPEN, CLOSED)}
        prev = tr.to_state
    assert prev == b.state
