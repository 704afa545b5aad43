"""The Jepsen-style history recorder."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.checkers import linearizability as lin
from dscourse.history import Op, Recorder


def sample() -> Recorder:
    r = Recorder()
    r.invoke(0, "write", 1, 0.0)
    r.invoke(1, "read", None, 1.0)
    r.invoke(2, "cas", (1, 2), 1.5)
    r.ok(0, None, 2.0)
    r.ok(1, 1, 3.0)
    r.info(2, None, 4.0)
    r.invoke(0, "write", 5, 5.0)
    r.fail(0, None, 6.0)
    r.invoke(1, "read", None, 7.0)  # never completes
    return r


def test_ops_pair_invocations_with_completions():
    ops = sample().ops()
    assert ops[0] == Op(0, "write", 1, None, 0.0, 2.0, "ok")
    assert ops[2] == Op(2, "cas", (1, 2), None, 1.5, 4.0, "info")
    assert [o.status for o in ops] == ["ok", "ok", "info", "fail", "pending"]
    assert ops[-1].ret == math.inf


def test_tuples_for_the_checker():
    t = sample().tuples()
    assert t[:2] == [(0, 0.0, 2.0, ("write", 1), None), (1, 1.0, 3.0, ("read", None), 1)]
    assert t[2] == (2, 1.5, math.inf, ("cas", (1, 2)), lin.UNKNOWN)
    assert t[3] == (1, 7.0, math.inf, ("read", None), lin.UNKNOWN)
    assert len(t) == 4  # the failed write did not happen
    assert lin.check(sample().operations(), lin.cas_register()).outcome == "ok"
    r = Recorder()
    r.invoke("p", "write", 1, 0)
    r.ok("p", None, 1)
    r.invoke("p", "read", None, 2)
    r.ok("p", 2, 3)
    assert lin.check(r.operations(), lin.register()).outcome == "illegal"


def test_flat_operations_for_a_key_value_model():
    """``flat=True`` spreads a tuple value into the input, the form ``lin.kv()`` reads."""
    r = Recorder()
    r.invoke("c2", "put", ("x", "1"), 0.0)
    r.invoke("c1", "get", "x", 0.5)
    r.ok("c2", None, 1.0)
    r.ok("c1", "1", 2.0)
    r.invoke("c2", "append", ("x", "2"), 3.0)
    ops = r.operations(flat=True)
    assert [op.input for op in ops] == [("put", "x", "1"), ("get", "x"), ("append", "x", "2")]
    assert ops[2].ret == math.inf and ops[2].output is lin.UNKNOWN
    assert r.operations()[0].input == ("put", ("x", "1"))
    assert lin.check(ops, lin.kv()).outcome == "ok"
    grouped = r.operations(flat=True, processes=["c1", "c2"])
    assert [(op.client, op.call) for op in grouped] == [("c1", 0.5), ("c2", 0.0), ("c2", 3.0)]
    assert r.operations(processes=["c9"]) == []


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)), max_size=30))
def test_grouping_by_process_keeps_each_process_in_invocation_order(rows):
    r = Recorder()
    for t, (p, v) in enumerate(rows):
        if r.in_flight(p):
            r.ok(p, v, float(t))
        else:
            r.invoke(p, "put", ("k", v), float(t))
    order = ["c", "a", "b"]
    grouped = r.operations(flat=True, processes=order)
    assert sorted(grouped, key=lambda op: (op.client, op.call)) == \
        sorted(r.operations(flat=True), key=lambda op: (op.client, op.call))
    assert [op.client for op in grouped] == sorted((op.client for op in grouped), key=order.index)
    for p in order:
        calls = [op.call for op in grouped if op.client == p]
        assert calls == sorted(calls)


def test_json_lines_round_trip(tmp_path):
    r = sample()
    path = tmp_path / "h.jsonl"
    r.to_jsonl(path)
    back = Recorder.from_jsonl(path)
    assert back.events == r.events and back.tuples() == r.tuples()
    assert back.in_flight(1) and not back.in_flight(0)


def test_recorder_takes_times_from_a_simulation():
    sim = ds.sim.Simulation(seed=1)
    sim.run(until=12.5)
    r = Recorder(sim)
    r.invoke("c1", "read")
    sim.run(until=20)
    r.ok("c1", 7)
    assert r.ops() == [Op("c1", "read", None, 7, 12.5, 20.0, "ok")]


def test_bad_histories():
    r = Recorder()
    r.invoke(0, "read", None, 1.0)
    with pytest.raises(ValueError, match="process=0 already has an operation in flight"):
        r.invoke(0, "read", None, 2.0)
    with pytest.raises(ValueError, match="process=1 has no operation in flight"):
        r.ok(1, None, 2.0)
    with pytest.raises(ValueError, match=r"ok time=0\.5"):
        r.ok(0, None, 0.5)
    with pytest.raises(ValueError, match="f=''"):
        r.invoke(3, "", None, 1.0)
    with pytest.raises(ValueError, match="time=None"):
        r.invoke(3, "read")
    with pytest.raises(ValueError, match="time=nan"):
        r.invoke(3, "read", None, math.nan)
    with pytest.raises(ValueError, match="not data"):
        r.invoke(3, "write", lambda: 1, 1.0)
    with pytest.raises(ValueError, match="process"):
        r.invoke([1], "read", None, 1.0)
    with pytest.raises(ValueError, match="type on line 1"):
        Recorder.from_jsonl(io.StringIO('{"index":0,"type":"maybe","process":0,"f":"r",'
                                        '"value":null,"time":0}\n'))


values = st.none() | st.integers(-3, 3) | st.tuples(st.integers(0, 3), st.integers(0, 3))


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["read", "write", "cas"]), values,
                          st.sampled_from(["ok", "fail", "info", "pending"]), values,
                          st.floats(0, 10), st.floats(0, 10)), max_size=12))
def test_random_histories_round_trip_and_convert(rows):
    r = Recorder()
    t = 0.0
    for process, f, value, status, output, gap1, gap2 in rows:
        if r.in_flight(process):
            continue
        t += gap1
        r.invoke(process, f, value, t)
        if status != "pending":
            t += gap2
            getattr(r, status)(process, output, t)
    back = Recorder.from_jsonl(io.StringIO(_dump(r)))
    assert back.events == r.events
    ops = r.operations()
    assert len(ops) == sum(o.status != "fail" for o in r.ops())
    assert all((o.ret == math.inf) == (o.output is lin.UNKNOWN) for o in ops)


def _dump(r: Recorder) -> str:
    buf = io.StringIO()
    r.to_jsonl(buf)
    return buf.getvalue()
