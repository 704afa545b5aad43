"""The linearizability checker against a brute-force oracle, on many random histories."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.checkers import linearizability as lin
from dscourse.checkers import models
from dscourse.checkers.histories import random_register_history
from dscourse.errors import ConfigError

VALUES = [None, 0, 1, 2]


def oracle(ops: list[lin.Operation], model: lin.Model) -> bool:
    """Try every total order that respects real time; legal if any is a sequential run."""
    parts = model.partition(ops) if model.partition else [ops]
    return all(_oracle_single(part, model) for part in parts)


def _oracle_single(ops, model) -> bool:
    for order in itertools.permutations(range(len(ops))):
        position = {op: k for k, op in enumerate(order)}
        # a precedes b in real time when a returned strictly before b was called
        if any(ops[a].ret < ops[b].call and position[a] > position[b] for a in order for b in order):
            continue
        state, legal = model.init, True
        for i in order:
            legal, state = model.step(state, ops[i].input, ops[i].output)
            if not legal:
                break
        if legal:
            return True
    return False


def register_input():
    return st.one_of(
        st.just(("read", None)),
        st.builds(lambda v: ("write", v), st.sampled_from(VALUES[1:])),
        st.builds(lambda o, n: ("cas", (o, n)), st.sampled_from(VALUES), st.sampled_from(VALUES[1:])),
    )


@st.composite
def histories(draw, max_ops=6):
    """Random histories: half are generated from a real sequential run (so many are
    linearizable), then outputs are sometimes corrupted, some operations left unfinished."""
    model = lin.cas_register()
    n = draw(st.integers(1, max_ops))
    calls = [draw(st.integers(0, 20)) for _ in range(n)]
    durations = [draw(st.integers(0, 10)) for _ in range(n)]
    inputs = [draw(register_input()) for _ in range(n)]
    # a linearization point inside each interval, then outputs computed in that order
    points = [c + draw(st.integers(0, d)) for c, d in zip(calls, durations, strict=True)]
    state, outputs = model.init, [None] * n
    for i in sorted(range(n), key=lambda i: (points[i], i)):
        inp = inputs[i]
        if inp[0] == "read":
            outputs[i] = state
        elif inp[0] == "write":
            state = inp[1]
        else:
            outputs[i] = state == inp[1][0]
            state = inp[1][1] if outputs[i] else state
    ops = []
    for i in range(n):
        out, ret = outputs[i], calls[i] + durations[i]
        if draw(st.integers(0, 5)) == 0:  # corrupt an output
            kind = inputs[i][0]
            out = draw(st.sampled_from(VALUES)) if kind == "read" else (not out if kind == "cas" else out)
        if draw(st.integers(0, 7)) == 0:  # unfinished: outcome unknown
            out, ret = lin.UNKNOWN, math.inf if draw(st.booleans()) else ret
        ops.append(lin.Operation(client=i, call=float(calls[i]), ret=float(ret), input=inputs[i], output=out))
    return ops


@settings(max_examples=1500)
@given(histories())
def test_agrees_with_brute_force_oracle(ops):
    result = lin.check(ops, lin.cas_register())
    assert result.outcome == ("ok" if oracle(ops, lin.cas_register()) else "illegal")


@settings(max_examples=300)
@given(histories(max_ops=6))
def test_linearizable_result_is_a_witness(ops):
    """When the checker says ok, its linearization is a legal order that respects real time."""
    result = lin.check(ops, lin.cas_register())
    if result.outcome != "ok":
        return
    (part,) = result.partitions
    order = part.longest
    assert sorted(order) == list(range(len(ops)))
    model, state = lin.cas_register(), None
    for k, i in enumerate(order):
        ok, state = model.step(state, ops[i].input, ops[i].output)
        assert ok
        assert all(not (ops[j].ret < ops[i].call) for j in order[k + 1 :])


@st.composite
def kv_histories(draw):
    n = draw(st.integers(1, 7))
    ops = []
    for i in range(n):
        key = draw(st.sampled_from(["x", "y"]))
        kind = draw(st.sampled_from(["get", "put", "append"]))
        call = draw(st.integers(0, 10))
        ret = call + draw(st.integers(0, 6))
        if kind == "get":
            inp, out = ("get", key), draw(st.sampled_from(["", "a", "b", "ab", "ba"]))
        else:
            inp, out = (kind, key, draw(st.sampled_from(["a", "b"]))), None
        ops.append(lin.Operation(i, float(call), float(ret), inp, out))
    return ops


@settings(max_examples=800)
@given(kv_histories())
def test_kv_partitions_by_key_and_agrees_with_oracle(ops):
    result = lin.check(ops, lin.kv())
    assert result.outcome == ("ok" if oracle(ops, lin.kv()) else "illegal")
    assert len(result.partitions) == len({op.input[1] for op in ops})


def test_issue_example():
    ops = [
        lin.Operation(client=0, call=0.0, ret=2.0, input=("write", 1), output=None),
        lin.Operation(client=1, call=1.0, ret=3.0, input=("read", None), output=1),
        lin.Operation(client=2, call=1.5, ret=math.inf, input=("cas", (1, 2)), output=lin.UNKNOWN),
    ]
    assert lin.check(ops, lin.cas_register(), timeout=None).outcome == "ok"


def test_stale_read_is_illegal_and_points_at_the_read():
    ops = [
        lin.Operation(0, 0.0, 1.0, ("write", 1), None),
        lin.Operation(1, 2.0, 3.0, ("write", 2), None),
        lin.Operation(2, 4.0, 5.0, ("read", None), 1),
    ]
    result = lin.check(ops, lin.register())
    assert result.outcome == "illegal"
    (part,) = result.illegal_partitions()
    assert part.longest == (0, 1) and part.stuck == (2,)


def test_unknown_write_may_or_may_not_take_effect():
    write = lin.Operation(0, 0.0, math.inf, ("write", 7), lin.UNKNOWN)
    for seen in (None, 7):
        read = lin.Operation(1, 5.0, 6.0, ("read", None), seen)
        assert lin.check([write, read], lin.register()).outcome == "ok"
    assert lin.check([write, lin.Operation(1, 5.0, 6.0, ("read", None), 8)], lin.register()).outcome == "illegal"


def test_custom_model_counter():
    def step(state, inp, out):
        return (out is lin.UNKNOWN or out == state + 1), state + 1

    counter = lin.Model(init=0, step=step)
    ops = [lin.Operation(c, float(c), float(c) + 10, ("inc",), out) for c, out in enumerate([2, 1, 3])]
    assert lin.check(ops, counter).outcome == "ok"
    ops[2] = lin.Operation(2, 20.0, 21.0, ("inc",), 2)
    assert lin.check(ops, counter).outcome == "illegal"


def test_timeout_gives_unknown_never_a_guess():
    # 14 concurrent writes, each value read by a concurrent read, and a final impossible read:
    # without the model's hooks (early illegality refutes the last read at once), proving
    # illegality needs the whole search over the orders of the writes
    model = dataclasses.replace(lin.register(), read_only=None, removable=None, unread=None,
                                overwrites=None, reachable=None)
    ops = [lin.Operation(i, 0.0, 100.0, ("write", i), None) for i in range(14)]
    ops += [lin.Operation(100 + i, 0.0, 100.0, ("read", None), i) for i in range(14)]
    ops.append(lin.Operation(99, 200.0, 201.0, ("read", None), -1))
    assert lin.check(ops, model, timeout=1e-6).outcome == "unknown"
    small = [op for op in ops if op.client in range(6) or op.client in range(100, 106) or op.client == 99]
    assert lin.check(small, model).outcome == "illegal"


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: lin.Operation(0, 5.0, 1.0, ("read", None), None), "before call"),
        (lambda: lin.Operation(0, math.nan, 1.0, ("read", None), None), "call"),
        (lambda: lin.Operation(0, 0.0, math.inf, ("read", None), 3), "UNKNOWN"),
        (lambda: lin.check([lin.Operation(0, 0.0, 1.0, ("incr", 1), None)], lin.register()), "incr"),
        (lambda: lin.check([lin.Operation(0, 0.0, 1.0, ("pop", "k"), None)], lin.kv()), "pop"),
        (lambda: lin.check([("write", 1)], lin.register()), "Operation"),
        (lambda: lin.check([], lin.register(), timeout=-1), "timeout"),
        (lambda: lin.check([], "register"), "model"),
    ],
)
def test_bad_input_is_named(bad, match):
    with pytest.raises(ConfigError, match=match):
        bad()


def test_empty_history_is_linearizable():
    assert lin.check([], lin.register()).outcome == "ok"


def _without_reductions(model: lin.Model) -> lin.Model:
    import dataclasses

    return dataclasses.replace(model, read_only=None, removable=None, unread=None)


@settings(max_examples=400)
@given(histories(max_ops=8))
def test_reductions_never_change_the_verdict(ops):
    """Forced reads, dropped unread unknown writes and lazily placed unread writes agree with
    the plain WGL search."""
    model = lin.cas_register()
    assert lin.check(ops, model).outcome == lin.check(ops, _without_reductions(model)).outcome


@st.composite
def write_read_histories(draw):
    """Reads and writes only, many unfinished writes: what the dropping of unread writes sees."""
    n = draw(st.integers(1, 7))
    ops = []
    for i in range(n):
        call = draw(st.integers(0, 12))
        ret = call + draw(st.integers(0, 6))
        if draw(st.booleans()):
            out = draw(st.sampled_from([None, 1, 2, 3, lin.UNKNOWN]))
            ops.append(lin.Operation(i, float(call), math.inf if out is lin.UNKNOWN and draw(st.booleans())
                                     else float(ret), ("read", None), out))
        else:
            unknown = draw(st.integers(0, 2)) == 0
            ops.append(lin.Operation(i, float(call), math.inf if unknown else float(ret),
                                     ("write", draw(st.sampled_from([1, 2, 3]))), lin.UNKNOWN if unknown else None))
    return ops


@settings(max_examples=400)
@given(write_read_histories())
def test_register_with_unknown_writes_agrees_with_oracle(ops):
    assert lin.check(ops, lin.register()).outcome == ("ok" if oracle(ops, lin.register()) else "illegal")
    result = lin.check(ops, lin.register())
    if result.outcome == "ok":
        assert sorted(result.partitions[0].longest) == list(range(len(ops)))


@settings(max_examples=300)
@given(st.integers(0, 10**6), st.integers(4, 16), st.integers(1, 5))
def test_reductions_agree_with_plain_search_on_larger_register_histories(seed, n, clients):
    ops = lin.random_register_history(seed, n, clients=clients, corrupt=0.5)
    for model in (lin.register(), lin.kv()):
        if model.partition is not None:
            ops = [lin.Operation(o.client, o.call, o.ret,
                                 ("get", "k") if o.input[0] == "read" else ("put", "k", str(o.input[1])),
                                 "" if o.output is None and o.input[0] == "read" else
                                 (str(o.output) if o.input[0] == "read" and o.output is not lin.UNKNOWN else o.output))
                   for o in ops]
        fast = lin.check(ops, model)
        assert fast.outcome == lin.check(ops, _without_reductions(model)).outcome
        if fast.outcome == "ok":
            order = fast.partitions[0].longest
            assert sorted(order) == list(range(len(ops)))
            state = model.init
            for k, i in enumerate(order):
                ok, state = model.step(state, ops[i].input, ops[i].output)
                assert ok
                assert all(not (ops[j].ret < ops[i].call) for j in order[k + 1:])


@settings(max_examples=200)
@given(st.integers(0, 10**6), st.integers(0, 14), st.integers(1, 5))
def test_uncorrupted_generated_histories_are_linearizable_and_seeded(seed, n, clients):
    """The E3.1 generator (``checkers.histories``): a pure function of its seed, and its
    uncorrupted histories come from a sequential run, so both searches accept them."""
    ops = random_register_history(seed, n, clients=clients, corrupt=0.0)
    assert ops == random_register_history(seed, n, clients=clients, corrupt=0.0)
    assert len(ops) == n and {op.client for op in ops} <= set(range(clients))
    assert lin.check(ops, lin.register()).ok
    assert lin.check(ops, _without_reductions(lin.register())).ok


def test_public_names_stay_where_notebooks_import_them():
    """``ds.checkers.linearizability`` re-exports the models and the generator it used to
    define, so ``lin.register()`` and ``lin.random_register_history`` keep working."""
    for name in ("UNKNOWN", "Operation", "Model", "register", "cas_register", "kv"):
        assert getattr(lin, name) is getattr(models, name)
    assert lin.random_register_history is random_register_history
    assert set(lin.__all__) <= set(dir(lin))
