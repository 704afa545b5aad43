"""A restarted Nacos client (crash and recovery of its node): what Nacos's ``ClientWorker``
does. ``CacheData``'s constructor loads the failover copy, else the local snapshot, and
``addListener`` registers a listener with that content's MD5 as its ``lastCallMd5``: the
listener is called when the server's MD5 differs from it, never to replay the snapshot. The
application reads the snapshot with ``getConfig`` (here :meth:`ConfigClient.get`)."""

from __future__ import annotations

import pytest

import dscourse as ds

KEY = "application.yaml"


def setup(seed: int, push: bool):
    seen: list[tuple[float, str]] = []
    sim = ds.sim.Simulation(seed=seed, network=ds.sim.Network(latency=ds.sim.Uniform(1.0, 20.0), fifo=True))
    server = sim.add_node(ds.config.NacosConfigServer("server"))
    client = sim.add_node(ds.config.NacosClient("c", "server", [KEY], push=push,
                                                listeners=[lambda _c, _k, content: seen.append((sim.now, content))]))
    server.publish(KEY, "v: 0")
    sim.run(until=1_000)
    assert [c for _, c in seen] == ["v: 0"]
    return sim, server, client, seen


@pytest.mark.parametrize("push", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_a_restart_does_not_replay_the_snapshot_to_listeners(seed: int, push: bool) -> None:
    sim, _server, client, seen = setup(seed, push)
    sim.crash("c")
    sim.run(until=sim.now + 500)
    sim.recover("c")
    assert client.get(KEY) == "v: 0"            # getConfig: the snapshot, at once
    sim.run(until=sim.now + ds.config.REFRESH_MS + 1_000)
    assert [c for _, c in seen] == ["v: 0"]      # unchanged on the server: no call


@pytest.mark.parametrize("push", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_a_change_made_while_the_client_was_down_is_delivered_once(seed: int, push: bool) -> None:
    sim, server, client, seen = setup(seed, push)
    sim.crash("c")
    server.publish(KEY, "v: 1")
    sim.run(until=sim.now + 500)
    restart = sim.now
    sim.recover("c")
    assert client.get(KEY) == "v: 0"            # until the first answer, the snapshot
    sim.run(until=sim.now + 2_000)
    assert [c for _, c in seen] == ["v: 0", "v: 1"] and seen[-1][0] > restart
    assert client.get(KEY) == "v: 1"
