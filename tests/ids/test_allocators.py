"""Simulated allocators: no duplicates under outages, lossy links and retries; Leaf's buffer and
step rule; Tinyid's multi-DB disjointness; multi-master auto-increment; Redis INCR durability;
Leaf-snowflake worker ids and start-up clock check."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.ids import cluster, duplicates, leaf_next_step
from dscourse.sim import lossy
from dscourse.sim.cluster import Cluster

MIN = 60_000


@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(["leaf", "tinyid", "autoincrement"]),
       down_at=st.integers(20, 400), down_for=st.integers(1, 300))
@settings(max_examples=30)
def test_never_a_duplicate_under_db_outages_loss_duplication_and_retries(seed, kind, down_at, down_for):
    c = cluster(kind, allocators=3, dbs=2, seed=seed, step=50,
                network=lossy(drop=0.2, duplicate=0.1), timeout_ms=15, stop_ms=900)
    c.run(until=down_at)
    c.crash("db0")
    c.crash("a1")
    c.run(until=down_at + down_for)
    c.recover("db0")
    c.recover("a1")
    c.run(until=1500)
    assert c.duplicates() == []
    assert len(c.issued) > 1000  # and the service made progress


@pytest.mark.parametrize("kind, servers", [
    ("autoincrement", ["db0", "db1"]), ("leaf", ["db0"]), ("tinyid", ["db0", "db1"]),
    ("redis", ["redis"]), ("leaf-snowflake", ["zk1", "zk2", "zk3"])])
def test_the_builder_returns_one_cluster_shape(kind, servers):
    c = cluster(kind, allocators=2, seed=5)
    assert isinstance(c, Cluster) and c.kind == kind
    assert c.servers == servers and c.allocators == ["a0", "a1"]
    clients = sorted(n for n in c.nodes if n.startswith("zk-c"))  # ZooKeeper connections
    assert sorted(c.nodes) == sorted(servers + c.allocators + clients)
    assert (c.ensemble is not None) == (kind == "leaf-snowflake")
    assert c.run(until=300) is c and c.now == 300
    assert len(c.issued) > 0 and c.ids() == [r.id for r in c.issued]
    assert c.duplicates() == duplicates(c.issued) == []
    assert f"issued={len(c.issued)}" in repr(c)
    sim, issued = c                      # the former tuple shape still unpacks
    assert sim is c.sim and issued is c.issued


def test_leaf_step_rule():
    assert leaf_next_step(1000, 1000, 5 * MIN) == 2000           # < 15 min: double
    assert leaf_next_step(600_000, 1000, 5 * MIN) == 600_000     # would pass 1,000,000
    assert leaf_next_step(500_000, 1000, 5 * MIN) == 1_000_000
    assert leaf_next_step(4000, 1000, 20 * MIN) == 4000          # 15-30 min: keep
    assert leaf_next_step(4000, 1000, 30 * MIN) == 2000          # >= 30 min: halve
    assert leaf_next_step(1000, 1000, 45 * MIN) == 1000          # not below the row's step


def test_leaf_prefetches_at_10_percent_and_never_stalls_when_the_db_is_fast():
    c = cluster("leaf", allocators=1, step=1000, db_latency_ms=5, adapt=False)
    c.run(until=3000)
    a = c.nodes["a0"]
    assert a.stalls == 1  # only the very first request, before any segment
    # the second segment was asked for after 100 ids (10%) and arrived 10 ms later
    assert a.loads[1][0] == c.issued[100].issued_ms + 10
    assert max(r.issued_ms - r.requested_ms for r in c.issued[20:]) == 0


def test_leaf_stalls_when_the_db_is_slower_than_a_segment_lasts():
    c = cluster("leaf", allocators=1, step=50, db_latency_ms=40, adapt=False)
    c.run(until=2000)
    assert c.nodes["a0"].stalls > 5
    assert max(r.issued_ms - r.requested_ms for r in c.issued) > 20


def test_leaf_adapts_the_step_in_the_simulation():
    c = cluster("leaf", allocators=1, step=100, segment_duration_ms=500, max_step=1600)
    c.run(until=4000)
    steps = [s for _, s in c.nodes["a0"].loads]
    assert steps[:2] == [100, 100] and 200 in steps and max(steps) == 1600


def test_tinyid_two_databases_are_disjoint_and_survive_one_outage():
    c = cluster("tinyid", allocators=3, dbs=2, seed=4, step=100, timeout_ms=10)
    c.run(until=500)
    c.crash("db0")
    before = len(c.issued)
    c.run(until=1500)
    assert len(c.issued) - before > 2500  # still serving from db1
    assert c.duplicates() == []
    late = [r.id for r in c.issued if r.requested_ms > 700]
    assert late and all(i % 2 == 1 for i in late)  # db1's remainder
    rows = [c.nodes[d].row("order") for d in ("db0", "db1")]
    assert rows[0]["delta"] == rows[1]["delta"] == 2
    assert sum(c.nodes[f"a{i}"].failovers for i in range(3)) > 0


def test_tinyid_version_conflicts_are_retried_without_duplicates():
    c = cluster("tinyid", allocators=4, dbs=1, seed=2, step=20)
    c.run(until=1000)
    assert sum(c.nodes[f"a{i}"].conflicts for i in range(4)) > 0
    assert c.duplicates() == []
    row = c.nodes["db0"].row("order")
    assert row["version"] == (row["max_id"] - 1) // 20  # one version bump per claimed segment


def test_multi_master_auto_increment_uses_disjoint_residues():
    c = cluster("autoincrement", allocators=2, dbs=3, seed=1)
    c.run(until=300)
    assert c.duplicates() == [] and len(c.issued) > 500
    assert {r.id % 3 for r in c.issued} == {0, 1, 2}
    for i in range(3):
        assert c.nodes[f"db{i}"].stable["auto"] % 3 == (i + 1) % 3


@pytest.mark.parametrize("persistence, appendfsync, repeats", [
    ("aof", "always", False), ("aof", "everysec", True), ("aof", "no", True),
    ("rdb", "everysec", True), ("none", "everysec", True)])
def test_redis_incr_repeats_ids_after_a_crash_unless_fsync_always(persistence, appendfsync, repeats):
    c = cluster("redis", allocators=2, seed=3, persistence=persistence,
                appendfsync=appendfsync)
    c.run(until=2500)
    c.crash("redis")
    c.run(until=2600)
    c.recover("redis")
    c.run(until=3000)
    assert bool(c.duplicates()) == repeats


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_leaf_snowflake_worker_ids_are_persistent_sequential_znodes(seed):
    c = cluster("leaf-snowflake", allocators=3, seed=seed)
    c.run(until=c.now + 5000)
    admin = c.ensemble.client()
    admin.start()
    children = sorted(admin.get_children("/snowflake/leaf/forever"))
    assert sorted(k.split("-")[0] for k in children) == ["a0:8080", "a1:8080", "a2:8080"]
    for key in children:
        data, stat = admin.get("/snowflake/leaf/forever/" + key)
        node = c.nodes[key.split(":")[0]]
        assert node.gen.worker == int(key[-10:]) and stat.ephemeralOwner == 0
        assert json.loads(data)["timestamp"] > 0 and stat.version >= 1  # reported every 3 s
        assert node.stable["workerID.properties"] == node.gen.worker  # the local cache file
    assert sorted(c.nodes[a].gen.worker for a in c.allocators) == [0, 1, 2] and c.duplicates() == []


def test_leaf_snowflake_restart_reuses_its_worker_id():
    c = cluster("leaf-snowflake", allocators=2, seed=2)
    c.run(until=4000)
    before = c.nodes["a1"].gen.worker
    c.crash("a1")
    c.run(until=5000)
    c.recover("a1")
    c.run(until=6000)
    a1 = c.nodes["a1"]
    assert a1.status == "serving" and a1.started_from == "zookeeper" and a1.gen.worker == before
    assert c.duplicates() == []


@pytest.mark.parametrize("seed", [1, 5])
def test_leaf_snowflake_start_up_check_is_swallowed_by_the_cache_fallback(seed):
    """Leaf throws CheckLastTimeException inside the try whose catch reads the cached worker id:
    a restart with a clock behind its last report starts anyway and repeats ids; the design's
    "refuse" does not start."""
    outcomes = {}
    for mode in ("cache", "refuse"):
        c = cluster("leaf-snowflake", allocators=3, seed=seed, on_check_failure=mode)
        c.run(until=4000)
        c.crash("a1")
        c.sim.clock_jump("a1", -4000)  # behind the last report (at most 3 s old)
        c.recover("a1")
        c.run(until=8000)
        outcomes[mode] = (c.nodes["a1"].status, c.nodes["a1"].started_from, len(c.duplicates()))
    assert outcomes["cache"][:2] == ("serving", "cache") and outcomes["cache"][2] > 0
    assert outcomes["refuse"] == ("refused", None, 0)


def test_leaf_snowflake_zookeeper_down_uses_the_cache_or_fails():
    c = cluster("leaf-snowflake", allocators=2, seed=1, zk_timeout_ms=2000)
    c.run(until=3000)
    worker = c.nodes["a0"].gen.worker
    c.crash("a0")
    for server in c.servers:
        c.crash(server)
    c.recover("a0")
    c.run(until=4000)
    assert c.nodes["a0"].status == "registering"  # waiting for ZooKeeper
    c.run(until=6000)
    assert c.nodes["a0"].status == "serving" and c.nodes["a0"].started_from == "cache"
    assert c.nodes["a0"].gen.worker == worker
    fresh = cluster("leaf-snowflake", allocators=1, seed=1, zk_timeout_ms=2000)
    for server in fresh.servers:
        fresh.crash(server)
    fresh.crash("a0")
    fresh.recover("a0")
    fresh.run(until=fresh.now + 3000)
    assert fresh.nodes["a0"].status == "failed" and fresh.issued == []


def test_leaf_snowflake_first_start_race_takes_worker_zero():
    """On an empty ZooKeeper Leaf's first-start branch keeps workerID = 0 whatever sequence
    number its node got: servers starting together share worker 0 and repeat ids."""
    c = cluster("leaf-snowflake", allocators=3, seed=1, provision=False)
    c.run(until=c.now + 2000)
    assert [c.nodes[a].gen.worker for a in c.allocators] == [0, 0, 0]
    assert len(c.duplicates()) > 0


def test_leaf_snowflake_run_time_rollback():
    c = cluster("leaf-snowflake", allocators=3, seed=1)
    c.run(until=4000)
    c.sim.clock_jump("a2", -3)  # a small runtime rollback: Leaf waits 2 x 3 ms
    c.run(until=4400)
    assert c.nodes["a2"].errors == 0 and c.nodes["a2"].waited_rollbacks == 1
    c.sim.clock_jump("a0", -50)  # too large: requests fail instead of repeating ids
    c.run(until=4600)
    assert c.nodes["a0"].errors > 0
    assert c.duplicates() == []


def test_leaf_snowflake_bad_options():
    c = cluster("leaf-snowflake", allocators=1, seed=1)
    conn = c.nodes["a0"].connector
    with pytest.raises(ValueError, match="on_check_failure='ignore'"):
        ds.ids.LeafSnowflakeNode("b0", sink=[], connector=conn, on_check_failure="ignore")
    with pytest.raises(ValueError, match="node id"):
        ds.ids.LeafSnowflakeNode("b-0", sink=[], connector=conn)


@pytest.mark.parametrize("call, match", [
    (lambda: cluster("uuid"), "kind='uuid'"),
    (lambda: cluster("leaf", allocators=0), "allocators=0"),
    (lambda: cluster("tinyid", dbs=0), "dbs=0"),
    (lambda: ds.ids.Database("db", auto_increment=(2, 3)), "auto_increment_offset=3"),
    (lambda: ds.ids.Database("db", rows={"x": {"step": 0}}), "step of 'x'=0"),
    (lambda: ds.ids.Database("db", rows={"x": {"delta": 2, "remainder": 2}}), "remainder of 'x'=2"),
    (lambda: ds.ids.LeafSegmentAllocator("a", db="db", biz="x", sink=[], prefetch=2), "prefetch=2"),
    (lambda: ds.ids.TinyidAllocator("a", dbs=[], biz="x", sink=[]), "dbs=\\[\\]"),
    (lambda: ds.ids.TinyidAllocator("a", dbs=["d"], biz="x", sink=[], loading_percent=101), "loading_percent"),
    (lambda: ds.ids.AutoIncrementClient("a", dbs=["d"], sink=(), ), "sink=\\(\\)"),
    (lambda: ds.ids.AutoIncrementClient("a", dbs=["d"], sink=[], demand_interval_ms=0), "demand_interval_ms=0"),
])
def test_bad_configuration(call, match):
    with pytest.raises(ds.ConfigError, match=match):
        call()


def test_unknown_biz_tag_is_reported():
    sim = ds.sim.Simulation(seed=0)
    sim.add_node(ds.ids.Database("db", rows={"order": {}}))
    sim.add_node(ds.ids.LeafSegmentAllocator("a", db="db", biz="user", sink=[]))
    with pytest.raises(ds.ConfigError, match="biz tag='user'"):
        sim.run(until=10)
