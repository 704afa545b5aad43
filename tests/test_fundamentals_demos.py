"""Chapter 1 demos: the Two Generals adversary, the fixed-timeout heartbeat detector, the labs."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.fundamentals import heartbeat as hb
from dscourse.fundamentals import two_generals as tg

# ---- Two Generals ---------------------------------------------------------------------------


@given(k=st.integers(0, 7), seed=st.integers(0, 10_000))
def test_adversary_finds_the_last_messenger_for_every_k(k, seed):
    r = tg.adversary(k, seed)
    assert r.baseline.decisions == {"A": tg.ATTACK, "B": tg.ATTACK} and r.baseline.agree
    assert r.messengers == k + 1
    assert r.critical == k
    lost = r.single_losses[k]
    assert not lost.agree
    # the general that sent the last messenger attacks; its receiver does not
    sender = "A" if k % 2 == 0 else "B"
    assert lost.decisions[sender] == tg.ATTACK
    # every earlier single loss leaves both generals retreating: safe, but no attack
    for earlier in r.single_losses[:k]:
        assert earlier.decisions == {"A": tg.RETREAT, "B": tg.RETREAT}


def test_the_loss_is_a_real_drop_of_that_messenger_in_the_trace():
    r = tg.adversary(3, seed=2)
    trace = r.single_losses[3].trace
    drops = [e for e in trace.events if e.kind == "drop"]
    assert len(drops) == 1 and drops[0].data == {"reason": "debugger"}
    sent = {e.msg_id: e.data for e in trace.events if e.kind == "send"}
    assert sent[drops[0].msg_id]["index"] == 3
    delivered = [e for e in trace.events if e.kind == "deliver"]
    assert [sent[e.msg_id]["index"] for e in delivered] == [0, 1, 2]


def test_a_lost_message_loses_every_copy_on_a_duplicating_network():
    def duplicating():
        sim = ds.sim.Simulation(seed=3, network=ds.sim.Network(latency=ds.sim.Uniform(1, 5), duplicate=1.0))
        sim.add_node(tg.General("A", peer="B", k=0, initiator=True, deadline_ms=20))
        sim.add_node(tg.General("B", peer="A", k=0, initiator=False, deadline_ms=20))
        return sim

    out = tg.run_with_loss(duplicating, 0)
    assert out.decisions == {"A": tg.ATTACK, "B": tg.RETREAT}
    drops = [e for e in out.trace.events if e.kind == "drop"]
    assert len(drops) == 2 and not [e for e in out.trace.events if e.kind == "deliver"]


def test_adversary_reports_none_when_no_single_loss_breaks_agreement():
    class Coward(tg.General):
        def on_timer(self, name, payload):
            self.decision = tg.RETREAT

    def cowards():
        sim = tg.protocol(2)
        fresh = ds.sim.Simulation(seed=1)
        fresh.add_node(Coward("A", peer="B", k=2, initiator=True, deadline_ms=20))
        fresh.add_node(Coward("B", peer="A", k=2, initiator=False, deadline_ms=20))
        assert sim is not fresh
        return fresh

    r = tg.adversary(2, make_sim=cowards)
    assert r.critical is None and r.messengers == 3 and all(o.agree for o in r.single_losses)


def test_adversary_table_and_lab():
    rows = tg.adversary_table(range(3))
    assert [row["critical messenger"] for row in rows] == [0, 1, 2]
    assert all(row["other single losses agree"] for row in rows)
    lab = ds.fundamentals.labs.adversary_lab(k=1)
    assert "losing m1 gives" in lab.summary()
    lab.set(k=4)
    assert lab.summary().startswith("k=4: 5 messengers; losing m4")
    fig = lab.figure()
    crosses = [line for line in fig.axes[0].lines if line.get_gid() == "drop-x"]
    assert len(crosses) == 1


def test_two_generals_bad_k():
    for k in (-1, 1.5, True, "2"):
        with pytest.raises(ds.ConfigError, match="k="):
            tg.protocol(k)


# ---- heartbeat failure detector -----------------------------------------------------------------


def arrivals(run: hb.FDRun) -> list[float]:
    return sorted(t + d for t, d in run.delays)


@given(seed=st.integers(0, 10_000), timeout=st.sampled_from([12, 15, 25, 40, 80]))
def test_suspicions_are_exactly_the_long_silences(seed, timeout):
    run = hb.measure(timeout, seed=seed, duration_ms=1500, gst_ms=600, crash_ms=1200)
    times = [0.0, *arrivals(run)]
    # a heartbeat arriving exactly when the timer fires is a tie broken by queue order: skip those
    assume(all(abs((b - a) - timeout) > 1e-6 for a, b in itertools.pairwise(times)))
    # the last silence never ends (a very slow heartbeat can hold back the FIFO link past the end)
    ends = [*times[1:], float("inf")]
    expected = sum(1 for a, b in zip(times, ends, strict=True) if b - a > timeout and a + timeout < run.crash_ms)
    assert run.false_suspicions() == expected
    last = times[-1]
    assert run.detection_ms == pytest.approx(max(0.0, last + timeout - run.crash_ms))


@given(seed=st.integers(0, 10_000))
def test_longer_timeouts_make_fewer_mistakes_and_detect_later(seed):
    runs = [hb.measure(t, seed=seed, duration_ms=1500, gst_ms=600, crash_ms=1200) for t in (12, 20, 40, 100)]
    mistakes = [r.false_suspicions() for r in runs]
    detections = [r.detection_ms for r in runs]
    assert mistakes == sorted(mistakes, reverse=True)
    assert detections == sorted(detections)


@given(seed=st.integers(0, 10_000), timeout=st.sampled_from([18, 25, 60]))
def test_after_gst_a_timeout_above_interval_plus_delta_never_errs(seed, timeout):
    run = hb.measure(timeout, seed=seed, duration_ms=2000, gst_ms=800, crash_ms=1800)
    # once every heartbeat sent before GST has arrived, gaps are at most interval + (8 - 1) ms
    stable = max([t + d for t, d in run.delays if t < run.gst_ms] + [run.gst_ms])
    assert run.false_suspicions(start=stable) == 0


def test_a_timeout_below_the_post_gst_bound_keeps_erring():
    assert sum(hb.measure(12, seed=s).false_after_gst for s in (1, 2, 3)) > 0


def test_sweep_and_lab():
    rows = hb.sweep([15, 50], seeds=(1, 2), duration_ms=1500, gst_ms=600, crash_ms=1200)
    assert rows[0].false_before_gst >= rows[1].false_before_gst
    assert rows[0].detection_ms < rows[1].detection_ms
    lab = ds.fundamentals.labs.timeout_lab(timeout_ms=30)
    assert lab.summary().startswith("timeout 30 ms:")
    lab.set(timeout_ms=100)
    assert lab.summary().startswith("timeout 100 ms:")
    assert len(lab.figure().axes) == 3


def test_heartbeat_bad_inputs():
    for kwargs, match in [({"timeout_ms": 0}, "timeout_ms"), ({"timeout_ms": 10, "interval_ms": -1}, "interval_ms"),
                          ({"timeout_ms": 10, "gst_ms": 0}, "gst_ms")]:
        with pytest.raises(ds.ConfigError, match=match):
            hb.build(**kwargs)


# ---- the network playground ---------------------------------------------------------------------


def test_playground_ping_partition_and_replay():
    p = ds.viz.playground(n=3, seed=4, drop=0.0, duplicate=0.0)
    p.ping("n0", "n1")
    p.run(20)
    labels = [e.label for e in p.sim.trace.events if e.kind == "deliver"]
    assert labels == ["Ping", "Pong"]
    p.partition(["n0"])
    p.broadcast("n0")
    p.broadcast("n1")
    p.run(20)
    drops = [e for e in p.sim.trace.events if e.kind == "drop"]
    assert {(e.node, e.peer) for e in drops} == {("n0", "n1"), ("n0", "n2"), ("n1", "n0")}
    assert all(e.data["reason"] == "partition" for e in drops)
    digest = p.sim.trace.digest()
    p.replay(p.ops)
    assert p.sim.trace.digest() == digest
    p.network(5.0, 0.0, 0.0, 0.0, True)
    assert p.settings["fifo"] is True and p.sim.link("n2", "n1").fifo
    p.undo()
    assert p.settings["fifo"] is False and not p.sim.link("n2", "n1").fifo
    with pytest.raises(ds.ConfigError, match="node"):
        p.ping("n0", "zz")
    with pytest.raises(ds.ConfigError, match="jitter"):
        p.network(1.0, 3.0, 0.0, 0.0, False)


def test_playground_widget_controls():
    p = ds.viz.playground(n=4, seed=1)
    assert p.widget is not None
    W = p._widgets
    W["src"].value, W["dst"].value = "n2", "n3"
    next(b for b in _buttons(W["root"]) if b.description == "ping").click()
    assert p.ops[-1] == ("action", "ping", "n2", "n3")
    W["drop"].value = 0.3
    assert p.ops[-1][:2] == ("action", "network") and p.ops[-1][4] == 0.3
    W["group"].value = ("n0", "n1")
    next(b for b in _buttons(W["root"]) if b.description == "partition group").click()
    assert p.ops[-1] == ("action", "partition", ["n0", "n1"])
    assert "sent 1" in W["status"].value


def _buttons(widget):
    import ipywidgets as w

    if isinstance(widget, w.Button):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _buttons(child)


def test_lab_bad_controls():
    with pytest.raises(ds.ConfigError, match="control"):
        ds.viz.Lab(lambda x: None, x="nope")
    lab = ds.viz.Lab(lambda x: None, x=(0, 3, 1))
    with pytest.raises(ds.ConfigError, match="control"):
        lab.set(y=1)


# ---- split brain ------------------------------------------------------------------------------


@given(seed=st.integers(0, 10_000), minority=st.sampled_from([("n0",), ("n0", "n1"), ("n3", "n4")]))
def test_failover_without_quorum_splits_the_brain_and_with_quorum_only_briefly(seed, minority):
    unsafe = hb.split_brain(quorum=False, seed=seed, minority=minority)
    safe = hb.split_brain(quorum=True, seed=seed, minority=minority)
    partition = 200.0 - 50.0
    # whichever side the old leader is on, the other side elects its own for the whole partition
    assert unsafe.two_leaders_ms >= partition - 2 * 40.0
    # with the majority rule a deposed leader steps down within a timeout plus a heartbeat
    assert safe.two_leaders_ms <= 40.0
    assert len(safe.leaders_at_end) == 1 and len(unsafe.leaders_at_end) == 1


def test_role_lanes_in_the_spacetime_diagram():
    from dscourse.viz import colors

    run = hb.split_brain(quorum=False)
    fig = ds.viz.spacetime(run.trace, messages=False, roles=True)
    ax = fig.axes[0]
    bands = [p for p in ax.patches if p.get_gid() == "role"]
    annotations = run.trace.filter(kind="annotate")
    assert len(bands) == len(annotations)
    assert not [p for p in ax.patches if p.get_gid() in ("msg", "dup", "drop")]
    leaders = [p for p in bands if p.get_label() == "leader"]
    assert len(leaders) == 2
    assert all(p.get_facecolor()[:3] == pytest.approx(
        tuple(int(colors.role_color("leader")[i:i + 2], 16) / 255 for i in (1, 3, 5))) for p in leaders)


def test_lab_widget_redraws_on_slider_moves():
    lab = ds.fundamentals.labs.adversary_lab(k=1)
    root = lab.widget
    assert root is lab.widget
    first = lab._widgets["image"].value
    assert first[:4] == b"\x89PNG"
    lab._widgets["k"].value = 3
    assert lab.values["k"] == 3 and lab._widgets["image"].value != first
    assert "k=3" in lab._widgets["text"].value
    lab.set(k=0)
    assert lab._widgets["k"].value == 0


# -- Byzantine Generals, OM(1) (Chapter 1) ---------------------------------------------------------
from dscourse.fundamentals import byzantine as bz  # noqa: E402


@pytest.mark.parametrize("seed", range(1, 9))
@pytest.mark.parametrize("n", [4, 5, 7])
def test_om1_meets_ic1_and_ic2_with_one_traitor_when_n_is_at_least_4(n, seed):
    for traitor in ["", "C", *(f"L{i}" for i in range(1, n))]:
        for order in bz.ORDERS:
            o = bz.run(n, traitor, order, seed=seed)
            assert o.ic1 and o.ic2, (n, traitor, order, o.decisions)


@pytest.mark.parametrize("seed", range(1, 6))
def test_with_three_generals_a_lying_lieutenant_breaks_validity(seed):
    o = bz.run(3, "L2", bz.ATTACK, seed=seed)
    assert o.held == {"L1": {"C": "attack", "L2": "retreat"}}
    assert o.decisions == {"L1": "retreat"} and not o.ic2
    # the same view as when the commander lies: L1 cannot tell the two runs apart
    c = bz.run(3, "C", bz.ATTACK, seed=seed)
    assert c.held["L1"] == o.held["L1"] and c.decisions["L1"] == o.decisions["L1"]


def test_majority_defaults_to_retreat_on_ties():
    assert bz.majority(["attack", "retreat"]) == "retreat"
    assert bz.majority(["attack", "attack", "retreat"]) == "attack"
    assert bz.majority([]) == "retreat"


@pytest.mark.parametrize("kwargs, word", [(dict(n=2), "n"), (dict(traitor="L9"), "traitor"),
                                          (dict(order="wait"), "order")])
def test_bad_arguments_are_clear(kwargs, word):
    with pytest.raises(ValueError, match=word):
        bz.run(**kwargs)
