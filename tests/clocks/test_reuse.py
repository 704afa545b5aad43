"""Other chapters on the new clock model: Raft's timing runs with drifting clocks (Chapter 6),
and simulated Snowflake generators see NTP steps as clock rollbacks (Chapter 10)."""

from __future__ import annotations

from typing import Any

import dscourse as ds
from dscourse.raft.timing import timing_run


def test_raft_timing_without_drift_is_unchanged_and_drift_moves_elections() -> None:
    base = timing_run(30, 10, seed=1)
    assert timing_run(30, 10, seed=1, drift_ppm=0) == base
    drifted = timing_run(30, 10, seed=1, drift_ppm=400_000)
    assert drifted == timing_run(30, 10, seed=1, drift_ppm=400_000)     # deterministic
    assert drifted[1:3] != base[1:3]                                     # other elections


class Issuer(ds.sim.Node):
    """A simulated Snowflake worker: one id per local ms from ds.ids.Snowflake on NodeClock."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.gen = ds.ids.Snowflake(ds.ids.TWITTER, worker=1, policy="wait")
        self.clock_ms = ds.ids.NodeClock(self)
        self.ids: list[int] = []
        self.waits = 0

    def on_start(self) -> None:
        self.set_timer(1.0, "id")

    def on_timer(self, name: str, payload: Any) -> None:
        out = self.gen.next_at(self.clock_ms.ms(), retried=name == "retry")
        if isinstance(out, int):
            self.ids.append(out)
            self.set_timer(1.0, "id")
        else:
            self.waits += 1
            self.set_timer(float(out.ms), "retry")


def test_leaf_wait_policy_rides_out_small_ntp_steps_on_simulated_nodes() -> None:
    sim = ds.sim.Simulation(4)
    node = sim.add_node(Issuer("w"))
    sim.set_clock("w", drift_ppm=5_000, sync=ds.sim.NTP(every_ms=500, mode="step"))
    sim.run(until=3_000)
    assert node.waits >= 5                       # each 2.5 ms step back made it wait
    assert node.ids == sorted(set(node.ids))     # still unique and increasing


def test_leaf_snowflake_cluster_on_physical_clocks_step_versus_slew() -> None:
    """Chapter 10's cell: a fast clock 20 ms ahead fails requests once and then waits on every
    step; slewing never makes Leaf wait or fail; ids stay unique either way."""
    out = {}
    for mode in ("step", "slew"):
        c = ds.ids.cluster("leaf-snowflake", allocators=3, seed=1)
        for node, offset_ms, ppm in (("a0", 20, 3000), ("a1", 3, 3000), ("a2", 0, 0)):
            c.sim.set_clock(node, offset_ms=offset_ms, drift_ppm=ppm, sync=ds.sim.NTP(every_ms=1000, mode=mode))
        c.run(until=5000)
        servers = [c.nodes[a] for a in c.allocators]
        assert c.duplicates() == []
        out[mode] = ([s.waited_rollbacks for s in servers], [s.errors for s in servers])
    (waits, errors), (slew_waits, slew_errors) = out["step"], out["slew"]
    assert errors[0] > 0 and errors[1:] == [0, 0]
    assert waits[0] >= 3 and waits[1] >= 3 and waits[2] == 0
    assert slew_waits == [0, 0, 0] and slew_errors == [0, 0, 0]
