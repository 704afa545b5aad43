"""Measured epidemics against Demers et al. (1987) at the curriculum's tolerances (E4.1, E4.2)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.gossip import epidemic as ep

SEEDS = range(1, 51)


def mean_rounds(mode, n=1024, seeds=SEEDS):
    return float(np.mean([ep.spread(n, mode, seed=s).rounds for s in seeds]))


def test_push_rounds_within_15_percent_of_log2n_plus_ln_n_over_50_seeds():
    theory = ep.push_rounds_theory(1024)
    assert abs(mean_rounds("push") - theory) / theory <= 0.15


def test_push_pull_beats_push_and_pull():
    pp = mean_rounds("push-pull")
    assert pp < mean_rounds("push")
    assert pp < mean_rounds("pull")


def test_pull_tail_fits_p_squared():
    runs = [ep.spread(1024, "pull", seed=s) for s in SEEDS]
    assert ep.pull_tail_r2(runs) > 0.95


def test_push_tail_does_not_fit_p_squared():
    """The R² criterion discriminates: push's tail shrinks by about 1/e per round, not p²."""
    runs = [ep.spread(1024, "push", seed=s) for s in SEEDS]
    assert ep.pull_tail_r2(runs) < 0.95


@pytest.mark.parametrize("k", [1, 2])
def test_feedback_counter_residue_matches_the_equation(k):
    runs = [ep.rumor(2000, k, "feedback-counter", seed=s) for s in range(1, 31)]
    assert abs(np.mean([r.residue for r in runs]) - ep.residue_theory(k)) <= 0.02


def test_residue_equation_roots():
    assert ep.residue_theory(1) == pytest.approx(0.2032, abs=1e-3)
    assert ep.residue_theory(2) == pytest.approx(0.0595, abs=1e-3)
    for k in (1, 2, 3, 5):
        s = ep.residue_theory(k)
        assert s == pytest.approx(math.exp(-(k + 1) * (1 - s)), abs=1e-9)


def test_residue_falls_and_traffic_grows_with_k():
    runs = {k: [ep.rumor(1000, k, seed=s) for s in range(1, 11)] for k in (1, 2, 3)}
    res = [np.mean([r.residue for r in runs[k]]) for k in (1, 2, 3)]
    traffic = [np.mean([r.traffic for r in runs[k]]) for k in (1, 2, 3)]
    assert res[0] > res[1] > res[2]
    assert traffic[0] < traffic[1] < traffic[2]


def test_blind_k1_almost_never_spreads():
    """Blind counter with k = 1: every node pushes once, then stops: most never hear it."""
    assert np.mean([ep.rumor(1000, 1, "blind-counter", seed=s).residue for s in range(1, 6)]) > 0.8


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 300), mode=st.sampled_from(ep.MODES), seed=st.integers(0, 10**6),
       fanout=st.integers(1, 3))
def test_spread_is_monotone_reaches_everyone_and_is_deterministic(n, mode, seed, fanout):
    fanout = min(fanout, n - 1)
    run = ep.spread(n, mode, seed=seed, fanout=fanout)
    assert run.infected[0] == 1 and run.infected[-1] == n
    assert all(a <= b for a, b in zip(run.infected, run.infected[1:], strict=False))
    if mode == "push":   # at most doubles per round with fanout 1
        assert all(b <= a * (1 + fanout) for a, b in zip(run.infected, run.infected[1:], strict=False))
    assert run == ep.spread(n, mode, seed=seed, fanout=fanout)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 300), k=st.integers(1, 4), variant=st.sampled_from(ep.RUMOR_VARIANTS),
       seed=st.integers(0, 10**6))
def test_rumor_terminates_with_a_consistent_count(n, k, variant, seed):
    r = ep.rumor(n, k, variant, seed=seed)
    assert 0 <= r.residue < 1
    assert r.informed[-1] == round(n * (1 - r.residue))
    assert r.traffic * n >= r.informed[-1] - 1   # every informed node but the first got a push


@pytest.mark.parametrize("bad", [dict(n=1), dict(mode="shout"), dict(fanout=0), dict(n=True)])
def test_bad_input_is_a_clear_value_error(bad):
    args = dict(n=10, mode="push") | bad
    with pytest.raises(ValueError, match="is not allowed"):
        ds.gossip.spread(**args)
    with pytest.raises(ds.ConfigError):
        ds.gossip.rumor(10, 1, "loud")
