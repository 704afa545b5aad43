"""Leases under bounded drift: the T(1-rho) - margin budget is safe, ignoring rho is not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dscourse.clocks import lease_budget, lease_run, naive_overrun


@given(term=st.integers(30, 200), rho=st.floats(0.0, 0.3), margin=st.floats(0.0, 5.0),
       latency=st.floats(0.05, 3.0), drifts=st.lists(st.floats(-1, 1), min_size=3, max_size=3),
       seed=st.integers(1, 50))
def test_drift_aware_holders_never_overlap(term, rho, margin, latency, drifts, seed) -> None:
    ppm = {f"h{i + 1}": d * rho * 1e6 for i, d in enumerate(drifts)}
    run = lease_run(lease_budget, term_ms=term, rho=rho, margin=margin, drift_ppm=ppm,
                    latency_ms=latency, holders=3, until_ms=600, seed=seed)
    assert run.overlaps == []
    assert len(run.uses) >= 600 // (term + 10)           # the lease was used all along


@given(term=st.integers(30, 200), rho=st.floats(0.02, 0.3), margin=st.floats(0.0, 3.0),
       latency=st.floats(0.01, 0.5))
def test_ignoring_drift_overlaps_as_predicted(term, rho, margin, latency) -> None:
    run = lease_run(lambda T, r, m: T - m, term_ms=term, rho=rho, margin=margin,
                    latency_ms=latency, holders=2, until_ms=term * 3)
    first = run.uses[0]
    assert first.holder == "h1"                                  # h1 runs slow by the full rho
    measured = max(0.0, first.end - term)                        # asked at true time 0
    assert measured == pytest.approx(naive_overrun(term, rho, margin), abs=0.002)
    # the grant reaches h1 one latency after it asked; h2 starts <= 3 latencies after expiry
    if naive_overrun(term, rho, margin) > 4 * latency + 0.01:
        assert run.overlaps and run.overlaps[0][0].holder == "h1"
    if naive_overrun(term, rho, margin) == 0:
        assert run.overlaps == []


def test_budget_and_overrun_formulas() -> None:
    assert lease_budget(100, 0.1, 2) == pytest.approx(88)
    assert naive_overrun(100, 0.1, 2) == pytest.approx(98 / 0.9 - 100)
    assert naive_overrun(100, 0.01, 5) == 0
    with pytest.raises(ValueError, match="rho"):
        lease_budget(100, 1.0, 0)
    with pytest.raises(ValueError, match="margin"):
        lease_budget(100, 0.1, -1)
