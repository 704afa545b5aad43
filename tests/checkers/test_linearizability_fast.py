"""The fast search (early illegality, unread appends, twin order, pending no-ops) against
Porcupine's plain search and the oracle; explained verdicts (cores); the JSON export."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_linearizability import oracle

from dscourse.checkers import linearizability as lin
from dscourse.checkers import linearizability_json as lj
from dscourse.checkers.linearizability_core import ddmin, illegal_core
from dscourse.errors import ConfigError


def plain(model: lin.Model) -> lin.Model:
    """The model without its hooks: no forced reads, unread or removable writes, no early
    illegality (the search still applies the twin-order and pending no-op reductions)."""
    return dataclasses.replace(model, read_only=None, removable=None, unread=None, overwrites=None,
                               reachable=None)


def plain_outcome(ops: list[lin.Operation], model: lin.Model) -> str:
    """Porcupine's search: the model without hooks, and no reduction of the search's own."""
    bare = plain(model)
    parts = bare.partition(ops) if bare.partition is not None else [ops]
    outcomes = {lin._search(bare, part, None, plain=True).outcome for part in parts}
    return "illegal" if "illegal" in outcomes else "ok"


@st.composite
def kv_runs(draw, max_ops: int = 7, keys: tuple[str, ...] = ("x",)):
    """Key-value histories with unique appended values, outputs from a real sequential run
    (one linearization point inside each interval), then sometimes mutated: a get's output
    replaced, cut short or extended, an operation left unfinished."""
    n = draw(st.integers(1, max_ops))
    calls = [draw(st.integers(0, 20)) for _ in range(n)]
    durations = [draw(st.integers(0, 12)) for _ in range(n)]
    points = [c + draw(st.integers(0, d)) for c, d in zip(calls, durations, strict=True)]
    inputs = []
    for i in range(n):
        key, kind = draw(st.sampled_from(keys)), draw(st.sampled_from(["get", "get", "put", "append", "append"]))
        inputs.append(("get", key) if kind == "get" else (kind, key, f"<{i}>"))
    state: dict[str, str] = {}
    outputs: list[object] = [None] * n
    for i in sorted(range(n), key=lambda i: (points[i], i)):
        inp = inputs[i]
        if inp[0] == "get":
            outputs[i] = state.get(inp[1], "")
        elif inp[0] == "put":
            state[inp[1]] = inp[2]
        else:
            state[inp[1]] = state.get(inp[1], "") + inp[2]
    ops = []
    for i in range(n):
        out, ret = outputs[i], float(calls[i] + durations[i])
        if inputs[i][0] == "get" and draw(st.integers(0, 3)) == 0:
            out = draw(st.sampled_from(["", f"<{draw(st.integers(0, n - 1))}>", str(out)[:-3], f"{out}<{i}>"]))
        if draw(st.integers(0, 6)) == 0:
            out, ret = lin.UNKNOWN, math.inf if draw(st.booleans()) else ret
        ops.append(lin.Operation(i % 3, float(calls[i]), ret, inputs[i], out))
    return ops


@settings(max_examples=400, deadline=None)
@given(kv_runs())
def test_fast_kv_search_agrees_with_plain_search_and_oracle(ops):
    fast = lin.check(ops, lin.kv(), explain=False)
    assert fast.outcome == plain_outcome(ops, lin.kv())
    assert fast.outcome == ("ok" if oracle(ops, lin.kv()) else "illegal")


@settings(max_examples=200, deadline=None)
@given(kv_runs(max_ops=14, keys=("x", "y")))
def test_fast_kv_search_agrees_with_plain_search_on_larger_histories(ops):
    fast = lin.check(ops, lin.kv(), explain=False)
    assert fast.outcome == plain_outcome(ops, lin.kv())
    if fast.ok:   # the witness is a legal order that respects real time
        for part in fast.partitions:
            state, pops = "", part.operations
            for k, i in enumerate(part.longest):
                ok, state = lin.kv().step(state, pops[i].input, pops[i].output)
                assert ok
                assert all(not (pops[j].ret < pops[i].call) for j in part.longest[k + 1:])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.integers(4, 18), st.integers(1, 6))
def test_early_illegality_agrees_with_plain_search_on_registers(seed, n, clients):
    ops = lin.random_register_history(seed, n, clients=clients, corrupt=0.7)
    assert lin.check(ops, lin.register(), explain=False).outcome == plain_outcome(ops, lin.register())


def relaxed_history(ops, keep, model):
    """``ops`` with the operations outside ``keep`` relaxed as the core's definition says."""
    out = []
    for i, op in enumerate(ops):
        if i in keep:
            out.append(op)
        elif not model.read_only(op.input, op.output):
            out.append(lin.Operation(op.client, op.call, math.inf, op.input, lin.UNKNOWN))
    return out


@settings(max_examples=300, deadline=None)
@given(kv_runs(max_ops=9))
def test_core_is_illegal_and_minimal_by_relaxation(ops):
    """Judged by the plain search: the core's operations cannot be linearized together when
    every other operation is relaxed, and relaxing any one of them makes the history legal."""
    result = lin.check(ops, lin.kv())
    model = lin.kv()
    for part in result.illegal_partitions():
        core = set(part.core)
        assert core, "a small illegal partition always gets a core"
        pops = part.operations
        assert lin.check(relaxed_history(pops, core, model), plain(model)).outcome == "illegal"
        for i in core:
            assert lin.check(relaxed_history(pops, core - {i}, model), plain(model)).outcome == "ok"
    for part in result.partitions:
        if part.outcome == "ok":
            assert part.core == ()


def test_stale_read_core_is_the_write_and_the_read():
    """Chapter 3's stale read: put hello returns, a later get still sees the empty value. The
    unrelated operations around them are not part of the explanation."""
    ops = [
        lin.Operation("c0", 0.0, 3.4, ("put", "x", "hello"), None),
        lin.Operation("c2", 1.0, 2.0, ("get", "x"), ""),
        lin.Operation("c1", 30.0, 36.5, ("get", "x"), ""),
        lin.Operation("c3", 40.0, 41.0, ("get", "x"), "hello"),
    ]
    (part,) = lin.check(ops, lin.kv()).illegal_partitions()
    assert [part.operations[i].input for i in part.core] == [("put", "x", "hello"), ("get", "x")]
    assert part.operations[part.core[1]].call == 30.0


def test_ddmin_finds_a_one_minimal_sublist():
    # failing: contains 3 and 7, and at least one even number
    def failing(xs):
        return 3 in xs and 7 in xs and any(x % 2 == 0 for x in xs)

    out = ddmin(list(range(20)), failing)
    assert failing(out) and len(out) == 3
    assert all(not failing([x for x in out if x != y]) for y in out)


def test_core_is_empty_when_the_budget_cannot_show_illegality():
    ops = [lin.Operation(i, 0.0, 100.0, ("write", i), None) for i in range(6)]
    ops += [lin.Operation(100 + i, 0.0, 100.0, ("read", None), i) for i in range(6)]
    ops.append(lin.Operation(99, 200.0, 201.0, ("read", None), -1))
    model = plain(lin.register())   # early illegality would refute the last read at once
    assert illegal_core(model, ops, budget=10) == ()
    assert illegal_core(model, ops, budget=10**6) == (len(ops) - 1,)   # a value never written


@settings(max_examples=200, deadline=None)
@given(kv_runs(max_ops=8, keys=("x", "y")))
def test_json_round_trip_keeps_order_and_verdict(ops):
    back, model = lj.loads(lj.dumps(ops, lin.kv()))
    assert model.name == "kv" and len(back) == len(ops)
    for a, b in zip(ops, back, strict=True):
        assert (a.input, a.output, a.ret == math.inf) == (b.input, b.output, b.ret == math.inf)
    for a in range(len(ops)):
        for b in range(len(ops)):   # real-time order and concurrency are kept exactly
            assert (ops[a].ret < ops[b].call) == (back[a].ret < back[b].call)
    assert lin.check(back, model, explain=False).outcome == lin.check(ops, lin.kv(), explain=False).outcome


def test_json_round_trip_cas_register():
    ops = [lin.Operation("a", 0.5, 2.0, ("cas", (None, 3)), True),
           lin.Operation("b", 1.0, math.inf, ("write", 4), lin.UNKNOWN),
           lin.Operation("c", 2.0, 2.0, ("read", None), 3)]
    back, model = lj.loads(lj.dumps(ops, lin.cas_register()))
    assert [(o.input, o.output) for o in back] == [(o.input, o.output) for o in ops]
    assert [o.call for o in back] == [0.0, 1.0, 2.0] and back[1].ret == math.inf
    assert model.name == "cas_register"


@pytest.mark.parametrize("bad, match", [
    (lambda: lj.dumps([], lin.Model(init=0, step=lambda s, i, o: (True, s))), "model"),
    (lambda: lj.loads('{"format": "other"}'), "format"),
    (lambda: lj.loads('{"format": "dscourse-linearizability/1", "model": "queue"}'), "queue"),
])
def test_json_bad_input_is_named(bad, match):
    with pytest.raises(ConfigError, match=match):
        bad()


def test_history_view_outlines_the_core():
    """``ds.viz.history`` outlines the core's operations in thick dark red: write 1, then
    write 2, then a read of 1 (relax either write and the read is legal); the unfinished
    write is not part of it."""
    import matplotlib

    matplotlib.use("Agg")
    from dscourse.viz.history import CORE_EDGE, history

    ops = [lin.Operation("a", 0.0, 1.0, ("write", 1), None),
           lin.Operation("b", 2.0, 3.0, ("write", 2), None),
           lin.Operation("c", 4.0, 5.0, ("read", None), 1),
           lin.Operation("c", 6.0, math.inf, ("write", 3), lin.UNKNOWN)]
    (part,) = lin.check(ops, lin.register()).illegal_partitions()
    assert part.core == (0, 1, 2)
    fig = history(ops)
    patches = {p.get_gid(): p for ax in fig.axes for p in ax.patches}
    outlined = {gid for gid, p in patches.items()
                if matplotlib.colors.to_hex(p.get_edgecolor()) == CORE_EDGE}
    assert outlined == {"op-0", "op-1", "op-2"}


# -- twin order, pending no-ops, early illegality of reads not yet called ------------------------
SMALL_INPUTS = [("read", None), ("write", 1), ("write", 2), ("cas", (1, 2)), ("cas", (2, 1)), ("cas", (None, 1))]


@st.composite
def twin_histories(draw, max_ops: int = 7):
    """Compare-and-set register histories from six inputs (so many operations are twins),
    outputs from a real sequential run, then sometimes mutated; a third never return."""
    n = draw(st.integers(1, max_ops))
    calls = [draw(st.integers(0, 12)) for _ in range(n)]
    durations = [draw(st.integers(0, 10)) for _ in range(n)]
    points = [c + draw(st.integers(0, d)) for c, d in zip(calls, durations, strict=True)]
    inputs = [draw(st.sampled_from(SMALL_INPUTS)) for _ in range(n)]
    model, state, outputs = lin.cas_register(), None, [None] * n
    for i in sorted(range(n), key=lambda i: (points[i], i)):
        _, state = model.step(state, inputs[i], lin.UNKNOWN)
        outputs[i] = state if inputs[i][0] == "read" else None
        if inputs[i][0] == "cas":
            outputs[i] = model.step(state, ("read", None), lin.UNKNOWN)[1] == inputs[i][1][1]
    ops = []
    for i in range(n):
        out, ret = outputs[i], float(calls[i] + durations[i])
        if draw(st.integers(0, 4)) == 0:
            out = draw(st.sampled_from([None, 1, 2])) if inputs[i][0] == "read" else not out
        if inputs[i][0] != "read" and draw(st.integers(0, 2)) == 0:
            out, ret = lin.UNKNOWN, math.inf
        ops.append(lin.Operation(i % 3, float(calls[i]), ret, inputs[i], out))
    return ops


@settings(max_examples=1000, deadline=None)
@given(twin_histories())
def test_twin_order_and_pending_no_ops_agree_with_oracle(ops):
    fast = lin.check(ops, lin.cas_register(), explain=False)
    assert fast.outcome == ("ok" if oracle(ops, lin.cas_register()) else "illegal")
    assert fast.outcome == plain_outcome(ops, lin.cas_register())


def assert_witness(ops, part, model):
    """``part.longest`` is a legal sequential run of every operation that respects real time."""
    assert sorted(part.longest) == list(range(len(ops)))
    state = model.init
    for k, i in enumerate(part.longest):
        ok, state = model.step(state, ops[i].input, ops[i].output)
        assert ok
        assert all(not (ops[j].ret < ops[i].call) for j in part.longest[k + 1:])


@settings(max_examples=300, deadline=None)
@given(twin_histories(max_ops=13))
def test_twin_order_and_pending_no_ops_agree_with_plain_search_on_larger_histories(ops):
    fast = lin.check(ops, lin.cas_register(), explain=False)
    assert fast.outcome == plain_outcome(ops, lin.cas_register())
    if fast.ok:
        assert_witness(ops, fast.partitions[0], lin.cas_register())


def test_twin_order_needs_the_first_twin_to_return_first():
    """Two writes of 1: ``a`` is called first but returns last, so it is not ``b``'s twin
    predecessor. The only linearization puts ``b`` before the write of 2 and ``a`` after it;
    forcing ``a`` first (call order alone) would call this legal history illegal."""
    W = lin.Operation
    ops = [W("a", 0.0, 100.0, ("write", 1), None), W("b", 50.0, 60.0, ("write", 1), None),
           W("c", 61.0, 62.0, ("read", None), 1), W("c", 63.0, 64.0, ("write", 2), None),
           W("c", 65.0, 66.0, ("read", None), 2), W("d", 101.0, 102.0, ("read", None), 1)]
    for model in (lin.register(), lin.cas_register()):
        result = lin.check(ops, model)
        assert result.ok and plain_outcome(ops, model) == "ok"
        assert_witness(ops, result.partitions[0], model)
    late = [*ops[:1], W("b", 50.0, 100.0, ("write", 1), None), *ops[2:]]   # now a is b's twin predecessor
    assert lin.check(late, lin.register()).ok and plain_outcome(late, lin.register()) == "ok"
    bad = [*ops[:5], W("d", 101.0, 102.0, ("read", None), 2), W("d", 103.0, 104.0, ("read", None), 1)]
    assert lin.check(bad, lin.register()).outcome == plain_outcome(bad, lin.register()) == "illegal"


def test_pending_operations_wait_for_a_state_they_change():
    """Two unfinished cas(1, 2) (twins) are no-ops while the value is 0; each must take effect
    just after one of the two writes of 1 for both reads of 2 to be legal."""
    W = lin.Operation
    ops = [W("w", 0.0, 1.0, ("write", 0), None),
           W("p", 2.0, math.inf, ("cas", (1, 2)), lin.UNKNOWN), W("q", 2.5, math.inf, ("cas", (1, 2)), lin.UNKNOWN),
           W("w", 3.0, 4.0, ("write", 1), None), W("r", 5.0, 6.0, ("read", None), 2),
           W("w", 7.0, 8.0, ("write", 1), None), W("r", 9.0, 10.0, ("read", None), 2)]
    result = lin.check(ops, lin.cas_register())
    assert result.ok
    assert_witness(ops, result.partitions[0], lin.cas_register())
    third = [*ops, W("w", 11.0, 12.0, ("write", 1), None), W("r", 13.0, 14.0, ("read", None), 2)]
    assert lin.check(third, lin.cas_register()).outcome == plain_outcome(third, lin.cas_register()) == "illegal"


def test_early_illegality_sees_reads_not_yet_called():
    """A get of ``"b"`` long after the only put of ``"b"`` was overwritten: it is dead from the
    moment the put of ``"c"`` follows the put of ``"b"``, before it is called; with a later put
    of ``"b"`` still pending it is not."""
    W = lin.Operation
    ops = [W(0, 0.0, 1.0, ("put", "k", "b"), None), W(0, 2.0, 3.0, ("put", "k", "c"), None)]
    ops += [W(1, 4.0 + i, 40.0, ("append", "k", f"<{i}>"), None) for i in range(8)]
    ops += [W(2, 50.0, 51.0, ("get", "k"), "b")]
    result = lin.check(ops, lin.kv())
    assert result.outcome == plain_outcome(ops, lin.kv()) == "illegal"
    (part,) = result.illegal_partitions()
    assert part.stuck == (len(ops) - 1,)
    rescued = [*ops, W(3, 45.0, 52.0, ("put", "k", "b"), None)]
    assert lin.check(rescued, lin.kv()).ok and plain_outcome(rescued, lin.kv()) == "ok"


@settings(max_examples=300, deadline=None)
@given(st.text("ab", max_size=4), st.text("ab", max_size=4),
       st.sampled_from([None, 1, 2]), st.sampled_from([None, 1, 2]))
def test_reachable_states_name_exactly_the_states_reachable_accepts(state, out, rstate, rout):
    """The hook early illegality uses to find a read's rescuers agrees with ``reachable``."""
    for model, s, o, inp in ((lin.kv(), state, out, ("get", "k")), (lin.register(), rstate, rout, ("read", None))):
        assert (s in model.reachable_states(inp, o)) == model.reachable(s, inp, o)


@settings(max_examples=200, deadline=None)
@given(kv_runs(max_ops=12, keys=("x", "y")))
def test_early_illegality_without_reachable_states_tries_every_pair(ops):
    """A model with ``reachable`` alone (rescuers found by trying every state a put sets)
    decides as the model with both hooks, and the stuck read is the same."""
    both = lin.check(ops, lin.kv(), explain=False)
    alone = lin.check(ops, dataclasses.replace(lin.kv(), reachable_states=None), explain=False)
    assert both.outcome == alone.outcome
    assert [p.stuck for p in both.partitions] == [p.stuck for p in alone.partitions]


def test_check_leaves_the_garbage_collector_as_it_found_it():
    import gc

    ops = [lin.Operation(0, 0.0, 1.0, ("write", 1), None), lin.Operation(1, 2.0, 3.0, ("read", None), 2)]
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            assert lin.check(ops, lin.register()).outcome == "illegal"
            assert gc.isenabled() is enabled
            with pytest.raises(ConfigError):
                lin.check([("write", 1)], lin.register())
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
