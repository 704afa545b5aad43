"""A crash and recovery of a simulated client's node is a restart of the process it runs in
(ds.sim: ``__init__`` again, only ``stable`` kept). What kazoo's client does then: the session,
its watches and the connection were in memory and are gone; the application's ``KazooClient``
(the object holding ``add_listener``'s listeners and the ``auth_data``) starts again if it was
started, with a new session, and calls its listeners; the old session expires on the servers."""

from __future__ import annotations

import pytest
from test_tcp_links import listening_client

import dscourse as ds
from dscourse.zk import KazooState


def restarted(ens, zk, down_ms: float = 500.0) -> None:
    ens.sim.crash(zk.id)
    ens.run(down_ms)
    ens.sim.recover(zk.id)


@pytest.mark.parametrize("seed", range(8))
def test_a_restarted_client_starts_again_with_a_new_session_and_keeps_its_listeners(seed: int) -> None:
    ens = ds.zk.ensemble(3, seed=seed)
    zk, states, old = listening_client(ens, session_timeout_ms=4000)
    zk.create("/eph", b"x", ephemeral=True)
    states.clear()
    restarted(ens, zk)
    ens.run_until(lambda: zk.connected, 10_000)
    assert zk.connected and states == [KazooState.CONNECTED]
    assert zk.client_id[0] != old                        # a new process: a new session
    assert zk.get("/eph")[1].ephemeralOwner == old      # the old session still holds it ...
    ens.run_until(lambda: zk.exists("/eph") is None, 10_000)
    assert zk.exists("/eph") is None                     # ... until it expires
    zk.create("/eph", b"y", ephemeral=True)              # synchronous calls drive the simulation again
    assert zk.get("/eph")[1].ephemeralOwner == zk.client_id[0]


@pytest.mark.parametrize("seed", range(4))
def test_listeners_are_a_set_as_in_kazoo(seed: int) -> None:
    """An application that registers its listener again on every start (as a new process does)
    is called once per state change, not once per registration."""
    ens = ds.zk.ensemble(3, seed=seed)
    ens.run_until_leader()
    zk = ens.client(session_timeout_ms=4000)
    states: list[str] = []
    for _ in range(3):
        zk.add_listener(states.append)
    zk.start()
    assert states == [KazooState.CONNECTED]
    restarted(ens, zk)
    zk.add_listener(states.append)
    ens.run_until(lambda: zk.connected, 10_000)
    assert states == [KazooState.CONNECTED, KazooState.CONNECTED]
    zk.remove_listener(states.append)
    zk.stop()
    assert states == [KazooState.CONNECTED, KazooState.CONNECTED]


@pytest.mark.parametrize("seed", range(4))
def test_a_stopped_client_stays_stopped_after_a_restart(seed: int) -> None:
    ens = ds.zk.ensemble(3, seed=seed)
    ens.run_until_leader()
    zk = ens.client(session_timeout_ms=4000)
    zk.start()
    zk.stop()
    never = ens.client(session_timeout_ms=4000)
    restarted(ens, zk)
    restarted(ens, never)
    ens.run(5_000)
    assert zk.state == never.state == KazooState.LOST
    with pytest.raises(ds.zk.ConnectionClosedError):
        zk.get("/")


def test_auth_data_survives_a_restart() -> None:
    """kazoo sends the client's ``auth_data`` on every connection: also after a restart."""
    ens = ds.zk.ensemble(3, seed=3)
    ens.run_until_leader()
    zk = ens.client(session_timeout_ms=4000, auth_data=[("digest", "alice:secret")])
    zk.start()
    acl = [ds.zk.make_digest_acl("alice", "secret", all=True)]
    zk.create("/mine", b"x", acl=acl)
    restarted(ens, zk)
    ens.run_until(lambda: zk.connected, 10_000)
    assert zk.get("/mine")[0] == b"x"
