"""Every bad input gets a clear ConfigError (a ValueError) naming the value and what is allowed."""

from __future__ import annotations

import math

import pytest

import dscourse as ds
from dscourse.errors import ConfigError
from dscourse.sim import (
    Constant,
    DuplicateNodeError,
    MessageNotDataError,
    NegativeDelayError,
    NemesisError,
    Network,
    Node,
    NodeCrashedError,
    NodeStateError,
    NotAttachedError,
    ProbabilityError,
    Uniform,
    UnknownNodeError,
    UnknownPendingError,
)


class Idle(Node):
    pass


class NoSuper(Node):
    def __init__(self, name):  # forgets super().__init__
        self.name = name


@pytest.fixture
def sim():
    s = ds.sim.Simulation(seed=1)
    for n in "abc":
        s.add_node(Idle(n))
    s.run()
    return s


def test_errors_are_value_errors():
    for cls in (DuplicateNodeError, MessageNotDataError, NegativeDelayError, NemesisError,
                NodeCrashedError, NodeStateError, NotAttachedError, ProbabilityError,
                UnknownNodeError, UnknownPendingError):
        assert issubclass(cls, ConfigError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True, None.__class__])
def test_bad_seed(seed):
    with pytest.raises(ConfigError, match="seed"):
        ds.sim.Simulation(seed=seed)


def test_bad_network():
    with pytest.raises(ConfigError, match="network='lossy'"):
        ds.sim.Simulation(seed=1, network="lossy")


@pytest.mark.parametrize("field,value,error", [
    ("drop", 1.5, ProbabilityError), ("drop", -0.1, ProbabilityError),
    ("duplicate", math.nan, ProbabilityError), ("long_reorder", 2, ProbabilityError),
    ("drop", True, ProbabilityError), ("latency", -1, NegativeDelayError),
    ("latency", "fast", ConfigError), ("slow", 0, ConfigError), ("fifo", "yes", ConfigError),
])
def test_bad_network_fields(field, value, error):
    with pytest.raises(error, match=f"{value!r}"):
        Network(**{field: value})


@pytest.mark.parametrize("make,error", [
    (lambda: Constant(-1), NegativeDelayError), (lambda: Uniform(5, 1), ConfigError),
    (lambda: Uniform(-1, 1), NegativeDelayError), (lambda: ds.sim.Exponential(0), ConfigError),
    (lambda: ds.sim.LogNormal(-2), ConfigError), (lambda: ds.sim.Pareto(1, 0), ConfigError),
    (lambda: ds.sim.UniformInt(0, 2.5), ConfigError), (lambda: Constant(math.inf), ConfigError),
])
def test_bad_distributions(make, error):
    with pytest.raises(error):
        make()


def test_bad_nodes(sim):
    with pytest.raises(DuplicateNodeError, match="'a'"):
        sim.add_node(Idle("a"))
    with pytest.raises(ConfigError, match="super"):
        sim.add_node(NoSuper("x"))
    with pytest.raises(ConfigError, match="node"):
        sim.add_node("d")
    with pytest.raises(ConfigError, match="node id=3"):
        Idle(3)
    with pytest.raises(ConfigError, match="node id=''"):
        Idle("")
    other = ds.sim.Simulation(seed=2)
    with pytest.raises(ConfigError, match="not yet added"):
        other.add_node(sim.nodes["a"])


def test_unattached_node():
    node = Idle("x")
    with pytest.raises(NotAttachedError, match="add_node"):
        node.send("y", 1)
    with pytest.raises(NotAttachedError):
        _ = node.now


def test_unknown_ids(sim):
    a = sim.nodes["a"]
    with pytest.raises(UnknownNodeError, match=r"'zz'.*expected one of 'a', 'b', 'c'"):
        a.send("zz", 1)
    for action in (lambda: sim.crash("zz"), lambda: sim.recover("zz"),
                   lambda: sim.pause("zz", 1), lambda: sim.partition(["a"], ["zz"]),
                   lambda: sim.cut("a", "zz"), lambda: sim.set_link("zz", "a", drop=0.5),
                   lambda: sim.clock_jump("zz", 5), lambda: sim.status("zz")):
        with pytest.raises(UnknownNodeError, match="zz"):
            action()
    with pytest.raises(KeyError):  # also a KeyError, like a dict lookup
        sim.crash("zz")


def test_bad_timers(sim):
    a = sim.nodes["a"]
    with pytest.raises(NegativeDelayError, match="-1"):
        a.set_timer(-1, "t")
    with pytest.raises(ConfigError, match="nan"):
        a.set_timer(math.nan, "t")
    with pytest.raises(ConfigError, match="timer name=5"):
        a.set_timer(1, 5)
    with pytest.raises(ConfigError, match="timer handle='h'"):
        a.cancel_timer("h")
    with pytest.raises(MessageNotDataError, match="function"):
        a.set_timer(1, "t", payload=lambda: 1)
    assert a.cancel_timer(12345) is False  # unknown or already fired: not an error


def test_messages_must_be_data(sim):
    a = sim.nodes["a"]
    for bad in (lambda: 1, print, a.send, (i for i in range(3)), {"type": "X", "cb": lambda: 0}):
        with pytest.raises(MessageNotDataError, match="not data"):
            a.send("b", bad)
    with pytest.raises(MessageNotDataError):
        a.annotate(callback=print)
    with pytest.raises(ConfigError, match="annotate"):
        a.annotate()


def test_actions_on_crashed_nodes(sim):
    a = sim.nodes["a"]
    sim.crash("a")
    with pytest.raises(NodeCrashedError, match="'a' is crashed"):
        sim.crash("a")
    with pytest.raises(NodeCrashedError, match="'a'"):
        sim.pause("a", 10)
    with pytest.raises(NodeCrashedError, match="send"):
        a.send("b", 1)
    with pytest.raises(NodeCrashedError, match="timer"):
        a.set_timer(1, "t")
    with pytest.raises(NodeStateError, match="'b' is up"):
        sim.recover("b")


def test_bad_faults(sim):
    with pytest.raises(NegativeDelayError):
        sim.pause("a", -5)
    with pytest.raises(ConfigError, match="disjoint"):
        sim.partition(["a", "b"], ["b", "c"])
    with pytest.raises(ConfigError, match="at least one group"):
        sim.partition()
    with pytest.raises(ConfigError, match="list of node ids"):
        sim.partition("ab")
    with pytest.raises(ConfigError, match="set_link field='lag'"):
        sim.set_link("a", "b", lag=3)
    with pytest.raises(ProbabilityError):
        sim.set_link("a", "b", drop=3)


def test_bad_run_arguments(sim):
    sim.run(until=50)
    with pytest.raises(ConfigError, match="until=10"):
        sim.run(until=10)
    with pytest.raises(NegativeDelayError):
        sim.run_until(lambda: False, timeout=-1)
    with pytest.raises(ConfigError, match="predicate"):
        sim.run_until("done", timeout=1)
    with pytest.raises(ConfigError, match="stream name"):
        sim.rng("")


@pytest.mark.parametrize("entry,match", [
    ((10, ("explode", "a")), "'explode' is not allowed"),
    ((10, ("crash",)), "crash takes 1 argument"),
    ((10, ("crash", "a", "b")), "crash takes 1"),
    ((10, ("crash", "zz")), "node id='zz'"),
    ((10, ("crash", 3)), "node id=3"),
    ((-5, ("heal",)), "-5"),
    ((10, ("pause", "a", -1)), "-1"),
    ((10, ("partition", "ab")), "list of lists"),
    ((10, ("partition", [["a"], ["zz"]])), "zz"),
    ((10, ("slow_link", "a", "b", "fast")), "fast"),
    ((10,), "expected \\(time_ms, action\\)"),
    ("crash", "expected \\(time_ms, action\\)"),
    ((1, ("heal",)), "before now"),
])
def test_bad_nemesis_entries(sim, entry, match):
    sim.run(until=5)
    with pytest.raises(NemesisError, match=match):
        sim.schedule_nemesis([(20, ("heal",)), entry])
    assert sim.peek() is None, "nothing was queued"


def test_bad_nemesis_schedule_and_generator(sim):
    with pytest.raises(NemesisError, match="list of"):
        sim.schedule_nemesis("crash a")
    with pytest.raises(ConfigError, match="nemesis kind='meteor'"):
        sim.random_nemesis(until=100, kinds=["meteor"])
    with pytest.raises(NegativeDelayError):
        sim.random_nemesis(until=100, mean_gap=-1)


def test_controlled_scheduling_unknown_ids(sim):
    a = sim.nodes["a"]
    handle = a.set_timer(5, "t")
    timer_id = sim.pending()[0].id
    assert sim.pending()[0].kind == "timer" and handle >= 0
    with pytest.raises(UnknownPendingError, match="999"):
        sim.fire(999)
    with pytest.raises(UnknownPendingError, match="delivery"):
        sim.drop(timer_id)
    with pytest.raises(UnknownPendingError):
        sim.duplicate(timer_id)
