"""Controlled scheduling (TRACE.md): pending, fire, drop, duplicate, step, run_until."""

from __future__ import annotations

import dscourse as ds
from dscourse.sim import Node


class Fan(Node):
    """``a`` sends one message to each peer at start and sets a timer."""

    def __init__(self, id):
        super().__init__(id)
        self.got = []

    def on_start(self):
        if self.id == "a":
            for i, p in enumerate(self.peers):
                self.send(p, {"type": "Hello", "i": i})
            self.set_timer(50, "tick", {"k": 1})

    def on_message(self, src, msg):
        self.got.append((self.now, src, msg["i"]))

    def on_timer(self, name, payload):
        self.got.append((self.now, name, payload["k"]))


def started(latency=None, seed=3):
    latency = ds.sim.Uniform(1, 30) if latency is None else latency
    sim = ds.sim.Simulation(seed=seed, network=ds.sim.Network(latency=latency))
    for n in "abcd":
        sim.add_node(Fan(n))
    for _ in range(4):
        assert sim.step().kind == "start"
    return sim


def test_pending_lists_deliveries_and_timers_in_firing_order_and_step_follows_it():
    sim = started()
    pending = sim.pending()
    assert [p.kind for p in pending].count("deliver") == 3 and pending[-1].kind == "timer"
    assert [p.time for p in pending] == sorted(p.time for p in pending)
    timer = pending[-1]
    assert (timer.node, timer.label, timer.msg) == ("a", "tick", {"k": 1})
    first = pending[0]
    assert (first.kind, first.peer, first.label) == ("deliver", "a", "Hello")
    assert sim.step() == first
    assert sim.pending() == pending[1:]
    steps = [sim.step() for _ in range(3)]
    assert steps == pending[1:] and sim.step() is None


def test_fire_runs_a_later_event_first_and_time_never_goes_back():
    sim = started()
    *_, timer = sim.pending()
    fired = sim.fire(timer.id)
    assert fired == timer and sim.now == 50.0
    assert sim.nodes["a"].got == [(50.0, "tick", 1)]
    assert timer.id not in [p.id for p in sim.pending()]
    sim.run()
    assert [e.time for e in sim.trace.filter(kind="deliver")] == [50000] * 3
    assert not sim.trace.filter(kind="timer_fire")[1:]


def test_drop_and_duplicate_pending_deliveries():
    sim = started()
    p = sim.pending()
    sim.drop(p[0].id)
    copy_id = sim.duplicate(p[1].id)
    assert copy_id in [q.id for q in sim.pending()]
    assert p[0].id not in [q.id for q in sim.pending()]
    sim.run()
    drop = sim.trace.filter(kind="drop")[0]
    assert drop.data == {"reason": "debugger"} and drop.peer == p[0].node
    delivered = [e.msg_id for e in sim.trace.filter(kind="deliver")]
    dup = sim.trace.filter(kind="duplicate")[0]
    assert delivered.count(dup.msg_id) == 2 and len(delivered) == 3


def test_step_on_a_fresh_simulation_and_run_until():
    sim = started(latency=ds.sim.Constant(5))
    assert sim.run_until(lambda: len(sim.nodes["b"].got) == 1, timeout=100)
    assert sim.now == 5.0
    assert sim.run_until(lambda s: s.now >= 50, timeout=100)
    assert not sim.run_until(lambda: False, timeout=25)
    assert sim.now == 75.0


def test_same_choices_same_trace():
    def run():
        sim = started(seed=8)
        while sim.pending():
            sim.fire(sim.pending()[-1].id)  # always the last: a reversed schedule
        return sim.trace.digest()

    assert run() == run()
