"""Unit and property tests of the Raft server beyond the 6.5840 scenarios."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.errors import ConfigError
from dscourse.raft import AppendEntries, RaftNode, RaftOptions, RequestVote
from dscourse.raft.builder import RaftCluster, cluster
from dscourse.raft.figure8 import figure8, figure8_adversary
from dscourse.raft.mutants import CountingOldTermsRaft
from dscourse.raft.testing import Harness
from dscourse.sim import Constant, reliable

QUIET = RaftOptions(election_timeout=(60_000, 60_000), heartbeat=50, noop=False)


@pytest.mark.parametrize("kwargs", [
    {"election_timeout": (300, 100)}, {"election_timeout": (0, 10)}, {"election_timeout": 5},
    {"heartbeat": 0}, {"heartbeat": 500}, {"noop": "yes"}, {"max_batch": 0},
])
def test_bad_options(kwargs):
    with pytest.raises(ConfigError):
        RaftOptions(**kwargs)


def test_bad_construction():
    with pytest.raises(ConfigError, match="servers"):
        RaftNode("s9", ["s1", "s2"])
    with pytest.raises(ConfigError, match="options"):
        RaftNode("s1", ["s1"], options={"noop": False})
    with pytest.raises(ConfigError, match="n="):
        cluster(n=0)


def quiet_cluster(n=3, **kw) -> RaftCluster:
    c = RaftCluster(n, seed=1, network=reliable(Constant(1.0)), options=QUIET, **kw)
    c.timeout("s1")
    c.run(10)
    assert c.leader() == "s1"
    return c


def test_stale_append_entries_do_not_truncate():
    """D4: a delayed AppendEntries that matches must not delete later entries."""
    c = quiet_cluster()
    for cmd in "abc":
        c.submit(cmd)
    c.run(10)
    follower = c.nodes["s2"]
    assert [cmd for _, cmd in follower.log] == ["a", "b", "c"]
    stale = AppendEntries(follower.term, "s1", 0, 0, (follower.log[0],), 0)
    follower.on_message("s1", stale)
    assert [cmd for _, cmd in follower.log] == ["a", "b", "c"]
    c.run(10)
    assert not c.violations


def test_vote_survives_a_crash_right_after_voting():
    c = RaftCluster(3, seed=1, network=reliable(Constant(1.0)), options=QUIET)
    c.nodes["s2"].on_message("s1", RequestVote(1, "s1", 0, 0))  # s2 votes for s1 in term 1
    c.crash("s2")
    c.recover("s2")
    s2 = c.nodes["s2"]
    assert (s2.term, s2.voted_for) == (1, "s1")
    s2.on_message("s3", RequestVote(1, "s3", 5, 1))  # a better log, but the vote is spent
    assert s2.voted_for == "s1"


def test_single_server_commits_alone():
    c = RaftCluster(1, seed=3)
    assert c.run_until_leader() == "s1"
    index, _, ok = c.submit("x")
    c.run(5)
    assert ok and c.nodes["s1"].commit_index == index


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_prevote_keeps_an_isolated_server_from_disrupting(seed):
    def run(prevote: bool) -> tuple[int, int, str, str]:
        c = RaftCluster(3, seed, options=RaftOptions(prevote=prevote))
        leader = c.run_until_leader()
        term0 = c.nodes[leader].term
        loner = next(s for s in c.ids if s != leader)
        c.partition([loner])
        c.run(3000)
        c.heal()
        c.run(1000)
        return term0, c.nodes[loner].term, leader, c.leader()

    term0, loner_term, before, after = run(prevote=True)
    assert loner_term == term0 and before == after  # no term inflation, leader kept
    term0, loner_term, _, _ = run(prevote=False)
    assert loner_term > term0 + 3  # without PreVote it keeps bumping its term


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_check_quorum_makes_a_minority_leader_step_down(seed):
    for check_quorum, expect_leader in ((True, False), (False, True)):
        c = RaftCluster(5, seed, options=RaftOptions(check_quorum=check_quorum))
        leader = c.run_until_leader()
        c.partition([leader])
        c.run(1000)
        assert (c.nodes[leader].role == "leader") == expect_leader
        assert not c.violations


def count_failed_appends(fast: bool, seed: int) -> int:
    opts = RaftOptions(election_timeout=(300, 600), heartbeat=100, noop=False,
                       fast_backtrack=fast)
    h = Harness(5, seed, options=opts)
    leader1 = h.check_one_leader()
    for k in (2, 3, 4):
        h.disconnect((leader1 + k) % 5)
    for i in range(60):
        h.start(leader1, i)  # uncommitted entries of the old term
    h.run_for(500)
    h.disconnect(leader1)
    h.disconnect((leader1 + 1) % 5)
    for k in (2, 3, 4):
        h.connect((leader1 + k) % 5)
    for i in range(60):
        h.one(1000 + i, 3, True)
    before = sum(1 for e in h.sim.trace.events if e.kind == "deliver"
                 and e.label == "AppendEntriesReply" and not e.data["success"]
                 and e.data["conflict_index"])
    for i in range(5):
        h.connect(i)
    h.one(5000, 5, True)
    h.end()
    return sum(1 for e in h.sim.trace.events if e.kind == "deliver"
               and e.label == "AppendEntriesReply" and not e.data["success"]
                 and e.data["conflict_index"]) - before


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_backtracking_needs_a_round_trip_per_conflicting_term(seed):
    fast, slow = count_failed_appends(True, seed), count_failed_appends(False, seed)
    assert fast <= 2 * 2  # two stale followers, at most one conflicting term each (+1)
    assert slow >= 50  # one entry per round trip


def test_same_seed_same_trace():
    def digest(seed):
        c = cluster(5, seed=seed)
        c.run(2000)
        for i in range(5):
            c.submit(i)
            c.run(100)
        return c.sim.trace.digest()
    assert digest(4) == digest(4)
    assert digest(4) != digest(5)


def test_figure8_replay_correct_raft_is_safe():
    replay = figure8()
    assert [p.label for p in replay.panels] == ["a", "b", "c", "d"]
    assert not replay.violations
    c = replay.panels[2]
    assert c.commits["s1"] == 0  # the term-2 entry is on a majority but not committed
    assert [t for t, _ in replay.panels[3].logs["s3"]] == [1, 3, 5]


def test_figure8_replay_counting_mutant_is_caught():
    replay = figure8(CountingOldTermsRaft)
    assert replay.panels[2].commits["s1"] == 2  # committed by counting (forbidden)
    names = {v.invariant for v in replay.violations}
    assert names == {"Leader Completeness", "State Machine Safety"}


def test_lazy_access():
    assert ds.raft.cluster is cluster


def test_random_figure8_adversary_catches_only_the_mutant():
    """The randomized adversary: the correct Raft is never caught, the mutant is."""
    assert not any(figure8_adversary(RaftNode, seed).violations for seed in range(60))
    caught = [seed for seed in range(60) if figure8_adversary(CountingOldTermsRaft, seed).violations]
    assert caught
    names = {v.invariant for v in figure8_adversary(CountingOldTermsRaft, caught[0]).violations}
    assert names & {"Leader Completeness", "State Machine Safety"}
