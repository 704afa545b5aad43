"""The sandbox and its wire: data only, exact types, deadlines, forged channels."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


@pytest.mark.parametrize("bad", [bytearray(b"ab"), memoryview(b"ab")])
def test_byte_buffers_are_refused_with_how_to_send_them(bad):
    with pytest.raises(wire.WireError, match=r"convert it with bytes\(\.\.\.\)"):
        wire.encode({"out": [bad]})
    assert wire.decode(wire.encode(bytes(bad))) == b"ab"


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
    """The wall-clock budget, not the CPU rlimit (timeout + 2 s of CPU, which would make it a
    crash), ends an endless handler: judged by who stopped it, not by how long it took."""
    with Child(timeout=1.5) as child:
        _load(child, "def f():\n    while True:\n        pass\n")
        with pytest.raises(ChildError) as info:
            child.request({"op": "fn", "name": "f", "args": []})
        assert info.value.status == "timeout"
        assert "1.5 s limit" in info.value.reason
        assert child.spent >= 1.5
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
        assert uid == child.uid
    assert uid in sandbox.slot_uids(3)
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
    from dscourse.grading.remote import Sandboxes

    module = types.ModuleType("local_pinger")
    module.ds = ds
    sys.modules["local_pinger"] = module
    exec(src, module.__dict__)  # noqa: S102 - the test's own node class, run locally
    ns = module.__dict__

    def run(cls):
        s = dsim.Simulation(seed=4, network=dsim.Network(latency=dsim.Uniform(1, 3)))
        nodes = [make_node(cls, n, observe=("count",)) for n in ("a", "b", "c")]
        for node in nodes:
            s.add_node(node)
        s.run(until=100)
        kinds = [(e.kind, e.node, e.peer, e.time) for e in s.trace.events]
        return kinds, [node.count for node in nodes]

    local = run(ns["Pinger"])
    with Sandboxes([["E1.1", src]], ["Pinger"], timeout=20) as boxes:
        assert boxes.start()["names"] == {"Pinger": "node"}
        remote = run(RemoteClass(boxes, "Pinger"))
        assert len(boxes.children) == 3          # one process per node instance (main hosts the first)
    assert remote == local
    assert local[1][1] > 0


@pytest.mark.skipif(sandbox.detect() != "full", reason="needs root and unshare")
def test_the_user_namespace_jail_works_too():
    assert sandbox.self_test("userns") == "userns"


# ---- hardening (issue 12): one process per node, bounded channel, whole-sandbox kill, jail view


def test_each_node_instance_runs_in_its_own_process():
    """Module globals are per process: nodes can only talk through the simulated network."""
    from dscourse import sim as dsim
    from dscourse.grading.remote import RemoteClass, Sandboxes, make_node

    src = ("import os\n"
           "SEEN = []\n"
           "TOKEN = os.urandom(8).hex()\n"
           "class Peer(ds.sim.Node):\n"
           "    def on_start(self):\n"
           "        SEEN.append(self.id)\n"
           "        self.token = TOKEN\n"
           "        self.seen = list(SEEN)\n")
    with Sandboxes([["E1.1", src]], ["Peer"], timeout=20) as boxes:
        boxes.start()
        for seed in (1, 2):                          # the second trial reuses each slot's process
            s = dsim.Simulation(seed=seed)
            nodes = [make_node(RemoteClass(boxes, "Peer"), n, observe=("seen", "token"))
                     for n in ("a", "b", "c")]
            for node in nodes:
                s.add_node(node)
            s.run(until=1)
            assert [node.seen for node in nodes] == [[n] * seed for n in ("a", "b", "c")]
            assert len({node.token for node in nodes}) == 3
        assert len(boxes.children) == 3


def _sysvipc() -> dict[str, list[str]]:
    out = {}
    for kind in ("shm", "msg", "sem"):
        path = f"/proc/sysvipc/{kind}"
        try:
            with open(path) as fh:
                out[kind] = fh.read().splitlines()[1:]
        except OSError:
            out[kind] = []
    return out


ESCAPE = """
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
IPC = {}
def f():
    libc.prctl(1, 0, 0, 0, 0)                    # forget the parent-death signal
    IPC['shm'] = libc.shmget(0x5eed, 4096, 0o1666)
    IPC['msg'] = libc.msgget(0x5eed, 0o1666)
    IPC['sem'] = libc.semget(0x5eed, 1, 0o1666)
    try:
        os.setsid()
    except OSError:
        pass
    n = 0
    for _ in range(40):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            libc.prctl(1, 0, 0, 0, 0)
            try:
                os.setsid()
            except OSError:
                pass
            while True:
                time.sleep(60)
        n += 1
    return [n, sorted(v for v in IPC.values())]
"""


@pytest.mark.skipif(sandbox.detect() != "full", reason="needs the full sandbox (root + unshare)")
def test_closing_kills_the_whole_sandbox_and_its_ipc_objects():
    before = _sysvipc()
    with Child(timeout=10) as child:
        _load(child, ESCAPE)
        forked, ipc = wire.decode(child.request({"op": "fn", "name": "f", "args": []})["result"])
        uid = child.uid
        assert forked >= 10 and all(i >= 0 for i in ipc)   # the attack itself worked
        assert len(sandbox.processes_of({uid})) > forked
    assert sandbox.processes_of({uid}) == []
    assert _sysvipc() == before


PREWRITE = """
import gc, json, os, time
def f():
    runner = next(o for o in gc.get_objects() if type(o).__name__ == "Runner")
    os.set_blocking(4, False)
    for k in range(1, 2000):
        reply = {"n": runner.nonce, "i": runner.seq + k, "blocked": [], "result": None}
        try:
            os.write(4, (json.dumps(reply) + "\\n").encode())
        except OSError:
            break
    time.sleep(3600)                                # and never read the request pipe again
"""


def test_a_child_that_stops_reading_cannot_block_the_parent():
    with Child(timeout=2) as child:
        _load(child, PREWRITE)
        child.request({"op": "fn", "name": "f", "args": []})
        with pytest.raises(ChildError) as info:
            for _ in range(200):                   # each request < 4 KiB; the pipe holds 64 KiB
                child.request({"op": "fn", "name": "f", "args": ["x" * 4000]})
        assert info.value.status == "timeout"
        assert not child.alive


def test_a_deeply_nested_reply_is_a_crash_not_a_grader_error():
    src = ("import gc, os\n"
           "def f():\n"
           "    r = next(o for o in gc.get_objects() if type(o).__name__ == 'Runner')\n"
           "    deep = '[' * 200000 + ']' * 200000\n"
           "    os.write(4, ('{\"n\": \"%s\", \"i\": %d, \"result\": %s}\\n' % (r.nonce, r.seq + 1, deep)).encode())\n"
           "    os._exit(0)\n")
    with Child(timeout=10) as child:
        _load(child, src)
        with pytest.raises(ChildError, match="nested too deeply"):
            child.request({"op": "fn", "name": "f", "args": []})


def test_blocked_import_names_are_few_and_well_formed():
    src = ("import importlib\n"
           "def f(n):\n"
           "    for i in range(n):\n"
           "        try:\n"
           "            importlib.import_module('dscourse.leak.v%d' % i)\n"
           "        except ImportError:\n"
           "            pass\n"
           "    for name in ('dscourse.x.' + 'A' * 300, 'dscourse.x.a b'):\n"
           "        try:\n"
           "            importlib.import_module(name)\n"
           "        except ImportError:\n"
           "            pass\n")
    with Child(timeout=10) as child:
        _load(child, src)
        child.request({"op": "fn", "name": "f", "args": [1000]})
    assert 0 < len(child.blocked) <= sandbox.MAX_BLOCKED
    assert all(sandbox.MODULE_NAME.fullmatch(name) for name in child.blocked)


@pytest.mark.skipif(sandbox.detect() != "full", reason="needs the full sandbox (root + unshare)")
def test_the_jail_shows_no_installed_packages_and_no_library():
    """Every site-/dist-packages folder of the interpreter is empty in the jail, and no path
    named ``dscourse`` is visible except the stand-in."""
    import os
    import sys

    roots = ["/usr", os.path.realpath(sys.base_prefix)]
    hidden = [d for d in sandbox.hidden_dirs(roots) if os.listdir(d)]
    assert hidden, "the host should have at least one non-empty site-packages to hide"
    src = ("import os\n"
           "def f(dirs):\n"
           "    seen = {d: sorted(os.listdir(d)) if os.path.isdir(d) else [] for d in dirs}\n"
           "    lib = []\n"
           "    for top, subdirs, files in os.walk('/'):\n"
           "        subdirs[:] = [s for s in subdirs if s not in ('proc', 'sys', 'dev')]\n"
           "        lib += [os.path.join(top, n) for n in subdirs + files if 'dscourse' in n]\n"
           "    return [seen, lib]\n")
    with Child(timeout=20) as child:
        _load(child, src)
        seen, lib = wire.decode(child.request({"op": "fn", "name": "f", "args": [hidden]})["result"])
    assert seen == {d: [] for d in hidden}
    assert lib == ["/rt/pkgs/dscourse"]


def test_a_starved_child_is_charged_its_cpu_not_the_wait():
    """Stopped (as a child starved by a loaded machine is, in effect) for longer than its
    budget, a child that used little CPU still answers; one that used its budget in CPU does
    not (test_deadline_kills_an_endless_child), and one that sleeps ends at WALL_FACTOR x."""
    with Child(timeout=1.0) as child:
        _load(child, "def f(x):\n    return x + 1\n")
        if child.cpu() is None:
            pytest.skip("the sandbox's CPU time cannot be read here (userns without cgroups)")
        target = child.proc.pid if child.cgroup is None else None
        pids = [target] if target else [int(p) for p in
                                         Path(child.cgroup, "cgroup.procs").read_text().split()]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        # resumed 1.6 s later by another process, while this one waits for the answer
        subprocess.Popen(["sh", "-c", "sleep 1.6; kill -CONT " + " ".join(map(str, pids))])
        assert child.request({"op": "fn", "name": "f", "args": [1]})["result"] == 2
        assert child.spent > child.timeout     # waited past the budget, charged far less CPU
        assert child.cpu() - child.free_cpu < child.timeout


def test_a_sleeping_child_ends_at_the_wall_factor():
    with Child(timeout=1.0) as child:
        _load(child, "import time\ndef f():\n    time.sleep(60)\n")
        if child.cpu() is None:
            pytest.skip("the sandbox's CPU time cannot be read here (userns without cgroups)")
        start = time.monotonic()
        with pytest.raises(ChildError) as info:
            child.request({"op": "fn", "name": "f", "args": []})
        assert info.value.status == "timeout"
        assert sandbox.WALL_FACTOR * 1.0 <= time.monotonic() - start < 30
        assert not child.alive
