"""``mode="dfs"``: depth-first with the same deduplication; when nothing is cut at the depth
bound it sees exactly the breadth-first states, and its counterexamples are real runs."""

from __future__ import annotations

import functools

import hypothesis.strategies as st
import pytest
from explorekit import ballot_box, fan, meddlers, racers
from hypothesis import given, settings

from dscourse.checkers import explore as ex
from dscourse.paxos import modelcheck as M


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(1, 4), drops=st.integers(0, 2), dups=st.integers(0, 1),
       which=st.sampled_from(["fan", "racers", "meddlers", "ballot"]))
def test_exhausted_depth_first_sees_the_breadth_first_states(seed, k, drops, dups, which):
    make = {"fan": functools.partial(fan, k=k, counting=True), "racers": racers, "meddlers": meddlers,
            "ballot": functools.partial(ballot_box, k=k)}[which]
    kw = dict(seed=seed, max_drops=drops, max_duplicates=dups, max_depth=40)
    bfs = ex.explore(make, lambda s: True, **kw)
    dfs = ex.explore(make, lambda s: True, mode="dfs", **kw)
    assert bfs.exhausted and dfs.exhausted and dfs.complete
    assert dfs.states == bfs.states


@settings(max_examples=15, deadline=None)
@given(writes=st.integers(1, 4), value=st.integers(1, 4), drops=st.integers(0, 1), dups=st.integers(0, 1))
def test_depth_first_finds_what_breadth_first_finds(writes, value, drops, dups):
    goal = {"w": lambda s: s.nodes["w"].writes >= writes and s.nodes["w"].value == value}
    kw = dict(goals=goal, max_drops=drops, max_duplicates=dups, max_depth=40)
    bfs, dfs = ex.explore(racers, **kw), ex.explore(racers, mode="dfs", **kw)
    assert bfs.goal == dfs.goal
    if dfs.goal:
        assert len(dfs.path) >= len(bfs.path)           # breadth-first's is the shortest
        w = ex.replay(racers, 0, dfs.path).nodes["w"]
        assert w.writes >= writes and w.value == value
        assert not dfs.complete


def test_paxos_bug_depth_first():
    r = M.check("no-adopt", mode="dfs")
    assert r.violation == "agreement" and len(r.path) >= 12
    assert not M.INVARIANTS["agreement"](ex.replay(M.Variant("no-adopt"), 0, r.path))


def test_a_cut_search_is_not_complete():
    r = ex.explore(M.Variant("correct"), M.INVARIANTS, mode="dfs", max_depth=5)
    assert r.violation is None and not r.complete and not r.exhausted


def test_depth_first_needs_the_compact_engine():
    with pytest.raises(ValueError, match="engine"):
        ex.explore(racers, lambda s: True, mode="dfs", engine="checkpoint")
