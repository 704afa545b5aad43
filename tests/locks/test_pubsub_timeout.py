"""``PubSub.get_message(timeout)`` waits in virtual time, as redis-py's does in real time."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.redis import Command


class Publisher(ds.sim.Node):
    """Publishes ``hello`` on ``ch`` at ``at`` ms (the reply is ignored)."""

    def __init__(self, id: str, at: float) -> None:
        super().__init__(id)
        self.at = at

    def on_start(self) -> None:
        self.set_timer(self.at, "publish")

    def on_timer(self, name: str, payload: Any) -> None:
        self.send("redis", Command(1, ("PUBLISH", "ch", "hello")))


def setup(at: float) -> tuple[Any, Any]:
    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(latency=ds.sim.Uniform(1.0, 1.0)))
    sim.add_node(ds.redis.RedisServer("redis", persistence="none"))
    sim.add_node(Publisher("pub", at))
    sim.run(until=0.5)
    p = ds.redis.client(sim, "redis", decode_responses=True).pubsub()
    p.subscribe("ch")
    return sim, p


@settings(max_examples=30, deadline=None)
@given(st.floats(5, 500), st.floats(0.001, 1.0))
def test_waits_until_the_message_or_the_timeout(at: float, timeout_s: float) -> None:
    sim, p = setup(at)
    assert p.get_message(ignore_subscribe_messages=True, timeout=0) is None  # 0: no waiting
    start = sim.now
    msg = p.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
    arrives = at + 1.0  # the publisher's timer started at 0, plus one 1 ms hop to the server
    if arrives <= start + timeout_s * 1000 - 0.001:
        assert msg is not None and msg["data"] == "hello" and msg["channel"] == "ch"
        assert sim.now == pytest.approx(arrives, abs=0.001)  # returned as soon as it arrived
    elif arrives > start + timeout_s * 1000 + 0.001:
        assert msg is None
        assert sim.now == pytest.approx(start + timeout_s * 1000, abs=0.001)


def test_subscribe_confirmation_is_returned_first_and_none_waits_for_the_message() -> None:
    sim, p = setup(40)
    assert p.get_message(timeout=5)["type"] == "subscribe"  # already queued: no time passes
    assert sim.now == 0.5
    msg = p.get_message(timeout=None)
    assert msg["data"] == "hello" and 40 < sim.now < 43
    start = sim.now
    assert p.get_message(timeout=None) is None  # no publisher left: gives up after one virtual hour
    assert sim.now == pytest.approx(start + 3_600_000)


@pytest.mark.parametrize("bad", [-1, float("nan"), "1", True])
def test_bad_timeouts(bad: Any) -> None:
    _, p = setup(10)
    with pytest.raises(ValueError, match="timeout"):
        p.get_message(timeout=bad)
