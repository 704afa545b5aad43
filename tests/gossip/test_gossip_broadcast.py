"""Maelstrom's broadcast workload: naive flooding vs the tuned batched design (Glomers 3c–3e)."""

import pytest

import dscourse as ds
from dscourse.gossip import Batched, Flood, batched, broadcast_workload

SEEDS = (1, 2, 3, 4)          # every seed tried, with and without the partition nemesis
TUNED = batched(50)


@pytest.mark.parametrize("seed", SEEDS)
def test_tuned_design_meets_3d_and_3e(seed):
    res = broadcast_workload(TUNED, seed=seed)
    assert res.ok and not res.lost
    assert res.meets("3d"), res.summary()
    assert res.meets("3e"), res.summary()
    assert res.acknowledged > 1500      # ~100 broadcasts/s for 20 s


@pytest.mark.parametrize("seed", SEEDS)
def test_tuned_design_loses_nothing_under_partitions(seed):
    res = broadcast_workload(TUNED, nemesis="partition", seed=seed)
    assert res.ok and res.lost == (), res.summary()
    # the partitions really hurt: some values took seconds to reach everyone
    assert res.latency_ms[100] > 1000


def test_flooding_costs_two_messages_per_edge_minus_tree_and_loses_under_partition():
    res = broadcast_workload(Flood, seed=1)
    edges = sum(len(v) for v in ds.gossip.topology([f"n{i}" for i in range(25)], "grid").values()) // 2
    assert res.ok
    assert res.msgs_per_op == pytest.approx(2 * edges - 24, abs=0.5)
    assert not res.meets("3d")           # 8 grid hops of 100 ms: too slow and too chatty
    cut = broadcast_workload(Flood, nemesis="partition", seed=1)
    assert not cut.ok and len(cut.lost) > 0


def test_batching_trades_messages_for_latency():
    fast = broadcast_workload(batched(25), duration_ms=5000, seed=5)
    slow = broadcast_workload(batched(400), duration_ms=5000, seed=5)
    assert fast.msgs_per_op > slow.msgs_per_op
    assert fast.latency_ms[50] < slow.latency_ms[50]


def test_same_seed_same_trace_and_numbers():
    a = broadcast_workload(TUNED, duration_ms=2000, nemesis="partition", seed=7)
    b = broadcast_workload(TUNED, duration_ms=2000, nemesis="partition", seed=7)
    assert a.sim.trace.digest() == b.sim.trace.digest()
    assert (a.msgs_per_op, a.latency_ms, a.lost) == (b.msgs_per_op, b.latency_ms, b.lost)


def test_history_records_every_broadcast():
    res = broadcast_workload(TUNED, duration_ms=2000, seed=3)
    ops = res.history.ops()
    assert len(ops) == res.ops
    assert sum(op.status == "ok" for op in ops) == res.acknowledged


class Forgetful(Batched):
    """Acknowledges broadcasts but never stores the value: lost everywhere."""

    def learn(self, values, src):
        pass


def test_a_forgetful_server_is_caught():
    res = broadcast_workload(Forgetful, duration_ms=1000, seed=1)
    assert not res.ok and len(res.lost) == res.acknowledged > 0


@pytest.mark.parametrize("bad", [dict(nodes=0), dict(topology="ring"), dict(rate=0),
                                 dict(nemesis="chaos"), dict(latency_ms=-1)])
def test_bad_arguments_name_the_value(bad):
    with pytest.raises(ValueError, match="is not allowed"):
        broadcast_workload(TUNED, **bad)


def test_meets_rejects_unknown_targets():
    res = broadcast_workload(TUNED, duration_ms=500, seed=1)
    with pytest.raises(ValueError, match="3d"):
        res.meets("3f")


def test_topologies_are_symmetric_and_connected():
    names = [f"n{i}" for i in range(25)]
    for kind in ds.gossip.TOPOLOGIES:
        topo = ds.gossip.topology(names, kind)
        assert all(a in topo[b] for a in topo for b in topo[a])
        reached, todo = {"n0"}, ["n0"]
        while todo:
            for b in topo[todo.pop()]:
                if b not in reached:
                    reached.add(b)
                    todo.append(b)
        assert reached == set(names)
