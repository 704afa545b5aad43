"""Resource managers on real SQLite, and 2PC/3PC clusters over them under faults."""

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.sim import stream


def test_a_crash_loses_exactly_the_uncommitted_local_work(tmp_path):
    db = tmp_path / "p1.sqlite"
    rm = ds.txn.SQLiteRM(db, {"x": 100})
    assert rm.prepare("t1", (("x", -10),))
    rm.conn.execute("BEGIN IMMEDIATE")
    rm.conn.execute("UPDATE accounts SET balance = 0 WHERE key = 'x'")   # never committed
    rm.close()                                                            # the crash
    again = ds.txn.SQLiteRM(db)
    assert again.rows() == {"x": 100}
    assert again.outcome("t1") == "prepared" and again.locks() == {"x": "t1"}
    again.commit("t1")
    assert again.rows() == {"x": 90} and again.locks() == {}
    again.close()


ops = st.lists(st.tuples(st.sampled_from(["prepare", "commit", "abort"]), st.sampled_from(["t1", "t2", "t3"]),
                         st.sampled_from(["x", "y"]), st.integers(-60, 60)), max_size=25)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_sqlite_and_memory_resource_managers_agree(tmp_path_factory, steps):
    db = tmp_path_factory.mktemp("rm") / "db.sqlite"
    rows = {"x": 50, "y": 50}
    lite, mem = ds.txn.SQLiteRM(db, rows), ds.txn.MemoryRM({}, rows)
    try:
        for op, txid, key, delta in steps:
            results = []
            for rm in (lite, mem):
                try:
                    results.append(rm.prepare(txid, ((key, delta),)) if op == "prepare"
                                   else getattr(rm, op)(txid))
                except ValueError as e:
                    results.append(type(e))
            assert results[0] == results[1]
            assert lite.rows() == mem.rows() and lite.locks() == mem.locks()
            assert lite.outcome(txid) == mem.outcome(txid)
            assert all(v >= 0 for v in lite.rows().values())
    finally:
        lite.close()


def test_bad_writes_are_rejected():
    with pytest.raises(ValueError, match="write"):
        ds.txn.Coordinator("c", [("t1", {"p1": (("x", "ten"),)})])
    with pytest.raises(ValueError, match="writes"):
        ds.txn.Coordinator("c", [("t1", {"p1": 5})])


def test_cluster_commits_and_removes_its_databases():
    with ds.txn.cluster("2pc", 3, seed=1) as c:
        c.run(1000)
        assert c.outcomes() == {"t1": {"p1": "committed", "p2": "committed", "p3": "committed"}}
        assert c.balances() == {"x1": 90, "x2": 105, "x3": 105}
        assert c.sql("p1", "SELECT txid, state FROM txn_log") == [("t1", "committed")]
        folder = c.folder
        assert len(list(folder.iterdir())) == 3
    assert not folder.exists()


def test_in_doubt_participants_hold_locks_until_the_coordinator_recovers():
    with ds.txn.cluster("2pc", 2, seed=1, network=ds.sim.reliable()) as c:
        c.run(until=2.5)                      # votes delivered, decision sent at t=2, not yet arrived
        c.crash("c")
        c.partition(["c"], ["p1", "p2"])      # the decision in flight is lost (dropped at arrival)
        c.run(until=10)
        c.heal()
        c.run(500)
        assert c.in_doubt() == ["p1", "p2"]
        assert c.locks() == {"p1": [("x1", "t1")], "p2": [("x2", "t1")]}
        c.recover("c")
        c.run(500)
        assert c.in_doubt() == [] and c.atomic()
        assert c.locks() == {"p1": [], "p2": []}
        assert set(c.outcomes()["t1"].values()) == {"committed"}   # the commit was logged


@pytest.mark.parametrize("seed", range(12))
def test_2pc_under_loss_duplicates_and_crashes_stays_atomic_and_resolves(seed):
    rng = stream(seed, "test-nemesis")
    with ds.txn.cluster("2pc", 3, seed=seed, network=ds.sim.lossy(drop=0.2, duplicate=0.1)) as c:
        victims = ["c", "p1", "p2", "p3"]
        for _ in range(2):
            who = victims[int(rng.integers(len(victims)))]
            c.run(float(rng.uniform(0, 40)))
            if c.up(who):
                c.crash(who)
                assert c.atomic()
                c.run(float(rng.uniform(0, 300)))
                c.recover(who)
        c.run(5000)
        assert c.atomic()
        assert c.in_doubt() == []
        assert sum(c.balances().values()) == 300          # money conserved
        states = set(c.outcomes()["t1"].values()) - {None}
        assert states in ({"committed"}, {"aborted"})


def test_3pc_commits_everywhere_without_a_partition_and_splits_with_one():
    with ds.txn.cluster("3pc", 2, seed=1, network=ds.sim.reliable()) as c:
        c.run(1000)
        assert set(c.outcomes()["t1"].values()) == {"committed"}
    with ds.txn.cluster("3pc", 2, seed=1, network=ds.sim.reliable()) as c:
        c.run(until=2.5)                      # PreCommit sent to both, not yet delivered
        c.partition(["c", "p1"], ["p2"])
        c.run(1000)
        assert c.outcomes()["t1"] == {"p1": "committed", "p2": "aborted"}
        assert not c.atomic()
        assert sum(c.balances().values()) == 190          # money destroyed: x1 paid, x2 never credited


def test_no_database_file_is_left_behind_after_many_clusters(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    for seed in range(3):
        with ds.txn.cluster(seed=seed) as c:
            c.run(500)
    assert list(tmp_path.iterdir()) == []


def test_sql_reads_work_while_the_node_is_crashed():
    with ds.txn.cluster("2pc", 2, seed=2) as c:
        c.run(1000)
        c.crash("p1")
        assert c.sql("p1", "SELECT balance FROM accounts WHERE key = 'x1'") == [(90,)]
        with pytest.raises(sqlite3.OperationalError):
            c.sql("p1", "DELETE FROM accounts")          # read-only
