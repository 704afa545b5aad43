"""2PC and 3PC model checked with ds.checkers.explore (breadth-first: shortest counterexamples)."""

import pytest

import dscourse as ds
from dscourse.checkers.explore import replay
from dscourse.txn.modelcheck import Variant


def test_correct_2pc_is_atomic_in_every_state_with_one_crash_of_any_node():
    r = ds.txn.check_2pc(max_restarts=1, inquiries=0)
    assert r.violation is None and r.exhausted and r.states > 500


def test_correct_2pc_is_atomic_when_the_coordinator_restarts_and_participants_inquire():
    r = ds.txn.check_2pc(max_restarts=1, restartable=("c",), cooperative=False)
    assert r.violation is None and r.exhausted


@pytest.mark.parametrize("participants", [2, 3])
def test_heuristic_abort_after_a_yes_vote_is_caught_with_a_shortest_counterexample(participants):
    r = ds.txn.check_2pc("heuristic", participants=participants, max_restarts=0)
    assert r.violation == "atomicity"
    # every participant prepares and votes, one commit is sent and delivered, one timeout
    assert len(r.path) == 2 * participants + 3
    assert r.path[-1].kind == "fire" and "in-doubt" in r.path[-1].text
    states = set(ds.txn.outcomes(r.sim)["t1"].values())
    assert {"committed", "aborted"} <= states


def test_a_coordinator_that_does_not_log_commit_breaks_atomicity_only_if_it_restarts():
    clean = ds.txn.check_2pc("forgetful", max_restarts=0)
    assert clean.violation is None and clean.exhausted
    r = ds.txn.check_2pc("forgetful", max_restarts=1, restartable=("c",))
    assert r.violation == "atomicity"
    assert any(c.kind == "restart" and c.target == "c" for c in r.path)


@pytest.mark.parametrize("cooperative", [True, False])
def test_2pc_blocks_when_the_coordinator_stops_after_prepare(cooperative):
    r = ds.txn.blocking_2pc(cooperative=cooperative)
    assert r.goal == "blocked" and r.violation is None
    assert ds.txn.outcomes(r.sim)["t1"] == {"p1": "prepared", "p2": "prepared"}
    # the in-doubt participants hold their row locks
    assert r.sim.nodes["p1"].rm.locks() == {"x1": "t1"}


def test_blocking_is_not_reached_when_the_coordinator_never_stops():
    res = ds.checkers.explore.explore(Variant(protocol="2pc", participants=2, inquiries=0),
                                      ds.txn.twopc.INVARIANTS, goals={"blocked": ds.txn.blocked},
                                      max_depth=40)
    assert res.goal is None and res.exhausted


def test_3pc_timeout_rules_break_atomicity_under_partition_or_asynchrony():
    r = ds.txn.check_3pc()
    assert r.violation == "atomicity"
    assert len(r.path) == 7
    timers = [c for c in r.path if "in-doubt" in c.text]
    assert {c.text.split()[-1] for c in timers} == {"p1", "p2"}
    pre = [c for c in r.path if "PreCommit" in c.text]
    assert len(pre) == 1                    # only one side heard PreCommit: that side commits
    again = replay(Variant(protocol="3pc", participants=2), r.seed, r.path)
    assert not ds.txn.atomicity(again)


def test_bad_configuration_is_rejected_with_the_allowed_values():
    with pytest.raises(ValueError, match="protocol"):
        ds.txn.simulation(protocol="4pc")
    with pytest.raises(ValueError, match="variant"):
        ds.txn.check_2pc("sloppy")
    with pytest.raises(ValueError, match="participants"):
        ds.txn.simulation(participants=1)
