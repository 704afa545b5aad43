"""Nacos's naming modes under a partition: AP (Distro) keeps registering and heals, CP (Raft)
refuses in the minority."""

import pytest

from dscourse.config import naming

ALL = ["s1", "s2", "s3"]


def split(mode, seed, minority):
    """Partition one server (``minority``) away from the other two; register one instance on
    each side (each client prefers a server on its side, but knows all three)."""
    c = naming.naming_cluster(mode, seed=seed)
    c.register("a0", "orders@10.0.0.1", ALL)
    c.run(2_000)
    majority = [s for s in ALL if s != minority]
    t = c.now + 100
    c.register("a1", "orders@10.0.0.2", [*majority, minority], at=t)
    c.register("b1", "orders@10.0.1.9", [minority, *majority], at=t)
    c.partition([*majority, "a1"], [minority, "b1"])
    return c, majority


@pytest.mark.parametrize("minority", ALL)
@pytest.mark.parametrize("seed", range(4))
def test_ap_keeps_registering_on_both_sides_diverges_and_heals(seed, minority):
    c, majority = split("ap", seed, minority)
    c.run(10_000)
    acked = {r.instance for r in c.registrars.values() if r.registered_at is not None}
    assert acked == {"orders@10.0.0.1", "orders@10.0.0.2", "orders@10.0.1.9"}  # both sides accepted
    v = c.views()
    assert "orders@10.0.1.9" in v[minority] and all("orders@10.0.1.9" not in v[s] for s in majority)
    assert "orders@10.0.0.2" not in v[minority] and not c.converged()
    c.heal()
    healed = c.run_until(c.converged, naming.VERIFY_INTERVAL_MS + naming.SYNC_DELAY_MS + 100)
    assert healed and all(x == acked for x in c.views().values())  # nothing acknowledged was lost


@pytest.mark.parametrize("minority", ALL)
@pytest.mark.parametrize("seed", range(3))
def test_cp_refuses_in_the_minority_and_never_shows_an_unacknowledged_write(seed, minority):
    c, _majority = split("cp", seed, minority)
    c.run(10_000)
    assert c.registrars["a1"].registered_at is not None  # the majority elects a leader and commits
    assert c.registrars["b1"].registered_at is None  # the minority never acknowledges
    assert all("orders@10.0.1.9" not in v for v in c.views().values())
    c.heal()
    assert c.run_until(lambda: c.registrars["b1"].registered_at is not None, 10_000)
    c.run(1_000)
    acked = {r.instance for r in c.registrars.values() if r.registered_at is not None}
    assert acked == {"orders@10.0.0.1", "orders@10.0.0.2", "orders@10.0.1.9"}
    assert c.converged() and all(v == acked for v in c.views().values())


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="mode"):
        naming.naming_cluster("ca")
    c = naming.naming_cluster("ap", seed=1)
    with pytest.raises(ValueError, match="servers"):
        c.register("x", "svc@1", ["s9"])
