"""The Raft visualizer driven like its buttons, and its static figures."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.errors import ConfigError
from dscourse.raft.timing import timing_sweep
from dscourse.raft import labs as vr


def test_visualizer_actions_replay_deterministically():
    v = ds.raft.visualizer(5, seed=1)
    v.run(400)
    leader = v.cluster.leader()
    assert leader is not None
    v.do("request", leader)
    v.run(50)
    assert v.cluster.nodes[leader].commit_index >= 1
    v.do("stop", leader)
    v.do("align timers")
    v.run(160)
    assert v.cluster.leader() is None  # every follower timed out together: a split vote
    before = v.summary()
    v.widget  # builds the controls
    v.do("drop rate", 0.3)
    v.undo()
    assert v.summary() == before
    v.reset()
    assert v.now == 0


def test_server_actions_check_the_server():
    v = ds.raft.visualizer(3, seed=2)
    with pytest.raises(ConfigError):
        v.do("stop", "s9")


def test_debugger_can_drop_the_winning_votes():
    v = ds.raft.visualizer(3, seed=3)
    v.do("time out", "s1")
    votes = [p for p in v.pending() if p.label == "RequestVote"]
    for p in votes:
        v.drop(p.id)
    v.run(5)
    assert v.cluster.nodes["s1"].role == "candidate"


def test_figure8_modes():
    good = ds.raft.visualizer(seed=8, figure8=True)
    bad = ds.raft.visualizer(seed=8, figure8=True, broken=True)
    assert "violations: none" in good.summary()
    assert "Leader Completeness" in bad.summary()


def test_static_figures_render():
    c = ds.raft.cluster(5, seed=1).run(500)
    for fig in (ds.raft.figure(c), vr.figure8_figure(), vr.figure8_figure(broken=True),
                vr.timing_figure(timing_sweep((20, 40), (2, 5), runs=1, duration=800))):
        assert fig.axes
    with pytest.raises(ConfigError):
        ds.raft.figure("not a cluster")
