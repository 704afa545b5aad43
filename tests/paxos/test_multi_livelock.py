"""Multi-Paxos under crashes and partitions; dueling proposers and their cures."""

from __future__ import annotations

import math

import pytest

import dscourse as ds
from dscourse.paxos import livelock as L
from dscourse.paxos import workload as W
from dscourse.paxos.messages import MAccept, MAccepted


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
            for votes in self.promises.values():
                self.promises = {k: () for k in self.promises}
            super()._maybe_lead()


def test_the_checks_catch_a_leader_that_ignores_previous_votes():
    W_cluster = W.cluster

    caught = 0
    for seed in range(60):
        sim = W_cluster(3, 2, 6, seed=seed)
        for rid in ("r1", "r2", "r3"):
            node = sim.nodes[rid]
            node.__class__ = Eager
        W.nemesis(sim, 240.0)
        sim.run(until=400.0)
        hist = W.history(sim)
        if not W.prefix_consistent(sim) or not ds.checkers.linearizability.check(hist, ds.checkers.linearizability.kv()).ok:
            caught += 1
    assert caught >= 1


def test_steady_state_costs_two_n_minus_one_accept_messages_per_command():
    sim = W.cluster(5, 1, 20, seed=4, network=ds.sim.reliable())
    sim.run(until=2000)
    leader = [r for r in W.replicas(sim) if r.role == "leader"]
    assert len(leader) == 1
    commands = leader[0].applied
    labels = [e.label for e in sim.trace.events if e.kind == "send"]
    phase2 = labels.count("MAccept") + labels.count("MAccepted")
    assert commands == 20
    assert phase2 <= 2 * (5 - 1) * commands
    assert labels.count("MPrepare") == 4       # Phase 1 once, for every slot


def test_a_recovering_replica_rebuilds_its_store_from_the_decided_log():
    sim = W.cluster(3, 1, 10, seed=2, network=ds.sim.reliable())
    sim.run(until=300)
    sim.crash("r2")
    sim.recover("r2")
    sim.run(until=400)
    logs = [r.log() for r in W.replicas(sim)]
    assert logs[0] == logs[1] == logs[2] and len(logs[0]) >= 10
    assert sim.nodes["r2"].kv == sim.nodes["r1"].kv


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
