"""Basic Paxos: the acceptance runs of the model checker, the oracle, and unit behaviour."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.checkers import explore as ex
from dscourse.paxos import basic as B
from dscourse.paxos import modelcheck as M
from dscourse.paxos.messages import ZERO, Accept, Ballot, Prepare, Promise, Vote


def test_correct_paxos_is_safe_in_every_reachable_state_of_both_complete_rounds():
    # 2 proposers x 3 acceptors, one complete attempt each: the whole state space
    r = M.check("correct")
    assert r.violation is None and r.exhausted
    assert r.depth >= 18            # 6 Prepare + 6 Promise + 6 Accept deliveries fit
    assert r.states > 20_000


def test_correct_paxos_is_safe_with_a_duplicate_and_a_loss_to_depth_7():
    # the fault budgets multiply the states: benchmarks/bench_explore.py goes deeper
    r = M.check("correct", max_depth=7, max_duplicates=1, max_drops=1)
    assert r.violation is None and r.complete
    assert r.depth == 7


@pytest.mark.parametrize("variant, length", [("no-adopt", 12), ("forgetful", 13)])
def test_each_broken_variant_has_a_shortest_counterexample(variant, length):
    r = M.check(variant, **({"restartable": ("a2",)} if variant == "forgetful" else {}))
    assert r.violation == "agreement"
    assert len(r.path) == length
    assert r.sim is not None and B.chosen(r.sim) == {"v1", "v2"}
    # replayable from the seed, and drawable
    again = ex.replay(M.Variant(variant), r.seed, r.path)
    assert again.trace.digest() == r.trace.digest()
    fig = ds.viz.spacetime(r.trace)
    assert any(a.get_gid() == "msg" for a in fig.axes[0].patches)
    if variant == "forgetful":
        assert [c.kind for c in r.path].count("restart") == 1


def test_the_counterexample_replays_in_the_paxos_debugger():
    r = M.check("no-adopt")
    from dscourse.paxos.labs import PaxosDebugger

    dbg = PaxosDebugger(M.Variant("no-adopt"), seed=r.seed)
    dbg.replay(r.ops)
    assert dbg.sim.trace.digest() == r.trace.digest()
    assert dbg.banner().startswith("AGREEMENT VIOLATED")


def test_random_walks_also_find_the_no_adopt_bug():
    r = M.check("no-adopt", mode="random", walks=3000, seed=1)
    assert r.violation == "agreement"


def test_chosen_needs_a_majority_for_one_ballot():
    b1, b2 = Ballot(1, "p1"), Ballot(2, "p2")
    assert B.chosen_from_votes({"a1": [Vote(b1, "x")], "a2": [Vote(b2, "x")], "a3": []}, 3) == set()
    assert B.chosen_from_votes({"a1": [Vote(b1, "x")], "a2": [Vote(b1, "x")], "a3": []}, 3) == {"x"}
    assert B.chosen_from_votes({"a1": [Vote(b1, "x"), Vote(b1, "x")], "a2": [], "a3": []}, 3) == set()
    assert B.quorum(4) == 3 and B.quorum(5) == 3


class Probe(ds.sim.Node):
    def __init__(self, id):
        super().__init__(id)
        self.got = []

    def on_message(self, src, msg):
        self.got.append(msg)


def _acceptor(cls=B.Acceptor):
    sim = ds.sim.Simulation(seed=1)
    sim.add_node(cls("a", nack=True))
    sim.add_node(Probe("p"))
    sim.run()
    return sim


def _deliver(sim, msg):
    sim.nodes["a"].on_message("p", msg)
    sim.run()
    return sim.nodes["p"].got[-1]


def test_acceptor_promises_persists_and_reports_its_vote():
    sim = _acceptor()
    b1, b2 = Ballot(1, "p"), Ballot(2, "q")
    assert _deliver(sim, Prepare(b1)) == Promise(b1, None)
    assert _deliver(sim, Accept(b1, "x")).value == "x"
    assert _deliver(sim, Prepare(b2)) == Promise(b2, Vote(b1, "x"))
    assert type(_deliver(sim, Accept(b1, "y"))).__name__ == "Nack"     # below the promise
    sim.crash("a")
    sim.recover("a")
    assert sim.nodes["a"].promised == b2                                  # kept on stable storage
    assert type(_deliver(sim, Prepare(b1))).__name__ == "Nack"


def test_forgetful_acceptor_forgets_its_promise_on_restart():
    sim = _acceptor(B.ForgetfulAcceptor)
    _deliver(sim, Prepare(Ballot(5, "q")))
    sim.crash("a")
    sim.recover("a")
    assert sim.nodes["a"].promised == ZERO
    assert _deliver(sim, Prepare(Ballot(1, "p"))) == Promise(Ballot(1, "p"), None)


def test_a_lone_proposer_decides_its_value_and_learners_learn_it():
    c = B.cluster(proposers=1, learners=2, seed=3, network=ds.sim.lossy(drop=0.0), timeout=50)
    assert (c.acceptors, c.proposers, c.learners) == (["a1", "a2", "a3"], ["p1"], ["l1", "l2"])
    assert c.run(until=500) is c and c.now == 500
    assert c.chosen() == B.chosen(c.sim) == {"v1"} and c.safe()
    assert c.nodes["p1"].decided == "v1"
    assert all(c.nodes[lid].learned == "v1" for lid in c.learners)
    assert "chosen=['v1']" in repr(c)


def test_the_cluster_wraps_the_same_system_as_the_bare_simulation():
    c = B.cluster(proposers=2, seed=4, stagger_ms=3.0).run(100)
    sim = B.simulation(proposers=2, seed=4, stagger_ms=3.0)
    sim.run(until=100)
    assert c.trace.digest() == sim.trace.digest()
    assert dict(c.nodes) == dict(c.sim.nodes)


@pytest.mark.parametrize("seed", range(30))
def test_random_runs_with_loss_duplication_and_crashes_stay_safe(seed):
    c = B.cluster(proposers=3, acceptors=5, seed=seed, network=ds.sim.lossy(drop=0.2, duplicate=0.2),
                  timeout=20, backoff="random")
    c.sim.schedule_nemesis(c.sim.random_nemesis(300, kinds=("crash",), mean_gap=30, mean_duration=20))
    ok = c.run_until(lambda: not c.agreement() or not c.validity(), 400)
    assert not ok


def test_p2c_picks_the_highest_numbered_vote():
    p = B.Proposer("p", "mine", ["a1", "a2", "a3"])
    p.promises = {"a1": Vote(Ballot(1, "x"), "old"), "a2": Vote(Ballot(3, "y"), "new"), "a3": None}
    assert p.choose_value() == "new"
    p.promises = {"a1": None, "a2": None}
    assert p.choose_value() == "mine"
    q = B.NoAdoptProposer("q", "mine", ["a1"])
    q.promises = {"a1": Vote(Ballot(3, "y"), "new")}
    assert q.choose_value() == "mine"


@pytest.mark.parametrize("kwargs, word", [
    (dict(acceptors=0), "acceptors"), (dict(proposers=10), "proposers"),
    (dict(values=["a"]), "values"), (dict(backoff="sometimes"), "backoff"),
    (dict(max_rounds=0), "max_rounds"),
])
def test_bad_cluster_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        B.cluster(**kwargs)
    with pytest.raises(ValueError, match=word):
        B.simulation(**kwargs)


def test_bad_variant():
    with pytest.raises(ValueError, match="variant"):
        M.check("sloppy")
