"""Chapter 9's claims, over many seeds: pauses, clock jumps and failover break lease-based locks
(overlapping believed ownership, stale writes accepted), and fencing never accepts a stale write."""

import pytest

import dscourse.locks as L

SEEDS = range(12)
LEASE = 100.0


def fresh_grant(c):
    """Run until a client has just been granted the lock; returns that client."""
    n = len(c.audit.holdings)
    assert c.run_until(lambda: len(c.audit.holdings) > n and bool(c.holders()), 500)
    return c.audit.holdings[-1].client


def pause_holder(recipe, seed, fencing, **kw):
    """Kleppmann's GC pause: the current holder stops for 3 leases, then writes."""
    c = L.cluster(recipe, seed=seed, fencing=fencing, lease_ms=LEASE, **kw)
    c.run(150)
    victim = fresh_grant(c)
    c.pause(victim, 3 * LEASE)
    c.run(1000)
    return c, victim


@pytest.mark.parametrize("recipe", ["naive", "token", "rlock", "redlock"])
@pytest.mark.parametrize("seed", SEEDS)
def test_gc_pause_breaks_every_lease_lock_without_fencing(recipe, seed):
    c, victim = pause_holder(recipe, seed, fencing=False)
    overlaps = c.overlaps()
    assert overlaps, f"replay: ds.locks.cluster({recipe!r}, seed={seed}) + pause({victim!r})"
    assert any(victim in (a.client, b.client) for a, b in overlaps)
    stale = c.stale_writes()
    assert [w.client for w in stale] == [victim]


@pytest.mark.parametrize("recipe", ["token", "rlock", "naive"])
@pytest.mark.parametrize("seed", SEEDS)
def test_fencing_rejects_the_paused_holders_write(recipe, seed):
    c, victim = pause_holder(recipe, seed, fencing=True)
    assert c.overlaps()  # belief still overlaps: fencing does not prevent that (seed erratum F3)
    assert c.stale_writes() == []
    assert victim in {w.client for w in c.audit.rejected()}
    tokens = [t for t in c.audit.accepted_tokens()]
    assert tokens == sorted(tokens) and len(tokens) == len(set(tokens))


@pytest.mark.parametrize("seed", SEEDS)
def test_redlock_has_no_token_so_a_fenced_resource_refuses_it(seed):
    c, _ = pause_holder("redlock", seed, fencing=True)
    assert c.audit.accepted_tokens() == [] and c.resource.log
    assert all(reason == "no fencing token" for *_, reason in c.resource.log)


@pytest.mark.parametrize("seed", SEEDS)
def test_clock_jump_on_the_redis_node_expires_the_lock_early(seed):
    c = L.cluster("token", seed=seed, lease_ms=LEASE, work_ms=60)
    c.run(150)
    fresh_grant(c)
    c.clock_jump("redis", 2 * LEASE)
    c.run(500)
    assert c.overlaps(), f"replay: ds.locks.cluster('token', seed={seed}, work_ms=60) + clock_jump('redis', 200)"


def failover_run(seed, fencing):
    """The master acknowledges a grant, then dies before replicating it; the replica takes over."""
    c = L.cluster("token", seed=seed, lease_ms=LEASE, replica=True, replication_lag_ms=40, fencing=fencing)
    c.run(150)
    holder = fresh_grant(c)
    assert c.failover() == "replica"
    c.run(600)
    return c, holder


def test_failover_loses_an_acknowledged_lock_with_a_replayable_seed():
    broken = [seed for seed in SEEDS
              if any(h in (a.client, b.client) for c, h in [failover_run(seed, False)] for a, b in c.overlaps())]
    # on the other seeds the replica still holds the previous (unreplicated-DEL) lock: unavailable, not unsafe
    assert len(broken) >= 3, broken  # 6 of 12 seeds (2, 3, 4, 6, 10, 11) when written
    first, again = failover_run(broken[0], False)[0], failover_run(broken[0], False)[0]
    assert first.overlaps() and first.sim.trace.digest() == again.sim.trace.digest()


@pytest.mark.parametrize("seed", SEEDS)
def test_failover_with_fencing_accepts_no_stale_write(seed):
    c, _ = failover_run(seed, True)
    assert c.stale_writes() == []


@pytest.mark.parametrize("recipe", ["token", "rlock", "naive"])
@pytest.mark.parametrize("seed", range(40))
def test_fencing_never_accepts_a_stale_write_under_random_nemesis(recipe, seed):
    c = L.cluster(recipe, seed=seed, fencing=True, lease_ms=LEASE)
    schedule = c.sim.random_nemesis(2000, kinds=("pause", "clock_jump"), mean_gap=150, mean_duration=200,
                                    max_clock_jump=300)
    c.sim.schedule_nemesis(schedule)
    c.run(3000)
    assert c.stale_writes() == []
    tokens = c.audit.accepted_tokens()
    assert all(t is not None for t in tokens) and tokens == sorted(tokens)
    if recipe != "naive":  # the naive lock may stall (liveness is not what this test is about)
        assert c.audit.summary()["writes_accepted"] > 0


def test_without_faults_every_recipe_is_exclusive():
    for recipe in L.RECIPES:
        for seed in range(5):
            c = L.cluster(recipe, seed=seed, fencing=recipe != "redlock").run(1500)
            assert c.check()["exclusive"] and c.check()["no_stale_write"], (recipe, seed)
            assert c.check()["writes_accepted"] >= 10


def test_same_seed_same_trace():
    digests = {L.cluster("rlock", seed=5).run(800).sim.trace.digest() for _ in range(2)}
    assert len(digests) == 1
