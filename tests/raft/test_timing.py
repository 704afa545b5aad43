"""The timing sweep's statistics: per-cell spread, Wilson intervals, cells not run."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dscourse.raft import labs
from dscourse.raft.timing import timing_run, timing_sweep, timing_table, wilson


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_estimate_and_narrows(k, n):
    k = min(k, n)
    lo, hi = wilson(k, n)
    assert 0 <= lo <= k / n <= hi <= 1
    lo4, hi4 = wilson(4 * k, 4 * n)
    assert hi4 - lo4 < hi - lo + 1e-12


def test_wilson_without_data_says_nothing():
    assert wilson(0, 0) == (0.0, 1.0)


def test_sweep_cells_pool_their_runs():
    results = timing_sweep((20, 40), (2, 20, 40), runs=3, duration=800, seed=5)
    cells = {(r.election_timeout, r.broadcast): r for r in results}
    assert set(cells) == {(20, 2), (40, 2), (40, 20)}  # b >= T is not run
    r = cells[(40, 20)]
    runs = [timing_run(40, 20, 5 + k, duration=800) for k in range(3)]
    mean = sum(a for a, *_ in runs) / 3
    sd = math.sqrt(sum((a - mean) ** 2 for a, *_ in runs) / 2)
    assert r.runs == 3 and math.isclose(r.availability, mean) and math.isclose(r.availability_sd, sd)
    assert r.elections == sum(e for _, e, _, _ in runs)
    assert math.isclose(r.split_vote_rate, sum(s for *_, s, _ in runs) / max(r.elections, 1))
    assert r.split_vote_ci == wilson(sum(s for *_, s, _ in runs), r.elections)
    assert math.isclose(r.availability_ci, 1.96 * sd / math.sqrt(3))
    table = timing_table(results).splitlines()
    assert len(table) == 4 and table[0].split()[:2] == ["T", "b"]
    assert f"{r.availability:.3f} ± {r.availability_ci:.3f} ({sd:.3f})" in table[3]


def test_runs_must_be_positive():
    with pytest.raises(ValueError, match="runs"):
        timing_sweep(runs=0)


def test_cells_not_run_are_marked_on_the_figure():
    fig = labs.timing_figure(timing_sweep((20, 40), (2, 30), runs=1, duration=800))
    for ax in [ax for ax in fig.axes if ax.images]:
        grid = ax.images[0].get_array()
        assert math.isnan(grid[1][0])  # b=30 >= T=20
        marks = [t for t in ax.texts if "not run" in t.get_text()]
        assert len(marks) == 1 and marks[0].get_position() == (0, 1)
