"""The compact search (the default) and the incremental one against the original checkpoint search: the same
states, the same counts, the same shortest counterexamples, choice for choice."""

from __future__ import annotations

import functools

import hypothesis.strategies as st
import pytest
from explorekit import fan, gossip, racers, volatile
from hypothesis import given, settings

import dscourse as ds
from dscourse.checkers import explore as ex
from dscourse.paxos import modelcheck as M


def both(make, invariants=None, **kw):
    old = ex.explore(make, invariants, engine="checkpoint", **kw)
    for engine in ("compact", "incremental"):
        new = ex.explore(make, invariants, engine=engine, **kw)
        assert (new.states, new.depth, new.complete, new.exhausted) == \
            (old.states, old.depth, old.complete, old.exhausted), engine
        assert (new.violation, new.goal) == (old.violation, old.goal), engine
        assert new.path == old.path, engine              # kinds, pending ids and texts
        if new.sim is not None:
            assert new.trace.digest() == old.trace.digest(), engine
    return new


def no_value_1_after_three(s):
    return not (s.nodes["w"].value == 1 and s.nodes["w"].writes == 3)


@pytest.mark.parametrize("kw", [{}, dict(max_drops=1), dict(max_duplicates=1),
                                dict(max_drops=2, max_duplicates=1)])
def test_small_systems_agree(kw):
    assert both(functools.partial(fan, k=3, counting=True), lambda s: True, max_depth=50, **kw).exhausted
    r = both(racers, {"not 1 after q": no_value_1_after_three}, max_depth=20, **kw)
    assert r.violation and r.path
    both(racers, goals={"both lost": lambda s: s.trace.stats()["dropped"] >= 2}, max_depth=20, **kw)


def test_restarts_agree():
    goal = {"restarted after the tick": lambda s: s.nodes["v"].stable["starts"] == 2
            and not s.nodes["v"].flag and len(s.pending()) == 1}
    r = both(volatile, goals=goal, max_depth=10, max_restarts=1, restartable=["v"])
    assert r.goal
    both(volatile, lambda s: True, max_depth=10, max_restarts=2, restartable=["v"])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_nodes_and_lossy_links_agree(seed):
    # nodes drawing from their streams, messages dropped or duplicated by the link model:
    # the streams and links must be put back exactly for the searches to agree
    r = both(gossip, lambda s: True, seed=seed, max_depth=8, max_restarts=1, restartable=["a"])
    assert r.states > 1


@pytest.mark.parametrize("variant, depth", [("correct", 7), ("forgetful", 7)])
def test_paxos_variants_agree(variant, depth):
    both(M.Variant(variant), M.INVARIANTS, max_depth=depth, max_restarts=1,
         restartable=("a1", "a2", "a3"))


def test_paxos_counterexample_is_the_same():
    # Chapter 5's search: the proposer that ignores reported values breaks agreement
    r = both(M.Variant("no-adopt"), M.INVARIANTS, max_depth=40)
    assert r.violation == "agreement" and len(r.path) == 12


@pytest.mark.parametrize("kw", [dict(max_drops=1), dict(max_duplicates=1), dict(max_states=300)])
def test_paxos_with_faults_agrees(kw):
    both(M.Variant("correct"), M.INVARIANTS, max_depth=6, **kw)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(1, 4), drops=st.integers(0, 2),
       dups=st.integers(0, 1), depth=st.integers(1, 8), cap=st.one_of(st.none(), st.integers(1, 60)),
       writes=st.integers(0, 4))
def test_agree_on_random_searches(seed, k, drops, dups, depth, cap, writes):
    kw = dict(seed=seed, max_drops=drops, max_duplicates=dups, max_depth=depth, max_states=cap)
    both(functools.partial(fan, k=k, counting=True), lambda s: s.nodes["b"].count <= k, **kw)
    both(racers, goals={"writes": lambda s: s.nodes["w"].writes >= writes}, **kw)
    both(gossip, lambda s: len(s.nodes["b"].heard) < writes, **kw)


def test_bad_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="engine"):
        ex.explore(racers, lambda s: True, engine="fast")


@pytest.mark.parametrize("kw", [{}, dict(max_drops=1), dict(max_duplicates=1)])
def test_predicates_reading_message_data_in_the_trace_agree(kw):
    # the compact search keeps sends unrendered (sim.trace.Unrendered) until a predicate
    # reads the trace: what it reads must be what an eager trace holds
    def delivered(*ks):
        return lambda s: [e.data["k"] for e in s.trace.filter(kind="deliver")] == list(ks)

    r = both(racers, goals={"4 then 1 delivered": delivered(2, 4, 1)}, max_depth=20, **kw)
    assert r.goal and r.path
    assert both(racers, {"never 3 first": lambda s: not delivered(3)(s)}, max_depth=20, **kw).violation
    both(racers, goals={"bytes": lambda s: s.trace.stats()["by_label"].get("Note", {})
                        .get("bytes", 0) > 20}, max_depth=20, **kw)


def test_a_message_that_is_not_data_is_still_an_error():
    # sends are rendered lazily in the compact search; a closure in a message must still fail
    from dscourse.sim.errors import MessageNotDataError

    class Closure(ds.sim.Node):
        def on_start(self):
            if self.id == "a":
                self.send("b", {"type": "Ping"})

        def on_message(self, src, msg):
            if self.id == "b":
                self.send("a", {"type": "Thunk", "f": lambda: 1})

    def make(seed):
        sim = ds.sim.Simulation(seed=seed)
        for nid in "ab":
            sim.add_node(Closure(nid))
        return sim

    for engine in ("compact", "incremental", "checkpoint"):
        with pytest.raises(MessageNotDataError, match="not data"):
            ex.explore(make, lambda s: True, max_depth=3, engine=engine)
