"""The cluster picture: state replayed from the trace, static figure, live graph."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest
from clusters import make_sim
from hypothesis import given
from hypothesis import strategies as st
from synth import synthetic_trace

import dscourse as ds
from dscourse.viz import colors


def artists(fig):
    ax = fig.axes[0]
    return {a.get_gid(): a for a in ax.patches + ax.lines + ax.collections if a.get_gid()}


def test_state_at_times_of_the_synthetic_trace():
    s = ds.viz.cluster_state(synthetic_trace(), at=15)
    assert s.crashed == {"c"} and s.paused == {"b"}
    assert s.groups == [["a"], ["b", "c"]] and s.blocked("a", "b") and not s.blocked("b", "c")
    assert s.in_flight == {("a", "b"): ["Ping"]}
    assert s.roles == {"a": "leader", "b": "follower", "c": "follower"}
    end = ds.viz.cluster_state(synthetic_trace())
    assert not end.crashed and not end.paused and not end.groups
    assert end.roles["b"] == "candidate"
    assert end.in_flight == {("a", "b"): ["Ping"], ("b", "c"): ["Vote"]}
    # a duplicate adds a copy in flight until both copies are delivered
    assert ds.viz.cluster_state(synthetic_trace(), at=5).in_flight == {("a", "c"): ["Ping"], ("b", "a"): ["Pong"]}


def test_static_figure_colours_roles_and_marks_crashes_and_cuts():
    fig = ds.viz.cluster_figure(synthetic_trace(), at=15)
    a = artists(fig)
    assert mcolors.to_hex(a["node:a"].get_facecolor()) == colors.role_color("leader")
    assert mcolors.to_hex(a["node:b"].get_facecolor()) == colors.role_color("follower")
    assert mcolors.to_hex(a["node:c"].get_edgecolor()) == colors.CRASH
    assert mcolors.to_hex(a["node:a"].get_edgecolor()) != colors.CRASH
    assert a["edge:a-b"].get_linestyle() != "-" and a["edge:b-c"].get_linestyle() == "-"
    assert len(a["inflight:a-b"].get_offsets()) == 1


def test_one_way_cut_is_dashed_in_the_figure():
    sim = make_sim(2, nemesis=False)
    sim.run(until=5)
    sim.cut("n0", "n1")
    a = artists(ds.viz.cluster_figure(sim))
    assert a["edge:n0-n1"].get_linestyle() != "-" and a["edge:n1-n2"].get_linestyle() == "-"
    sim.heal()
    assert artists(ds.viz.cluster_figure(sim))["edge:n0-n1"].get_linestyle() == "-"


@given(seed=st.integers(0, 10_000), until=st.integers(1, 60))
def test_in_flight_matches_the_kernels_pending_deliveries(seed, until):
    sim = make_sim(seed)
    sim.run(until=until)
    state = ds.viz.cluster_state(sim)
    pending = sorted((p.peer, p.node) for p in sim.pending() if p.kind == "deliver")
    flying = sorted(pair for pair, labels in state.in_flight.items() for _ in labels)
    # a message queued for a paused node waits in its backlog: still in flight for the picture
    from dscourse.sim.queue import DELIVER, KIND

    backlog = sum(1 for v in sim._backlog.values() for e in v if e[KIND] == DELIVER)
    assert len(flying) == len(pending) + backlog
    assert state.crashed == {n for n in sim.nodes if sim.status(n) == "crashed"}
    assert state.paused == {n for n in sim.nodes if sim.status(n) == "paused"}
    assert {(a, b) for a in sim.nodes for b in sim.nodes if a != b and state.blocked(a, b)} == set(sim.blocked)


def test_live_graph_follows_updates():
    view = ds.viz.cluster(synthetic_trace(), at=15)
    w = view.widget
    nodes = {n.data["id"]: n for n in w.graph.nodes}
    edges = {e.data["id"]: e for e in w.graph.edges}
    assert "crashed" in nodes["c"].classes and "paused" in nodes["b"].classes
    assert "blocked" in edges["a-b"].classes and "1 Ping" in edges["a-b"].data["label"]
    assert nodes["a"].data["color"] == colors.role_color("leader")
    view.update(synthetic_trace())
    assert nodes["c"].classes == "" and "blocked" not in edges["a-b"].classes
    assert nodes["b"].data["color"] == colors.role_color("candidate")


def test_static_mode_display_is_the_figure(monkeypatch):
    monkeypatch.setenv("DSCOURSE_STATIC", "1")
    bundle = ds.viz.cluster(synthetic_trace(), at=15)._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/png"}
    assert bundle["text/plain"] == "cluster at t=15 ms: a(leader) b(follower)⏸ c(follower)✝; 1 in flight"


def test_live_display_adds_the_widget_view(monkeypatch):
    monkeypatch.setattr("dscourse.notebook.static_mode", lambda: False)
    monkeypatch.setattr("dscourse.viz.display.static_mode", lambda: False)
    bundle = ds.viz.cluster(synthetic_trace())._repr_mimebundle_()
    assert {"text/plain", "image/png", "application/vnd.jupyter.widget-view+json"} <= set(bundle)


def test_bad_inputs():
    with pytest.raises(ds.ConfigError, match="sim_or_state"):
        ds.viz.cluster(3)
    with pytest.raises(ds.ConfigError, match="at"):
        ds.viz.cluster_state(synthetic_trace(), at=-1)
