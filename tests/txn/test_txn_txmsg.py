"""RocketMQ-style transactional messages: half message, check-back, discard after the last check."""

from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.txn.txmsg import CHECK_MAX, Broker, Producer, run_txmsg


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_check_back_makes_messages_match_committed_orders(tmp_path_factory, seed):
    r = run_txmsg(tmp_path_factory.mktemp("txmsg"), seed=seed)
    assert r["consistent"] and r["settled"]


def test_without_check_back_half_messages_are_stranded(tmp_path):
    stranded = 0
    for seed in range(10):
        folder = tmp_path / str(seed)
        folder.mkdir()
        r = run_txmsg(folder, seed=seed, check_back=False)
        stranded += not r["settled"]
        assert set(r["visible"]) <= set(r["orders"])        # a half message is never visible
    assert stranded >= 8


def test_a_half_message_is_invisible_and_a_silent_producer_loses_it_after_the_last_check(tmp_path):
    b, p = Broker(tmp_path / "b.sqlite"), Producer(tmp_path / "p.sqlite")
    try:
        b.send_half("m1", "o1")
        assert b.visible() == []
        assert p.local_transaction("m1", "o1")
        for _ in range(CHECK_MAX):
            b.check_back(p, answers=0)                      # the producer is unreachable
        assert b.pending() == 1
        b.check_back(p, answers=0)
        assert b.pending() == 0 and b.visible() == []       # discarded: the order has no message
        assert p.orders() == ["o1"]
        b.send_half("m2", "o2")
        p.local_transaction("m2", "o2", fail=True)
        b.check_back(p)
        assert b.visible() == [] and p.check("m2") is False
    finally:
        b.close()
        p.close()
    assert ds.txn.run_txmsg is run_txmsg
