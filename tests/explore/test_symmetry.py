"""Symmetry reduction (``explore(symmetry=...)``): one state per orbit, counts known in
closed form, the same verdicts and shortest counterexample lengths as the full search."""

from __future__ import annotations

import functools

import hypothesis.strategies as st
import pytest
from explorekit import ballot_box, gossip, racers
from hypothesis import given, settings

from dscourse.checkers import explore as ex
from dscourse.checkers.explore_symmetry import expand, rename
from dscourse.errors import ConfigError
from dscourse.paxos import modelcheck as M

ACCEPTORS = [("a1", "a2", "a3")]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_orbits_of_votes_are_counted_in_closed_form(k):
    # k interchangeable voters, one message each: 2**k subsets delivered, k + 1 sizes
    make = functools.partial(ballot_box, k=k)
    full = ex.explore(make, lambda s: True, max_depth=20)
    group = [tuple(f"v{i}" for i in range(k))] if k > 1 else None
    reduced = ex.explore(make, lambda s: True, max_depth=20, symmetry=group)
    assert full.states == 2 ** k and full.exhausted
    assert reduced.states == (k + 1 if k > 1 else 2) and reduced.exhausted


@settings(max_examples=8, deadline=None)
@given(k=st.integers(2, 4), need=st.integers(1, 4), dups=st.integers(0, 1), drops=st.integers(0, 1))
def test_same_verdict_and_shortest_length_as_the_full_search(k, need, dups, drops):
    make = functools.partial(ballot_box, k=k)
    goal = {"heard": lambda s: len(s.nodes["t"].voters) >= need}
    kw = dict(goals=goal, max_depth=12, max_duplicates=dups, max_drops=drops)
    full = ex.explore(make, **kw)
    reduced = ex.explore(make, symmetry=[tuple(f"v{i}" for i in range(k))], **kw)
    assert (full.goal, len(full.path)) == (reduced.goal, len(reduced.path))
    assert reduced.states <= full.states
    if reduced.goal:
        assert len(ex.replay(make, 0, reduced.path).nodes["t"].voters) >= need


@pytest.mark.parametrize("variant, kw", [("no-adopt", {}), ("forgetful", dict(max_restarts=1, max_depth=9))])
def test_paxos_bugs_are_found_as_short_with_symmetry(variant, kw):
    # (the forgetful acceptor's shortest counterexample has 13 steps: too long a search for
    # every test run; at depth 9 both searches must agree that no violation is that close)
    full = M.check(variant, **kw)
    reduced = M.check(variant, symmetry=ACCEPTORS, **kw)
    if variant == "forgetful":
        assert full.violation is None and reduced.violation is None and full.complete and reduced.complete
        assert full.states / 6 <= reduced.states < full.states
        return
    assert full.violation == reduced.violation == "agreement"
    assert len(reduced.path) == len(full.path)
    assert reduced.states < full.states
    assert not M.INVARIANTS["agreement"](ex.replay(M.Variant(variant), 0, reduced.path))


def test_paxos_orbits_at_a_fixed_depth():
    full = M.check("correct", max_depth=8)
    reduced = M.check("correct", max_depth=8, symmetry=ACCEPTORS)
    assert full.states / 6 <= reduced.states < full.states    # at most 3! states per orbit


def test_rename_reaches_inside_dataclasses():
    from dscourse.paxos.messages import Ballot
    x = expand((frozenset({("a1", 2)}), Ballot(1, "a2")))
    assert rename(x, {"a1": "a2", "a2": "a1"}) == expand((frozenset({("a2", 2)}), Ballot(1, "a1")))


def test_bad_groups_are_clear_errors():
    with pytest.raises(ValueError, match="symmetry node"):
        ex.explore(racers, lambda s: True, symmetry=[("p", "zz")])
    with pytest.raises(ValueError, match="two or more"):
        ex.explore(racers, lambda s: True, symmetry=[("p",)])
    with pytest.raises(ValueError, match="one group only"):
        ex.explore(racers, lambda s: True, symmetry=[("p", "q"), ("q", "w")])
    with pytest.raises(ValueError, match="one class"):
        ex.explore(M.Variant("correct"), lambda s: True, symmetry=[("a1", "p1")])
    with pytest.raises(ValueError, match="engine"):
        ex.explore(racers, lambda s: True, symmetry=[("p", "q")], engine="checkpoint")
    with pytest.raises(ValueError, match="all restartable or none"):
        M.check("forgetful", symmetry=ACCEPTORS, restartable=("a1",), max_depth=3)
    with pytest.raises(ConfigError, match="random stream"):     # gossip nodes draw at start
        ex.explore(gossip, lambda s: True, symmetry=[("a", "b")], max_depth=3)
