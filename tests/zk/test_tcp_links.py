"""ZooKeeper's connections (client-server and quorum) are TCP streams: delivered in order or
broken, never reordered, and a duplicate segment is invisible to the application. On a
simulated network that reorders or duplicates, ds.zk's connections must behave so: no
connection breaks, no request fails, the session stays, in a fault-free run."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.zk import KazooState


def listening_client(ens, session_timeout_ms: float = 6000):
    """A started client on a ready ensemble, the connection states its listener heard, and its
    session id."""
    ens.run_until_leader()
    zk = ens.client(session_timeout_ms=session_timeout_ms)
    states: list[str] = []
    zk.add_listener(states.append)
    zk.start()
    return zk, states, zk.client_id[0]


def workload(ens) -> tuple[list[str], list[bytes]]:
    zk, states, session = listening_client(ens)
    zk.create("/k", b"0")
    seen = []
    for i in range(1, 30):
        zk.set("/k", str(i).encode())
        seen.append(zk.get("/k")[0])
    ens.run(5_000)                       # idle: pings only
    assert zk.client_id[0] == session
    return states, seen


@pytest.mark.parametrize("seed", range(8))
def test_a_reordering_network_does_not_break_zookeeper_connections(seed: int) -> None:
    ens = ds.zk.ensemble(3, seed=seed, network=ds.sim.Network(latency=ds.sim.Uniform(1.0, 30.0)))
    states, seen = workload(ens)
    assert states == [KazooState.CONNECTED]
    assert seen == [str(i).encode() for i in range(1, 30)]


@pytest.mark.parametrize("seed", range(8))
def test_duplicates_are_invisible_to_zookeeper_connections(seed: int) -> None:
    net = ds.sim.Network(latency=ds.sim.Uniform(1.0, 30.0), duplicate=0.2)
    ens = ds.zk.ensemble(3, seed=seed, network=net)
    states, seen = workload(ens)
    assert states == [KazooState.CONNECTED]
    assert seen == [str(i).encode() for i in range(1, 30)]


def test_links_that_cannot_reorder_are_left_alone() -> None:
    """A constant-latency network keeps order already: no link is overridden (same traces)."""
    ens = ds.zk.ensemble(3, seed=1)
    zk = ens.client()
    zk.start()
    assert not [e for e in ens.sim.trace.events if e.kind == "link"]


def test_loss_still_breaks_the_connection_and_the_session_survives() -> None:
    """A message lost for good on a TCP stream (past retransmission) is a broken connection:
    the client reconnects with its session."""
    ens = ds.zk.ensemble(3, seed=2, network=ds.sim.Network(latency=ds.sim.Uniform(1.0, 30.0)))
    zk, states, session = listening_client(ens)
    ens.sim.set_link(zk.server, zk.id, drop=1.0)
    with pytest.raises(ds.zk.ConnectionLoss):
        zk.get("/")
    for s in ens.nodes:
        ens.sim.set_link(s, zk.id, drop=0.0)
    ens.run_until(lambda: zk.connected, 10_000)
    assert KazooState.SUSPENDED in states and zk.client_id[0] == session
