"""k-sortedness, the B+-tree page-split counter and the birthday bound."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.ids import (
    BPlusTree,
    birthday_probability,
    inversion_rate,
    k_sortedness,
    measured_collision_rate,
    page_splits,
)


@given(st.lists(st.integers(), max_size=60))
def test_k_sortedness_bounds(xs):
    k = k_sortedness(xs)
    assert 0 <= k <= max(0, len(xs) - 1)
    assert k_sortedness(sorted(xs)) == 0
    if len(set(xs)) == len(xs) > 1:
        assert k_sortedness(sorted(xs, reverse=True)) == len(xs) - 1


def test_interleaved_workers_are_k_sorted_not_sorted():
    ids = [w * 10 + t * 1000 for t in range(50) for w in (3, 1, 2)]  # arrival order by time
    assert k_sortedness(ids) == 2 and 0 < inversion_rate(ids) < 0.5


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=400, unique=True))
def test_tree_keeps_every_key_in_order(keys):
    tree = BPlusTree(capacity=8)
    tree.insert_all(keys)
    flat = [k for page in tree._pages for k in page]
    assert flat == sorted(keys)
    assert all(1 <= len(p) <= 8 for p in tree._pages)
    assert tree.stats().pages == tree.splits + 1


def test_sequential_keys_fill_pages_and_random_keys_split_more():
    n = 20_000
    seq = page_splits(list(range(n)), key_bytes=8)
    rnd = page_splits(np.random.default_rng(0).permutation(n).tolist(), key_bytes=8)
    assert seq.fill > 0.99 and seq.splits == n // seq.capacity - (n % seq.capacity == 0)
    assert rnd.splits > 1.3 * seq.splits and 0.6 < rnd.fill < 0.8
    assert seq.tail_fraction == 1.0 and rnd.tail_fraction < 0.1
    wide = page_splits(list(range(n)), key_bytes=36)
    assert wide.capacity < seq.capacity and wide.splits > seq.splits


def test_birthday_bound_matches_measurement():
    p = birthday_probability(1000, 20)
    assert p == pytest.approx(0.379, abs=0.002)
    measured = measured_collision_rate(1000, 20, np.random.default_rng(5), trials=400)
    assert abs(measured - p) < 0.07
    assert birthday_probability(2**61, 122) == pytest.approx(0.3935, abs=1e-3)
    assert birthday_probability(1, 8) == 0.0


@pytest.mark.parametrize("call, match", [
    (lambda: BPlusTree(capacity=1), "capacity=1"),
    (lambda: BPlusTree(key_bytes=0), "key_bytes=0"),
    (lambda: birthday_probability(-1, 8), "n=-1"),
    (lambda: birthday_probability(5, 0), "bits=0"),
    (lambda: measured_collision_rate(5, 63, np.random.default_rng(0)), "bits=63"),
    (lambda: measured_collision_rate(5, 8, np.random.default_rng(0), trials=0), "trials=0"),
])
def test_bad_input(call, match):
    with pytest.raises(ds.ConfigError, match=match):
        call()
