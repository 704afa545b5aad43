"""The Porcupine-style history view draws what the checker found."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest

from dscourse.checkers import linearizability as lin
from dscourse.errors import ConfigError
from dscourse.viz.history import history, infer_model, short_label, verdict


def _stale():
    return [lin.Operation("a", 0.0, 1.0, ("write", 1), None),
            lin.Operation("b", 2.0, 3.0, ("write", 2), None),
            lin.Operation("c", 4.0, 5.0, ("read", None), 1),
            lin.Operation("c", 6.0, math.inf, ("write", 3), lin.UNKNOWN)]


def _patches(fig):
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches}


def test_illegal_history_marks_the_stuck_operation_red_and_numbers_the_prefix():
    fig = history(_stale())
    patches = _patches(fig)
    assert set(patches) == {"op-0", "op-1", "op-2", "op-3"}
    assert matplotlib.colors.to_hex(patches["op-2"].get_facecolor()) == "#d62728"
    assert matplotlib.colors.to_hex(patches["op-0"].get_facecolor()) == "#a6d96a"
    (line,) = [ln for ax in fig.axes for ln in ax.lines if ln.get_gid() == "linearization"]
    assert list(line.get_xdata()) == [0.0, 2.0]          # two operations linearized
    assert "NOT linearizable" in fig._suptitle.get_text()
    assert "read() -> 1" in fig._suptitle.get_text()


def test_open_ended_operation_is_a_thin_hatched_strip_to_the_edge():
    fig = history(_stale())
    p = _patches(fig)["op-3"]
    assert p.get_hatch() == "///" and p.get_height() < 0.3
    assert p.get_x() + p.get_width() >= fig.axes[0].get_xlim()[1] - 1e-9


def test_linearizable_history_has_every_operation_on_the_line():
    ops = [*_stale()[:2], lin.Operation("c", 4.0, 5.0, ("read", None), 2)]
    fig = history(ops)
    (line,) = [ln for ax in fig.axes for ln in ax.lines if ln.get_gid() == "linearization"]
    assert len(line.get_xdata()) == 3
    xs = list(line.get_xdata())
    assert all(ops_i.call <= x <= ops_i.ret for ops_i, x in zip(ops, xs, strict=False))
    assert fig._suptitle.get_text() == "linearizable (3 operations)"


def test_kv_history_has_one_panel_per_key_illegal_first():
    ops = [lin.Operation(0, 0.0, 1.0, ("put", "x", "a"), None),
           lin.Operation(1, 0.0, 1.0, ("put", "y", "b"), None),
           lin.Operation(1, 2.0, 3.0, ("get", "y"), "")]
    assert infer_model(ops).partition is not None
    fig = history(ops)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["key 'y': not linearizable", "key 'x': linearizable"]


def test_replication_cluster_is_a_source():
    import dscourse as ds

    c = ds.replication.cluster("cp", replicas=3, clients=2, seed=1, workload=dict(ops=4))
    c.run(until=300)
    fig = history(c)
    assert "linearizable" in fig._suptitle.get_text()
    assert verdict(c.check()) == fig._suptitle.get_text()


def test_labels():
    m = lin.kv()
    assert short_label(m, lin.Operation(0, 0, 1, ("get", "x"), "")) == "R:∅"
    assert short_label(m, lin.Operation(0, 0, 1, ("put", "x", "v"), None)) == "W:v"
    assert short_label(lin.cas_register(), lin.Operation(0, 0, 1, ("cas", (1, 2)), True)) == "CAS 1→2:True"


def test_bad_input():
    with pytest.raises(ConfigError, match="history"):
        history([("write", 1)])
    with pytest.raises(ConfigError, match="model"):
        history(_stale(), model="register")


def test_a_recorder_of_a_kv_store_is_a_source():
    import dscourse as ds

    c = ds.replication.cluster("ap", replicas=3, clients=2, seed=4, workload=dict(ops=5, keys=("x", "y")))
    c.run(until=300)
    fig = history(c.history)             # the Recorder itself: put inputs are flattened
    assert fig._suptitle.get_text() == verdict(c.check())


def _session_ops(stale_read: bool):
    """Client a writes, then reads: the initial value (an RYW violation) or its write."""
    return [lin.Operation("a", 0.0, 10.0, ("write", "a1"), None),
            lin.Operation("a", 20.0, 30.0, ("read", None), None if stale_read else "a1"),
            lin.Operation("b", 12.0, 18.0, ("read", None), "a1")]


@pytest.mark.parametrize("stale_read", [True, False])
def test_a_session_verdict_outlines_exactly_the_operations_it_names(stale_read):
    from dscourse.checkers import session

    result = session.read_your_writes(_session_ops(stale_read))
    assert result.ok is not stale_read
    fig = history(result.operations, result=result)
    patches = _patches(fig)
    core = {f"op-{i}" for i in result.core}
    assert core == ({"op-0", "op-1"} if stale_read else set())
    for gid, patch in patches.items():
        red = matplotlib.colors.to_hex(patch.get_edgecolor()) == "#67001f"
        assert red == (gid in core), gid
    assert not [ln for ax in fig.axes for ln in ax.lines if ln.get_gid() == "linearization"]
    assert ("violated" if stale_read else "hold") in fig._suptitle.get_text()


def test_a_causal_verdict_labels_keys_when_the_history_mixes_them():
    from dscourse.checkers import causal

    chain = [lin.Operation("a", 0, 10, ("put", "x", "a1"), None),
             lin.Operation("b", 12, 18, ("get", "x"), "a1"), lin.Operation("b", 20, 30, ("put", "y", "b1"), None),
             lin.Operation("c", 32, 38, ("get", "y"), "b1"), lin.Operation("c", 40, 50, ("get", "x"), "")]
    result = causal.check(chain)
    fig = history(chain, result=result)
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"x W:a1", "y W:b1", "x R:∅"} <= texts
    assert "WriteCOInitRead" in fig.axes[0].get_title(loc="left")
    assert {p.get_gid() for p in _patches(fig).values()
            if matplotlib.colors.to_hex(p.get_edgecolor()) == "#67001f"} == {f"op-{i}" for i in result.core}


def test_a_result_of_another_kind_is_refused():
    with pytest.raises(ConfigError, match="result"):
        history(_stale(), result="illegal")
