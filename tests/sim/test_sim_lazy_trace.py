"""The model checker's unrendered sends (``Simulation._lazy_trace``, trace.Unrendered): off by
default; on, the trace reads exactly as if every send had been rendered when it was made."""

from __future__ import annotations

import pytest
from simkit import chatter_sim

import dscourse as ds
from dscourse.sim.trace import Unrendered


def _run(seed: int, net: ds.sim.Network, lazy: bool) -> ds.sim.Simulation:
    sim = chatter_sim(seed, n=4, network=net, n_msgs=12)
    sim._lazy_trace = sim.trace._lazy = lazy
    sim.schedule_nemesis(sim.random_nemesis(until=200.0, mean_gap=30.0, mean_duration=40.0))
    sim.run()
    return sim


def test_off_by_default_sends_are_rendered_at_once():
    sim = _run(3, ds.sim.lossy(), lazy=False)
    assert sim._lazy_trace is False and sim.trace._lazy is False
    assert not any(type(row[6]) is Unrendered for row in sim.trace._rows)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("net", [ds.sim.lossy(), ds.sim.labrpc_unreliable()], ids=lambda n: n.name)
def test_unrendered_sends_read_the_same(seed, net):
    eager, lazy = _run(seed, net, False), _run(seed, net, True)
    # the lazy run really kept messages unrendered (sends, deliveries, duplicates) ...
    kept = sum(type(row[6]) is Unrendered for row in lazy.trace._rows)
    assert kept >= eager.trace.stats()["sent"] > 0
    # ... and every reader sees the eager trace: rows, events, stats, lines, digest
    assert lazy.trace.stats() == eager.trace.stats()
    assert lazy.trace.events == eager.trace.events
    assert lazy.trace.filter(kind="send") == eager.trace.filter(kind="send")
    assert lazy.trace.digest() == eager.trace.digest()
    assert not any(type(row[6]) is Unrendered for row in lazy.trace._rows)


def test_broadcast_is_unrendered_too():
    class Shout(ds.sim.Node):
        def on_start(self) -> None:
            if self.id == "a":
                self.broadcast({"type": "Hi", "xs": [1, 2], "s": {3, 1}})

    def run(lazy: bool) -> ds.sim.Simulation:
        sim = ds.sim.Simulation(seed=1)
        for nid in "abc":
            sim.add_node(Shout(nid))
        sim._lazy_trace = sim.trace._lazy = lazy
        sim.run()
        return sim

    eager, lazy = run(False), run(True)
    assert sum(type(row[6]) is Unrendered for row in lazy.trace._rows) == 4   # 2 sends, 2 delivers
    assert lazy.trace.digest() == eager.trace.digest()
    assert lazy.trace.filter(kind="send")[0].data == {"type": "Hi", "xs": [1, 2], "s": [1, 3]}
