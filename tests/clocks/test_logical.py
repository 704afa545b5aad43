"""Logical clocks against the happens-before oracle, on random executions (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.clocks import (
    HLC,
    LamportClock,
    Step,
    VectorClock,
    compare,
    concurrent,
    happens_before,
    happens_before_oracle,
    lamport_stamps,
    random_execution,
    related,
    vector_stamps,
)

executions = st.builds(
    lambda seed, nodes, steps: random_execution(ds.sim.stream(seed, "test:execution"),
                                                nodes=nodes, steps=steps),
    st.integers(0, 10**6), st.integers(1, 5), st.integers(0, 30))


@given(executions)
def test_vector_clocks_decide_happens_before_exactly_as_the_oracle(steps: list[Step]) -> None:
    reach = happens_before_oracle(steps)
    stamps = vector_stamps(steps)
    for i in range(len(steps)):
        for j in range(len(steps)):
            assert compare(stamps[i], stamps[j]) == related(reach, i, j)
            assert happens_before(stamps[i], stamps[j]) == bool(reach[i] >> j & 1)
            assert concurrent(stamps[i], stamps[j]) == (related(reach, i, j) == "||")


@given(executions)
def test_lamport_clock_condition(steps: list[Step]) -> None:
    reach = happens_before_oracle(steps)
    stamps = lamport_stamps(steps)
    for i in range(len(steps)):
        for j in range(len(steps)):
            if reach[i] >> j & 1:
                assert stamps[i] < stamps[j]


def test_lamport_order_does_not_imply_causality() -> None:
    found = 0
    for seed in range(30):
        steps = random_execution(ds.sim.stream(seed, "test:execution"), nodes=3, steps=15)
        reach, stamps = happens_before_oracle(steps), lamport_stamps(steps)
        found += any(stamps[i] < stamps[j] and related(reach, i, j) == "||"
                     for i in range(len(steps)) for j in range(len(steps)))
    assert found >= 25     # concurrent events with ordered Lamport stamps are the rule


def test_oracle_is_transitive_closure_on_a_hand_checked_chain() -> None:
    steps = [Step("a", "send", 0), Step("b", "local"), Step("b", "receive", 0),
             Step("b", "send", 1), Step("c", "receive", 1), Step("a", "local")]
    reach = happens_before_oracle(steps)
    assert related(reach, 0, 4) == "->"        # a's send -> c's receive via b
    assert related(reach, 1, 0) == "||"
    assert related(reach, 5, 4) == "||"
    assert related(reach, 4, 0) == "<-"


def test_clock_objects_follow_the_rules() -> None:
    a, b = LamportClock(), LamportClock(5)
    assert a.send() == 1 and b.receive(1) == 6 and a.receive(9) == 10
    va, vb = VectorClock("a", "ab"), VectorClock("b", "ab")
    m = va.send()
    assert vb.receive(m) == {"a": 1, "b": 1}
    assert happens_before(m, vb.stamp) and not concurrent(m, vb.stamp)
    with pytest.raises(ValueError, match="vector stamp"):
        happens_before({"a": -1}, {})
    with pytest.raises(ValueError, match="message id"):
        happens_before_oracle([Step("a", "receive", 3)])


@given(seed=st.integers(0, 10**6), nodes=st.integers(1, 5), steps=st.integers(1, 40),
       eps=st.integers(0, 20))
def test_hlc_monotonic_close_to_physical_time_and_bounded(seed: int, nodes: int, steps: int,
                                                          eps: int) -> None:
    """Kulkarni et al. 2014, Theorems 1-3: skew <= eps, a tick between a node's events."""
    rng = ds.sim.stream(seed, "test:hlc")
    execution = random_execution(rng, nodes=nodes, steps=steps)
    names = sorted({s.node for s in execution})
    offset = {n: int(rng.integers(0, eps + 1)) for n in names}   # pairwise skew <= eps
    clocks = {n: HLC() for n in names}
    carried, stamps, last = {}, [], {}
    true = 0
    for s in execution:
        true += 1 + int(rng.integers(0, 3))       # every event advances physical time
        pt = true + offset[s.node]
        c = clocks[s.node]
        stamp = c.receive(carried[s.msg], pt) if s.kind == "receive" else c.local(pt)
        if s.kind == "send":
            carried[s.msg] = stamp
        assert stamp > last.get(s.node, (-1, -1))            # strictly monotonic per node
        assert stamp.l - pt <= eps                           # l within eps of physical time
        assert stamp.l >= pt
        assert stamp.c < len(names) * (eps + 1)              # bounded counter
        last[s.node] = stamp
        stamps.append(stamp)
    reach = happens_before_oracle(execution)
    for i in range(len(execution)):
        for j in range(len(execution)):
            if reach[i] >> j & 1:
                assert stamps[i] < stamps[j]
