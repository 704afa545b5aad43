"""Best-effort notification: WeChat Pay's schedule, the idempotent receiver, reconciliation."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.txn.notify import SCHEDULE_S, offsets_ms, run_notify

HOUR = 3_600_000


def test_the_schedule_is_wechat_pays_and_totals_24h4m():
    assert len(SCHEDULE_S) == 15
    assert SCHEDULE_S[:4] == (15, 15, 30, 180) and SCHEDULE_S[-2:] == (21600, 21600)
    assert sum(SCHEDULE_S) == 24 * 3600 + 4 * 60


@pytest.mark.parametrize("seed", range(5))
def test_an_unanswered_notice_follows_the_schedule_exactly_then_stops(seed):
    r = run_notify(seed, orders=2, drop=1.0, duplicate=0.0)          # every message lost
    for times in r["notices"].values():
        first = times[0]
        assert [t - first for t in times] == offsets_ms()            # 16 notices, the last at +24h4m
    assert not r["all_paid"] and r["shipped"] == {}


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), drop=st.floats(0.0, 0.6), duplicate=st.floats(0.0, 0.3))
def test_the_idempotent_receiver_ships_each_paid_order_exactly_once(seed, drop, duplicate):
    r = run_notify(seed, drop=drop, duplicate=duplicate)
    assert r["all_paid"] and r["exactly_once"]
    for times in r["notices"].values():                 # retries stop once a notice is acknowledged
        assert 1 <= len(times) <= len(SCHEDULE_S) + 1


def test_without_the_state_check_retries_and_duplicates_ship_twice():
    broken = sum(not run_notify(s, idempotent=False)["exactly_once"] for s in range(12))
    assert broken >= 6
    assert all(run_notify(s)["exactly_once"] for s in range(12))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), hours=st.floats(24.2, 40))
def test_an_outage_longer_than_the_schedule_needs_the_query_api(seed, hours):
    """Down from the first payment for longer than 24h4m: every notice is lost; only the
    merchant's own queries (reconciliation) learn the payments."""
    lost = run_notify(seed, drop=0.0, duplicate=0.0, outage_ms=(0.0, hours * HOUR))
    assert not lost["all_paid"] and all(len(t) == 16 for t in lost["notices"].values())
    fixed = run_notify(seed, drop=0.2, duplicate=0.1, outage_ms=(0.0, hours * HOUR), reconcile_ms=600_000)
    assert fixed["all_paid"] and fixed["exactly_once"]


def test_a_short_outage_is_covered_by_the_retries():
    r = run_notify(3, drop=0.0, duplicate=0.0, outage_ms=(0.0, 5 * HOUR))
    assert r["all_paid"] and r["exactly_once"]


def test_bad_input_and_no_file_left_behind():
    with pytest.raises(ValueError, match="orders"):
        run_notify(1, orders=0)
    with pytest.raises(ValueError, match="outage_ms"):
        run_notify(1, outage_ms=(5.0, 1.0))
    before = set(Path(tempfile.gettempdir()).glob("dscourse-notify-*"))
    run_notify(1, orders=1)
    assert set(Path(tempfile.gettempdir()).glob("dscourse-notify-*")) == before
