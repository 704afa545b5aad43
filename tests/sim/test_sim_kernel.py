"""Core kernel semantics: time, ordering, timers, starts, broadcast, run/run_until bounds."""

from __future__ import annotations

import dscourse as ds
from dscourse.sim import Node


class Log(Node):
    def __init__(self, id):
        super().__init__(id)
        self.log = []

    def on_message(self, src, msg):
        self.log.append((self.now, "msg", src, msg))

    def on_timer(self, name, payload):
        self.log.append((self.now, "timer", name, payload))


def test_the_issue_example_runs_and_is_reproducible():
    class Echo(ds.sim.Node):
        def on_start(self):
            if self.id == "a":
                self.send("b", 0)

        def on_message(self, src, msg):
            if msg < 10:
                self.send(src, msg + 1)

    def run():
        sim = ds.sim.Simulation(seed=7, network=ds.sim.Network(latency=ds.sim.Uniform(1, 5), drop=0.1))
        sim.add_node(Echo("a"))
        sim.add_node(Echo("b"))
        sim.run(until=1_000)
        return sim

    sim = run()
    assert sim.now == 1000.0
    assert len(sim.trace.digest()) == 64 and sim.trace.digest() == run().trace.digest()


def test_timers_fire_exactly_on_time_and_ties_keep_insertion_order():
    sim = ds.sim.Simulation(seed=1)
    a = sim.add_node(Log("a"))
    sim.run()
    handles = [a.set_timer(d, f"t{i}", i) for i, d in enumerate([5, 1.5, 5, 0, 2.25])]
    assert a.cancel_timer(handles[2]) is True and a.cancel_timer(handles[2]) is False
    sim.run()
    assert a.log == [(0.0, "timer", "t3", 3), (1.5, "timer", "t1", 1), (2.25, "timer", "t4", 4),
                     (5.0, "timer", "t0", 0)]
    assert a.cancel_timer(handles[0]) is False  # already fired
    assert [e.kind for e in sim.trace.filter(node="a")].count("timer_cancel") == 1


def test_microsecond_resolution_and_run_bounds():
    sim = ds.sim.Simulation(seed=1)
    a = sim.add_node(Log("a"))
    a.set_timer(0.001, "us")  # one microsecond, the kernel's resolution
    sim.run(until=10)
    assert a.log == [(0.001, "timer", "us", None)] and sim.now == 10.0
    assert sim.trace.filter(kind="timer_fire")[0].time == 1
    sim.run()  # nothing left: time stays
    assert sim.now == 10.0


def test_nodes_added_later_start_at_the_current_time_and_broadcast_reaches_all_others():
    class Shout(Log):
        def on_start(self):
            self.broadcast(("hello", self.id))

    sim = ds.sim.Simulation(seed=1, network=ds.sim.reliable(latency=2))
    for n in "ab":
        sim.add_node(Shout(n))
    sim.run(until=10)
    c = sim.add_node(Shout("c"))
    assert sim.nodes["a"].peers == ("b", "c")
    sim.run()
    starts = [(e.node, e.time) for e in sim.trace.filter(kind="start")]
    assert starts == [("a", 0), ("b", 0), ("c", 10000)]
    assert c.log == []  # a and b broadcast at 0, before c existed
    assert [x[:3] for x in sim.nodes["a"].log] == [(2.0, "msg", "b"), (12.0, "msg", "c")]
    assert list(sim.nodes) == ["a", "b", "c"]


def test_nemesis_actions_run_before_messages_due_at_the_same_time():
    sim = ds.sim.Simulation(seed=1, network=ds.sim.reliable(latency=5))
    a, _ = sim.add_node(Log("a")), sim.add_node(Log("b"))
    sim.run()
    a.send("b", "x")  # due at 5
    sim.schedule_nemesis([(5, ("crash", "b"))])
    sim.run()
    assert sim.trace.filter(kind="drop")[0].data == {"reason": "crashed"}


def test_pending_ids_equal_msg_ids_and_timer_handles():
    sim = ds.sim.Simulation(seed=1)
    a = sim.add_node(Log("a"))
    sim.add_node(Log("b"))
    sim.run()
    mid = a.send("b", 1)
    handle = a.set_timer(3, "t")
    assert [(p.id, p.kind) for p in sim.pending()] == [(mid, "deliver"), (handle, "timer")]


def test_repr_and_status():
    sim = ds.sim.Simulation(seed=3)
    sim.add_node(Log("a"))
    assert "seed=3" in repr(sim) and repr(sim.nodes["a"]) == "<Log a>"
    assert sim.status("a") == "up"
