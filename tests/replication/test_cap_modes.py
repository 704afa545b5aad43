"""CAP modes under partitions: AP histories are caught as illegal, CP (ABD) ones never are."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.checkers import linearizability as lin
from dscourse.replication import Workload, cluster, majority_minority


def partitioned(mode: str, seed: int, *, clients: int = 4, ops: int = 12, start: float = 20.0,
                heal: float = 150.0, keys=("x",)):
    c = cluster(mode, replicas=5, clients=clients, seed=seed,
                workload=dict(ops=ops, keys=keys, gap_ms=(0.0, 10.0)))
    a, b = majority_minority(c)
    c.nemesis([(start, ("partition", [a, b])), (heal, ("heal",))])
    c.run(until=1500)
    return c, a, b


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), heal=st.sampled_from([80.0, 150.0, 400.0]),
       keys=st.sampled_from([("x",), ("x", "y")]))
def test_cp_abd_histories_are_linearizable_under_partitions(seed, heal, keys):
    c, _, _ = partitioned("cp", seed, heal=heal, keys=keys)
    result = c.check(timeout=None)
    assert result.outcome == "ok", c.history.ops()


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000))
def test_cp_minority_side_never_answers_during_the_partition(seed):
    c, majority, minority = partitioned("cp", seed, heal=10_000)
    for op in c.history.ops():
        if op.process in minority and op.call >= 20.0:
            assert op.status != "ok", op
    assert any(op.status == "ok" and op.process in majority and op.call >= 20.0
               for op in c.history.ops()), "the majority side stays available"


def test_cp_random_nemesis_many_seeds():
    for seed in range(8):
        c = cluster("cp", replicas=5, clients=3, seed=seed, workload=dict(ops=12, keys=("x", "y")))
        c.nemesis(c.sim.random_nemesis(until=400, kinds=("partition", "crash", "pause"), mean_gap=60,
                                       mean_duration=80))
        c.run(until=2000)
        assert c.check(timeout=None).outcome == "ok", seed


def test_ap_histories_under_a_partition_are_illegal_on_many_seeds():
    outcomes = [partitioned("ap", seed)[0].check(timeout=None).outcome for seed in range(30)]
    assert outcomes == ["illegal"] * 30


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), gap=st.floats(5.0, 60.0))
def test_ap_write_on_one_side_then_read_on_the_other_is_caught(seed, gap):
    """The Gilbert-Lynch run: a write completes on one side, then a read on the other side."""
    c = cluster("ap", replicas=5, clients=2, seed=seed, workload=Workload(ops=0))
    c.sim.partition(["r0", "r1", "r2", "c0"], ["r3", "r4", "c1"])
    c.submit("c0", ("put", "x", "1"))
    c.run(until=30)
    c.run(until=30 + gap)
    c.submit("c1", ("get", "x"))
    c.run(until=200)
    ops = c.history.ops()
    assert [op.status for op in ops] == ["ok", "ok"], "AP stays available on both sides"
    assert ops[1].output == ""                          # the read missed the completed write
    result = c.check(timeout=None)
    assert result.outcome == "illegal"
    (part,) = result.illegal_partitions()
    assert part.stuck and part.operations[part.stuck[0]].input == ("get", "x")


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000))
def test_ap_replicas_diverge_in_the_partition_and_a_read_repairs_them(seed):
    c = cluster("ap", replicas=5, clients=2, seed=seed, workload=Workload(ops=0))
    c.sim.partition(["r0", "r1", "c0"], ["r2", "r3", "r4", "c1"])
    c.submit("c0", ("put", "x", "left"))
    c.run(until=50)
    c.sim.heal()
    assert c.divergence() == 3
    c.submit("c1", ("get", "x"))           # R = 1: one answer, late ones are repaired too
    c.run(until=100)
    assert c.divergence() == 0


def test_quorum_without_write_back_is_not_linearizable_and_abd_fixes_it():
    from dscourse.replication import experiments as ex

    bad, good = ex.quorum_anomaly(False), ex.quorum_anomaly(True)
    assert [op.output for op in bad.history.ops() if op.f == "get"] == ["new", "old"]
    assert bad.check().outcome == "illegal"
    assert [op.output for op in good.history.ops() if op.f == "get"] == ["new", "new"]
    assert good.check().outcome == "ok"


def test_histories_are_deterministic_and_export_as_jsonl(tmp_path):
    a, _, _ = partitioned("ap", 11)
    b, _, _ = partitioned("ap", 11)
    assert a.sim.trace.digest() == b.sim.trace.digest()
    a.history.to_jsonl(tmp_path / "h.jsonl")
    again = ds.history.Recorder.from_jsonl(tmp_path / "h.jsonl")
    ops = ds.replication.kv_operations(again)
    assert lin.check(ops, lin.kv()).outcome == a.check().outcome


def test_the_store_has_the_shared_cluster_shape():
    from dscourse.sim.cluster import Cluster

    c = ds.replication.cluster("cp", replicas=3, clients=2, seed=2)
    assert isinstance(c, Cluster)
    assert sorted(c.nodes) == ["c0", "c1", "r0", "r1", "r2"]
    assert c.run(until=100) is c and c.now == 100
    assert c.run(50).now == 150                      # run(ms) advances by ms
    with pytest.raises(ValueError, match="ms"):
        c.run(-1)
    c.crash("r2")
    assert not c.up("r2") and c.up("r0")
    assert c.run_until(lambda: False, 10) is False and c.now == 160
