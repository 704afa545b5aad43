"""Multi-Paxos under crashes and partitions; dueling proposers and their cures."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.paxos import livelock as L
from dscourse.paxos import workload as W


@pytest.mark.parametrize("block", range(10))
def test_logs_are_prefix_consistent_and_histories_linearizable_over_300_seeds(block):
    completed = 0
    for seed in range(block * 30, block * 30 + 30):
        run = W.run(seed, ops=6, until=400.0)
        assert run.prefix_consistent, f"seed {seed}: replicas decided different values"
        assert run.linearizable, f"seed {seed}: history is not linearizable"
        completed += run.completed
    assert completed > 0.8 * 30 * 2 * 6          # and the system makes progress


def test_faults_really_happen_and_leaders_change():
    crashes = partitions = leaders = 0
    for seed in range(20):
        ev = W.run(seed, ops=6, until=400.0).sim.trace.events
        crashes += sum(e.kind == "crash" for e in ev)
        partitions += sum(e.kind == "partition" for e in ev)
        leaders += sum(e.kind == "annotate" and e.data.get("role") == "leader" for e in ev)
    assert crashes >= 10 and partitions >= 10 and leaders >= 30


class Eager(W.Replica):
    """BROKEN: a leader that skips P2c and proposes no-ops over slots it learns of."""

    def _maybe_lead(self):
        if self.role == "candidate" and len(self.promises) >= self.quorum:
            self.promises = {k: () for k in self.promises}
            super()._maybe_lead()


def test_the_checks_catch_a_leader_that_ignores_previous_votes():
    caught = 0
    for seed in range(60):
        c = W.cluster(3, 2, 6, seed=seed)
        for node in c.replicas.values():
            node.__class__ = Eager
        c.nemesis(240.0)
        c.run(until=400.0)
        if not c.prefix_consistent() or not c.check().ok:
            caught += 1
    assert caught >= 1


@pytest.mark.parametrize("seed", range(3))
def test_clients_record_every_operation_in_one_recorder(seed):
    c = W.cluster(3, 2, 6, seed=seed, network=ds.sim.reliable())
    c.run(until=400.0)
    assert sorted(c.clients) == ["c1", "c2"] and sorted(c.replicas) == ["r1", "r2", "r3"]
    ops = c.history.ops()
    assert len(ops) == 12 and all(op.status == "ok" for op in ops)
    checked = c.operations()
    assert [op.client for op in checked] == ["c1"] * 6 + ["c2"] * 6
    for op in checked:
        assert op.input[0] in ("get", "put", "append") and op.input[1] in W.KEYS
        assert len(op.input) == (2 if op.input[0] == "get" else 3)
    assert c.check().ok and c.prefix_consistent()


def test_a_recovered_client_retries_its_operation_in_flight():
    c = W.cluster(3, 1, 4, seed=1, network=ds.sim.reliable())
    c.run_until(lambda: c.history.in_flight("c1"), 100)
    c.crash("c1")
    c.recover("c1")
    c.run(until=400.0)
    ops = c.history.ops()
    assert len(ops) == 4 and all(op.status == "ok" for op in ops)
    assert c.check().ok


def test_steady_state_costs_two_n_minus_one_accept_messages_per_command():
    c = W.cluster(5, 1, 20, seed=4, network=ds.sim.reliable())
    c.run(until=2000)
    leader = [r for r in c.replicas.values() if r.role == "leader"]
    assert len(leader) == 1
    commands = leader[0].applied
    labels = [e.label for e in c.trace.events if e.kind == "send"]
    phase2 = labels.count("MAccept") + labels.count("MAccepted")
    assert commands == 20
    assert phase2 <= 2 * (5 - 1) * commands
    assert labels.count("MPrepare") == 4       # Phase 1 once, for every slot


def test_a_recovering_replica_rebuilds_its_store_from_the_decided_log():
    c = W.cluster(3, 1, 10, seed=2, network=ds.sim.reliable())
    c.run(until=300)
    c.crash("r2")
    c.recover("r2")
    c.run(until=400)
    logs = [r.log() for r in c.replicas.values()]
    assert logs[0] == logs[1] == logs[2] and len(logs[0]) >= 10
    assert c.nodes["r2"].kv == c.nodes["r1"].kv


def test_no_backoff_livelocks_for_ten_seconds_on_the_demonstration_seed():
    duel = L.duel(L.DEMO_SEED, "none")
    assert duel.decided_ms is None and duel.sim.now == pytest.approx(10_000)
    assert duel.attempts > 1000
    assert not ds.paxos.chosen(duel.sim)


@pytest.mark.parametrize("policy", ["random", "leader"])
def test_randomized_backoff_or_a_leader_decide_within_500_ms_in_99_percent_of_200_seeds(policy):
    times = L.decision_times(policy, range(200), horizon_ms=1000)
    within = sum(1 for t in times if t is not None and t <= 500)
    assert within >= 198


def test_decision_times_are_deterministic():
    assert L.decision_times("random", range(5)) == L.decision_times("random", range(5))


def test_bad_backoff():
    with pytest.raises(ValueError, match="backoff"):
        L.duel(1, "eventually")
    with pytest.raises(ValueError, match="fixed_ms"):
        ds.paxos.Backoff("fixed", fixed_ms=-1)
