"""The space-time diagram draws exactly what the trace says, deterministically."""

from __future__ import annotations

from collections import Counter

import matplotlib.colors as mcolors
import pytest
from clusters import make_sim
from hypothesis import given
from hypothesis import strategies as st
from synth import synthetic_trace

import dscourse as ds
from dscourse.viz.display import figure_png


def gids(fig) -> Counter:
    ax = fig.axes[0]
    return Counter(a.get_gid() for a in ax.patches + ax.lines + ax.collections if a.get_gid())


def test_synthetic_trace_counts():
    fig = ds.viz.spacetime(synthetic_trace(), timers=True)
    g = gids(fig)
    # msgs 1, 2, 3 delivered; msg 2 delivered twice (duplicate); 4 and 5 dropped; 6 and 7 in flight
    assert g["msg"] == 3 and g["dup"] == 1
    assert g["drop"] == 2 and g["drop-x"] == 2
    assert g["inflight"] == 2 and g["inflight-o"] == 2
    assert g["crash"] == 1 and g["pause"] == 1 and g["partition"] == 1
    assert g["annotate"] == 4


def test_lanes_follow_nodes_argument_and_skip_others():
    fig = ds.viz.spacetime(synthetic_trace(), nodes=["b", "a"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    g = gids(fig)
    assert g["msg"] == 2                    # a->b Ping and b->a Pong; nothing to or from c
    assert g["crash"] == 0                  # c crashed, but c has no lane


def test_window_limits_the_axis_and_the_arrows():
    fig = ds.viz.spacetime(synthetic_trace(), window=(9, 20))
    assert fig.axes[0].get_xlim() == (9.0, 20.0)
    g = gids(fig)
    assert g["msg"] == 0 and g["drop"] == 1     # only the Ping to the crashed c overlaps


def test_drop_at_crashed_destination_ends_on_its_lane():
    fig = ds.viz.spacetime(synthetic_trace())
    crosses = [line for line in fig.axes[0].lines if line.get_gid() == "drop-x"]
    points = sorted((float(c.get_xdata()[0]), float(c.get_ydata()[0])) for c in crosses)
    assert points[1] == (13.0, 2.0)              # the Ping to c, dropped when it arrived at 13 ms
    assert points[0][1] not in (0.0, 1.0, 2.0)   # the lost Pong ends between lanes


def test_label_colours_are_stable_and_distinct():
    fig = ds.viz.spacetime(synthetic_trace())
    by_gid = {}
    for p in fig.axes[0].patches:
        if p.get_gid() == "msg":
            by_gid.setdefault(mcolors.to_hex(p.get_edgecolor()), 0)
    palette = ds.viz.label_colors(["Ping", "Pong", "Vote"])
    assert len(set(palette.values())) == 3
    assert set(by_gid) <= set(palette.values())
    assert ds.viz.label_colors(["Pong", "Ping", "Vote"]) == palette


def test_same_trace_same_png():
    a = figure_png(ds.viz.spacetime(synthetic_trace()))
    b = figure_png(ds.viz.spacetime(synthetic_trace()))
    assert a == b


def test_accepts_a_simulation_and_draws_into_given_axes():
    import matplotlib.pyplot as plt

    sim = make_sim(1)
    sim.run(until=30)
    fig, ax = plt.subplots()
    assert ds.viz.spacetime(sim, ax=ax) is fig


@pytest.mark.parametrize("window", [(5, 5), (9, 1), "x", (0,), (0, None)])
def test_bad_window(window):
    with pytest.raises(ds.ConfigError, match="window"):
        ds.viz.spacetime(synthetic_trace(), window=window)


def test_bad_trace_and_nodes():
    with pytest.raises(ds.ConfigError, match="trace"):
        ds.viz.spacetime(42)
    with pytest.raises(ds.ConfigError, match="nodes"):
        ds.viz.spacetime(synthetic_trace(), nodes=["a", "a"])


@given(seed=st.integers(0, 10_000), n=st.integers(2, 4), drop=st.sampled_from([0.0, 0.2]),
       dup=st.sampled_from([0.0, 0.3]))
def test_every_trace_event_is_drawn_once(seed, n, drop, dup):
    sim = make_sim(seed, n=n, drop=drop, duplicate=dup)
    sim.run(until=50)
    events = sim.trace.events
    kinds = Counter(e.kind for e in events)
    g = gids(ds.viz.spacetime(sim))
    first = {}
    for e in events:
        if e.kind == "deliver":
            first.setdefault(e.msg_id, 0)
            first[e.msg_id] += 1
    assert g["msg"] == len(first)
    assert g["dup"] == kinds["deliver"] - len(first)
    assert g["drop-x"] == kinds["drop"]
    assert g["crash"] == kinds["crash"] and g["pause"] == kinds["pause"]
    assert g["partition"] == kinds["partition"]
    assert g["annotate"] == kinds["annotate"]
    settled = set(first) | {e.msg_id for e in events if e.kind == "drop"}
    assert g["inflight"] == len({e.msg_id for e in events if e.kind == "send"} - settled)


def test_too_many_messages_asks_for_a_window(monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["dscourse.viz.spacetime"], "MAX_MESSAGES", 3)
    with pytest.raises(ds.ConfigError, match="window"):
        ds.viz.spacetime(synthetic_trace())
    assert gids(ds.viz.spacetime(synthetic_trace(), window=(0, 2)))["msg"] == 2
