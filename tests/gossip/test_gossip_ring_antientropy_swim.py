"""The closed loop, anti-entropy comparisons (digest, Merkle) and SWIM membership."""

import pytest

import dscourse as ds
from dscourse.gossip import antientropy as ae
from dscourse.gossip import ring, swim


@pytest.mark.parametrize("n", range(1, 13))
def test_ring_simulation_agrees_with_2n_minus_2(n):
    assert ring.measured_rounds(n) == ring.rounds_to_converge(n) == max(0, 2 * n - 2)


def test_ring_steps_match_the_seed_guides_example():
    steps = ring.ring_steps(3)
    assert steps[1].holdings["B"] == ("a", "b")              # A pushes to B
    assert steps[2].holdings["C"] == ("a", "b", "c")         # B pushes to C
    assert steps[3].holdings["A"] == ("a", "b", "c")         # C pushes to A
    assert steps[4].holdings["B"] == ("a", "b", "c") and steps[4].converged
    assert not steps[3].converged


@pytest.mark.parametrize("seed", range(1, 6))
def test_digest_and_merkle_ship_only_the_differences(seed):
    full = ae.sync_cost(1000, 10, "full", seed=seed)
    digest = ae.sync_cost(1000, 10, "digest", seed=seed)
    tree = ae.sync_cost(1000, 10, "merkle", seed=seed)
    assert full["agree"] and digest["agree"] and tree["agree"]
    assert full["entries"] == 2000
    assert digest["entries"] == 10                    # exactly the diverged keys
    assert tree["entries"] < 0.1 * full["entries"]     # the differing leaves only
    assert tree["hashes"] < digest["hashes"]           # a descent, not a digest of every key


@pytest.mark.parametrize("compare", ae.COMPARES)
def test_push_pull_converges_fastest_for_every_comparison(compare):
    times = {m: [ae.convergence(32, m, compare, seed=s) for s in range(1, 6)] for m in ae.MODES}
    assert all(t is not None for ts in times.values() for t in ts)
    mean = {m: sum(ts) / len(ts) for m, ts in times.items()}
    assert mean["push-pull"] < mean["pull"] < mean["push"]


def test_push_only_repairs_the_peer():
    sim = ds.sim.Simulation(seed=1)
    a, b = ae.AntiEntropyNode("a", "push", "merkle", 1e9), ae.AntiEntropyNode("b", "push", "merkle", 1e9)
    sim.add_node(a), sim.add_node(b)
    a.put("x", "1"), b.put("y", "2")
    sim.run(until=0)
    a.start("b")
    sim.run(until=100)
    assert "x" in b.data and "y" not in a.data


@pytest.mark.parametrize("seed", range(1, 4))
def test_swim_detects_a_crash_everywhere_and_indirect_probes_cut_false_positives(seed):
    clean = swim.swim_run(16, k=3, seed=seed)
    assert clean.detected_ms is not None and clean.detected_ms < 4000
    assert clean.false_suspicions == 0
    direct = swim.swim_run(16, k=0, drop=0.1, seed=seed)
    indirect = swim.swim_run(16, k=3, drop=0.1, seed=seed)
    assert indirect.detected_ms is not None
    assert indirect.false_suspicions * 4 < direct.false_suspicions
    assert indirect.false_deaths == 0 < direct.false_deaths


def test_a_suspected_member_refutes_with_a_higher_incarnation():
    sim = ds.sim.Simulation(seed=1)
    names = ["a", "b", "c"]
    nodes = [swim.SwimNode(x, names) for x in names]
    for x in nodes:
        sim.add_node(x)
    sim.run(until=500)
    nodes[0].apply((("b", "suspect", 0),))
    sim.run(until=3000)
    assert nodes[1].incarnation == 1
    assert all(x.state["b"] == ("alive", 1) for x in (nodes[0], nodes[2]))


@pytest.mark.parametrize("bad", [dict(mode="both"), dict(compare="crc")])
def test_bad_anti_entropy_settings(bad):
    with pytest.raises(ValueError, match="is not allowed"):
        ae.AntiEntropyNode("a", **bad)


def test_bad_ring_size():
    with pytest.raises(ValueError, match="n=0"):
        ring.rounds_to_converge(0)
