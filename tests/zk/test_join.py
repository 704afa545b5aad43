"""``ds.zk.ensemble(sim=...)``: ZooKeeper beside another topic's nodes in one simulation."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.sim import Node


class Ticker(Node):
    """Another topic's node: counts its own timer ticks."""

    def on_start(self) -> None:
        self.stable.setdefault("ticks", 0)
        self.set_timer(10, "tick")

    def on_timer(self, name, payload) -> None:
        self.stable["ticks"] += 1
        self.set_timer(10, "tick")


def _run(seed: int) -> tuple[str, int, str]:
    sim = ds.sim.Simulation(seed=seed)
    sim.add_node(Ticker("c1"))  # a name the ensemble's own clients would otherwise take
    ens = ds.zk.ensemble(3, sim=sim)
    leader = ens.run_until_leader()
    zk = ens.client(session_timeout_ms=4000)
    zk.start()
    zk.create("/beside", b"x")
    ens.run(500)
    return leader, sim.nodes["c1"].stable["ticks"], sim.trace.digest()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_joined_ensemble_serves_and_the_other_nodes_keep_running(seed: int) -> None:
    leader, ticks, digest = _run(seed)
    assert leader is not None and ticks > 10
    assert _run(seed)[2] == digest  # same seed, same trace


def test_joined_names_and_bad_arguments() -> None:
    sim = ds.sim.Simulation(seed=1)
    ens = ds.zk.ensemble(3, sim=sim)
    assert sorted(ens.nodes) == ["zk1", "zk2", "zk3"] and ens.sim is sim
    assert ens.client().id == "zk-c1"
    other = ds.zk.ensemble(1, sim=sim, prefix="zkb")
    assert list(other.nodes) == ["zkb1"] and other.client().id == "zkb-c1"
    with pytest.raises(ValueError, match="zk1 already in the simulation"):
        ds.zk.ensemble(1, sim=sim)
    with pytest.raises(ValueError, match="seed/network"):
        ds.zk.ensemble(1, sim=sim, prefix="zkc", seed=3)
    with pytest.raises(ValueError, match="prefix"):
        ds.zk.ensemble(1, sim=sim, prefix="zk-d")
    with pytest.raises(ValueError, match="sim="):
        ds.zk.ensemble(1, sim="not a simulation", prefix="zke")


def test_standalone_ensemble_keeps_its_names() -> None:
    ens = ds.zk.ensemble(3, seed=1)
    assert sorted(ens.nodes) == ["zk1", "zk2", "zk3"] and ens.client().id == "c1"


def test_client_hosts_limits_the_servers_it_uses() -> None:
    ens = ds.zk.ensemble(3, seed=4)
    ens.run_until_leader()
    c = ens.client(hosts=["zk2", "zk3"], session_timeout_ms=6000)
    c.start()
    assert c.server in ("zk2", "zk3")
    first = c.server
    ens.crash(first)
    ens.run_until(lambda: c.connected and c.server != first, 30_000)
    assert c.server in ("zk2", "zk3") and c.server != first
    with pytest.raises(ValueError, match="hosts"):
        ens.client(hosts=["zk9"])
    with pytest.raises(ValueError, match="server"):
        ens.client(server="zk1", hosts=["zk2"])
