"""The Paxos debugger (banner, cards, scenarios, widget) and the livelock meter."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.paxos import labs as V
from dscourse.paxos import scenarios as S


def test_banner_says_nothing_one_value_or_violation():
    free = ds.paxos.debugger("free", seed=1)
    assert free.banner() == "chosen? nothing yet"
    free.run(20)
    assert free.banner().startswith("chosen: v")
    assert len(free.cards()) == 5


def test_minority_scenario_then_p2_adopts_v1():
    dbg = ds.paxos.debugger("minority", seed=2)
    assert dbg.banner() == "chosen? nothing yet"
    assert dbg.sim.status("p1") == "crashed"
    assert any("crashed" in line for line in dbg.cards())
    dbg.run(60)
    assert dbg.banner() == "chosen: v1"
    assert dbg.sim.nodes["p2"].proposal == "v1"


def test_minority_without_a1_lets_p2_choose_its_own_value():
    dbg = ds.paxos.debugger("minority", seed=2)
    dbg.run(50.5 - dbg.now)                         # p2 sent its Prepare messages at 50 ms
    to_a1 = [p.id for p in dbg.pending() if p.label == "Prepare" and p.node == "a1"]
    dbg.drop(to_a1[0])
    dbg.run(20)
    assert dbg.banner() == "chosen: v2"


def test_duel_scenario_and_undo():
    dbg = ds.paxos.debugger("duel", seed=3)
    assert dbg.banner() == "chosen? nothing yet"
    before = dbg.sim.trace.digest()
    first = dbg.pending()[0].id
    dbg.fire(first)
    assert dbg.undo()
    assert dbg.sim.trace.digest() == before


def test_no_adopt_scenario_shows_the_violation():
    dbg = ds.paxos.debugger("no-adopt", seed=0)
    assert dbg.banner().startswith("AGREEMENT VIOLATED")
    assert "12 steps" in dbg.note


def test_static_figure_and_live_widget():
    dbg = ds.paxos.debugger("minority", seed=1)
    fig = dbg.figure()
    assert any("chosen?" in t.get_text() for t in fig.texts)
    bundle = dbg._repr_mimebundle_()
    assert "image/png" in bundle and "chosen?" in bundle["text/plain"]
    root = dbg.widget
    assert "nothing yet" in dbg._widgets["banner"].value
    dbg.run(60)
    assert "chosen: v1" in dbg._widgets["banner"].value
    assert root is dbg.widget


def test_livelock_meter_counts_and_draws():
    meter = ds.paxos.livelock_meter("random", seeds=20)
    text = meter._repr_mimebundle_()["text/plain"]
    assert "20/20 seeds decide within 500 ms" in text
    meter.set(backoff="none")
    assert "0/20 seeds" in meter._repr_mimebundle_()["text/plain"]
    meter.set(backoff="fixed")          # the oblivious schedule defeats a fixed backoff too
    assert "0/20 seeds decide within 500 ms, 20 not within 1000 ms" in meter._repr_mimebundle_()["text/plain"]
    fig = V.livelock_figure("leader", seeds=5)
    assert "5/5" in fig.axes[0].get_title()


def test_unknown_scenario():
    with pytest.raises(ValueError, match="scenario"):
        S.scenario("chaos")
