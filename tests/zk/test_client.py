"""The kazoo-compatible client on the simulated ensemble: sessions, failover, expiry, watches
across reconnects, the async API, and the lock and election recipes."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.zk import KazooState


def started(ens, **kw):
    zk = ens.client(**kw)
    zk.start()
    return zk


@pytest.mark.parametrize("seed", range(4))
def test_failover_keeps_the_session_and_its_ephemerals(seed: int) -> None:
    ens = ds.zk.ensemble(3, seed=seed)
    leader = ens.run_until_leader()
    follower = sorted(s for s in ens.nodes if s != leader)[0]
    zk = started(ens, server=follower, session_timeout_ms=6000)
    states = []
    zk.add_listener(states.append)
    session = zk.client_id[0]
    zk.create("/eph", b"x", ephemeral=True)
    ens.crash(follower)
    with pytest.raises(ds.zk.ConnectionLoss):
        zk.set("/eph", b"y")
    ens.run_until(lambda: zk.connected, 10_000)
    assert zk.client_id[0] == session and zk.server != follower
    assert states[:2] == [KazooState.SUSPENDED, KazooState.CONNECTED]
    assert zk.get("/eph")[1].ephemeralOwner == session


@pytest.mark.parametrize("seed", range(4))
def test_partitioned_client_session_expires(seed: int) -> None:
    ens = ds.zk.ensemble(3, seed=seed)
    ens.run_until_leader()
    zk = started(ens, session_timeout_ms=4000)
    other = started(ens)
    zk.create("/mine", ephemeral=True)
    states = []
    zk.add_listener(states.append)
    ens.partition([zk.id])
    ens.run(10_000)
    assert other.exists("/mine") is None  # the leader expired the session: E6
    ens.heal()
    ens.run_until(lambda: zk.connected, 20_000)
    assert KazooState.LOST in states and states[-1] == KazooState.CONNECTED


def test_disconnect_shorter_than_timeout_keeps_ephemerals() -> None:
    ens = ds.zk.ensemble(3, seed=5)
    ens.run_until_leader()
    zk = started(ens, session_timeout_ms=8000)
    other = started(ens)
    zk.create("/mine", ephemeral=True)
    ens.partition([zk.id])
    ens.run(3000)
    ens.heal()
    ens.run_until(lambda: zk.connected, 10_000)
    assert other.exists("/mine") is not None  # ephemerals go at expiry, not at disconnect


def test_watch_fires_after_failover_for_a_change_missed_meanwhile() -> None:
    ens = ds.zk.ensemble(3, seed=2)
    leader = ens.run_until_leader()
    follower = sorted(s for s in ens.nodes if s != leader)[0]
    zk = started(ens, server=follower, session_timeout_ms=8000)
    writer = started(ens, server=leader)
    writer.create("/w", b"0")
    zk.sync("/w")
    events = []
    zk.get("/w", watch=events.append)
    ens.crash(follower)
    writer.set("/w", b"1")  # committed while the client has no server
    ens.run_until(lambda: zk.connected and zk.server != follower, 20_000)
    ens.run(100)
    assert [(e.type, e.path) for e in events] == [("CHANGED", "/w")]  # SetWatches


def test_a_lagging_server_refuses_a_client_that_saw_newer_data() -> None:
    """Single system image (E1): a client never connects to a server behind what it saw."""
    ens = ds.zk.ensemble(3, seed=3)
    leader = ens.run_until_leader()
    lagging = sorted(s for s in ens.nodes if s != leader)[0]
    zk = started(ens, server=leader, session_timeout_ms=6000)
    ens.sim.slow_link(leader, lagging, 5000.0)
    zk.create("/new")
    seen = zk._node.last_zxid
    assert ens.nodes[lagging].applied < seen
    zk._node.servers = (lagging, leader)  # point the next reconnect at the lagging server first
    zk._node.rotation = 0
    zk._node._suspend()
    ens.run_until(lambda: zk.connected, 20_000)
    assert zk.server == leader
    refusals = [e for e in ens.trace.events if e.kind == "send" and e.node == lagging and e.label == "Disconnect"]
    assert refusals


def test_async_api_from_protocol_code() -> None:
    ens = ds.zk.ensemble(3, seed=1)
    ens.run_until_leader()
    zk = started(ens)
    got = []
    result = zk.create_async("/async", b"v")
    result.rawlink(lambda r: got.append(r.value))
    assert not result.ready()
    ens.run(50)
    assert got == ["/async"] and result.successful()
    bad = zk.create_async("/async")
    ens.run(50)
    assert isinstance(bad.exception, ds.zk.NodeExistsError)


def test_lock_waiters_watch_only_their_predecessor() -> None:
    ens = ds.zk.ensemble(3, seed=4)
    ens.run_until_leader()
    clients = [started(ens) for _ in range(4)]
    locks = [c.Lock("/lock", f"c{i}") for i, c in enumerate(clients)]
    assert locks[0].acquire()
    assert [lock.acquire(blocking=False) for lock in locks[1:]] == [False, False, False]
    assert locks[0].contenders() == ["c0"]
    # three blocking waiters, created through the async API so they wait together
    nodes = [c.create(f"/lock/w{i}__lock__", str(i).encode(), ephemeral=True, sequence=True)
             for i, c in enumerate(clients[1:])]
    watches_before = sum(len(s.data_watches) for s in ens.nodes.values())
    for i, c in enumerate(clients[1:]):
        pred = sorted(ens.nodes["zk1"].tree.children("/lock"), key=lambda n: n[-10:])
        mine = nodes[i].rsplit("/", 1)[1]
        c.exists("/lock/" + pred[pred.index(mine) - 1], watch=lambda e: None)
    registered = sum(len(s.data_watches) for s in ens.nodes.values()) - watches_before
    assert registered == 3  # one watch per waiter, each on a different node: no herd (E14)
    locks[0].release()
    assert locks[1].contenders() == ["0", "1", "2"]  # the waiters, in sequence order


def test_lock_timeout_and_election() -> None:
    ens = ds.zk.ensemble(3, seed=6)
    ens.run_until_leader()
    a, b = started(ens), started(ens)
    la = a.Lock("/l", "a")
    la.acquire()
    with pytest.raises(ds.zk.LockTimeout):
        b.Lock("/l", "b").acquire(timeout=1.0)
    assert la.contenders() == ["a"]
    la.release()
    led = []
    assert b.Election("/e", "b").run(lambda: led.append("b") or "done") == "done"
    assert led == ["b"]


def test_lock_holder_expiry_hands_over() -> None:
    """E13: a holder whose session expires loses the lock; the next waiter gets it."""
    ens = ds.zk.ensemble(3, seed=7)
    ens.run_until_leader()
    a = started(ens, session_timeout_ms=4000)
    b = started(ens, session_timeout_ms=20_000)
    la, lb = a.Lock("/l", "a"), b.Lock("/l", "b")
    assert la.acquire()
    ens.partition([a.id])  # a GC-like disappearance longer than the session timeout
    assert lb.acquire(timeout=30)
    assert la.is_acquired  # a still believes it holds the lock: fencing is needed
    ens.heal()


def test_history_is_recorded_for_the_checker() -> None:
    ens = ds.zk.ensemble(3, seed=1)
    ens.run_until_leader()
    zk = started(ens)
    zk.create("/k", b"a")
    zk.set("/k", b"b")
    assert zk.get("/k")[0] == b"b"
    ops = ens.history.operations(flat=True)
    assert [op.input for op in ops] == [("put", "/k", "b"), ("get", "/k")]
    from dscourse.checkers import linearizability as lin
    assert lin.check(ops, lin.kv()).outcome == "ok"


def test_kazoo_argument_errors() -> None:
    ens = ds.zk.ensemble(1, seed=1)
    ens.run_until_leader()
    zk = started(ens)
    with pytest.raises(TypeError):
        zk.create("/x", "not bytes")
    with pytest.raises(TypeError):
        zk.set("/x", b"", version="1")
    with pytest.raises(ValueError):
        zk.create("/a/../b")
    zk.stop()
    with pytest.raises(ds.zk.SessionExpiredError):
        zk.get("/")
