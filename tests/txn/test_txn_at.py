"""Seata AT on SQLite: images, undo_log, global locks, dirty-write detection."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.sim import stream
from dscourse.txn.at import AtResource, TransactionCoordinator, finish


@pytest.fixture
def at(tmp_path):
    tc = TransactionCoordinator(tmp_path / "tc.sqlite")
    a = AtResource(tmp_path / "a.sqlite", tc, "a", {"alice": 100})
    b = AtResource(tmp_path / "b.sqlite", tc, "b", {"bob": 0})
    yield tc, a, b
    for x in (a, b, tc):
        x.close()


def test_phase_one_writes_images_and_a_global_lock_and_rollback_restores(at):
    tc, a, b = at
    assert a.update("g1", "1", "alice", -30) and b.update("g1", "2", "bob", 30)
    assert a.balance("alice") == 70                           # committed locally: read-uncommitted
    assert '"before": [100], "after": [70]' in a.undo_rows()[0][2]
    assert tc.locks() == [("a:account:alice", "g1"), ("b:account:bob", "g1")]
    assert finish("g1", [a, b], commit=False)
    assert (a.balance("alice"), b.balance("bob")) == (100, 0)
    assert a.undo_rows() == [] and tc.locks() == []


def test_commit_deletes_the_undo_log_and_releases_the_locks(at):
    tc, a, _ = at
    a.update("g1", "1", "alice", -30)
    finish("g1", [a], commit=True)
    assert a.balance("alice") == 70 and a.undo_rows() == [] and tc.locks() == []


def test_the_global_lock_stops_a_second_global_transaction_writing_the_row(at):
    _, a, _ = at
    assert a.update("g1", "1", "alice", -30)
    assert not a.update("g2", "1", "alice", -50)             # refused; its local change rolled back
    assert a.balance("alice") == 70 and len(a.undo_rows()) == 1
    assert finish("g1", [a], commit=False) and a.balance("alice") == 100
    assert a.update("g2", "1", "alice", -50)


def test_a_non_seata_write_makes_the_rollback_fail_and_keeps_the_locks(at):
    tc, a, _ = at
    a.update("g1", "1", "alice", -30)
    a.plain_update("alice", -5)                              # no global lock: a dirty write
    assert not finish("g1", [a], commit=False)
    assert a.balance("alice") == 65 and len(a.undo_rows()) == 1 and tc.locks()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_interleaved_global_transactions_end_as_their_committed_deltas(tmp_path_factory, seed):
    d = tmp_path_factory.mktemp("at")
    rng = stream(seed, "at-nemesis")
    tc = TransactionCoordinator(d / "tc.sqlite")
    rs = [AtResource(d / f"r{i}.sqlite", tc, f"r{i}", {"x": 100, "y": 100}) for i in range(2)]
    try:
        open_tx: dict[str, list] = {}
        expected = {(i, k): 100 for i in range(2) for k in "xy"}
        for step in range(30):
            if open_tx and rng.random() < 0.4:
                xid = sorted(open_tx)[int(rng.integers(len(open_tx)))]
                commit = bool(rng.random() < 0.5)
                assert finish(xid, rs, commit)
                if commit:
                    for i, k, dlt in open_tx[xid]:
                        expected[(i, k)] += dlt
                del open_tx[xid]
            else:
                joining = open_tx and rng.random() < 0.4        # a second branch of an open transaction
                xid = sorted(open_tx)[int(rng.integers(len(open_tx)))] if joining else f"g{step}"
                i, k, dlt = int(rng.integers(2)), "xy"[int(rng.integers(2))], int(rng.integers(-20, 21))
                if rs[i].update(xid, f"b{step}", k, dlt):
                    open_tx.setdefault(xid, []).append((i, k, dlt))
        for xid in sorted(open_tx):
            assert finish(xid, rs, commit=False)
        assert {(i, k): rs[i].balance(k) for i in range(2) for k in "xy"} == expected
        assert tc.locks() == [] and all(r.undo_rows() == [] for r in rs)
    finally:
        for r in rs:
            r.close()
        tc.close()
