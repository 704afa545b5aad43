"""The sequential-consistency checker: properties against the linearizability checker and a
brute-force oracle, and the textbook histories that separate the two models."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dscourse.checkers import linearizability as lin
from dscourse.checkers import sequential as sc
from dscourse.checkers.models import UNKNOWN, Operation, register


def op(client, call, ret, inp, out=None):
    return Operation(client, call, ret, inp, out)


def well_formed(ops):
    """Each client's next operation starts strictly after its previous one returned. (The
    generator may let one client's operations touch, ``ret == call``; real-time order then
    calls them concurrent while program order does not, so the two models cannot be compared.)"""
    lanes = sc.program_order(ops)
    return all(a.ret < b.call for mine in lanes.values() for a, b in itertools.pairwise(mine))


def brute_force(ops, model):
    """Every interleaving of the clients' program orders (small histories only)."""
    lanes = sc.program_order(ops)
    labelled = [c for c, mine in lanes.items() for _ in mine]
    for perm in set(itertools.permutations(labelled)):
        pos = dict.fromkeys(lanes, 0)
        state, ok = model.init, True
        for c in perm:
            op = lanes[c][pos[c]]
            pos[c] += 1
            ok, state = model.step(state, op.input, op.output)
            if not ok:
                break
        if ok:
            return True
    return False


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 12), corrupt=st.sampled_from([0.0, 0.3, 0.7]))
def test_every_linearizable_history_is_sequentially_consistent(seed, n, corrupt):
    ops = lin.random_register_history(seed, n, corrupt=corrupt)
    assume(well_formed(ops))
    if lin.check(ops, register()).ok:
        assert sc.check(ops, register()).ok


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7), clients=st.integers(1, 3))
def test_agrees_with_brute_force_over_interleavings(seed, n, clients):
    ops = lin.random_register_history(seed, n, clients=clients, corrupt=0.6)
    result = sc.check(ops, register())
    assert result.ok == brute_force(ops, register())
    if result.ok:                                  # the order it returns is a witness
        state = register().init
        for op in result.order:
            ok, state = register().step(state, op.input, op.output)
            assert ok
        for client, mine in result.clients.items():
            assert [op for op in result.order if op.client == client] == list(mine)


def test_a_stale_read_is_sequentially_consistent_but_not_linearizable():
    """Client b reads the initial value after a's write returned: place b's read first."""
    h = [op("a", 0, 1, ("write", 1)), op("b", 2, 3, ("read", None), None)]
    assert not lin.check(h, register()).ok
    result = sc.check(h, register())
    assert result.ok and [op.client for op in result.order] == ["b", "a"]


def test_two_readers_that_see_two_writes_in_opposite_orders_are_not():
    h = [op("a", 0, 1, ("write", 1)), op("b", 0, 1, ("write", 2)),
         op("c", 2, 3, ("read", None), 1), op("c", 4, 5, ("read", None), 2),
         op("d", 2, 3, ("read", None), 2), op("d", 4, 5, ("read", None), 1)]
    assert sc.check(h, register()).outcome == "illegal"


def test_program_order_matters_a_client_cannot_unsee_its_own_write():
    h = [op("a", 0, 1, ("write", 1)), op("a", 2, 3, ("read", None), None)]
    assert not sc.check(h, register()).ok


def test_an_unfinished_write_may_take_effect_or_not():
    took = [op("a", 0, math.inf, ("write", 1), UNKNOWN), op("b", 2, 3, ("read", None), 1)]
    did_not = [op("a", 0, math.inf, ("write", 1), UNKNOWN), op("b", 2, 3, ("read", None), None)]
    assert sc.check(took, register()).ok and sc.check(did_not, register()).ok


def test_key_value_histories_are_checked_as_a_whole_not_key_by_key():
    """Each key alone is sequentially consistent; the store is not (SC is not compositional):
    a sees y's put but not x's, b sees x's but not y's, though each wrote before reading."""
    h = [op("a", 0, 1, ("put", "x", "1")), op("a", 2, 3, ("get", "y"), ""),
         op("b", 0, 1, ("put", "y", "1")), op("b", 2, 3, ("get", "x"), "")]
    for key in ("x", "y"):
        assert sc.check([op for op in h if op.input[1] == key], sc.kv_store()).ok
    assert sc.check(h, sc.kv_store()).outcome == "illegal"


def test_overlapping_operations_of_one_client_are_refused():
    with pytest.raises(ValueError, match="one at a time"):
        sc.check([op("a", 0, 5, ("write", 1)), op("a", 1, 2, ("read", None), 1)], register())


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="max_states"):
        sc.check([], register(), max_states=0)
    with pytest.raises(ValueError, match="Operation"):
        sc.check([("a", 0, 1)], register())


def test_the_budget_gives_unknown_not_a_verdict():
    ops = lin.random_register_history(7, 12, clients=4, corrupt=0.9)
    assert sc.check(ops, register(), max_states=1).outcome in ("unknown", "ok")
