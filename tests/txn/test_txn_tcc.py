"""TCC branches on SQLite: empty rollback, idempotency and hanging, with and without the fence."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.txn.tcc import COMMITTED, ROLLBACKED, SUSPENDED, TRIED, TccAccount, run_transfers


@pytest.fixture
def svc(tmp_path):
    def make(fenced=True):
        s = TccAccount(tmp_path / f"svc{fenced}.sqlite", {"alice": 100}, fenced=fenced)
        made.append(s)
        return s
    made = []
    yield make
    for s in made:
        s.close()


def test_empty_rollback_is_recorded_and_the_late_try_is_refused(svc):
    s = svc()
    assert s.cancel("x1", "a", "alice", -30)                 # Cancel before any Try
    assert s.fence() == [("x1", "a", SUSPENDED)]
    assert s.accounts()["alice"] == (100, 0, 0)               # nothing released that was never frozen
    assert not s.try_("x1", "a", "alice", -30)               # the hanging Try is refused
    assert s.accounts()["alice"] == (100, 0, 0)


def test_the_naive_service_releases_what_it_never_froze_and_then_hangs(svc):
    s = svc(fenced=False)
    s.cancel("x1", "a", "alice", -30)
    assert s.accounts()["alice"] == (100, -30, 0)             # empty rollback
    s.try_("x1", "a", "alice", -30)
    assert s.accounts()["alice"] == (100, 0, 0)               # looks fine, but...
    s.cancel("x2", "a", "alice", -10)
    s.try_("x2", "a", "alice", -10)
    s.try_("x3", "a", "alice", -10)                           # a Try after its Cancel: frozen forever
    s.cancel("x3", "a", "alice", -10)
    s.try_("x3", "a", "alice", -10)
    assert s.accounts()["alice"][1] == 10                     # 10 frozen that nobody will release


@pytest.mark.parametrize("action, status", [("confirm", COMMITTED), ("cancel", ROLLBACKED)])
def test_phase_two_is_idempotent_with_the_fence(svc, action, status):
    s = svc()
    assert s.try_("x1", "a", "alice", -30)
    assert s.fence() == [("x1", "a", TRIED)]
    for _ in range(3):
        assert getattr(s, action)("x1", "a", "alice", -30)
    assert s.fence() == [("x1", "a", status)]
    assert s.accounts()["alice"] == ((70, 0, 0) if action == "confirm" else (100, 0, 0))
    other = "cancel" if action == "confirm" else "confirm"
    assert not getattr(s, other)("x1", "a", "alice", -30)    # no Cancel after Confirm, or vice versa


def test_without_the_fence_a_retried_confirm_takes_the_money_twice(svc):
    s = svc(fenced=False)
    s.try_("x1", "a", "alice", -30)
    s.confirm("x1", "a", "alice", -30)
    s.confirm("x1", "a", "alice", -30)
    assert s.accounts()["alice"] == (40, -30, 0)


def test_a_try_that_would_overdraw_is_refused_and_rolled_back(svc):
    s = svc()
    assert not s.try_("x1", "a", "alice", -300)
    assert s.fence() == [] and s.accounts()["alice"] == (100, 0, 0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_fenced_tcc_conserves_money_and_leaks_nothing_under_the_nemesis(tmp_path_factory, seed):
    r = run_transfers(tmp_path_factory.mktemp("tcc"), seed=seed, fenced=True)
    assert r["conserved"] and r["no_leak"] and r["no_negative"]


def test_naive_tcc_breaks_an_invariant_under_the_same_nemesis(tmp_path):
    broken = 0
    for seed in range(10):
        folder = tmp_path / str(seed)
        folder.mkdir()
        r = run_transfers(folder, seed=seed, fenced=False)
        broken += not (r["conserved"] and r["no_leak"] and r["no_negative"])
    assert broken >= 8


def test_bad_calls_are_rejected(svc):
    s = svc()
    with pytest.raises(ValueError, match="amount"):
        s.try_("x1", "a", "alice", 0)
    with pytest.raises(ValueError, match="account"):
        s.try_("x1", "a", "carol", -1)
    assert ds.txn.TccAccount is TccAccount
