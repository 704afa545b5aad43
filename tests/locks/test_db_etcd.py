"""Database locks on real SQLite and etcd's lease lock on etcd_lite: each works, and each fails
the way the chapter says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.locks import db, etcd


def test_row_lock_excludes_and_a_crash_releases(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    a, b = db.RowLock(path), db.RowLock(path)
    assert a.acquire()
    assert not b.acquire()  # "database is locked": no second holder, and no lease either
    a.write("A")
    assert not b.acquire()  # still blocked while A hangs inside its transaction
    a.crash()  # the connection dies: SQLite rolls the transaction back and frees the lock
    assert b.acquire()
    value = b.conn.execute("SELECT value FROM resources").fetchone()[0]
    assert value == ""  # A's uncommitted write was rolled back
    b.write("B")
    b.release()
    assert db.RowLock(path).acquire()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.sampled_from(["acquire", "release"])), max_size=30))
def test_unique_key_lock_is_exclusive_and_tokens_grow(tmp_path_factory: pytest.TempPathFactory,
                                                      ops: list[tuple[str, str]]) -> None:
    lock = db.UniqueKeyLock(tmp_path_factory.mktemp("u") / "locks.db")
    holder, last = None, 0
    for who, op in ops:
        if op == "acquire":
            token = lock.acquire(who, now=0)
            assert (token is not None) == (holder is None)
            if token is not None:
                assert token > last
                holder, last = who, token
        else:
            assert lock.release(who) == (holder == who)  # a non-owner's release deletes nothing
            if holder == who:
                holder = None
        assert lock.holder() == holder


def test_unique_key_lock_failures(tmp_path: Path) -> None:
    path = tmp_path / "locks.db"
    a, b = db.UniqueKeyLock(path), db.UniqueKeyLock(path)
    assert a.acquire("A", now=0) == 1
    a.close()  # A crashes without deleting its row
    assert b.acquire("B", now=10_000) is None  # held forever: nothing expires it
    # with an expiry column and a reaper, the lock frees -- and a paused holder still believes
    c = db.UniqueKeyLock(tmp_path / "lease.db")
    assert c.acquire("A", now=0, lease_ms=100) == 1
    assert c.reap(now=50) == 0
    assert c.reap(now=150) == 1
    assert c.acquire("B", now=150, lease_ms=100) == 2  # A, paused, still thinks it holds token 1
    assert not c.release("A")  # ...and its late release does not delete B's row
    assert c.holder() == "B"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_etcd_lease_lock_pause_and_fencing(seed: int) -> None:
    loose = etcd.etcd_pause(seed, fencing=False)
    assert loose.tokens["B"] > loose.tokens["A"]  # create revisions grow with every grant
    assert loose.a_believed_after_pause and loose.b_waited_on == ["/lock/resource/A"]
    assert loose.audit.overlaps() and loose.audit.stale_writes()  # two holders; the stale write landed
    fenced = etcd.etcd_pause(seed, fencing=True)
    assert fenced.audit.stale_writes() == []
    assert [accepted for _, _, _, accepted, _ in fenced.resource.log] == [True, False]


def test_etcd_keepalive_keeps_the_lock() -> None:
    cluster = etcd.etcd_lite.etcd_cluster(3, seed=4)
    cluster.run_until_leader()
    a, b = cluster.client(), cluster.client()
    la = etcd.EtcdMutex(a, "A", ("A", "B"), ttl_ms=300)
    lb = etcd.EtcdMutex(b, "B", ("A", "B"), ttl_ms=300)
    la.acquire()
    for _ in range(10):  # 10 x 100 ms = 1 s, more than 3 TTLs, with keep-alives
        cluster.sim.run(until=cluster.sim.now + 100)
        la.keepalive()
    with pytest.raises(TimeoutError):
        lb.acquire(timeout_ms=200)  # still A's: keep-alives renewed its lease
    la.release()
    token = lb.acquire(timeout_ms=2000)
    assert lb.held and token > la.token  # type: ignore[operator]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="name"):
        etcd.EtcdMutex(None, "C", ("A", "B"))
    with pytest.raises(ValueError, match="ttl_ms"):
        etcd.EtcdMutex(None, "A", ("A", "B"), ttl_ms=0)
