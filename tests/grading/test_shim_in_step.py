"""The sandbox's ``ds.sim.Node`` stand-in (``grading/runtime/shim.py``) keeps the crash rules of
``dscourse.sim.Node``: the same crash/recover script, run through both, leaves the same state."""

from __future__ import annotations

import sys
import types

import pytest

import dscourse as ds
from dscourse import sim as dsim
from dscourse.grading.remote import RemoteClass, Sandboxes, make_node

SCRIPT = """
class Keeper(ds.sim.Node):
    def __init__(self, node_id, start=3, **extra):
        super().__init__(node_id)
        self.volatile = start
        self.extra = dict(extra)
        self.stable.setdefault("boots", 0)

    def on_start(self):
        self.stable["boots"] += 1
        self.seen = []
        self.set_timer(5, "tick")

    def on_timer(self, name, payload):
        self.volatile += 1
        self.seen.append(self.now)
        self.stable.setdefault("draws", []).append(int(self.rng.integers(1000)))
        self.set_timer(5, "tick")

    def on_crash(self):
        self.stable["crashed_with"] = self.volatile
        self.annotate(crashing=self.volatile)

    def snapshot(self):
        return sorted((k, repr(v)) for k, v in vars(self).items() if not k.startswith("_"))


class Renamer(Keeper):
    def __init__(self, node_id, start=3):
        again = self.__dict__.get("stable", {}).get("boots")
        super().__init__(node_id + "-again" if again else node_id, start)
"""


def _local_class(name: str):
    module = types.ModuleType("shim_script")
    module.ds = ds
    sys.modules["shim_script"] = module
    exec(SCRIPT, module.__dict__)  # noqa: S102 - our own script
    return module.__dict__[name]


def _run(cls, seed: int, crash_at: float, down_ms: float) -> list:
    """Start two nodes, crash ``k`` at ``crash_at``, recover it ``down_ms`` later; snapshots of
    ``k`` before the crash, while down, after recovery and at the end, plus the trace."""
    s = dsim.Simulation(seed=seed)
    nodes = [make_node(cls, n, start=seed, methods=("snapshot",)) for n in ("k", "other")]
    for node in nodes:
        s.add_node(node)
    k = nodes[0]
    shots = []
    s.run(until=crash_at)
    shots.append(k.snapshot())
    s.crash("k")
    shots.append(k.snapshot())
    s.run(until=crash_at + down_ms)
    s.recover("k")
    shots.append(k.snapshot())
    s.run(until=crash_at + down_ms + 30)
    shots.append(k.snapshot())
    trace = [(e.kind, e.node, e.time) for e in s.trace.events]
    return [shots, trace]


def _snapshots_without_rng(shots: list) -> list:
    """``rng`` is a numpy Generator in both, but its repr names its address: compare names."""
    return [[(k, "<rng>" if k == "rng" else v) for k, v in shot] for shot in shots]


@pytest.mark.parametrize(("seed", "crash_at", "down_ms"), [(1, 12.0, 7.0), (2, 23.5, 40.0), (7, 5.0, 0.5)])
def test_crash_and_recovery_leave_the_same_state(seed, crash_at, down_ms):
    local = _run(_local_class("Keeper"), seed, crash_at, down_ms)
    with Sandboxes([["E0.0", SCRIPT]], ["Keeper"], timeout=20) as boxes:
        assert boxes.start()["names"] == {"Keeper": "node"}
        remote = _run(RemoteClass(boxes, "Keeper"), seed, crash_at, down_ms)
    assert _snapshots_without_rng(remote[0]) == _snapshots_without_rng(local[0])
    assert remote[1] == local[1]
    down = dict(local[0][1])
    assert set(down) == {"id", "stable", "rng"}              # what a crash keeps
    assert "crashed_with" in down["stable"] and "volatile" in dict(local[0][2])


def test_an_init_that_changes_the_id_fails_recovery_in_both():
    """``sim.Node`` refuses a recovery whose ``__init__`` gives another id; so does the shim."""
    def attempt(cls) -> str:
        s = dsim.Simulation(seed=1)
        node = make_node(cls, "k", methods=("snapshot",))
        s.add_node(node)
        s.run(until=6)
        s.crash("k")
        try:
            s.recover("k")
        except Exception as exc:  # noqa: BLE001 - either side's error
            return str(exc)
        return "recovered"

    local = attempt(_local_class("Renamer"))
    with Sandboxes([["E0.0", SCRIPT]], ["Renamer"], timeout=20) as boxes:
        boxes.start()
        remote = attempt(RemoteClass(boxes, "Renamer"))
    assert "id after recovery" in local
    assert "id after recovery" in remote
