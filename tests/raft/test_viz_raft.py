"""The Raft visualizer driven like its buttons, and its static figures."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.errors import ConfigError
from dscourse.raft import labs as vr
from dscourse.raft.timing import timing_sweep


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
    _ = v.widget  # builds the controls
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


def test_cluster_figure_shows_roles_terms_and_logs():
    c = ds.raft.cluster(5, seed=1).run(500)
    c.submit("x")
    c.run(100)
    leader = c.leader()
    fig = ds.raft.figure(c)
    ring, matrix = fig.axes
    assert [t.get_text() for t in fig.texts] == [f"t={c.now:g} ms, leader {leader} (term {c.nodes[leader].term})"]
    assert sorted(t.get_text() for t in ring.texts) == sorted(f"{s}\nT{c.nodes[s].term}" for s in c.ids)
    names = [t.get_text() for t in matrix.texts if t.get_text()[:1] == "s"]
    assert names == [f"{s} {'L' if s == leader else 'F'}" for s in c.ids]
    logs = {s: c.nodes[s].stable.get("log", ()) for s in c.ids}
    cells = [t.get_text() for t in matrix.texts if t.get_text()[:1] != "s"]
    assert sorted(cells) == sorted(str(term) for log in logs.values() for term, _ in log)
    assert len(matrix.patches) == sum(map(len, logs.values())) and max(map(len, logs.values())) == 2
    assert matrix.get_xlabel() == "log index"
    with pytest.raises(ConfigError):
        ds.raft.figure("not a cluster")


@pytest.mark.parametrize("broken", [False, True])
def test_figure8_figure_draws_the_four_panels_of_the_replay(broken):
    replay = ds.raft.figure8(ds.raft.CountingOldTermsRaft if broken else ds.raft.RaftNode)
    fig = vr.figure8_figure(broken=broken)
    assert len(fig.axes) == len(replay.panels) == 4
    for ax, panel in zip(fig.axes, replay.panels, strict=True):
        assert ax.get_title(loc="left").startswith(f"({panel.label}) ")
        assert " ".join(ax.get_title(loc="left").split()[1:]) == " ".join(panel.caption.split())
        assert len(ax.patches) == sum(len(log) for log in panel.logs.values())


def test_timing_figure_heat_maps_hold_the_sweep():
    results = timing_sweep((20, 40), (2, 5), runs=1, duration=800)
    fig = vr.timing_figure(results)
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["availability", "split-vote rate"]
    for ax, field in zip(maps, ("availability", "split_vote_rate"), strict=True):
        grid = ax.images[0].get_array()
        assert grid.shape == (2, 2)
        for r in results:
            assert grid[(2, 5).index(r.broadcast), (20, 40).index(r.election_timeout)] == getattr(r, field)
        assert sorted(t.get_text() for t in ax.texts) == sorted(f"{getattr(r, field):.2f}" for r in results)
        assert ax.get_ylabel() == "broadcast time (ms)" and ax.get_xlabel().startswith("election timeout T (ms)")
