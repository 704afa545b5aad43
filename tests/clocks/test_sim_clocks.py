"""Physical clocks wired into the simulator: Node.clock/monotonic, timers on local elapsed
time, the clock nemesis actions, checkpoints, and determinism across processes."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clockkit import clock_sim
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.sim.checkpoint import checkpoint, rollback

HERE = Path(__file__).parent


class Sleeper(ds.sim.Node):
    """Sets one timer of ``delay`` local ms at start and records when (true time) it fired."""

    def __init__(self, id: str, delay: float = 100.0) -> None:
        super().__init__(id)
        self.delay = delay
        self.fired: list[float] = []

    def on_start(self) -> None:
        self.set_timer(self.delay, "t")

    def on_timer(self, name: str, payload: Any) -> None:
        self.fired.append(self.now)


def one(seed: int = 1, delay: float = 100.0) -> tuple[ds.sim.Simulation, Sleeper]:
    sim = ds.sim.Simulation(seed)
    node = sim.add_node(Sleeper("a", delay))
    return sim, node


@given(drift=st.floats(-400_000, 400_000), delay=st.floats(1, 1000))
def test_timers_run_on_local_elapsed_time(drift: float, delay: float) -> None:
    sim, node = one(delay=delay)
    sim.set_clock("a", drift_ppm=drift)
    sim.run()
    expected_us = round(round(delay * 1000) / (1 + drift * 1e-6))
    assert node.fired == [expected_us / 1000]
    assert node.monotonic() == pytest.approx(delay, abs=0.002)   # the node saw `delay` pass


def test_without_drift_timers_and_clocks_are_true_time() -> None:
    sim, node = one()
    sim.run(until=50)
    assert node.clock() == 50.0 and node.monotonic() == 50.0
    sim.clock_jump("a", -30)
    sim.run()
    assert node.fired == [100.0]                 # a jump never moves a pending timer
    assert node.clock() == 70.0 and node.monotonic() == 100.0


def test_jumps_steps_and_strobes_never_move_timers_or_the_monotonic_clock() -> None:
    sim, node = one(delay=300.0)
    sim.set_clock("a", offset_ms=80, sync=ds.sim.NTP(every_ms=10, mode="step"))
    sim.schedule_nemesis([(5, ("clock_jump", "a", 500)), (20, ("clock_strobe", "a", -70, 3, 50))])
    mono, wall = [], []
    for t in range(1, 300):
        sim.run(until=t)
        mono.append(node.monotonic())
        wall.append(node.clock())
    sim.run()
    assert node.fired == [300.0]
    assert mono == sorted(mono) and mono[-1] == 299.0
    assert any(b < a for a, b in itertools.pairwise(wall))      # the wall clock went back


def test_slewed_node_clock_never_goes_back_while_a_stepped_one_does() -> None:
    def walls(mode: str) -> list[float]:
        sim, node = one()
        sim.set_clock("a", offset_ms=20, drift_ppm=50_000,
                      sync=ds.sim.NTP(every_ms=15, mode=mode, max_slew_ppm=200_000))
        out = []
        for t in range(1, 400):
            sim.run(until=t / 2)
            out.append(node.clock())
        return out

    slewed, stepped = walls("slew"), walls("step")
    assert all(b >= a for a, b in itertools.pairwise(slewed))
    assert any(b < a for a, b in itertools.pairwise(stepped))
    assert abs(slewed[-1] - 199.5) < 3 and abs(stepped[-1] - 199.5) < 1


def test_nemesis_clock_actions_are_traced_and_checked() -> None:
    sim = clock_sim(3)
    sim.run(until=300)
    kinds = [e.kind for e in sim.trace.events]
    for kind in ("clock_set", "clock_drift", "clock_strobe", "clock_jump"):
        assert kind in kinds
    drift = next(e for e in sim.trace.events if e.kind == "clock_drift")
    assert (drift.node, drift.data, drift.time) == ("b", -150_000, 50_000)
    assert sim.physical_clock("b").drift_ppm == pytest.approx(-150_000)
    with pytest.raises(ds.sim.NemesisError, match="ppm"):
        sim.schedule_nemesis([(400, ("clock_drift", "a", 2e6))])
    with pytest.raises(ds.sim.NemesisError, match="clock_strobe takes 4"):
        sim.schedule_nemesis([(400, ("clock_strobe", "a", 5))])
    with pytest.raises(ValueError, match="period_ms"):
        sim.clock_strobe("a", 5, 0, 10)
    with pytest.raises(ValueError, match="sync"):
        sim.set_clock("a", sync="ntp")


def test_drift_clocks_come_from_the_seed() -> None:
    a, b, c = clock_sim(5), clock_sim(5), clock_sim(6)
    drawn = [{n: (s.physical_clock(n).offset(0), s.physical_clock(n).drift_ppm) for n in "abcd"}
             for s in (a, b, c)]
    assert drawn[0] == drawn[1] != drawn[2]
    assert all(abs(d) <= 200_000 and abs(o) <= 30_000 for o, d in drawn[0].values())


def test_checkpoint_rollback_restores_drifting_clocks() -> None:
    sim = clock_sim(2)
    sim.run(until=60)
    cp = checkpoint(sim)
    sim.run(until=200)
    first = (sim.trace.digest(), [sim.nodes[n].clock() for n in "abcd"])
    rollback(sim, cp)
    sim.run(until=200)
    assert (sim.trace.digest(), [sim.nodes[n].clock() for n in "abcd"]) == first


SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from clockkit import clock_sim
for seed in (1, 2):
    for mode in ("step", "slew"):
        sim = clock_sim(seed, mode)
        sim.run(until=400)
        print(seed, mode, len(sim.trace), sim.trace.digest())
"""


def _digests(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run([sys.executable, "-c", SCRIPT.format(here=str(HERE))], env=env,
                          capture_output=True, text=True, check=True).stdout


def test_same_seed_same_digest_across_processes_with_drift_and_ntp() -> None:
    first, second = _digests("1"), _digests("2")
    assert first == second
    lines = first.splitlines()
    assert len(lines) == 4 and len({line.split()[-1] for line in lines}) == 4
    sim = clock_sim(1, "slew")
    sim.run(until=400)
    assert sim.trace.digest() in first


def test_random_nemesis_can_draw_clock_faults_without_changing_default_schedules() -> None:
    sim = clock_sim(4)
    default = sim.random_nemesis(until=2_000)
    again = clock_sim(4).random_nemesis(until=2_000)
    assert default == again and all(a[0] not in ("clock_drift", "clock_strobe") for _, a in default)
    clocky = clock_sim(4).random_nemesis(until=2_000, kinds=("clock_drift", "clock_strobe"),
                                         max_drift_ppm=50_000)
    names = {a[0] for _, a in clocky}
    assert names == {"clock_drift", "clock_strobe"}
    assert all(abs(a[2]) <= 50_000 for _, a in clocky if a[0] == "clock_drift")
    sim.schedule_nemesis(clocky)
    sim.run(until=3_000)
    assert {e.kind for e in sim.trace.events} >= {"clock_drift", "clock_strobe"}
    assert all(sim.physical_clock(n).drift_ppm == 0 for n in {a[1] for _, a in clocky if a[0] == "clock_drift"})
    with pytest.raises(ValueError, match="nemesis kind"):
        sim.random_nemesis(until=4_000, kinds=("clock_smear",))
