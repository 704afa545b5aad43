"""The recipes' own semantics: Redisson's RLock (E9.1's properties), compare-and-delete vs DEL,
Redlock's majority and validity, replication and failover underneath."""

import itertools

import pytest

import dscourse as ds
import dscourse.locks as L


def rlock(seed=0, **kw):
    return L.cluster("rlock", seed=seed, lease_ms=90, **kw)


@pytest.mark.parametrize("seed", range(6))
def test_rlock_depth_n_reentrancy_needs_n_unlocks(seed):
    c = rlock(seed, depth=3, rounds=2, clients=2)
    r = ds.redis.client(c.sim, "redis", decode_responses=True)
    seen = []
    for _ in range(400):
        c.run(1)
        for h in c.holders():
            seen.append(r.hget("lock", f"{h}:1"))
    assert seen and set(seen) == {"3"}
    c.run(2000)
    assert [c.nodes[x].done for x in c.clients] == [2, 2] and r.exists("lock") == 0
    assert c.check()["exclusive"]


@pytest.mark.parametrize("seed", range(6))
def test_rlock_watchdog_renews_every_third_of_the_lease_and_stops_after_unlock(seed):
    c = rlock(seed, work_ms=400, rounds=1, clients=1)
    c.run(2000)
    renewals = [t for t, _ in c.audit.renewals]
    h = c.audit.holdings[0]
    assert len(renewals) >= 3 and all(h.start < t <= h.end + 10 for t in renewals)
    gaps = [b - a for a, b in itertools.pairwise(renewals)]
    assert all(25 <= g <= 40 for g in gaps)  # lease/3 = 30 ms plus a round trip
    assert c.check()["exclusive"] and h.end - h.start >= 400  # held past the 90 ms lease


@pytest.mark.parametrize("seed", range(6))
def test_rlock_without_watchdog_loses_a_long_critical_section(seed):
    c = rlock(seed, work_ms=300, watchdog=False, clients=2)
    c.run(1500)
    assert not c.check()["exclusive"]


@pytest.mark.parametrize("seed", range(6))
def test_rlock_holder_crash_frees_the_lock_within_the_lease(seed):
    c = rlock(seed, work_ms=200, clients=2)
    c.run(100)
    n = len(c.audit.holdings)
    assert c.run_until(lambda: len(c.audit.holdings) > n, 500)
    victim = c.audit.holdings[-1].client
    crashed_at = c.now
    c.crash(victim)
    other = next(x for x in c.clients if x != victim)
    assert c.run_until(lambda: c.audit.holding(other) is not None, 200)
    assert c.now - crashed_at <= 90 + 30  # the lease (the watchdog died with the client) + retry
    assert all(t <= crashed_at for t, who in c.audit.renewals if who == victim)


def test_rlock_non_owner_unlock_is_a_noop():
    sim = ds.sim.Simulation(seed=1)
    sim.add_node(ds.redis.RedisServer("redis", persistence="none"))
    sim.run(until=1)
    r = ds.redis.client(sim, "redis")
    assert r.eval(ds.redis.REDISSON_LOCK, 1, "L", 1000, "a:1") is None
    assert r.eval(ds.redis.REDISSON_UNLOCK, 2, "L", "ch", 0, 1000, "b:1") is None
    assert r.hgetall("L") == {b"a:1": b"1"}


@pytest.mark.parametrize("seed", range(8))
def test_del_release_deletes_the_next_holders_lock_but_lua_release_does_not(seed):
    kw = {"seed": seed, "lease_ms": 60, "work_ms": 90, "clients": 3}
    assert not L.cluster("token", release="del", **kw).run(1500).check()["exclusive"]
    c = L.cluster("token", release="lua", **kw).run(1500)
    # the lease is shorter than the work: overlaps happen either way, but the Lua release never
    # deletes a lock it does not own, so no holding starts while a *third* client believes too
    pairs = c.overlaps()
    assert all(len({a.client, b.client}) == 2 for a, b in pairs)


@pytest.mark.parametrize("seed", range(6))
def test_redlock_needs_a_majority(seed):
    c = L.cluster("redlock", seed=seed, clients=2)
    c.crash("redis0")
    c.crash("redis1")
    c.run(800)
    assert c.check()["grants"] > 5 and c.check()["exclusive"]
    c.crash("redis2")
    n = c.check()["grants"]
    c.run(800)
    assert c.check()["grants"] <= n + 2  # only grants already in flight


def test_redlock_validity_subtracts_elapsed_time_and_drift():
    c = L.cluster("redlock", seed=2, clients=1, rounds=1, lease_ms=100, latency=(10, 10))
    c.run(300)
    node = c.nodes["c0"]
    assert node.validity == pytest.approx(100 - 20 - (100 * 0.01 + 2))
    c2 = L.cluster("redlock", seed=2, clients=1, rounds=1, lease_ms=40, latency=(20, 20))
    c2.run(300)
    assert c2.check()["grants"] == 0  # elapsed 40 ms >= the TTL: never valid


def test_replica_gets_writes_after_the_buffer_flushes_and_loses_them_in_a_crash():
    sim = ds.sim.Simulation(seed=0)
    sim.add_node(ds.redis.RedisServer("m", persistence="none", replicas=("r",), repl_every_ms=20))
    sim.add_node(ds.redis.RedisServer("r", persistence="none"))
    sim.run(until=1)
    m, r = ds.redis.client(sim, "m", decode_responses=True), ds.redis.client(sim, "r", decode_responses=True)
    m.set("a", 1)
    m.hset("h", "f", 2)
    assert r.get("a") is None
    sim.run(until=sim.now + 30)
    assert r.get("a") == "1" and r.hgetall("h") == {"f": "2"}
    m.set("b", 1)
    sim.crash("m")
    sim.run(until=sim.now + 50)
    assert r.get("b") is None


def test_bad_configuration_is_a_clear_error():
    with pytest.raises(ValueError, match="recipe"):
        L.cluster("chubby")
    with pytest.raises(ValueError, match="servers"):
        L.cluster("token", servers=3)
    with pytest.raises(ValueError, match="replica"):
        L.cluster("redlock", replica=True)
    with pytest.raises(ValueError, match="lease_ms"):
        L.cluster("token", lease_ms=0)
    with pytest.raises(ValueError, match="failover"):
        L.cluster("token").failover()
