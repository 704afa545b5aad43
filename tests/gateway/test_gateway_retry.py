"""Backoff with jitter, the retry budget, and retry-storm amplification."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.gateway.retry import RetryBudget, amplification, backoff_ms
from dscourse.sim import stream


def test_backoff_doubles_to_the_cap_and_jitter_stays_below():
    assert [backoff_ms(n, 10, 100) for n in range(6)] == [10, 20, 40, 80, 100, 100]
    rng = stream(1, "t")
    draws = [backoff_ms(3, 10, 100, rng) for _ in range(500)]
    assert all(0 <= d < 80 for d in draws) and max(draws) > 60 and min(draws) < 20
    with pytest.raises(ValueError, match="backoff"):
        backoff_ms(0, 10, 5)


@pytest.mark.parametrize("seed", range(3))
def test_amplification_without_and_with_budget(seed):
    assert amplification(0.0, 3, seed=seed).factor == 1.0
    assert amplification(1.0, 3, seed=seed).factor == 4.0   # every request tried 1 + 3 times
    assert amplification(1.0, 3, layers=3, requests=200, seed=seed).factor == 64.0   # 4**3 across three layers
    budgeted = amplification(1.0, 3, RetryBudget(0.1, 10), requests=5000, seed=seed)
    assert budgeted.attempts <= 5000 * 1.1 + 10 + 1


@settings(max_examples=40, deadline=None)
@given(ratio=st.floats(0, 1), reserve=st.integers(0, 20), pattern=st.lists(st.booleans(), max_size=300))
def test_budget_never_exceeds_ratio_plus_reserve(ratio, reserve, pattern):
    b, requests, retries = RetryBudget(ratio, reserve), 0, 0
    for is_request in pattern:
        if is_request:
            b.on_request()
            requests += 1
        elif b.try_retry():
            retries += 1
    assert retries <= reserve + ratio * requests + 1e-9
