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
