"""Chapter 6's demonstrations: what each prints holds over many seeds, not only the shown one."""

from __future__ import annotations

import pytest

from dscourse.raft import NoElectionRestrictionRaft, RaftNode, demos


@pytest.mark.parametrize("seed", range(1, 9))
def test_without_the_election_restriction_a_committed_entry_is_lost(seed):
    bad = demos.restriction_run(NoElectionRestrictionRaft, seed)
    assert bad.winner == bad.behind and not bad.survived
    assert any("Leader Completeness" in v for v in bad.violations)
    assert any("State Machine Safety" in v for v in bad.violations)
    good = demos.restriction_run(RaftNode, seed)
    assert good.violations == () and good.winner != good.behind
    assert good.committed == bad.committed


def test_with_the_restriction_the_entry_survives_on_most_seeds():
    """Liveness is not guaranteed in 1.5 s (two live servers can duel), safety always is."""
    runs = [demos.restriction_run(RaftNode, seed) for seed in range(1, 9)]
    assert sum(r.survived for r in runs) >= 6
    assert all(r.survived for r in runs if r.winner is not None)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_check_quorum_makes_an_isolated_leader_step_down(seed):
    stuck = demos.check_quorum_run(False, seed)
    assert stuck.stepped_down_at is None and stuck.accepted >= 15
    assert stuck.new_leader not in (None, stuck.old)
    fixed = demos.check_quorum_run(True, seed)
    assert fixed.old == stuck.old and fixed.stepped_down_at is not None
    assert fixed.stepped_down_at <= 2 * 150 + 50 and fixed.accepted < stuck.accepted


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_lease_without_a_drift_allowance_serves_stale_reads(seed):
    naive = demos.lease_run(0.0, drift=0.2, seed=seed)
    assert naive.newer_commit is not None and naive.stale_reads > 0
    assert naive.last_lease_read > naive.newer_commit
    safe = demos.lease_run(0.2, drift=0.2, seed=seed)
    assert safe.stale_reads == 0 and safe.last_lease_read is not None
    assert safe.last_lease_read < safe.newer_commit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_drift_even_a_naive_lease_is_safe(seed):
    assert demos.lease_run(0.0, drift=0.0, seed=seed).stale_reads == 0


def test_lease_bound_is_validated():
    with pytest.raises(ValueError, match="drift_bound"):
        demos.lease_run(1.5)
