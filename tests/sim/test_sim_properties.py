"""Property tests of the kernel over random networks and random fault schedules (hypothesis).

Each example runs a small chattering cluster under a random network model and a random
nemesis, then checks the trace against the kernel's guarantees by replaying it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given
from hypothesis import strategies as st
from simkit import Chatter, replay_status

import dscourse as ds
from dscourse.sim import Constant, Exponential, LogNormal, Pareto, Uniform, UniformInt

latencies = st.sampled_from([Constant(1.0), Constant(0.0), Uniform(0.0, 5.0), Exponential(2.0),
                             LogNormal(2.0, 1.0), Pareto(1.0, 1.5), UniformInt(0, 26)])
networks = st.builds(
    ds.sim.Network,
    latency=latencies,
    drop=st.sampled_from([0.0, 0.1, 0.5]) | st.floats(0.0, 1.0),
    duplicate=st.sampled_from([0.0, 0.2]) | st.floats(0.0, 1.0),
    fifo=st.booleans(),
    slow=st.floats(0.5, 3.0),
    long_reorder=st.sampled_from([0.0, 2 / 3]),
)
kinds = st.lists(st.sampled_from(ds.sim.nemesis.RANDOM_KINDS), min_size=1, max_size=4, unique=True)


@st.composite
def scenarios(draw):
    n = draw(st.integers(2, 5))
    sim = ds.sim.Simulation(seed=draw(st.integers(0, 2**32)), network=draw(networks))
    for i in range(n):
        sim.add_node(Chatter(f"n{i}", n_msgs=draw(st.integers(1, 15)), period=10.0))
    schedule = sim.random_nemesis(until=200.0, kinds=draw(kinds), mean_gap=20.0,
                                  mean_duration=draw(st.sampled_from([5.0, 30.0, 80.0])))
    ids = list(sim.nodes)
    for _ in range(draw(st.integers(0, 2))):
        a, b = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        schedule.append((draw(st.integers(0, 250)), ("cut", a, b)))
    sim.schedule_nemesis(schedule)
    sim.run()
    return sim


@given(scenarios())
def test_messages_are_delivered_only_if_sent_and_at_most_once_per_copy(sim):
    sends = {e.msg_id: e for e in sim.trace.filter(kind="send")}
    copies = Counter(e.msg_id for e in sim.trace.filter(kind="duplicate"))
    delivered = Counter()
    for e in sim.trace.filter(kind="deliver"):
        s = sends[e.msg_id]  # KeyError: delivered but never sent
        assert (e.node, e.peer, e.label, e.data) == (s.peer, s.node, s.label, s.data)
        assert e.time >= s.time
        delivered[e.msg_id] += 1
    for mid, count in delivered.items():
        assert count <= 1 + copies[mid]


@given(scenarios())
def test_fifo_links_keep_send_order(sim):
    if not sim.network.fifo:
        return
    last: dict[tuple[str, str], int] = {}
    for e in sim.trace.filter(kind="deliver"):
        link = (e.peer, e.node)
        assert e.msg_id >= last.get(link, -1), f"{link} reordered"
        last[link] = e.msg_id


@given(scenarios())
def test_partitions_and_cuts_drop_exactly_the_cut_messages(sim):
    blocked_at_send = {}
    events = list(replay_status(sim.trace))
    for i, (e, _status, blocked) in enumerate(events):
        if e.kind == "send":
            blocked_at_send[e.msg_id] = (e.node, e.peer) in blocked
            if (e.node, e.peer) in blocked:  # the very next event drops it, for that reason
                nxt = events[i + 1][0]
                assert (nxt.kind, nxt.msg_id, nxt.data) == ("drop", e.msg_id, {"reason": "partition"})
        elif e.kind == "deliver":
            assert (e.peer, e.node) not in blocked
            assert not blocked_at_send[e.msg_id]
        elif e.kind == "drop" and e.data["reason"] == "partition":
            assert (e.node, e.peer) in blocked


@given(scenarios())
def test_down_and_paused_nodes_handle_nothing(sim):
    for e, status, _blocked in replay_status(sim.trace):
        if e.kind in ("deliver", "timer_fire", "start", "send", "timer_set"):
            assert status.get(e.node, "up") == "up", e
        if e.kind == "drop" and e.data["reason"] == "crashed":
            assert status[e.peer] == "crashed"


@given(scenarios())
def test_crashes_lose_volatile_state_and_keep_stable(sim):
    recoveries = Counter(e.node for e in sim.trace.filter(kind="recover"))
    for node_id, node in sim.nodes.items():
        assert node.stable["boots"] == 1 + recoveries[node_id]
        if sim.status(node_id) == "crashed":
            assert set(vars(node)) <= {"id", "stable", "rng", "_sim", "_init_args"}
            continue
        restarts = [e.seq for e in sim.trace.events if e.node == node_id and e.kind in ("start", "recover")]
        since = [e for e in sim.trace.events[restarts[-1]:]
                 if e.kind == "deliver" and e.node == node_id]
        assert len(node.received) == len(since)


@given(scenarios())
def test_timers_fire_on_time_unless_paused_and_never_after_cancel_or_crash(sim):
    set_at = {e.msg_id: (e.node, e.data["at"]) for e in sim.trace.filter(kind="timer_set")}
    cancelled = {e.msg_id for e in sim.trace.filter(kind="timer_cancel")}
    paused_nodes = {e.node for e in sim.trace.filter(kind="pause")}
    crash_times = defaultdict(list)
    for e in sim.trace.filter(kind="crash"):
        crash_times[e.node].append(e.time)
    set_time = {e.msg_id: e.time for e in sim.trace.filter(kind="timer_set")}
    for e in sim.trace.filter(kind="timer_fire"):
        node, at = set_at[e.msg_id]
        assert e.msg_id not in cancelled
        assert e.time >= at
        if node not in paused_nodes:
            assert e.time == at
        assert not any(set_time[e.msg_id] <= c <= e.time for c in crash_times[node])


def test_scenarios_exercise_every_fault_kind():
    """The strategies above are not vacuous: across a few seeds every fault actually happens."""
    seen = Counter()
    for seed in range(6):
        sim = ds.sim.Simulation(seed=seed, network=ds.sim.lossy())
        for i in range(4):
            sim.add_node(Chatter(f"n{i}", n_msgs=15, period=10.0))
        sim.schedule_nemesis(sim.random_nemesis(until=200.0, mean_gap=20.0, mean_duration=30.0))
        sim.run()
        seen.update(e.kind for e in sim.trace)
        seen.update(e.data["reason"] for e in sim.trace.filter(kind="drop"))
    for kind in ("crash", "recover", "pause", "resume", "partition", "heal", "clock_jump",
                 "duplicate", "loss", "partition", "crashed", "timer_cancel", "timer_fire"):
        assert seen[kind] > 0, kind
