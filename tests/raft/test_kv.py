"""The Raft key-value store: linearizable histories under partitions, crashes and pauses."""

from __future__ import annotations

import math

import pytest

from dscourse.checkers import linearizability as lin
from dscourse.errors import ConfigError
from dscourse.raft.kv import KVReply, KVRequest, KVServer, kv_cluster
from dscourse.sim import lossy


def run_kv(seed: int, **kwargs):
    c = kv_cluster(5, clients=4, seed=seed, ops=25, network=lossy(), **kwargs)
    c.nemesis(4000)
    c.run(4500)
    c.sim.run_until(c.done, 20_000)
    return c


@pytest.mark.parametrize("read", ["index", "log"])
@pytest.mark.parametrize("seed", range(4))
def test_kv_histories_are_linearizable_under_a_nemesis(read, seed):
    c = run_kv(seed, read=read, snapshot_every=8 if seed % 2 else None)
    assert c.done(), "clients did not finish after the faults stopped"
    history = c.history()
    assert len(history) == 4 * 25 and all(op.ret != math.inf for op in history)
    # No time budget: every operation completed, so the checker decides this history in
    # milliseconds, and the verdict cannot depend on how fast the machine is.
    result = lin.check(history, lin.kv())
    assert result.outcome == "ok", result.illegal_partitions()
    c.monitor.assert_ok()


@pytest.mark.parametrize("seed", range(2))
def test_clerks_record_through_one_recorder(seed):
    """Every clerk's operation is one invoke and one ok in the cluster's Recorder, with the
    op as ``f`` and the key (or key and value) as ``value``; history() is its checker view."""
    c = run_kv(seed)
    events = c.recorder.events
    assert sorted({e.process for e in events}) == ["c1", "c2", "c3", "c4"]
    assert [e.type for e in events].count("invoke") == [e.type for e in events].count("ok") == 100
    ops = c.recorder.ops()
    assert {op.f for op in ops} <= {"get", "put", "append"}
    for op, checked in zip(sorted(ops, key=lambda o: (o.process, o.call)),
                           sorted(c.history(), key=lambda o: (o.client, o.call)), strict=False):
        key = op.input if op.f == "get" else op.input[0]
        assert checked.input[:2] == (op.f, key) and (checked.call, checked.ret) == (op.call, op.ret)


@pytest.mark.parametrize("seed", range(3))
def test_retries_are_applied_once(seed):
    """Sessions de-duplicate retried appends: each token appears at most once."""
    c = run_kv(seed)
    leader = c.nodes[c.leader()]
    for value in leader.data.values():
        tokens = value.split()
        assert len(tokens) == len(set(tokens))


class StaleReadServer(KVServer):
    """Broken on purpose: any server answers reads from its own, possibly stale, state."""

    def on_other_message(self, src, msg):
        if type(msg) is KVRequest and msg.op == "get":
            self.send(src, KVReply(msg.client, msg.seq, True, self.data.get(msg.key, "")))
        else:
            super().on_other_message(src, msg)


def test_stale_local_reads_are_caught_by_the_checker():
    outcomes = set()
    for seed in range(6):
        c = kv_cluster(5, clients=4, seed=seed, ops=25, network=lossy(),
                       server_class=StaleReadServer)
        c.nemesis(4000, kinds=("partition",))
        c.run(4500)
        c.sim.run_until(c.done, 20_000)
        outcomes.add(lin.check(c.history(), lin.kv()).outcome)
    assert "illegal" in outcomes


def test_bad_kv_options():
    with pytest.raises(ConfigError, match="read"):
        kv_cluster(3, read="lease")
    with pytest.raises(ConfigError, match="snapshot_every"):
        kv_cluster(3, snapshot_every=0)
    with pytest.raises(ConfigError, match="server_class"):
        kv_cluster(3, server_class=dict)
