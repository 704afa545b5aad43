"""The trace: JSON-safe rendering, JSON lines round trip, digest, filter, stats, annotate."""

from __future__ import annotations

import enum
import io
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.sim import Event, Node, Trace, jsonable
from dscourse.sim.trace import label_of


@dataclass(frozen=True)
class Vote:
    term: int
    granted: bool


class Pair(NamedTuple):
    a: int
    b: tuple


class Color(enum.Enum):
    RED = 1


def test_jsonable_renders_data_deterministically():
    assert jsonable(Vote(3, True)) == {"term": 3, "granted": True}
    assert jsonable(Pair(1, (2, 3))) == {"a": 1, "b": [2, 3]}
    assert jsonable({1: {3, 1, 2}, "k": (math.inf, -math.inf, math.nan)}) == {
        "1": [1, 2, 3], "k": ["inf", "-inf", "nan"]}
    assert jsonable([Color.RED, b"\x01\xff", np.int64(4), np.float64(0.5)]) == ["RED", "01ff", 4, 0.5]
    assert jsonable(frozenset({"b", "a"})) == ["a", "b"]


def test_labels():
    assert label_of(Vote(1, False)) == "Vote"
    assert label_of({"type": "append_entries", "x": 1}) == "append_entries"
    assert label_of({"kind": "x"}) == "dict"
    assert label_of(7) == "int"


class Talker(Node):
    def on_start(self):
        self.annotate(role="follower", term=0)
        if self.id == "c":
            self.annotate(op="write")
            self.send("a", Vote(1, True))
            self.send("b", {"type": "Put", "key": "x", "value": [1, 2]})

    def on_message(self, src, msg):
        self.annotate(role="leader", term=1)


def run():
    sim = ds.sim.Simulation(seed=4, network=ds.sim.reliable(latency=2))
    for n in "abc":
        sim.add_node(Talker(n))
    sim.run()
    return sim


def test_trace_contents_follow_the_contract(tmp_path):
    sim = run()
    send = sim.trace.filter(kind="send")[0]
    deliver = sim.trace.filter(kind="deliver")[0]
    assert send == Event(send.seq, 0, "send", "c", "a", send.msg_id, "Vote",
                         {"term": 1, "granted": True})
    assert (deliver.node, deliver.peer, deliver.msg_id, deliver.time) == ("a", "c", send.msg_id, 2000)
    ann = sim.trace.filter(kind="annotate", node="a")
    assert ann[-1].data == {"role": "leader", "term": 1} and ann[-1].label == "role,term"
    assert [e.seq for e in sim.trace] == list(range(len(sim.trace)))
    assert sim.trace[0].kind == "start" and len(sim.trace.filter(kind=["start", "send"])) == 5
    with pytest.raises(ValueError, match="kind='sned'"):
        sim.trace.filter(kind="sned")

    path = tmp_path / "t.jsonl"
    sim.trace.to_jsonl(path)
    back = Trace.from_jsonl(path)
    assert back.events == sim.trace.events and back.digest() == sim.trace.digest()
    assert back.digest() == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert run().trace.digest() == sim.trace.digest()


def test_stats_like_maelstrom():
    stats = run().trace.stats(clients=["c"])
    assert stats["sent"] == 2 and stats["delivered"] == 2 and stats["dropped"] == 0
    assert stats["by_label"]["Put"]["messages"] == 1
    assert stats["by_label"]["Put"]["bytes"] == len('{"key":"x","type":"Put","value":[1,2]}')
    assert stats["operations"] == 1 and stats["msgs_per_op"] == 2.0
    assert stats["servers"] == {"sent": 0, "msgs_per_op": 0.0}


def test_bad_jsonl_is_rejected():
    with pytest.raises(ValueError, match="line 1"):
        Trace.from_jsonl(io.StringIO("{not json}\n"))
    with pytest.raises(ValueError, match="seq on line 1"):
        Trace.from_jsonl(io.StringIO('{"seq":5,"time":0,"kind":"heal","node":null,"peer":null,'
                                     '"msg_id":null,"label":null,"data":null}\n'))


data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8)


@given(st.lists(data, max_size=5))
def test_messages_round_trip_through_json_lines(payloads):
    class Once(Node):
        def on_start(self):
            for p in payloads:
                self.send(self.id, p)

    sim = ds.sim.Simulation(seed=1)
    sim.add_node(Once("a"))
    sim.run()
    back = Trace.from_jsonl(io.StringIO(sim.trace.to_jsonl_string()))
    assert back.events == sim.trace.events
    assert back.digest() == sim.trace.digest()
