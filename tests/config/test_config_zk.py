"""The ZooKeeper-backed config center: watch + getData never ends stale; get-then-exists can."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds

KEY = "application.yaml"


def two_quick_sets(seed, gap, atomic):
    c = ds.config.zk_cluster(clients=3, seed=seed, atomic=atomic)
    c.publish(KEY, "v: 1")
    c.run(gap)
    c.publish(KEY, "v: 2")
    c.run(3_000)
    return c


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1_000), gap=st.floats(0.0, 30.0))
def test_watch_with_getdata_never_ends_stale(seed, gap):
    c = two_quick_sets(seed, gap, atomic=True)
    assert c.current(KEY) == "v: 2" and c.converged(), c.stale()


@pytest.mark.parametrize("seed", [1, 2])
def test_get_then_exists_loses_a_set_inside_the_one_shot_watch_window(seed):
    lost = [g / 4 for g in range(0, 40) if not two_quick_sets(seed, g / 4, atomic=False).converged()]
    assert lost, "the racy client should miss a second set a few ms after the first"
    late = two_quick_sets(seed, 100.0, atomic=False)  # far apart: the watch is back in time
    assert late.converged()


def test_the_size_limit_is_jute_maxbuffer():
    c = ds.config.zk_cluster(clients=1, seed=1)
    assert ds.config.zkcenter.JUTE_MAXBUFFER == 1_048_575
    with pytest.raises(ValueError, match="1048576"):
        c.publish(KEY, "x" * (1 << 20))
    c.publish(KEY, "x" * 1000)
    c.run(1_000)
    assert c.converged() and c.current(KEY) == "x" * 1000
