"""Repair: read repair, hinted handoff with a hint window, Merkle anti-entropy; quorums."""

from __future__ import annotations

from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.errors import ConfigError
from dscourse.replication import Config, Ring, cluster, merkle, preset
from dscourse.replication import experiments as ex
from dscourse.replication import versions as vv


def test_hinted_handoff_converges_and_a_short_window_leaves_divergence():
    handoff = ex.repair_race("hinted handoff")
    assert handoff.divergence[0] > 0 and handoff.divergence[-1] == 0
    assert handoff.hints_expired == 0
    short = ex.repair_race("hinted handoff, short hint window")
    assert short.hints_expired > 0 and short.divergence[-1] > 0


def test_anti_entropy_still_converges_when_hints_expire():
    race = ex.repair_race("hinted handoff, short hint window", anti_entropy_ms=40.0)
    assert race.hints_expired > 0
    assert race.divergence[-1] == 0 and race.converged_ms is not None


def test_read_repair_fixes_only_what_is_read():
    race = ex.repair_race("read repair")
    assert race.divergence[-1] < race.divergence[0]
    assert set(race.bytes) == {"Repair"}


def test_merkle_anti_entropy_converges():
    race = ex.repair_race("Merkle anti-entropy")
    assert race.divergence[-1] == 0
    assert set(race.bytes) <= {"TreeHashes", "TreeEntries"}


@pytest.mark.parametrize("diverged", [0, 1, 10, 37])
def test_merkle_sync_repairs_exactly_the_divergent_keys(diverged):
    cost = ex.merkle_sync_cost(400, diverged, depth=7)
    assert cost.repaired == diverged


def test_merkle_sync_with_one_percent_divergence_is_under_ten_percent_of_full_state():
    cost = ex.merkle_sync_cost(1000, 10)
    assert cost.ratio < 0.10
    assert ex.merkle_sync_cost(1000, 0).merkle_bytes < 100     # equal roots: one message


@settings(max_examples=40)
@given(st.dictionaries(st.sampled_from([f"k{i}" for i in range(30)]), st.integers(0, 3), max_size=30),
       st.sets(st.sampled_from([f"k{i}" for i in range(30)]), max_size=5))
def test_merkle_trees_differ_exactly_in_the_leaves_of_changed_keys(data, changed):
    a = {k: ((v, "w"), str(v)) for k, v in data.items()}
    b = dict(a)
    for k in changed:
        b[k] = ((9, "w"), "changed")
    ta, tb = merkle.MerkleTree.build(a, 4), merkle.MerkleTree.build(b, 4)
    leaves = tuple(range(16))
    differ = set(ta.differing(4, leaves, tb.levels[4]))
    assert differ == {merkle.bucket(k, 4) for k in changed}
    assert (ta.root == tb.root) == (not changed)


def test_stale_reads_vanish_when_quorums_intersect():
    assert ex.stale_reads(3, 1, 1, trials=150).stale > 0
    for n, r, w in [(3, 2, 2), (3, 1, 3), (5, 3, 3), (5, 2, 4)]:
        assert ex.stale_reads(n, r, w, trials=60).stale == 0


def test_sloppy_quorum_keeps_writes_available_with_a_home_replica_down():
    keys = tuple(f"k{i}" for i in range(12))
    strict = cluster("quorum", replicas=5, clients=1, seed=2, n=3, r=3, w=3, timeout_ms=40.0,
                     workload=dict(ops=12, keys=keys, reads=0.0))
    sloppy = cluster("quorum", replicas=5, clients=1, seed=2, n=3, r=3, w=3, timeout_ms=40.0,
                     sloppy=True, workload=dict(ops=12, keys=keys, reads=0.0))
    for c in (strict, sloppy):
        c.sim.crash("r1")
        c.run(until=1000)
    affected = [k for k in keys if "r1" in strict.ring.home(k, 3)]
    assert affected
    assert strict.availability()["info"] > 0
    assert sloppy.availability()["info"] == 0
    assert sum(r.stats["hinted"] for r in sloppy.replicas.values()) > 0


def test_ring_preference_lists():
    ring = Ring(["a", "b", "c", "d"])
    for key in ["x", "y", "z", "k1"]:
        pref = ring.preference(key)
        assert sorted(pref) == ["a", "b", "c", "d"]
        assert ring.home(key, 2) == pref[:2]


def test_version_vectors():
    a = vv.increment(vv.vv(), "r0")
    b = vv.increment(a, "r1")
    c = vv.increment(a, "r2")
    assert vv.compare(a, b) == "before" and vv.compare(b, a) == "after"
    assert vv.compare(b, c) == "concurrent" and vv.compare(b, b) == "equal"
    m = vv.merge(b, c)
    assert vv.compare(b, m) == "before" and vv.compare(c, m) == "before"
    assert vv.reconcile([(a, "old"), (b, "left"), (c, "right")]) == [(b, "left"), (c, "right")]
    assert vv.lww([((1, "a"), "x"), ((2, "b"), "y")]) == ((2, "b"), "y")


@pytest.mark.parametrize("bad, match", [
    (lambda: Config(n=3, r=4, w=1), "r=4"),
    (lambda: Config(n=0), "n"),
    (lambda: Config(timestamps="vector"), "timestamps"),
    (lambda: Config(timeout_ms=-1), "timeout_ms"),
    (lambda: Config(anti_entropy_ms=0), "anti_entropy_ms"),
    (lambda: preset("ca", 5), "mode"),
    (lambda: cluster("cp", clients=-1), "clients"),
    (lambda: cluster("cp", workload=dict(reads=2.0)), "reads"),
    (lambda: cluster("cp", workload=[dict(ops=1)], clients=2), "workload"),
    (lambda: cluster("cp").submit("c9", ("get", "x")), "c9"),
    (lambda: cluster("cp").submit("c0", ("del", "x")), "del"),
    (lambda: ex.repair_race("magic"), "magic"),
    (lambda: Ring([]), "replicas"),
    (lambda: vv.vv({"a": -1}), "version vector"),
])
def test_bad_input_is_named(bad, match):
    with pytest.raises(ConfigError, match=match):
        bad()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_lagging_replicas_make_non_intersecting_quorums_stale_and_only_those(seed):
    """With n - w replicas lagging, a read is stale iff all r replicas it hears from lag:
    probability C(n-w, r)/C(n, r) > 0 when r + w <= n, and exactly 0 when r + w > n."""
    for n, r, w in [(3, 1, 1), (3, 1, 2), (5, 1, 1), (5, 2, 2), (5, 2, 3), (5, 1, 4)]:
        res = ex.stale_reads(n, r, w, trials=120, seed=seed, lag_ms=50.0)
        expected = comb(n - w, r) / comb(n, r) * res.reads
        assert res.reads == 120
        assert res.stale > 0, (n, r, w, seed)
        assert abs(res.stale - expected) <= 4 * (expected * (1 - expected / res.reads)) ** 0.5 + 1, (
            n, r, w, seed, res.stale, expected)
    for n, r, w in [(3, 2, 2), (3, 1, 3), (5, 3, 3), (5, 2, 4), (5, 1, 5)]:
        assert ex.stale_reads(n, r, w, trials=80, seed=seed, lag_ms=50.0).stale == 0, (n, r, w, seed)


def test_stale_reads_rejects_a_negative_lag():
    with pytest.raises(ValueError, match="lag_ms"):
        ex.stale_reads(3, 1, 1, trials=5, lag_ms=-1.0)
