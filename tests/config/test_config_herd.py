"""The thundering herd on a server restart: the clients' schedules, and jitter flattening the peak."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.config import herd as H

POLICIES = [H.NACOS2, H.APOLLO]


def test_the_shipped_schedules_are_nacos_linear_and_apollo_exponential_without_randomness():
    rng = np.random.default_rng(0)
    assert [H.NACOS2.delay(n, rng) for n in (0, 1, 2, 48, 49, 200)] == [100, 200, 300, 4900, 5000, 5000]
    assert [H.APOLLO.delay(n, rng) for n in range(9)] == [1000, 2000, 4000, 8000, 16000, 32000, 64000,
                                                          120000, 120000]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 80), seed=st.integers(0, 2**32 - 1), policy=st.sampled_from(POLICIES))
def test_full_jitter_draws_below_the_unjittered_wait(n, seed, policy):
    rng = np.random.default_rng(seed)
    d = policy.jittered().delay(n, rng)
    assert 0 <= d < policy.delay(n, rng)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="kind"):
        H.Reconnect("x", "quadratic", 1, 2, True)
    with pytest.raises(ValueError, match="backoff"):
        H.Reconnect("x", "linear", 10, 5, True)
    with pytest.raises(ValueError, match="clients"):
        H.herd(clients=0)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_jitter_flattens_the_peak_and_everyone_reconnects(policy, seed):
    # 150 s: a jittered Apollo client may draw a wait up to its 120 s cap
    plain = H.herd(policy, clients=300, seed=seed, down_ms=5_000, window_s=150)
    jittered = H.herd(policy.jittered(), clients=300, seed=seed, down_ms=5_000, window_s=150)
    for h in (plain, jittered):
        assert h.reconnected_ms < float("inf")  # every client is connected again
        assert sum(h.counts) > 2 * 300  # at least a connect and a batch listen each
    # without jitter the clients come back in one 100 ms bucket: the peak is the whole fleet
    assert plain.peak_per_s >= 300 * 1000 / H.BUCKET_MS
    assert jittered.peak_per_s < plain.peak_per_s / 3
    # the same work, spread: about the same mean over the window
    assert abs(jittered.mean_per_s - plain.mean_per_s) < 0.25 * plain.mean_per_s


@pytest.mark.parametrize("seed", [1, 2])
def test_a_capacity_limit_turns_the_unjittered_herd_into_refusals(seed):
    plain = H.herd(H.APOLLO, clients=300, seed=seed, down_ms=5_000, capacity_per_s=1_000, window_s=150)
    jittered = H.herd(H.APOLLO.jittered(), clients=300, seed=seed, down_ms=5_000, capacity_per_s=1_000,
                      window_s=150)
    assert plain.refused >= 300 - 1_000 * H.BUCKET_MS / 1000  # all but one bucket's worth refused at once
    assert jittered.refused < plain.refused / 2
    assert plain.reconnected_ms < float("inf") and jittered.reconnected_ms < float("inf")


def tries_before(down_ms, first, rtt):
    """Connect tries a Nacos 2.x client makes while the server is down: the first when the reset
    arrives, then one per round trip plus 100 ms, 200 ms, ..."""
    t, k, n = first, 0, 0
    while t < down_ms:
        n += 1
        t += rtt + H.NACOS2.delay(k, None)
        k += 1
    return n


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_while_down_the_server_sees_only_the_clients_connect_schedule(seed):
    h = H.herd(H.NACOS2, clients=100, seed=seed, down_ms=2_000, window_s=5)
    down = sum(h.counts[: int(2_000 // H.BUCKET_MS)])
    # links take 1-10 ms each way: the reset arrives after 1-10 ms, a refusal takes 2-20 ms
    # (plus a few health checks sent just before the restart and still in flight)
    assert 100 * tries_before(2_000, 10, 20) <= down <= 100 * tries_before(2_000, 1, 2) + 5
    assert h.reconnected_ms < 1_000  # the next try after the restart is at most a few hundred ms away


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(POLICIES), jitter=st.booleans(),
       after=st.floats(0, 3_000), capacity=st.sampled_from([None, 500.0]))
def test_no_client_misses_a_release_published_while_the_herd_reconnects(seed, policy, jitter, after, capacity):
    """A publish lands while some clients are connected and others still backing off: the
    connected ones get a push, the others see the new MD5 in their batch listen on reconnect."""
    p = policy.jittered() if jitter else policy
    h = H.herd(p, clients=60, seed=seed, down_ms=3_000, window_s=150, capacity_per_s=capacity,
               publish_after_ms=after)
    assert h.reconnected_ms < float("inf")
    assert h.stale == 0
