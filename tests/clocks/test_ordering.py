"""Broadcast delivery orders and TrueTime commit wait."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dscourse.clocks import Group, commit_order, deliverable, question_answer


def test_question_answer_race_breaks_fifo_and_none_but_not_causal_or_total() -> None:
    runs = {o: question_answer(o) for o in ("none", "fifo", "causal", "total")}
    for order in ("none", "fifo"):
        assert runs[order].violations("causal"), order
        assert runs[order].deliveries()["c"].index("A") < runs[order].deliveries()["c"].index("Q")
    assert runs["causal"].violations("causal") == []
    assert runs["causal"].violations("total")             # causal does not order concurrent ones
    assert runs["total"].violations("total") == []
    assert runs["total"].violations("causal") == []
    assert {tuple(v) for v in runs["total"].deliveries().values()} == {("Q", "C", "A")}


plans = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 60)), min_size=1, max_size=10)
latencies = st.lists(st.integers(1, 50), min_size=6, max_size=6)


@given(plan=plans, lat=latencies, order=st.sampled_from(["fifo", "causal", "total"]))
def test_each_order_keeps_its_guarantee_and_delivers_everything(plan, lat, order) -> None:
    g = Group(order, n=3, seed=1)
    links = [(a, b) for a in "abc" for b in "abc" if a != b]
    for (a, b), ms in zip(links, lat, strict=False):
        g.sim.set_link(a, b, latency=float(ms))
    for k, (who, at) in enumerate(sorted(plan, key=lambda p: p[1])):
        g.run(until=at)
        g.nodes["abc"[who]].bcast(f"m{k}")
    g.run(until=1_000)
    assert g.violations(order) == []
    assert all(len(v) == len(plan) for v in g.deliveries().values())
    if order in ("causal", "total"):
        assert g.violations("fifo") == []


def test_deliverable_is_the_vector_clock_condition() -> None:
    assert deliverable({"a": 1}, "a", {})
    assert not deliverable({"a": 2}, "a", {})                 # a's first is missing
    assert not deliverable({"a": 1, "b": 1}, "a", {"a": 0})   # depends on b's first
    assert deliverable({"a": 1, "b": 1}, "a", {"b": 1})


@given(a=st.floats(-5, 5), b=st.floats(-5, 5))
def test_commit_wait_gives_external_consistency_within_epsilon(a: float, b: float) -> None:
    run = commit_order(a, b, epsilon_ms=5.0)
    assert run.externally_consistent
    assert run.waited_ms <= 2 * 5.0 + 0.01


def test_without_commit_wait_a_slower_clock_orders_backwards() -> None:
    assert not commit_order(4.0, -4.0, epsilon_ms=5.0, commit_wait=False).externally_consistent
    assert commit_order(4.0, -4.0, epsilon_ms=5.0).externally_consistent
