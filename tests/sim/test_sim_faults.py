"""Crash/recover, pause, clock jumps, links and the nemesis, unit by unit."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.sim import Constant, Node


class Counter(Node):
    """Counts messages; remembers how it was built; persists a durable total in ``stable``."""

    def __init__(self, id: str, start: int = 0) -> None:
        super().__init__(id)
        self.count = start
        self.log: list[tuple[float, str]] = []
        self.stable.setdefault("total", 0)

    def on_start(self) -> None:
        self.log.append((self.now, "start"))

    def on_message(self, src, msg) -> None:
        self.count += 1
        self.stable["total"] += 1
        self.log.append((self.now, f"msg {msg}"))

    def on_timer(self, name, payload) -> None:
        self.log.append((self.now, f"timer {name}"))

    def on_crash(self) -> None:
        self.annotate(last_words=self.count)


class Sender(Node):
    """Sends ``msgs`` as ``(time_ms, dst, msg)`` at the given times (via timers)."""

    def __init__(self, id, plan):
        super().__init__(id)
        self.plan = plan

    def on_start(self):
        for i, (t, _dst, _msg) in enumerate(self.plan):
            self.set_timer(t - self.now, "send", i)

    def on_timer(self, name, i):
        _t, dst, msg = self.plan[i]
        self.send(dst, msg)


def make(plan, network=None):
    sim = ds.sim.Simulation(seed=1, network=network or ds.sim.reliable(latency=1.0))
    sim.add_node(Sender("s", plan))
    sim.add_node(Counter("c", start=10))
    return sim


def test_crash_loses_volatile_state_keeps_stable_and_identity():
    sim = make([(1, "c", "m1"), (2, "c", "m2"), (20, "c", "late"), (40, "c", "after")])
    node = sim.nodes["c"]
    sim.run(until=5)
    assert node.count == 12 and node.stable == {"total": 2}
    sim.crash("c")
    assert set(vars(node)) == {"id", "stable", "rng", "_sim", "_init_args"}
    assert not hasattr(node, "count")
    sim.run(until=30)
    sim.recover("c")
    assert sim.nodes["c"] is node
    assert node.count == 10  # rebuilt from __init__ with the same arguments
    assert node.stable == {"total": 2}
    assert node.log == [(30.0, "start")]  # default on_recover() calls on_start()
    sim.run()
    assert node.count == 11 and node.stable == {"total": 3}
    drops = sim.trace.filter(kind="drop")
    assert [(d.time, d.label, d.data) for d in drops] == [(21000, "str", {"reason": "crashed"})]
    assert sim.trace.filter(kind="annotate")[0].data == {"last_words": 12}
    assert [e.kind for e in sim.trace.filter(node="c")] == [
        "start", "deliver", "deliver", "crash", "annotate", "recover", "deliver"]


def test_crash_cancels_timers_and_message_in_flight_arrives_after_recovery():
    sim = make([(10, "c", "in-flight")], network=ds.sim.reliable(latency=5.0))
    c = sim.nodes["c"]
    sim.run(until=1)
    c.set_timer(3, "doomed")
    sim.run(until=2)
    sim.crash("c")
    assert sim.trace.filter(kind="crash")[0].data == {"timers_cancelled": 1}
    sim.run(until=12)
    sim.recover("c")
    sim.run()
    assert not sim.trace.filter(kind="timer_fire", node="c")
    assert c.log == [(12.0, "start"), (15.0, "msg in-flight")]


def test_pause_defers_everything_in_order():
    sim = make([(10, "c", "a"), (20, "c", "b"), (60, "c", "after")])
    c = sim.nodes["c"]
    sim.run(until=5)
    c.set_timer(25, "t")  # due at 30, inside the pause
    sim.pause("c", 45)  # until 50
    sim.run(until=49)
    assert c.log == [(0.0, "start")]
    assert sim.status("c") == "paused"
    sim.run()
    assert c.log[1:] == [(50.0, "msg a"), (50.0, "msg b"), (50.0, "timer t"), (61.0, "msg after")]
    resume = sim.trace.filter(kind="resume")[0]
    assert (resume.time, resume.data) == (50000, {"backlog": 3})


def test_pausing_again_extends_and_crash_during_pause_drops_the_backlog():
    sim = make([(10, "c", "a"), (30, "c", "b")])
    sim.pause("c", 20)
    sim.run(until=5)
    sim.pause("c", 10)  # ends at 15 < 20: the longer pause wins
    sim.run(until=19)
    assert sim.status("c") == "paused"
    sim.run(until=21)
    assert sim.status("c") == "up"
    sim.pause("c", 100)
    sim.run(until=40)
    sim.crash("c")
    assert [(d.label, d.data["reason"]) for d in sim.trace.filter(kind="drop")] == [("str", "crashed")]
    sim.run()
    assert not sim.trace.filter(kind="resume")[1:]


def test_clock_jump_moves_only_the_local_clock():
    sim = make([])
    sim.run(until=10)
    c = sim.nodes["c"]
    assert c.clock() == 10.0
    sim.clock_jump("c", -4.5)
    assert c.clock() == 5.5 and c.now == 10.0 and sim.nodes["s"].clock() == 10.0
    sim.crash("c")
    sim.recover("c")
    assert c.clock() == 5.5  # the hardware clock survives a crash


def test_partition_cut_heal_and_rest_group():
    sim = ds.sim.Simulation(seed=1)
    for n in "abcd":
        sim.add_node(Counter(n))
    sim.partition(["a"], ["b"])
    assert ("a", "c") in sim.blocked and ("c", "d") not in sim.blocked
    assert sim.trace.events[-1].data == [["a"], ["b"], ["c", "d"]]
    sim.heal()
    sim.cut("a", "b")
    assert sim.blocked == {("a", "b")}
    sim.partition(["a", "b"], ["c", "d"])
    assert ("a", "b") in sim.blocked  # cuts survive a new partition until heal()
    sim.heal()
    assert sim.blocked == frozenset()


def test_set_link_and_slow_link():
    sim = make([(1, "c", "x"), (2, "c", "y")])
    sim.set_link("s", "c", latency=Constant(2.0), slow=3.0)
    assert sim.link("s", "c").latency == Constant(2.0) and sim.link("c", "s").slow == 1.0
    sim.run()
    assert [e.time for e in sim.trace.filter(kind="deliver")] == [7000, 8000]
    link = sim.trace.filter(kind="link")[0]
    assert (link.node, link.peer, link.data["slow"]) == ("s", "c", 3.0)
    sim.slow_link("s", "c", 50)
    assert sim.link("c", "s").latency == Constant(50.0)


def test_nemesis_schedule_applies_each_action_on_time():
    sim = ds.sim.Simulation(seed=1)
    for n in "abcd":
        sim.add_node(Counter(n))
    sim.schedule_nemesis([
        (10, ("partition", [["a", "b"], ["c", "d"]])),
        (20, "heal"),  # flat form: (time, name, *args)
        (30, ("crash", "c")),
        (40, ("recover", "c")),
        (50, ("pause", "b", 200)),
        (60, ("clock_jump", "d", 25)),
        (70, ("slow_link", "a", "b", ds.sim.Uniform(5, 6))),
        (80, ("cut", "a", "d")),
    ])
    sim.run()
    got = [(e.time // 1000, e.kind, e.node) for e in sim.trace
           if e.kind not in ("start", "annotate")]
    assert got == [(10, "partition", None), (20, "heal", None), (30, "crash", "c"),
                   (40, "recover", "c"), (50, "pause", "b"), (60, "clock_jump", "d"),
                   (70, "link", "a"), (70, "link", "b"), (80, "cut", "a"), (250, "resume", "b")]


def test_nemesis_object_and_random_schedules_are_consistent_and_reproducible():
    def schedule(seed):
        sim = ds.sim.Simulation(seed=seed)
        for n in "abcde":
            sim.add_node(Counter(n))
        return sim, sim.random_nemesis(until=5_000, mean_gap=50, mean_duration=50)

    sim, sched = schedule(4)
    assert sched == schedule(4)[1] and sched != schedule(5)[1]
    assert {a[0] for _t, a in sched} == {"partition", "heal", "crash", "recover", "pause", "clock_jump"}
    nemesis = ds.sim.Nemesis(sched)
    sim.schedule_nemesis(nemesis)
    sim.run()  # raises if a crash hit a crashed node or a recover an up node
    assert all(sim.status(n) == "up" for n in sim.nodes) and sim.blocked == frozenset()


def test_on_crash_cannot_send():
    class Chatty(Node):
        def on_crash(self):
            self.send(self.id, "goodbye")

    sim = ds.sim.Simulation(seed=1)
    sim.add_node(Chatty("a"))
    with pytest.raises(ds.sim.NodeCrashedError):
        sim.crash("a")
