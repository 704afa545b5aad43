"""The explorer: exact state counts, shortest paths, fault budgets, replay, random mode, errors."""

from __future__ import annotations

import functools
import math

import pytest
from explorekit import fan, racers, volatile

import dscourse as ds
from dscourse.checkers import explore as ex


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_independent_messages_give_exactly_two_to_the_k_states(k):
    # every subset of the k notes may have arrived; the rest are pending: 2**k states
    r = ex.explore(functools.partial(fan, k=k), lambda sim: True, max_depth=50)
    assert r.violation is None and r.exhausted and r.complete
    assert r.states == 2 ** k
    assert r.depth == k + 1          # the last level finds nothing new


def test_counting_duplicates_adds_exactly_the_states_with_one_extra_delivery():
    # with one duplication allowed, b's count can reach k+1; states are (delivered set,
    # pending multiset, count, budget used)
    k = 2
    plain = ex.explore(functools.partial(fan, k=k, counting=True), lambda s: True, max_depth=50)
    dup = ex.explore(functools.partial(fan, k=k, counting=True), lambda s: True, max_depth=50,
                     max_duplicates=1)
    assert plain.exhausted and dup.exhausted
    assert dup.states > plain.states
    reach = ex.explore(functools.partial(fan, k=k, counting=True),
                       goals={"three deliveries": lambda s: s.nodes["b"].count == 3},
                       max_depth=50, max_duplicates=1)
    assert reach.goal == "three deliveries"
    assert [c.kind for c in reach.path].count("duplicate") == 1
    assert len(reach.path) == 4       # duplicate + three deliveries: the shortest way
    none = ex.explore(functools.partial(fan, k=k, counting=True),
                      goals={"three deliveries": lambda s: s.nodes["b"].count == 3}, max_depth=50)
    assert none.goal is None and none.exhausted


def test_the_counterexample_is_a_shortest_path_and_replays_exactly():
    # w ends with value 1 only if p's second write is lost or still in flight, after q's writes
    bad = {"not one": lambda s: not (s.nodes["w"].value == 1 and s.nodes["w"].writes >= 1)}
    r = ex.explore(racers, bad, max_depth=20)
    assert r.violation == "not one"
    assert len(r.path) == 1           # deliver p's first write: value 1 at once
    r2 = ex.explore(racers, {"not 1 after q": lambda s: not (s.nodes["w"].value == 1 and s.nodes["w"].writes == 3)},
                    max_depth=20)
    assert len(r2.path) == 3 and r2.violation
    again = ex.replay(racers, r2.seed, r2.path)
    assert again.trace.digest() == r2.trace.digest()
    assert again.nodes["w"].value == 1


def test_drop_budget_is_respected_along_every_path():
    lost_both = {"both of p's writes lost": lambda s: s.trace.stats()["dropped"] >= 2}
    one = ex.explore(racers, goals=lost_both, max_depth=20, max_drops=1)
    assert one.goal is None and one.exhausted
    two = ex.explore(racers, goals=lost_both, max_depth=20, max_drops=2)
    assert two.goal and [c.kind for c in two.path] == ["drop", "drop"]


def test_restart_loses_volatile_state_and_keeps_stable():
    goal = {"restarted after the tick": lambda s: s.nodes["v"].stable["starts"] == 2
            and not s.nodes["v"].flag and len(s.pending()) == 1}
    r = ex.explore(volatile, goals=goal, max_depth=10, max_restarts=1, restartable=["v"])
    assert r.goal and [c.kind for c in r.path] in (["restart"], ["fire", "restart"])
    assert r.trace.filter(kind="crash") and r.trace.filter(kind="recover")
    never = ex.explore(volatile, goals=goal, max_depth=10)
    assert never.goal is None


def test_prunes_stop_expansion():
    r = ex.explore(functools.partial(fan, k=3), lambda s: True, max_depth=50,
                   prunes=lambda s: len(s.nodes["b"].got) >= 1)
    assert r.states == 1 + 3          # the start, and the three one-note states (not expanded)


def test_max_states_cuts_the_search_and_says_so():
    r = ex.explore(functools.partial(fan, k=5), lambda s: True, max_depth=50, max_states=7)
    assert r.states == 7 and not r.complete and not r.exhausted
    assert "cut short" in r.summary()


def test_random_walks_find_a_violation_and_are_deterministic():
    bad = {"not 1 after q": lambda s: not (s.nodes["w"].value == 1 and s.nodes["w"].writes == 3)}
    a = ex.explore(racers, bad, mode="random", walks=200, max_depth=10, seed=4)
    b = ex.explore(racers, bad, mode="random", walks=200, max_depth=10, seed=4)
    assert a.violation and a.path == b.path
    assert a.trace.digest() == ex.replay(racers, 4, a.path).trace.digest()


def test_ops_replay_in_the_message_debugger():
    r = ex.explore(volatile, goals={"restarted": lambda s: s.nodes["v"].stable["starts"] == 2},
                   max_depth=5, max_restarts=1, restartable=["v"])
    dbg = ds.viz.Debugger(volatile, seed=r.seed)
    dbg.add_action(*ex.RESTART, button=False)
    dbg.replay(r.ops)
    assert dbg.sim.trace.digest() == r.trace.digest()


def test_lossy_networks_are_explored_too():
    # random latencies and loss in the network model do not matter: the explorer chooses
    r = ex.explore(functools.partial(racers, network=ds.sim.lossy()), lambda s: True, max_depth=20)
    assert r.exhausted and r.states > 1


@pytest.mark.parametrize("kwargs, word", [
    (dict(max_depth=0), "max_depth"), (dict(max_drops=-1), "max_drops"),
    (dict(mode="sideways"), "mode"), (dict(max_states=0), "max_states"),
    (dict(restartable=["nope"]), "nope"), (dict(walks=0), "walks"),
])
def test_bad_input_is_a_clear_error(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ex.explore(racers, lambda s: True, **kwargs)


def test_bad_predicates_and_factories():
    with pytest.raises(ds.ConfigError, match="invariant"):
        ex.explore(racers)
    with pytest.raises(ds.ConfigError, match="invariants"):
        ex.explore(racers, [42])
    with pytest.raises(ds.ConfigError, match="make_sim"):
        ex.explore(lambda seed: 42, lambda s: True)


def test_freeze_is_order_insensitive_for_dicts_and_sets():
    assert ex.freeze({"a": [1, {2}], "b": {}}) == ex.freeze({"b": {}, "a": [1, {2}]})
    assert ex.freeze({1, 2}) == ex.freeze({2, 1})
    assert ex.freeze([1, 2]) != ex.freeze([2, 1])
    assert hash(ex.freeze({"x": [{"y": {1}}]}))
    assert ex.freeze(math.inf) == math.inf
