"""The sandbox and its wire: data only, exact types, deadlines, forged channels."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dscourse.grading import sandbox
from dscourse.grading.runtime import wire
from dscourse.grading.sandbox import Child, ChildError

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | \
    st.floats(allow_nan=False) | st.binary(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=4)
                      | st.frozensets(st.integers(), max_size=4), max_leaves=20)


@given(values)
def test_wire_round_trips_plain_data_exactly(value):
    back = wire.decode(wire.encode(value))
    assert back == value and type(back) is type(value)


@dataclass(frozen=True)
class Msg:
    seq: int
    body: tuple


def test_dataclasses_cross_as_records_in_the_parent():
    data = wire.encode(Msg(3, ("a", 1)))
    rec = wire.decode(data)
    assert rec == wire.Record("Msg", (("seq", 3), ("body", ("a", 1))))
    assert wire.label(data) == "Msg"
    assert wire.decode(data, lambda name, f: Msg(**f)) == Msg(3, ("a", 1))
    assert math.isnan(wire.decode(wire.encode(float("nan"))))


@pytest.mark.parametrize("bad", [object(), lambda: 1, {1, 2}.__iter__()])
def test_code_and_objects_do_not_cross(bad):
    with pytest.raises(wire.WireError):
        wire.encode(bad)


@pytest.mark.parametrize("bad", [{"$c": 1, "f": {}}, {"$t": 3}, {"$x": 1}, {"$d": [[1]]}])
def test_malformed_tags_are_rejected(bad):
    with pytest.raises(wire.WireError):
        wire.decode(bad)


def _load(child: Child, src: str, names=("f",)) -> dict:
    return child.request({"op": "load", "cells": [["E1.1", src]], "names": list(names)})


def test_child_answers_and_reports_student_errors():
    with Child(timeout=10) as child:
        loaded = _load(child, "def f(x):\n    return {'x': (x, [x])}\ndef g():\n    raise KeyError(7)\n",
                       ("f", "g", "h"))
        assert loaded["names"] == {"f": "function", "g": "function", "h": "missing"}
        assert wire.decode(child.request({"op": "fn", "name": "f", "args": [2]})["result"]) == \
            {"x": (2, [2])}
        err = child.request({"op": "fn", "name": "g", "args": []})["error"]
        assert err["type"] == "KeyError" and err["not_implemented"] is False


def test_deadline_kills_an_endless_child():
    with Child(timeout=1.5) as child:
        _load(child, "def f():\n    while True:\n        pass\n")
        start = time.monotonic()
        with pytest.raises(ChildError) as info:
            child.request({"op": "fn", "name": "f", "args": []})
        assert info.value.status == "timeout"
        assert time.monotonic() - start < 5
        assert not child.alive


def test_a_forged_or_out_of_order_response_is_refused():
    with Child(timeout=10) as child:
        _load(child, "import os\ndef f():\n    os.write(4, b'{\"n\": \"x\", \"i\": 3}\\n')\n    return 1\n")
        with pytest.raises(ChildError, match="forged or out of order"):
            child.request({"op": "fn", "name": "f", "args": []})


@pytest.mark.skipif(sandbox.detect() != "full", reason="needs the full sandbox (root + unshare)")
def test_full_jail_sees_no_files_no_network_and_runs_unprivileged():
    src = ("import os, socket\n"
           "def f():\n"
           "    s = socket.socket()\n"
           "    try:\n"
           "        s.connect(('127.0.0.1', 22))\n"
           "        net = 'up'\n"
           "    except OSError as e:\n"
           "        net = type(e).__name__\n"
           "    return (os.getuid(), sorted(os.listdir('/')), os.path.exists('/work/answers.json'), net)\n")
    with Child(timeout=10, slot=3, files={"answers.json": "[]"}) as child:
        _load(child, src)
        uid, top, has_answers, net = wire.decode(child.request({"op": "fn", "name": "f", "args": []})["result"])
    assert uid == sandbox.UID_BASE + 3
    assert "work" in top and "home" not in top and "etc" not in top and "proc" not in top
    assert has_answers
    assert net != "up"


def test_a_broken_sandbox_is_reported_before_grading(monkeypatch):
    from dscourse.errors import ConfigError

    assert sandbox.self_test() == sandbox.detect()
    monkeypatch.setattr(sandbox, "_python", lambda: "/nonexistent/python3")
    with pytest.raises(ConfigError, match="sandbox does not work here"):
        sandbox.self_test("none")


def test_large_answers_cross_the_pipe_and_the_file():
    big = "x = 1\n" + "# padding\n" * 40_000 + "def f():\n    return len(open('answers.json').read())\n"
    with Child(timeout=20, files={"answers.json": "y" * 300_000}) as child:
        assert _load(child, big)["names"] == {"f": "function"}
        assert wire.decode(child.request({"op": "fn", "name": "f", "args": []})["result"]) == 300_000


def test_a_sandboxed_node_behaves_like_a_local_one():
    """The same node class, run locally and through the sandbox, gives the same trace."""
    from dscourse import sim as dsim
    from dscourse.grading.remote import RemoteClass, make_node

    src = ("from dataclasses import dataclass\n"
           "@dataclass(frozen=True)\n"
           "class Ping:\n"
           "    n: int\n"
           "class Pinger(ds.sim.Node):\n"
           "    def on_start(self):\n"
           "        self.count = 0\n"
           "        if self.id == 'a':\n"
           "            self.set_timer(2.5, 'go', (1, 'x'))\n"
           "    def on_timer(self, name, payload):\n"
           "        self.annotate(fired=name, at=self.clock())\n"
           "        self.broadcast(Ping(payload[0] + int(self.rng.integers(3))))\n"
           "    def on_message(self, src, msg):\n"
           "        self.count += 1\n"
           "        if msg.n < 6:\n"
           "            self.send(src, Ping(msg.n + 1))\n"
           "            h = self.set_timer(50, 'never')\n"
           "            self.cancel_timer(h)\n")
    import sys
    import types

    import dscourse as ds

    module = types.ModuleType("local_pinger")
    module.ds = ds
    sys.modules["local_pinger"] = module
    exec(src, module.__dict__)
    ns = module.__dict__

    def run(cls):
        s = dsim.Simulation(seed=4, network=dsim.Network(latency=dsim.Uniform(1, 3)))
        nodes = [make_node(cls, n, observe=("count",)) for n in ("a", "b", "c")]
        for node in nodes:
            s.add_node(node)
        s.run(until=100)
        kinds = [(e.kind, e.node, e.peer, e.time) for e in s.trace.events]
        return kinds, [getattr(node, "count") for node in nodes]

    local = run(ns["Pinger"])
    with Child(timeout=20) as child:
        _load(child, src, ("Pinger",))
        remote = run(RemoteClass(child, "Pinger"))
    assert remote == local
    assert local[1][1] > 0


@pytest.mark.skipif(sandbox.detect() != "full", reason="needs root and unshare")
def test_the_user_namespace_jail_works_too():
    assert sandbox.self_test("userns") == "userns"
