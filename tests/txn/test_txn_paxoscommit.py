"""Paxos Commit on ds.paxos acceptors: safe always, non-blocking with F acceptor failures and
the leader gone, blocked (still safe) with F + 1; the leader that does not adopt is caught."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.txn.paxoscommit import (
    InstanceAcceptor,
    crash_acceptor,
    in_doubt,
    nemesis,
    normal_case,
    outcomes_of,
    safe,
    simulation,
)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), f=st.integers(1, 2))
def test_with_at_most_f_acceptors_and_the_leader_down_every_rm_decides_atomically(seed, f):
    sim = nemesis(seed, f=f)
    assert safe(sim)
    assert in_doubt(sim) == []                        # non-blocking: nobody holds its locks


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_with_f_plus_one_acceptors_down_it_may_block_but_stays_safe(seed):
    assert safe(nemesis(seed, f=1, crashes=2))


def test_f_plus_one_failures_do_block_some_runs():
    assert sum(bool(in_doubt(nemesis(s, f=1, crashes=2))) for s in range(10)) >= 3


@pytest.mark.parametrize("f", [1, 2])
def test_the_backup_leader_finishes_what_2pc_blocks_on(f):
    """The coordinator dies after the votes (1.5 ms): 2PC's participants stay in doubt;
    Paxos Commit's backup leader learns the votes from the surviving acceptors and commits."""
    two = ds.txn.simulation(1, participants=3, network=ds.sim.reliable(), inquiries=None)
    two.run(until=1.5)
    two.crash("c")
    two.run(until=1000)
    assert set(ds.txn.outcomes(two)["t1"].values()) == {"prepared"}
    pc = simulation(1, f=f, network=ds.sim.reliable())
    pc.run(until=1.5)
    pc.crash("c")
    for j in range(1, f + 1):
        crash_acceptor(pc, j)
    pc.run(until=1000)
    assert set(outcomes_of(pc)["t1"].values()) == {"committed"} and safe(pc)
    assert any(e.kind == "annotate" and e.node == "c2" and e.data.get("takeover") for e in pc.trace.events)


@pytest.mark.parametrize("broken", [False, True])
def test_recovery_must_adopt_the_accepted_vote(broken):
    """c's commit reaches p1 only, then c dies: the backup must re-choose "prepared"."""
    sim = simulation(1, f=1, network=ds.sim.reliable(), broken=broken)
    sim.run(until=3.5)
    for p in sim.pending():
        if p.kind == "deliver" and p.label == "Decision" and p.node != "p1":
            sim.drop(p.id)
    sim.crash("c")
    sim.run(until=1000)
    assert safe(sim) is not broken
    assert outcomes_of(sim)["t1"]["p1"] == "committed"


def test_the_broken_leader_is_caught_by_the_random_nemesis_too():
    assert sum(not safe(nemesis(s, broken=True)) for s in range(40)) >= 1


def test_a_no_vote_aborts_everywhere():
    sim = simulation(2, f=1, network=ds.sim.reliable(), amount=500)     # p1 cannot pay 500
    sim.run(until=1000)
    assert set(outcomes_of(sim)["t1"].values()) == {"aborted"} and safe(sim)


def test_acceptors_are_ds_paxos_acceptors_and_bad_input():
    sim = simulation(0, f=2)
    acc = [n for n in sim.nodes.values() if isinstance(n, InstanceAcceptor)]
    assert len(acc) == 5 * 3 and all(isinstance(a, ds.paxos.Acceptor) for a in acc)
    with pytest.raises(ValueError, match="f"):
        simulation(0, f=-1)
    with pytest.raises(ValueError, match="protocol"):
        normal_case("3pc")
    with pytest.raises(ValueError, match="crashes"):
        nemesis(0, f=1, crashes=4)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_normal_case_costs(n):
    two = normal_case("2pc", participants=n)
    assert two == {"delays": 3, "messages": 3 * n, "bundled": 3 * n, "safe": True, "outcome": ["committed"]}
    for f in (0, 1, 2):
        pc = normal_case("paxos", participants=n, f=f)
        a = 2 * f + 1
        assert pc["delays"] == 4 and pc["safe"] and pc["outcome"] == ["committed"]
        assert pc["messages"] == n + 2 * n * a + n          # prepare, 2a and 2b per instance, decision
        assert pc["bundled"] == n + n * a + a + n           # one 2b per acceptor process
