"""The compact engine's own parts: private copies of node data, the node-local steps with
mutated messages, cancelled timers and aliased attributes, shortest counterexamples, and the
nodes' generators given back after a search."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import hypothesis.strategies as st
import numpy as np
import pytest
from explorekit import meddlers, picky, racers
from hypothesis import given, settings
from test_engines import both

from dscourse.checkers import explore as ex
from dscourse.checkers.explore_compact import clone, frozen
from dscourse.checkers.explore_symmetry import Plain


@dataclass(frozen=True)
class Point:
    x: int
    tags: tuple = ()


@dataclass(frozen=True)
class Box:                      # frozen, but holding a mutable list
    items: list


atoms = st.one_of(st.integers(), st.text(max_size=3), st.booleans(), st.none(), st.floats(allow_nan=False))
data = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=2), inner, max_size=4),
        st.sets(atoms, max_size=4),
        st.frozensets(atoms, max_size=3),
        st.builds(Point, st.integers(), st.tuples(atoms)),
        st.builds(Box, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)


def mutable_ids(x, out):
    """ids of every mutable container reachable in x."""
    if isinstance(x, (list, dict, set)):
        out.add(id(x))
    children = x.values() if isinstance(x, dict) else x if isinstance(x, (list, tuple, set, frozenset)) \
        else [x.items] if isinstance(x, Box) else [x.x, x.tags] if isinstance(x, Point) else []
    for c in children:
        mutable_ids(c, out)
    return out


@settings(max_examples=200, deadline=None)
@given(x=data)
def test_clone_equals_a_pickle_round_trip_and_shares_nothing_mutable(x):
    c = clone(x, {})
    assert c == pickle.loads(pickle.dumps(x))
    assert type(c) is type(x)
    assert not mutable_ids(c, set()) & mutable_ids(x, set())
    if frozen(x):
        assert c is x


@given(x=data)
def test_clone_keeps_aliasing_like_pickle(x):
    shared = [x]
    original = {"a": shared, "b": shared, "c": (shared, 1)}
    c = clone(original, {})
    assert c["a"] is c["b"] is c["c"][0]
    assert c["a"] is not shared


def test_frozen_sees_mutable_values_inside_frozen_dataclasses():
    assert frozen(Point(1, ("a", (2, 3))))
    assert not frozen(Box([1]))
    assert not frozen((1, [2]))
    assert frozen(frozenset({1, "a"}))


@pytest.mark.parametrize("depth, kw", [(9, {}), (6, dict(max_drops=1)), (6, dict(max_duplicates=1)),
                                       (5, dict(max_duplicates=2, max_drops=1))])
def test_receivers_that_mutate_messages_and_cancel_timers_agree(depth, kw):
    # the receiver mutates its message, cancels and re-arms timers with mutated payloads, and
    # keeps two names for one list: a shared message or a lost alias would change the counts
    r = both(meddlers, lambda s: True, max_depth=depth, **kw)
    assert r.states > 50


@settings(max_examples=20, deadline=None)
@given(writes=st.integers(1, 4), value=st.integers(1, 4), drops=st.integers(0, 2), dups=st.integers(0, 1),
       seed=st.integers(0, 1000))
def test_counterexamples_are_shortest(writes, value, drops, dups, seed):
    goal = {"w holds value after writes": lambda s: s.nodes["w"].writes >= writes and s.nodes["w"].value == value}
    kw = dict(seed=seed, max_drops=drops, max_duplicates=dups)
    r = ex.explore(racers, goals=goal, max_depth=12, **kw)
    if r.goal is None:
        assert r.exhausted                   # unreachable: every state was checked
        return
    n = len(r.path)
    assert n >= writes
    shorter = ex.explore(racers, goals=goal, max_depth=n - 1, engine="checkpoint", **kw) if n > 1 else None
    assert shorter is None or shorter.goal is None    # no path of n - 1 steps reaches it
    assert ex.replay(racers, seed, r.path).nodes["w"].value == value


def test_the_nodes_get_their_generators_back():
    made = []

    def make(seed):
        made.append(racers(seed))
        return made[-1]

    ex.explore(make, lambda s: True, max_depth=4)
    assert all(type(n.rng) is np.random.Generator for n in made[0].nodes.values())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nodes_that_check_and_draw_from_their_generator_agree(seed):
    # the search watches each node's rng to know when to save its stream: the node must
    # still see a numpy Generator, and its draws must be put back for every sibling
    r = both(picky, lambda s: True, seed=seed, max_depth=8, max_duplicates=1, max_drops=1)
    assert r.states > 10


def test_the_pending_multiset_tells_swapped_messages_apart():
    """The multiset is a sum of mixed entry hashes (explore_symmetry.mix): messages swapped
    between two receivers give different sums; the sum ignores order and repeats count."""
    keys = Plain()
    to_1 = [keys.entry((0, "r1", "s", "m", n)) for n in range(60)]
    to_2 = [keys.entry((0, "r2", "s", "m", n)) for n in range(60)]
    sums = {keys.multiset([to_1[i], to_2[j]]) for i in range(60) for j in range(60)}
    assert len(sums) == 60 * 60
    twice = keys.multiset([to_1[0], to_2[1], to_1[0]])
    assert twice == keys.multiset([to_2[1], to_1[0], to_1[0]]) != keys.multiset([to_1[0], to_2[1]])
    assert keys.more(keys.less(twice, to_1[0]), (to_1[0],)) == twice
