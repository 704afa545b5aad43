"""Player and Debugger, driven the way their buttons drive them (no browser)."""

from __future__ import annotations

import pytest
from clusters import make_sim
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds


def fresh_digest(seed: int, steps: int) -> str:
    sim = make_sim(seed)
    for _ in range(steps):
        sim.step()
    return sim.trace.digest()


def test_step_matches_the_kernel_and_logs_one_op():
    p = ds.viz.Player(make_sim, seed=4)
    assert p.step(7) == 7 and p.step() == 1
    assert p.ops == [("step", 8)]
    assert p.sim.trace.digest() == fresh_digest(4, 8)


def test_actions_are_logged_and_replayed_by_undo_and_reset():
    p = ds.viz.Player(make_sim, seed=4)
    p.add_action("crash n2", lambda sim: sim.crash("n2"))
    p.step(5)
    p.do("crash n2")
    p.step(5)
    digest = p.sim.trace.digest()
    assert p.sim.status("n2") == "crashed"
    assert p.undo()
    assert p.ops == [("step", 5), ("action", "crash n2"), ("step", 4)]
    p.step()
    assert p.sim.trace.digest() == digest
    p.reset()
    assert p.ops == [] and len(p.sim.trace) == 0 and p.sim.status("n2") == "up"
    p.reset(seed=9)
    assert p.seed == 9 and p.sim.seed == 9


@given(seed=st.integers(0, 1000), steps=st.lists(st.integers(1, 6), min_size=1, max_size=6))
def test_undo_everything_returns_to_the_start(seed, steps):
    p = ds.viz.Player(make_sim, seed=seed)
    digests = [p.sim.trace.digest()]
    for n in steps:
        p.step(n)
        digests.append(p.sim.trace.digest())
    assert not p.finished                       # the fixture's timers never stop
    for _ in range(sum(steps)):
        assert p.undo()
    assert p.sim.trace.digest() == digests[0] and not p.undo()


def test_scrub_moves_the_view_not_the_simulation():
    p = ds.viz.Player(make_sim, seed=2)
    p.run(30)
    digest, now = p.sim.trace.digest(), p.now
    p.scrub(10)
    assert p.time == 10 and p.now == now and p.sim.trace.digest() == digest
    assert all(e.time <= 10_000 for e in p.visible_events())
    assert "viewing t=10 ms" in p.summary()
    p.scrub(None)
    assert p.time == now
    p.scrub(10)
    p.step()
    assert p.view_time is None


def test_widget_buttons_call_the_methods():
    p = ds.viz.Player(make_sim, seed=2)
    p.add_action("heal", lambda sim: sim.heal())
    root = p.widget
    assert root is p.widget
    w = p._widgets
    w["step"].click()
    assert p.ops == [("step", 1)]
    w["play"].value += 1          # what the front end's Play widget does on each tick
    assert p.ops == [("step", 2)]
    w["speed"].value = 5
    w["play"].value += 1
    assert p.ops == [("step", 7)]
    w["actions"].children[0].click()
    assert p.ops[-1] == ("action", "heal")
    p.add_action("crash n0", lambda sim: sim.crash("n0"))
    assert len(w["actions"].children) == 2
    w["time"].value = 1.0
    assert p.view_time == 1.0
    assert w["spacetime"].value[:4] == b"\x89PNG"
    w["seed"].value = 11
    w["reset"].click()
    assert p.seed == 11 and p.ops == []
    assert "seed=11" in w["status"].value


def test_play_stops_when_nothing_is_left():
    def tiny(seed):
        sim = ds.sim.Simulation(seed=seed)
        sim.add_node(ds.sim.Node("a"))
        return sim

    p = ds.viz.Player(tiny, seed=0)
    _ = p.widget
    p.play()
    assert p.playing
    p.tick()
    p.tick()
    assert p.finished and not p.playing


def test_static_figure_has_cluster_and_spacetime(monkeypatch):
    monkeypatch.setenv("DSCOURSE_STATIC", "1")
    p = ds.viz.Player(make_sim, seed=2)
    p.run(20)
    fig = p.figure()
    graph, lanes = fig.axes
    nodes = list(p.sim.nodes)
    assert [t.get_text() for t in graph.texts] == [*nodes, "t = 20 ms"]
    assert [t.get_text() for t in lanes.get_yticklabels()] == nodes and lanes.get_xlabel() == "virtual time (ms)"
    sent = sum(1 for e in p.sim.trace.events if e.kind == "send")
    arrows = sum(1 for patch in lanes.patches if patch.get_gid() == "msg")
    assert 0 < arrows <= sent + sum(1 for e in p.sim.trace.events if e.kind == "duplicate")
    bundle = p._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/png"}
    assert bundle["text/plain"].startswith("Player(seed=2): t=20 ms")


def test_debugger_choices_fire_drop_duplicate_and_undo():
    d = ds.viz.Debugger(make_sim, seed=5)
    d.run(4)
    first = d.pending()
    assert [p.id for p in first] == [p.id for p in d.sim.pending()]
    assert len(d.choices()) == len(first)
    msgs = [p for p in first if p.kind == "deliver"]
    assert msgs, "the fixture should have messages pending"
    last = msgs[-1]
    d.fire(last.id)                 # out of the normal order
    delivered = [e for e in d.sim.trace.events if e.kind == "deliver"]
    assert delivered[-1].node == last.node and delivered[-1].peer == last.peer
    nxt = next(p for p in d.pending() if p.kind == "deliver")
    d.drop(nxt.id)
    assert d.sim.trace.events[-1].data == {"reason": "debugger"}
    again = next(p for p in d.pending() if p.kind == "deliver")
    d.duplicate(again.id)
    assert d.sim.trace.events[-1].kind == "duplicate"
    digest = d.sim.trace.digest()
    d.step()
    d.undo()
    assert d.sim.trace.digest() == digest
    assert d.ops[-3:] == [("fire", last.id), ("drop", nxt.id), ("duplicate", again.id)]


def test_debugger_widget_lists_pending_and_buttons_act():
    d = ds.viz.Debugger(make_sim, seed=5)
    d.step(3)
    _ = d.widget
    box = d._widgets["pending"]
    assert [v for _, v in box.options] == [p.id for p in d.pending()]
    chosen = box.options[-1][1]
    box.value = chosen
    fire = next(b for b in d._widgets["root"].children[3].children[1].children if b.description == "fire")
    fire.click()
    assert d.ops[-1] == ("fire", chosen)


def test_bad_inputs():
    with pytest.raises(ds.ConfigError, match="make_sim"):
        ds.viz.Player(3)
    with pytest.raises(ds.ConfigError, match="views"):
        ds.viz.Player(make_sim, views=["graph"])
    p = ds.viz.Player(make_sim, seed=1)
    for call, match in [(lambda: p.step(0), "n="), (lambda: p.run(-1), "ms="), (lambda: p.do("nope"), "action"),
                        (lambda: p.scrub(-2), "t_ms"), (lambda: p.reset(seed=-1), "seed"),
                        (lambda: setattr(p, "speed", 0), "speed"), (lambda: p.add_action("", print), "label")]:
        with pytest.raises(ds.ConfigError, match=match):
            call()
    p.add_action("x", lambda sim: None)
    with pytest.raises(ds.ConfigError, match="label"):
        p.add_action("x", lambda sim: None)
    d = ds.viz.Debugger(make_sim, seed=1)
    with pytest.raises(ValueError):
        d.fire(10**6)


def test_static_fallbacks_render_in_a_process_without_ipython():
    import json
    import subprocess
    import sys

    code = """
import json, sys
sys.modules["IPython"] = None          # no IPython at all: static mode must not need it
import dscourse as ds
from dscourse.fundamentals import two_generals as tg
out = {}
for name, obj in [("player", ds.viz.Player(lambda s: tg.protocol(1, s), seed=1)),
                  ("debugger", ds.viz.Debugger(lambda s: tg.protocol(1, s), seed=1)),
                  ("lab", ds.fundamentals.labs.adversary_lab(k=1)), ("playground", ds.viz.playground(seed=1))]:
    obj.figure()
    out[name] = sorted(obj._repr_mimebundle_())
out["cluster"] = sorted(ds.viz.cluster(tg.protocol(1, 1))._repr_mimebundle_())
print(json.dumps(out))
"""
    env = {"MPLBACKEND": "Agg", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    out = json.loads(result.stdout)
    assert all(keys == ["image/png", "text/plain"] for keys in out.values()), out
