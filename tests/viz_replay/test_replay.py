"""The HTML trace player's Python side: the embedded model is the trace, exactly; output is
deterministic; long runs are windowed under the byte budget and say so; bad input is refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.sim.trace import KINDS, Event, Trace
from dscourse.viz.replay import MARKER
from dscourse.viz.scene import cluster_state

from .helpers import embedded, raft_partition_run

seeds = st.integers(min_value=0, max_value=10_000)


def decoded(data: dict) -> list[tuple]:
    """The embedded rows turned back into (time, kind, node, peer, msg_id, label, data)."""
    out = []
    for t, k, n, p, mid, lab, ref in data["ev"]:
        value = None if ref < 0 else data["values"][ref]
        kind = data["kinds"][k]
        if kind == "timer_set":
            value = {"at": value[0], "payload": value[1]}
        out.append((t, kind, data["nodes"][n] if n >= 0 else None, data["nodes"][p] if p >= 0 else None,
                    None if mid < 0 else mid, None if lab < 0 else data["labels"][lab], value))
    return out


@settings(max_examples=8)
@given(seed=seeds)
def test_the_embedded_trace_is_the_trace(seed):
    c = raft_partition_run(seed)
    player = ds.viz.replay(c)
    data = embedded(player.html())
    assert player.window.whole
    rows = [(e.time, e.kind, e.node, e.peer, e.msg_id, e.label, e.data) for e in c.sim.trace.events]
    assert decoded(data) == rows
    assert data["seed"] == seed and data["digest"] == c.sim.trace.digest()[:16]


def test_same_seed_same_html_and_another_seed_another_player():
    a, b, other = (ds.viz.replay(raft_partition_run(s)) for s in (5, 5, 6))
    assert a.html() == b.html()
    assert a.id == b.id != other.id
    assert a.html().count(f'id="{a.id}"') == 1 and f'{MARKER}="1"' in a.html()


def test_the_notebook_bundle_is_html_and_a_text_summary():
    c = raft_partition_run(2)
    bundle = ds.viz.replay(c, view="cluster")._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"].startswith("Trace player: 5 nodes") and "seed 2" in bundle["text/plain"]
    assert "panels: raft" in bundle["text/plain"]
    assert embedded(bundle["text/html"])["view"] == "cluster"


def test_without_javascript_the_player_says_what_it_is_and_how_to_load_it():
    player = ds.viz.replay(raft_partition_run(1))
    html = player.html()
    assert "<noscript>" in html and "static figure" in html
    pending = html.split('class="dsp-note dsp-pending">', 1)[1].split("</p>", 1)[0]
    assert pending.startswith(player.summary()) and "trust the notebook" in pending


def test_player_is_self_contained_no_network():
    html = ds.viz.replay(raft_partition_run(1)).html()
    for needle in ("http://", "https://", "//cdn", "src=", "href=", "import(", "fetch(", "XMLHttpRequest"):
        assert needle not in html.replace("http://www.w3.org/2000/svg", ""), needle


def test_a_payload_cannot_close_the_script_element():
    rows = [Event(0, 0, "send", "a", "b", 1, "Evil", {"text": "</script><script>alert(1)</script>"}),
            Event(1, 1000, "deliver", "b", "a", 1, "Evil", {"text": "</script><script>alert(1)</script>"})]
    html = ds.viz.replay(Trace(rows), panels=None).html()
    data_part = html.split('class="dsp-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data_part
    assert embedded(html)["values"] == [{"text": "</script><script>alert(1)</script>"}]


def test_long_runs_are_windowed_under_the_budget_and_say_so():
    c = ds.raft.cluster(n=5, seed=3)
    c.run(20_000)
    full = len(c.sim.trace)
    player = ds.viz.replay(c, max_bytes=120_000)
    assert player.nbytes <= 120_000
    w = player.window
    assert w.start == 0 and w.total == full and w.stop < full
    assert "showing events 0-" in player.note and "120 KB" in player.note and "window=" in player.note
    assert embedded(player.html())["note"] == player.note and player.note in player.summary()
    bigger = ds.viz.replay(c, max_bytes=240_000)   # a larger budget holds more events, still fits
    assert w.stop < bigger.window.stop and bigger.nbytes <= 240_000


def test_default_budget_holds_a_chapter_sized_run_whole():
    player = ds.viz.replay(raft_partition_run(4))
    assert player.window.whole and player.note == "" and player.nbytes <= 300_000


@settings(max_examples=6)
@given(seed=seeds, cut=st.floats(min_value=100, max_value=2000))
def test_a_window_starts_from_the_state_the_run_had_then(seed, cut):
    c = raft_partition_run(seed)
    events = c.sim.trace.events
    player = ds.viz.replay(c, window=(cut, 2600))
    data = player.data
    start = player.window.start
    assert all(e.time < cut * 1000 for e in events[:start]) and events[start].time >= cut * 1000
    before = cluster_state(events[:start])
    roles = {n: s.get("role") for n, s in data["init"]["state"].items()}
    assert {n: r for n, r in before.roles.items() if r is not None} == roles
    assert set(data["init"]["down"]) == before.crashed | before.paused
    assert data["init"]["groups"] == before.groups
    flying = {}
    for f in data["init"]["flying"]:
        flying.setdefault((f[1], f[2]), []).extend([f[3]] * f[6])
    assert {k: sorted(v) for k, v in flying.items()} == {k: sorted(v) for k, v in before.in_flight.items()}
    assert data["panels"][0]["name"] == "raft"


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(["send", "deliver", "annotate", "crash", "recover",
                                           "timer_set", "timer_fire", "partition", "heal"]),
                          st.sampled_from(["a", "b", "c"]), st.sampled_from(["a", "b", "c"]),
                          st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=40))
def test_any_event_list_round_trips(spec):
    rows, t = [], 0
    for i, (kind, node, peer, mid, dt) in enumerate(spec):
        t += dt * 250
        if kind in ("send", "deliver"):
            rows.append(Event(i, t, kind, node, peer, mid, "M", {"n": mid}))
        elif kind == "annotate":
            rows.append(Event(i, t, kind, node, None, None, "role", {"role": ["leader", "follower"][mid % 2]}))
        elif kind == "timer_set":
            rows.append(Event(i, t, kind, node, None, mid, "tick", {"at": t + 5000, "payload": None}))
        elif kind == "timer_fire":
            rows.append(Event(i, t, kind, node, None, mid, "tick", None))
        elif kind == "partition":
            rows.append(Event(i, t, kind, None, None, None, None, [[node], [n for n in "abc" if n != node]]))
        else:
            rows.append(Event(i, t, kind, node if kind != "heal" else None, None, None, None, None))
    data = ds.viz.replay(rows, panels=None, nodes=["a", "b", "c"]).data
    assert decoded(data) == [tuple(e[1:]) for e in rows]
    assert data["kinds"] == list(KINDS)
    assert len(data["values"]) == len({json.dumps(v, sort_keys=True) for v in data["values"]})


def test_views_and_sources():
    c = raft_partition_run(1)
    via_cluster, via_sim, via_trace = (ds.viz.replay(s) for s in (c, c.sim, c.sim.trace))
    assert via_cluster.data == via_sim.data
    assert via_trace.data["ev"] == via_sim.data["ev"] and via_trace.data["seed"] is None
    assert ds.viz.replay(c.sim.trace, seed=1).data["seed"] == 1
    assert ds.viz.replay(c, view="spacetime").data["view"] == "spacetime"


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"view": "3d"}, ("view", "spacetime")),
    ({"max_bytes": 10}, ("max_bytes", "50000")),
    ({"window": (5, 1)}, ("window", "from_ms")),
    ({"window": "all"}, ("window",)),
    ({"window": (90_000, 99_000)}, ("window", "holds events", "2747.3 ms")),
    ({"panels": "nope"}, ("nope", "raft")),
    ({"panels": [3]}, ("panel", "Panel")),
    ({"seed": -1}, ("seed",)),
    ({"nodes": ["s1", "s1"]}, ("nodes", "distinct")),
])
def test_bad_input_is_refused_with_what_is_allowed(kwargs, names):
    c = raft_partition_run(1)
    with pytest.raises(ValueError) as err:
        ds.viz.replay(c, **kwargs)
    for name in names:
        assert name in str(err.value)


def test_not_a_trace_is_refused():
    with pytest.raises(ValueError, match="trace"):
        ds.viz.replay(42)
    with pytest.raises(ValueError, match="at least one node"):
        ds.viz.replay([])


def nbval_sanitize(text: str) -> str:
    """What ``pytest --nbval --sanitize-with tests/sanitize.cfg`` compares (nbval's own parser)."""
    import re
    from pathlib import Path

    from nbval.plugin import get_sanitize_patterns

    cfg = Path(__file__).resolve().parents[1] / "sanitize.cfg"
    for regex, replace in get_sanitize_patterns(cfg.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def test_nbval_compares_the_run_not_the_players_code():
    a = ds.viz.replay(raft_partition_run(5)).html()
    newer = a.replace("the whole run in 15 s at 1x", "the whole run in 12 s at 1x").replace(
        "dsp-rl-committed{border:2px", "dsp-rl-committed{border:3px").replace(
        '<p class="dsp-note dsp-pending">', '<p class="dsp-note dsp-pending dsp-new">')
    assert newer != a and nbval_sanitize(newer) == nbval_sanitize(a)
    kept = nbval_sanitize(a)
    assert kept.startswith("<dscourse-player>{") and kept.endswith("}</dscourse-player>")
    assert json.loads(kept[len("<dscourse-player>"):-len("</dscourse-player>")]) == embedded(a)
    other = nbval_sanitize(ds.viz.replay(raft_partition_run(6)).html())
    assert other != kept
    two = nbval_sanitize("<p>before</p>" + a + a + "<p>after</p>")
    assert two == "<p>before</p>" + kept + kept + "<p>after</p>"
