"""Topic panels: found through entry points, chosen by the trace's labels, and what they
rebuild from a trace equals the servers' real state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.paxos.replay_panel import acceptor_states, ballot_text
from dscourse.raft.replay_panel import command_text, rebuild_commits, rebuild_logs
from dscourse.viz import Panel
from dscourse.viz.replay_plugins import installed_panels, message_fields, resolve

from .helpers import paxos_duel, raft_partition_run

seeds = st.integers(min_value=0, max_value=10_000)


def replayed_logs(events, nodes, upto=None):
    init, changes = rebuild_logs(events, nodes, 0, upto)
    logs = {n: list(v) for n, v in init.items()}
    for _seq, ix, first, entries in changes:
        logs[nodes[ix]] = logs[nodes[ix]][:first - 1] + entries
    return logs


@settings(max_examples=12)
@given(seed=seeds, crash=st.booleans())
def test_raft_logs_rebuilt_from_the_trace_equal_the_servers_logs(seed, crash):
    c = raft_partition_run(seed, crash)
    nodes = list(c.ids)
    logs = replayed_logs(c.sim.trace.events, nodes)
    real = c.logs()
    for n in nodes:
        assert [tuple(e) for e in logs[n]] == [(t, command_text(cmd)) for t, cmd in real[n]], n


@settings(max_examples=12)
@given(seed=seeds, crash=st.booleans())
def test_raft_commit_indexes_rebuilt_from_the_trace_equal_the_servers(seed, crash):
    c = raft_partition_run(seed, crash)
    nodes = list(c.ids)
    init, changes = rebuild_commits(c.sim.trace.events, nodes)
    commit = dict(init)
    for _seq, ix, value in changes:
        commit[nodes[ix]] = value
    assert commit == {n: c.nodes[n].commit_index for n in nodes}
    assert max(commit.values()) >= 4


@settings(max_examples=6)
@given(seed=seeds, cut=st.integers(200, 1300))
def test_raft_window_init_plus_changes_equals_the_whole_fold(seed, cut):
    c = raft_partition_run(seed)
    events, nodes = c.sim.trace.events, list(c.ids)
    start = min(cut, len(events) - 1)
    init, changes = rebuild_logs(events, nodes, start)
    assert all(ch[0] >= start for ch in changes)
    assert init == replayed_logs(events, nodes, start)
    logs = {n: list(v) for n, v in init.items()}
    for _seq, ix, first, entries in changes:
        logs[nodes[ix]] = logs[nodes[ix]][:first - 1] + entries
    assert logs == replayed_logs(events, nodes)


def test_raft_panel_data_in_the_player():
    c = raft_partition_run(7)
    data = ds.viz.replay(c).data
    (panel,) = data["panels"]
    assert panel["name"] == "raft" and panel["data"]["servers"] == list(c.ids)
    assert any(e["role"] == "leader" for e in (c.state(s) for s in c.ids))


@settings(max_examples=20)
@given(seed=seeds)
def test_paxos_acceptor_states_equal_the_acceptors(seed):
    c = paxos_duel(seed)
    init, changes = acceptor_states(c.sim.trace.events)
    states = dict(init)
    for _seq, node, state in changes:
        states[node] = state
    for a in c.acceptors:
        node = c.sim.nodes[a]
        assert states[a]["promised"] == ballot_text(tuple(node.stable["promised"]))
        acc = node.stable["accepted"]
        if acc is None:
            assert "" not in states[a]["accepted"]
        else:
            assert states[a]["accepted"][""] == [ballot_text(tuple(acc.ballot)), str(acc.value)]


def test_installed_panels_and_auto_choice():
    panels = installed_panels()
    assert {"raft", "paxos"} <= set(panels)
    assert [p.name for p in resolve("auto", {"AppendEntries", "Ping"})] == ["raft"]
    assert [p.name for p in resolve("auto", {"Prepare"})] == ["paxos"]
    assert resolve("auto", {"Ping"}) == [] and resolve(None, {"Prepare"}) == []
    assert ds.viz.replay(paxos_duel(1)).data["panels"][0]["name"] == "paxos"
    assert ds.viz.replay(paxos_duel(1), panels=None).data["panels"] == []


@settings(max_examples=8, deadline=None)
@given(seed=seeds, participants=st.integers(2, 4))
def test_a_2pc_prepare_does_not_pick_the_paxos_panel(seed, participants):
    """2PC's Prepare(txid, writes) shares Paxos's label, not its fields: no panel, no KeyError."""
    sim = ds.txn.simulation(seed, participants=participants)
    sim.run(until=300)
    assert any(e.label == "Prepare" for e in sim.trace.events if e.kind == "send")
    player = ds.viz.replay(sim)                       # panels="auto" (it used to raise KeyError 'ballot')
    assert player.data["panels"] == []
    assert resolve("auto", [("Prepare", {"txid": "t1", "writes": []})]) == []
    assert [p.name for p in resolve("auto", [("Prepare", {"ballot": [1, "a"]})])] == ["paxos"]


def test_a_mixed_trace_gets_no_automatic_panel():
    """Paxos Commit sends ds.paxos's Accept and 2PC's Prepare: the Paxos panel would read a
    ballot the 2PC Prepare lacks, so auto picks nothing (it used to raise KeyError 'ballot')."""
    from dscourse.txn import paxoscommit

    sim = paxoscommit.simulation(1, network=ds.sim.reliable())
    sim.run(until=50)
    assert ds.viz.replay(sim).data["panels"] == []
    mixed = [("Accept", {"ballot": 1, "value": 2}), ("Prepare", {"txid": "t", "writes": []})]
    assert resolve("auto", mixed) == [] and [p.name for p in resolve("auto", mixed[:1])] == ["paxos"]


def test_a_forced_paxos_panel_ignores_foreign_messages():
    """``panels="paxos"`` on a 2PC trace shows no acceptor (it used to raise KeyError 'ballot');
    on a Paxos Commit trace it shows the Paxos acceptors' votes and skips 2PC's Prepare."""
    from dscourse.txn import paxoscommit

    two_pc = ds.txn.simulation(3)
    two_pc.run(until=300)
    data = ds.viz.replay(two_pc, panels="paxos").data["panels"][0]["data"]
    assert data["acceptors"] == [] and data["changes"] == []
    sim = paxoscommit.simulation(1, network=ds.sim.reliable())
    sim.run(until=50)
    data = ds.viz.replay(sim, panels="paxos").data["panels"][0]["data"]
    voters = {e.node for e in sim.trace.events if e.kind == "send" and e.label == "Accepted"}
    assert voters and set(data["acceptors"]) == voters
    assert {node for _seq, node, _state in data["changes"]} <= voters
    assert all(state["accepted"] for _seq, _node, state in data["changes"])


def test_panel_messages_are_matched_by_their_class_fields():
    paxos = installed_panels()["paxos"]
    assert message_fields(paxos, "Prepare") == {"ballot"}            # ds.paxos.Prepare's fields
    assert message_fields(paxos, "Accept") == {"ballot", "value"}
    # a message carrying a superset of the fields is still not Paxos's
    assert resolve("auto", [("Accept", {"ballot": 1, "value": 2, "slot": 3})]) == []
    custom = Panel("mine", "Mine", "DSCoursePlayer.panel('mine', {render(){}})",
                   lambda *a: {}, labels=("Prepare",), fields={"Prepare": ("txid", "writes")})
    assert message_fields(custom, "Prepare") == {"txid", "writes"}
    sim = ds.txn.simulation(3)
    sim.run(until=50)
    assert ds.viz.replay(sim, panels=[custom]).data["panels"][0]["name"] == "mine"


def test_a_caller_can_bring_its_own_panel():
    seen = []

    def prepare(events, start, stop, nodes):
        seen.append((start, stop, tuple(nodes)))
        return {"count": stop - start}

    mine = Panel("mine", "Mine", 'DSCoursePlayer.panel("mine", {render: function (ctx, el) {}});', prepare)
    c = raft_partition_run(1)
    player = ds.viz.replay(c, panels=["raft", mine])
    assert [p["name"] for p in player.data["panels"]] == ["raft", "mine"]
    assert player.data["panels"][1]["data"] == {"count": len(c.sim.trace)}
    assert seen == [(0, len(c.sim.trace), tuple(player.data["nodes"]))]
    assert 'DSCoursePlayer.panel("mine"' in player.html()
    with pytest.raises(ValueError, match="distinct"):
        ds.viz.replay(c, panels=[mine, mine])


@pytest.mark.parametrize(("args", "word"), [
    (("bad name", "t", 'DSCoursePlayer.panel("x", {})', lambda *a: None), "identifier"),
    (("x", "t", "console.log(1)", lambda *a: None), "DSCoursePlayer.panel"),
    (("x", "t", 'DSCoursePlayer.panel("x", {})', "not callable"), "callable"),
])
def test_a_bad_panel_is_refused(args, word):
    with pytest.raises(ValueError, match=word):
        Panel(*args)


@settings(max_examples=8)
@given(seed=seeds, batched=st.booleans())
def test_gossip_infections_rebuilt_from_the_trace_equal_what_servers_learned(seed, batched):
    from dscourse.gossip.replay_panel import infections

    cls = ds.gossip.batched(interval_ms=30) if batched else ds.gossip.Flood
    run = ds.gossip.broadcast_workload(cls, nodes=5, duration_ms=500, rate=12, seed=seed,
                                       latency_ms=40, nemesis="partition")
    values, init, changes = infections(run.sim.trace.events)
    assert init == {}
    known: dict[str, set] = {}
    for _seq, node, vi in changes:
        known.setdefault(node, set()).add(values[vi])
    servers = {n: node.messages for n, node in run.sim.nodes.items() if hasattr(node, "messages")}
    assert servers and all(known.get(n, set()) == learned for n, learned in servers.items())
    player = ds.viz.replay(run.sim)
    assert [p["name"] for p in player.data["panels"]] == ["gossip"]


@settings(max_examples=10)
@given(seed=seeds, naive=st.booleans())
def test_lease_belief_and_validity_rebuilt_from_the_trace(seed, naive):
    from dscourse.clocks.replay_panel import intervals

    budget = (lambda T, rho, margin: T - margin) if naive else ds.clocks.lease_budget
    run = ds.clocks.lease_run(budget, rho=0.05, until_ms=800, seed=seed)
    data = intervals(run.sim.trace.events)
    uses = sorted((u.holder, round(u.start * 1000), None if u.end is None else round(u.end * 1000)) for u in run.uses)
    assert sorted((b[0], b[1], b[2]) for b in data["believed"]) == uses
    grants = [e for e in run.sim.trace.events if e.kind == "send" and e.label == "Grant"]
    assert [v[0] for v in data["valid"]] == [g.data["holder"] for g in grants]
    assert all(v[2] - v[1] == round(run.term_ms * 1000) for v in data["valid"])
    past_expiry = [b for b in data["believed"] if b[2] is not None
                   and not any(v[0] == b[0] and v[1] <= b[1] and b[2] <= v[2] for v in data["valid"])]
    if naive:   # the slow holder stops at local T - margin: past the expiry in true time
        assert past_expiry and {b[0] for b in past_expiry} == {"h1"}
    else:
        assert past_expiry == [] and run.overlaps == []
    player = ds.viz.replay(run.sim)
    assert "lease" in [p["name"] for p in player.data["panels"]]


@settings(max_examples=6)
@given(seed=seeds)
def test_multi_paxos_acceptor_states_include_the_leaders_own_votes(seed):
    c = ds.paxos.workload.cluster(5, 1, 8, seed=seed, network=ds.sim.reliable())
    c.run(until=1500)
    init, changes = acceptor_states(c.trace.events)
    states = dict(init)
    for _seq, node, state in changes:
        states[node] = state
    replicas = [n for n in c.nodes.values() if "accepted" in getattr(n, "stable", {})]
    assert replicas
    for node in replicas:
        mine = states[node.id]
        assert mine["promised"] == ballot_text(tuple(node.stable["promised"]))
        assert {k: v[0] for k, v in mine["accepted"].items()} == {
            str(slot): ballot_text(tuple(vote.ballot)) for slot, vote in node.stable["accepted"].items()}
