"""A small workload whose trace depends on every node's clocks (for determinism tests)."""

from __future__ import annotations

from typing import Any

import dscourse as ds


class Stamper(ds.sim.Node):
    """Every ~7 local ms: annotate its wall and monotonic clocks and send one to a random peer."""

    def on_start(self) -> None:
        self.set_timer(7.0, "tick")

    def on_timer(self, name: str, payload: Any) -> None:
        self.annotate(wall=round(self.clock(), 3), mono=round(self.monotonic(), 3))
        peer = self.peers[int(self.rng.integers(len(self.peers)))]
        self.send(peer, round(self.clock(), 3))
        self.set_timer(7.0, "tick")


def clock_sim(seed: int, mode: str = "slew") -> ds.sim.Simulation:
    sim = ds.sim.Simulation(seed, network=ds.sim.lossy())
    for name in "abcd":
        sim.add_node(Stamper(name))
    sim.drift_clocks(200_000, max_offset_ms=30,
                     sync=ds.sim.NTP(every_ms=40, mode=mode, max_slew_ppm=100_000, error_ms=2))
    sim.schedule_nemesis([(50, ("clock_drift", "b", -150_000)),
                          (80, ("clock_strobe", "c", 25, 5, 60)),
                          (120, ("clock_jump", "d", -40))])
    return sim
