"""Chapter 9's lock recipes on real servers: the same recipe through redis-py and ``ds.redis``,
kazoo's locks on a real ZooKeeper against ``ds.zk`` and ``ds.locks.zkrw``'s rule, and the
real-process SIGSTOP lab. Outcome assertions only (never a timed one)."""

from __future__ import annotations

import pytest
from redis_server import redis_port  # noqa: F401 - the session fixture

import dscourse as ds
from dscourse.locks import ACQUIRE_FENCED, realproc, zkrw


def token_lock_session(r) -> list:
    """The token lock recipe, step by step; what each step replied."""
    r.delete("lock", "lock:fence")
    out = [r.eval(ACQUIRE_FENCED, 2, "lock", "lock:fence", "A:1", 30_000),
           r.eval(ACQUIRE_FENCED, 2, "lock", "lock:fence", "B:1", 30_000),  # held: nil
           r.eval(ds.redis.COMPARE_AND_DELETE, 1, "lock", "B:1"),  # not B's: 0
           r.get("lock"), 0 < r.pttl("lock") <= 30_000,
           r.eval(ds.redis.COMPARE_AND_DELETE, 1, "lock", "A:1"),
           r.eval(ACQUIRE_FENCED, 2, "lock", "lock:fence", "B:1", 30_000)]  # B's token is 2
    ch = "redisson_lock__channel:{res}"
    r.delete("res")
    out += [r.eval(ds.redis.REDISSON_LOCK, 1, "res", 30_000, "u:1"), r.eval(ds.redis.REDISSON_LOCK, 1, "res", 30_000,
                                                                         "u:1"),
            r.hgetall("res"), r.eval(ds.redis.REDISSON_LOCK, 1, "res", 30_000, "u:2") > 0,
            r.eval(ds.redis.REDISSON_UNLOCK, 2, "res", ch, 0, 30_000, "u:1"),
            r.eval(ds.redis.REDISSON_UNLOCK, 2, "res", ch, 0, 30_000, "u:1"), r.exists("res")]
    return out


def test_token_lock_recipe_same_on_real_redis(redis_port) -> None:  # noqa: F811
    import redis

    real = token_lock_session(redis.Redis(host="127.0.0.1", port=redis_port, decode_responses=True))
    sim = ds.sim.Simulation(seed=0)
    sim.add_node(ds.redis.RedisServer("redis", persistence="none"))
    sim.run(until=1)
    simulated = token_lock_session(ds.redis.client(sim, "redis", decode_responses=True))
    assert real == simulated
    assert real[:3] == [1, None, 0] and real[6] == 2


@pytest.mark.parametrize("fencing", [False, True])
def test_sigstop_lab(redis_port, fencing: bool) -> None:  # noqa: F811
    run = realproc.sigstop_lab(redis_port, fencing=fencing)
    assert run.held_while_running, run.log  # the watchdog kept the lock while A ran
    assert run.tokens["B"] > run.tokens["A"], run.log
    assert run.b_write == "accepted", run.log
    assert run.a_release == "released 0", run.log  # A's release found no lock of its own
    if fencing:
        assert run.a_write == "rejected" and run.final_value == "B", run.log
    else:  # the stale holder's write lands on top of B's
        assert run.a_write == "accepted" and run.final_value == "A", run.log


def zk_session(connect) -> list:
    """Two contenders on kazoo's Lock (or ds.zk's): who holds, who waits, after release."""
    a, b = connect(), connect()
    la, lb = a.Lock("/locks/resource", "A"), b.Lock("/locks/resource", "B")
    out = [la.acquire(), lb.acquire(blocking=False), la.contenders(), la.release(), lb.acquire(timeout=5),
           lb.contenders()]
    lb.release()
    return out


def test_zk_lock_same_on_real_zookeeper(zk_hosts) -> None:
    clients = []

    def real():
        c = ds.zk.connect(zk_hosts)
        clients.append(c)
        return c

    e = ds.zk.ensemble(3, seed=1)

    def simulated():
        c = e.client()
        c.start()
        return c

    try:
        got = zk_session(real)
    finally:
        for c in clients:
            c.stop()
            c.close()
    assert got == zk_session(simulated) == [True, False, ["A"], True, True, ["B"]]


def test_kazoo_read_write_lock_matches_the_blocker_rule(zk_hosts) -> None:
    """kazoo's own ReadLock/WriteLock, non-blocking, on a real server: each contender gets the
    lock exactly when ``zkrw.blocker`` says a new node of its kind would not wait."""
    kinds = ["read", "read", "write", "read", "write", "read"]
    clients, locks, decided, predicted = [], [], [], []
    try:
        for i, kind in enumerate(kinds):
            c = ds.zk.connect(zk_hosts)
            clients.append(c)
            c.ensure_path("/rw/resource")
            me = f"new-{zkrw.KINDS[kind]}9999999999"  # after every existing node
            predicted.append(zkrw.blocker([*c.get_children("/rw/resource"), me], me) is None)
            lock = (c.ReadLock if kind == "read" else c.WriteLock)("/rw/resource", f"c{i}")
            decided.append(lock.acquire(blocking=False))  # a refused contender leaves no node
            locks.append(lock)
        assert decided == predicted == [True, True, False, True, False, True]
    finally:
        for lock in locks:
            if lock.is_acquired:
                lock.release()
        for c in clients:
            c.stop()
            c.close()
