"""The transactional outbox: relay crashes, broker duplicates, consumer crashes."""

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.txn.outbox import CONSUMER_SCHEMA, ORDER_SCHEMA, consume, place_order, run_outbox


def _ok(r):
    return r["all_published"] and r["exactly_once"] and r["no_orphan"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_every_accepted_order_is_published_and_shipped_exactly_once(tmp_path_factory, seed):
    r = run_outbox(tmp_path_factory.mktemp("outbox"), seed=seed)
    assert _ok(r)


def test_without_the_dedupe_table_duplicates_ship_twice(tmp_path):
    broken = 0
    for seed in range(10):
        folder = tmp_path / str(seed)
        folder.mkdir()
        r = run_outbox(folder, seed=seed, dedupe=False)
        broken += not r["exactly_once"]
        assert r["no_orphan"] and r["all_published"]
    assert broken >= 8


def test_a_rejected_order_leaves_no_message_and_a_crashed_consume_leaves_nothing(tmp_path):
    db = sqlite3.connect(tmp_path / "o.sqlite", isolation_level=None)
    db.executescript(ORDER_SCHEMA)
    assert not place_order(db, "o1", 0)                 # CHECK (amount > 0) fails: both rolled back
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
    assert place_order(db, "o2", 5)
    assert db.execute("SELECT msg_id FROM outbox").fetchall() == [("m-o2",)]
    c = sqlite3.connect(tmp_path / "c.sqlite", isolation_level=None)
    c.executescript(CONSUMER_SCHEMA)
    assert not consume(c, "m-o2", "o2", crash=True)
    assert c.execute("SELECT COUNT(*) FROM shipment").fetchone() == (0,)
    assert consume(c, "m-o2", "o2") and not consume(c, "m-o2", "o2")
    assert c.execute("SELECT COUNT(*) FROM shipment").fetchone() == (1,)
    db.close()
    c.close()
    assert ds.txn.run_outbox is run_outbox
