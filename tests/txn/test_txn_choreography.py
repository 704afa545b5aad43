"""Saga choreography (events, no orchestrator) and the sagas' isolation countermeasures."""

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.txn.choreography import SUBSCRIPTIONS, Service, run_choreography
from dscourse.txn.isolation import COUNTERMEASURES, run_isolation

seeds = st.integers(0, 100_000)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, p_dup=st.floats(0, 0.6), p_fail=st.floats(0, 0.8))
def test_every_choreographed_order_settles_with_matching_effects(tmp_path_factory, seed, p_dup, p_fail):
    r = run_choreography(tmp_path_factory.mktemp("ch"), seed=seed, p_dup=p_dup, p_fail=p_fail)
    assert r["all_settled"] and r["approved_iff_effects"]
    assert {(a, e) for a, e, _ in r["flow"]} <= {(a, e) for e, subs in SUBSCRIPTIONS.items()
                                                 for a in ("order", "payment", "inventory")}
    assert all(dst in SUBSCRIPTIONS[e] for _, e, dst in r["flow"])      # only subscribers get events


def test_without_the_processed_event_table_duplicates_charge_twice(tmp_path):
    broken = 0
    for seed in range(10):
        (tmp_path / str(seed)).mkdir()
        broken += not run_choreography(tmp_path / str(seed), seed=seed, dedupe=False)["approved_iff_effects"]
    assert broken >= 8


def test_a_refused_reservation_is_compensated_by_a_refund(tmp_path):
    pay = Service(tmp_path / "p.sqlite", "payment")
    pay.handle("OrderCreated:s1", "OrderCreated", "s1")
    pay.handle("InventoryFailed:s1", "InventoryFailed", "s1")
    pay.handle("InventoryFailed:s1", "InventoryFailed", "s1")            # duplicate: skipped
    assert pay.rows() == {"s1": ("REFUNDED", 0)}
    assert [k for _, _, k, _ in pay.unpublished()] == ["PaymentCharged", "PaymentRefunded"]
    pay.close()


def test_no_service_talks_to_an_orchestrator(tmp_path):
    r = run_choreography(tmp_path, seed=3)
    senders = collections.Counter(a for a, _, _ in r["flow"])
    assert set(senders) <= {"order", "payment", "inventory"}


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_commutative_compensation_loses_no_update(tmp_path_factory, seed):
    assert run_isolation(tmp_path_factory.mktemp("iso"), seed=seed, countermeasure="commutative")["no_lost_update"]


@settings(max_examples=30, deadline=None)
@given(seed=seeds, cm=st.sampled_from(["semantic_lock", "pessimistic_view"]))
def test_semantic_lock_and_pessimistic_view_remove_both_anomalies(tmp_path_factory, seed, cm):
    r = run_isolation(tmp_path_factory.mktemp("iso"), seed=seed, countermeasure=cm)
    assert r["no_lost_update"] and r["no_dirty_read"]


def test_without_countermeasures_both_anomalies_happen(tmp_path):
    runs = [run_isolation(tmp_path, seed=s) for s in range(20)]
    assert sum(not r["no_lost_update"] for r in runs) >= 5
    assert sum(not r["no_dirty_read"] for r in runs) >= 5
    commutative = [run_isolation(tmp_path, seed=s, countermeasure="commutative") for s in range(20)]
    assert sum(not r["no_dirty_read"] for r in commutative) >= 5        # commutative fixes only updates
    lost = next(r for r in runs if not r["no_lost_update"])
    assert lost["final"] != lost["expected"]


def test_bad_countermeasure(tmp_path):
    with pytest.raises(ValueError, match="countermeasure"):
        run_isolation(tmp_path, seed=1, countermeasure="magic")
    assert len(COUNTERMEASURES) == 4
