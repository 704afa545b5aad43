"""Dubbo's load balancers: exact sequences, ring stability and remapping, distributions over seeds."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.rpc import (
    ConsistentHashLoadBalance,
    ConsistentHashRing,
    Invocation,
    LeastActiveLoadBalance,
    Provider,
    RandomLoadBalance,
    RoundRobinLoadBalance,
    RpcError,
    RpcStatus,
    ShortestResponseLoadBalance,
    calculate_warmup_weight,
    load_balancer,
)

INV = Invocation("DemoService", "sayHello", ("alice",))


def providers(weights):
    return [Provider(f"10.0.0.{i + 1}:20880", weight=w) for i, w in enumerate(weights)]


def names(seq, ps):
    index = {p.address: "abcdefghij"[i] for i, p in enumerate(ps)}
    return "".join(index[p.address] for p in seq)


@pytest.mark.parametrize(("weights", "cycle"), [
    ((5, 1, 1), "aabacaa"),      # Nginx's and Dubbo's documented example
    ((1, 1, 1), "abc"),
    ((2, 1), "aba"),
    ((3, 2), "ababa"),
    ((4, 2, 1), "abacaba"),
    ((1, 5), "bbabbb"),
])
def test_smooth_wrr_sequences(weights, cycle):
    ps = providers(weights)
    lb = RoundRobinLoadBalance()
    got = names([lb.select(ps, INV) for _ in range(3 * len(cycle))], ps)
    assert got == cycle * 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=6))
def test_smooth_wrr_is_exact_per_cycle_and_never_drifts_a_whole_pick(weights):
    ps = providers(weights)
    lb = RoundRobinLoadBalance()
    total = sum(weights)
    counts = [0] * len(ps)
    for n in range(1, 2 * total + 1):
        counts[ps.index(lb.select(ps, INV))] += 1
        for c, w in zip(counts, weights, strict=True):
            assert abs(c - n * w / total) < 1   # smoothness: within one pick of the ideal share
        if n % total == 0:
            assert counts == [w * n // total for w in weights]


def test_wrr_state_is_per_method_and_weight_change_restarts_current():
    ps = providers((5, 1, 1))
    lb = RoundRobinLoadBalance()
    other = Invocation("DemoService", "bye", ())
    assert names([lb.select(ps, INV), lb.select(ps, other), lb.select(ps, INV)], ps) == "aaa"
    assert names([lb.select(ps, INV)], ps) == "b"
    changed = [ps[0], Provider(ps[1].address, weight=7), ps[2]]
    lb.select(changed, INV)
    assert lb.method_weights["DemoService.sayHello"][ps[1].address].weight == 7


def ring_point(key):
    return int.from_bytes(hashlib.md5(key.encode()).digest()[:4], "little")


def test_ring_is_built_as_dubbo_builds_it():
    ps = providers((1, 1, 1))
    ring = ConsistentHashRing(ps)
    assert len(ring.points) == 3 * 160        # 40 digests x 4 words per address (no collisions here)
    d = hashlib.md5(b"10.0.0.2:208807").digest()
    for h in range(4):
        w = int.from_bytes(d[4 * h:4 * h + 4], "little")
        assert ring.owners[ring.points.index(w)].address == "10.0.0.2:20880"
    for key in ("alice", "bob", "", "12345"):
        point = ring_point(key)
        after = [k for k in ring.points if k >= point]
        owner = ring.owners[ring.points.index(after[0] if after else ring.points[0])]
        assert ring.locate(key) == owner


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_consistent_hash_is_stable_and_order_free(keys, shuffler):
    ps = providers((1, 2, 3, 4))
    shuffled = list(ps)
    shuffler.shuffle(shuffled)
    a, b = ConsistentHashLoadBalance(), ConsistentHashLoadBalance()
    for k in keys:
        inv = Invocation("S", "m", (k, "ignored"))
        assert a.select(ps, inv) == b.select(shuffled, inv) == a.select(ps, inv)


@pytest.mark.parametrize("n", [3, 4, 5, 8])
def test_a_join_moves_about_one_in_n_plus_one_keys_and_only_to_the_newcomer(n):
    before, after = providers([1] * n), providers([1] * (n + 1))
    r0, r1 = ConsistentHashRing(before), ConsistentHashRing(after)
    keys = [f"user-{i}" for i in range(10_000)]
    moved = [k for k in keys if r0.locate(k) != r1.locate(k)]
    assert all(r1.locate(k) == after[-1] for k in moved)
    assert abs(len(moved) / len(keys) - 1 / (n + 1)) < 0.08


def test_consistent_hash_key_is_the_first_argument_as_a_string():
    ps = providers((1, 1, 1, 1, 1))
    lb = ConsistentHashLoadBalance()
    assert lb.select(ps, Invocation("S", "m", (42, "x"))) == lb.select(ps, Invocation("S", "m", ("42", "y")))
    two = ConsistentHashLoadBalance(arguments=(0, 1))
    assert two.key(Invocation("S", "m", ("a", "b"))) == "ab"
    with pytest.raises(ValueError, match="replicas"):
        ConsistentHashLoadBalance(replicas=2)


CHI2_99_9 = {1: 10.83, 2: 13.82, 3: 16.27}


@pytest.mark.parametrize("weights", [(5, 1, 1), (1, 1, 1, 1), (3, 1)])
def test_weighted_random_passes_chi_square_over_many_seeds(weights):
    ps = providers(weights)
    total, draws, failures = sum(weights), 5_000, 0
    for seed in range(20):
        lb = RandomLoadBalance(rng=ds.sim.stream(seed, "test"))
        counts = [0] * len(ps)
        for _ in range(draws):
            counts[ps.index(lb.select(ps, INV))] += 1
        chi2 = sum((c - draws * w / total) ** 2 / (draws * w / total) for c, w in zip(counts, weights, strict=True))
        failures += chi2 > CHI2_99_9[len(ps) - 1]
    assert failures <= 1     # 20 seeds at the 0.1% level: more than one rejection means a biased draw


def test_least_active_picks_the_minimum_and_breaks_ties_by_weight():
    ps = providers((6, 3, 1))
    status = RpcStatus()
    for _ in range(2):
        status.begin(ps[0].address, "sayHello")
    lb = LeastActiveLoadBalance(rng=ds.sim.stream(3, "t"), status=status)
    picks = [lb.select(ps, INV) for _ in range(4000)]
    assert ps[0] not in picks                          # 2 in flight: never chosen over 0
    share = picks.count(ps[1]) / len(picks)
    assert abs(share - 3 / 4) < 0.03                   # ties (b, c) by weight 3 : 1
    status.begin(ps[1].address, "sayHello")
    assert {lb.select(ps, INV) for _ in range(50)} == {ps[2]}


def test_shortest_response_prefers_the_fast_provider_then_forgets_the_window():
    ps = providers((1, 1))
    status = RpcStatus()
    now = [0.0]
    lb = ShortestResponseLoadBalance(rng=ds.sim.stream(1, "t"), status=status, clock=lambda: now[0])
    for p, ms in ((ps[0], 50.0), (ps[1], 5.0)):
        status.begin(p.address, "sayHello")
        status.end(p.address, "sayHello", ms, True)
    assert {lb.select(ps, INV) for _ in range(20)} == {ps[1]}
    now[0] = 31_000
    lb.select(ps, INV)     # the window slides: both estimates restart at 0, a tie
    assert {lb.select(ps, INV) for _ in range(200)} == set(ps)


@pytest.mark.parametrize(("uptime", "expected"), [(0.5, 1), (60_000, 10), (300_000, 50), (599_999, 99), (10**7, 100)])
def test_warmup_weight_ramp(uptime, expected):
    assert calculate_warmup_weight(uptime, 600_000, 100) == expected
    p = Provider("10.0.0.9:20880", weight=100, timestamp=1_000)
    lb = RandomLoadBalance(clock=lambda: 1_000 + uptime)
    assert lb.get_weight(p, INV) == expected


def test_warm_up_shifts_random_traffic_away_from_a_new_provider():
    old, new = Provider("10.0.0.1:20880"), Provider("10.0.0.2:20880", timestamp=0)
    lb = RandomLoadBalance(rng=ds.sim.stream(5, "t"), clock=lambda: 60_000)   # one minute of ten
    picks = [lb.select([old, new], INV) for _ in range(11_000)]
    assert abs(picks.count(new) / len(picks) - 10 / 110) < 0.015


def test_errors_name_the_value_and_what_is_allowed():
    with pytest.raises(ValueError, match="consistenthash, leastactive, random, roundrobin, shortestresponse"):
        load_balancer("p2c")
    with pytest.raises(RpcError, match="no_invoker"):
        load_balancer("random").select([], INV)
    with pytest.raises(ValueError, match="host:port"):
        Provider("10.0.0.1")
    assert type(load_balancer("leastactive")).__name__ == "LeastActiveLoadBalance"


@settings(max_examples=30, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(1024, 65535)), min_size=3, max_size=9))
def test_any_join_moves_only_to_the_newcomer_and_about_its_share(addresses):
    ps = [Provider(f"10.{a}.{b}.1:{port}") for a, b, port in sorted(addresses)]
    before, after = ConsistentHashRing(ps[:-1]), ConsistentHashRing(ps)
    keys = [f"k{i}" for i in range(4000)]
    moved = [k for k in keys if before.locate(k) != after.locate(k)]
    assert all(after.locate(k) == ps[-1] for k in moved)
    assert abs(len(moved) / len(keys) - 1 / len(ps)) < 0.1
