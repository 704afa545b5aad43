"""Kernel additions for the model checker: ``Simulation.peek`` and ``dscourse.sim.checkpoint``."""

from __future__ import annotations

import hypothesis.strategies as st
from explorekit import gossip, perturb
from hypothesis import given

from dscourse.sim.checkpoint import checkpoint, rollback

OPS = st.lists(st.sampled_from(["step"] * 6 + ["crash", "recover", "pause", "partition", "heal",
                                               "drop", "dup"]), max_size=40)


@given(seed=st.integers(0, 10**6), cut=st.integers(0, 40), first=OPS, second=OPS)
def test_rollback_is_as_if_the_branch_never_happened(seed, cut, first, second):
    sim = gossip(seed)
    perturb(sim, ["step"] * cut)
    before = sim.trace.digest()
    cp = checkpoint(sim)
    perturb(sim, first)
    rollback(sim, cp)
    assert sim.trace.digest() == before
    perturb(sim, second)
    fresh = gossip(seed)
    perturb(fresh, ["step"] * cut)
    perturb(fresh, second)
    assert sim.trace.digest() == fresh.trace.digest()
    assert sim.pending() == fresh.pending()
    for nid, node in sim.nodes.items():
        assert sim.status(nid) == fresh.status(nid)
        assert node.stable == fresh.nodes[nid].stable
        assert getattr(node, "heard", None) == getattr(fresh.nodes[nid], "heard", None)
    perturb(sim, ["step"] * 30)   # and they keep agreeing afterwards (streams, links, timers)
    perturb(fresh, ["step"] * 30)
    assert sim.trace.digest() == fresh.trace.digest()


@given(seed=st.integers(0, 10**6), cut=st.integers(0, 30), ops=OPS)
def test_a_checkpoint_can_be_rolled_back_to_many_times(seed, cut, ops):
    sim = gossip(seed)
    perturb(sim, ["step"] * cut)
    cp = checkpoint(sim)
    digests = set()
    for _ in range(3):
        rollback(sim, cp)
        perturb(sim, ops)
        digests.add(sim.trace.digest())
    assert len(digests) == 1


@given(seed=st.integers(0, 10**6), ops=OPS)
def test_peek_names_what_step_runs_and_changes_nothing(seed, ops):
    sim = gossip(seed)
    perturb(sim, ops)
    for _ in range(20):
        before = (len(sim.trace), sim.now)
        seen = sim.peek()
        assert (len(sim.trace), sim.now) == before
        ran = sim.step()
        assert seen == ran
        if ran is None:
            break


def test_peek_on_an_empty_simulation_is_none():
    import dscourse as ds
    assert ds.sim.Simulation(seed=1).peek() is None
