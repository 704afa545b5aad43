"""etcd_lite: MVCC revisions, watch from a revision, leases, linearizable vs serializable reads."""

from __future__ import annotations

import pytest

from dscourse.zk.etcd_lite import etcd_cluster


@pytest.mark.parametrize("seed", range(3))
def test_revisions_and_historical_reads(seed: int) -> None:
    c = etcd_cluster(3, seed=seed)
    c.run_until_leader()
    e = c.client()
    r1, r2 = e.put("/k", "a"), e.put("/k", "b")
    r3 = e.delete("/k")
    assert (r1, r2, r3) == (1, 2, 3)
    assert e.get("/k", revision=r1)[0] == ("a", 1, 1, 1)
    assert e.get("/k", revision=r2)[0] == ("b", 2, 1, 2)
    assert e.get("/k")[0] is None and e.get("/k")[1] == 3
    r4 = e.put("/k", "c")
    assert e.get("/k")[0] == ("c", r4, r4, 1)  # a new life: new create_revision, version 1


def test_watch_from_a_revision_misses_nothing() -> None:
    c = etcd_cluster(3, seed=1)
    c.run_until_leader()
    writer, watcher = c.client(), c.client()
    start = writer.put("/cfg", "v1")
    writer.put("/cfg", "v2")             # before the watch exists
    events = []
    watcher.watch("/cfg", start, events.append)
    writer.put("/cfg", "v3")
    writer.delete("/cfg")
    c.run(50)
    assert [(e.type, e.value, e.mod_revision) for e in events] == [
        ("PUT", "v1", 1), ("PUT", "v2", 2), ("PUT", "v3", 3), ("DELETE", None, 4)]


def test_leases_expire_and_keepalive_keeps_them() -> None:
    c = etcd_cluster(3, seed=2)
    c.run_until_leader()
    e = c.client()
    short, kept = e.lease_grant(400), e.lease_grant(400)
    e.put("/a", "1", lease=short)
    e.put("/b", "2", lease=kept)
    for _ in range(4):
        c.run(250)
        e.keepalive(kept)
    assert e.get("/a")[0] is None
    assert e.get("/b")[0] is not None
    assert e.put("/c", "3", lease=short) == "lease not found"


def test_a_new_leader_still_expires_leases_and_keeps_writes() -> None:
    c = etcd_cluster(3, seed=3)
    leader = c.run_until_leader()
    e = c.client()
    lease = e.lease_grant(1000)
    e.put("/eph", "x", lease=lease)
    e.put("/kept", "y")
    c.crash(leader)
    c.run(3000)
    assert c.leader() not in (None, leader)
    assert e.get("/eph")[0] is None and e.get("/kept")[0][0] == "y"


def test_serializable_reads_can_be_stale_linearizable_ones_not() -> None:
    c = etcd_cluster(3, seed=4)
    leader = c.run_until_leader()
    lagging = next(s for s in c.ids if s != leader)
    e = c.client()
    e.put("/x", "0")
    c.run(100)
    c.sim.slow_link(leader, lagging, 200.0)
    e.put("/x", "1")
    stale = e.get("/x", serializable=True, server=lagging)[0]
    fresh = e.get("/x", server=lagging)[0]      # redirected to the leader, ReadIndex
    assert stale[0] == "0" and fresh[0] == "1"
    assert c.violations == []
