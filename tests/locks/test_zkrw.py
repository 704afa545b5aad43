"""The event-driven ZooKeeper lock recipes: kazoo's read/write semantics and the herd effect."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.locks import zkrw


def name(i: int, kind: str) -> str:
    return f"_c_{i:04x}-{zkrw.KINDS[kind]}{i:010d}"


@given(st.lists(st.sampled_from(["read", "write"]), min_size=1, max_size=12), st.data())
def test_blocker_waits_for_the_latest_earlier_conflicting_node(kinds: list[str], data: st.DataObject) -> None:
    children = [name(i, k) for i, k in enumerate(kinds)]
    me = data.draw(st.integers(0, len(kinds) - 1))
    shuffled = data.draw(st.permutations(children))
    got = zkrw.blocker(list(shuffled), children[me])
    conflicts = [i for i in range(me) if kinds[me] == "write" or kinds[i] == "write"]
    assert got == (children[max(conflicts)] if conflicts else None)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.sampled_from(["read", "write"]), min_size=2, max_size=6), st.integers(1, 50))
def test_read_write_exclusion_and_everyone_served(kinds: list[str], seed: int) -> None:
    run = zkrw.contend(kinds, seed=seed)
    assert run.log.violations() == []
    assert sorted(run.log.grants()) == sorted(c.name for c in run.contenders)
    assert run.notifications <= len(kinds) - 1  # one notification per waiter at most


def test_consecutive_readers_share() -> None:
    run = zkrw.contend(["write", "read", "read", "read", "write"], seed=3)
    granted = {n: t for t, n, _, ev in run.log.rows if ev == "granted"}
    released = {n: t for t, n, _, ev in run.log.rows if ev == "released"}
    assert granted["c2"] < released["c1"] and granted["c3"] < released["c1"]
    assert granted["c4"] >= max(released["c1"], released["c2"], released["c3"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_expired_waiter_is_skipped_in_order(seed: int) -> None:
    run = zkrw.contend(["write"] * 5, seed=seed, expire=(2,))
    assert run.contenders[2].lost
    assert run.log.grants() == ["c0", "c1", "c3", "c4"]
    assert run.log.violations() == []


def test_herd_grows_with_waiters_and_the_predecessor_watch_does_not() -> None:
    small, big = zkrw.herd(2, "parent"), zkrw.herd(8, "parent")
    assert big["per_grant"] > 2 * small["per_grant"]
    for n in (2, 8):
        r = zkrw.herd(n, "predecessor")
        assert r["notifications"] == n  # exactly one per waiter
        assert r["releases"] == n + 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="strategy"):
        zkrw.contend(["write"], strategy="nope")
    with pytest.raises(ValueError, match="waiters"):
        zkrw.herd(0)
