"""Cluster strategies: attempt counts, errors and duplicate side effects as Dubbo documents them."""

import pytest

import dscourse as ds
from dscourse.sim import Constant

SLOW, FAST = Constant(1_500.0), Constant(5.0)   # slower than the 1000 ms timeout / well within it


def system(latencies, cluster, seed=1, **kw):
    specs = [{"latency": lat} for lat in latencies]
    kw.setdefault("loadbalance", "roundrobin")
    return ds.rpc.cluster(specs, seed=seed, registry=False, cluster=cluster, **kw)


def call(c, method, *args):
    fut = c.proxy().call_async(method, *args)
    c.run_until(lambda: fut.done, 60_000)
    return fut.result


@pytest.mark.parametrize("seed", range(3))
def test_failover_retries_twice_and_duplicates_a_timed_out_write(seed):
    c = system([SLOW, SLOW, SLOW], "failover", seed)
    r = call(c, "placeOrder", "o1")
    assert r.error.code == "timeout" and "failed 3 times" in str(r.error)
    assert c.consumer.counters["attempts"] == 3
    assert c.side_effects() == {"o1": 3} and c.duplicates() == 2   # every attempt ran


def test_failover_recovers_on_another_provider_but_the_first_attempt_ran():
    c = system([SLOW, FAST, FAST], "failover")
    r = call(c, "placeOrder", "o1")
    assert r.ok and r.provider == "10.0.0.2:20880"
    assert c.side_effects() == {"o1": 2}


def test_failover_with_retries_zero_for_the_write_is_failfast():
    c = system([SLOW, FAST, FAST], "failover", method_retries={"placeOrder": 0})
    assert call(c, "placeOrder", "o1").error.code == "timeout"
    assert c.consumer.counters["attempts"] == 1 and c.duplicates() == 0
    assert call(c, "sayHello", "x").ok          # reads keep the default 2 retries


def test_failover_never_retries_a_business_exception():
    c = system([FAST, FAST, FAST], "failover")
    r = call(c, "fail", "out of stock")
    assert r.error.code == "biz" and "out of stock" in str(r.error)
    assert c.consumer.counters["attempts"] == 1


def test_failover_retry_avoids_providers_already_tried():
    # the ring alone would pick the same provider for the same key on every attempt
    for key in ("alice", "bob", "carol", "dave"):
        c = system([SLOW, SLOW, FAST], "failover", loadbalance="consistenthash")
        r = call(c, "sayHello", key)
        assert r.ok and r.provider == "10.0.0.3:20880"
        assert len(c.monitor.stats) == c.consumer.counters["attempts"]   # never the same provider twice


def test_failfast_one_attempt():
    c = system([SLOW, FAST], "failfast")
    assert call(c, "placeOrder", "o1").error.code == "timeout"
    assert c.consumer.counters["attempts"] == 1 and c.side_effects() == {"o1": 1}


def test_failsafe_swallows_the_error():
    c = system([SLOW, FAST], "failsafe")
    r = call(c, "placeOrder", "o1")
    assert r.ok and r.value is None and r.provider is None
    assert c.consumer.counters["failsafe_ignored"] == 1


def test_failback_returns_empty_then_retries_every_5s_on_another_provider():
    c = system([SLOW, FAST], "failback")
    r = call(c, "placeOrder", "o1")
    t_fail = c.now
    assert r.ok and r.value is None and c.consumer.counters["attempts"] == 1
    c.run(4_900)
    assert c.consumer.counters["attempts"] == 1                  # not before the 5 s period
    c.run(1_000)
    assert c.consumer.counters["failback_recovered"] == 1 and c.now - t_fail >= 5_000
    assert c.side_effects() == {"o1": 2}                          # the retry duplicated the write


def test_failback_gives_up_after_three_retries():
    c = system([SLOW, SLOW], "failback")
    call(c, "placeOrder", "o1")
    c.run(60_000)
    assert c.consumer.counters["failback_retry"] == 3 and c.consumer.counters["failback_given_up"] == 1
    assert c.consumer.counters["attempts"] == 4 and c.side_effects() == {"o1": 4}


def test_forking_first_success_wins_and_both_forks_run():
    c = system([SLOW, FAST, FAST], "forking")
    start = c.now
    r = call(c, "placeOrder", "o1")
    assert r.ok and c.now - start < 100
    assert c.consumer.counters["attempts"] == 2 and c.side_effects() == {"o1": 2}


def test_forking_fails_only_when_every_fork_fails():
    c = system([SLOW, SLOW, FAST], "forking", forks=2)
    r = call(c, "sayHello", "x")
    assert r.error.code == "timeout" and c.consumer.counters["attempts"] == 2


def test_broadcast_calls_everyone_and_any_failure_fails_it():
    c = system([FAST, FAST, FAST], "broadcast")
    assert call(c, "sayHello", "x").ok and c.consumer.counters["attempts"] == 3
    c2 = system([FAST, SLOW, FAST], "broadcast")
    r = call(c2, "placeOrder", "o1")
    assert r.error.code == "timeout" and c2.consumer.counters["attempts"] == 3
    assert c2.side_effects() == {"o1": 3}


def test_available_calls_the_first_provider_with_an_open_channel():
    c = system([FAST, FAST, FAST], "available", heartbeat=100)
    assert {call(c, "sayHello", f"u{i}").provider for i in range(5)} == {"10.0.0.1:20880"}
    c.crash("10.0.0.1:20880")
    c.run(1_000)                                                  # > 3 heartbeats of silence
    assert "10.0.0.1:20880" in c.consumer.closed
    assert call(c, "sayHello", "u").provider == "10.0.0.2:20880"


def test_connection_loss_fails_in_flight_calls_before_the_timeout():
    c = system([FAST], "failfast", heartbeat=100, timeout=10_000)
    c.crash("10.0.0.1:20880")
    start = c.now
    r = call(c, "sayHello", "x")
    assert r.error.code == "network" and c.now - start < 1_000


def test_no_provider_and_bad_names():
    c = system([FAST], "failover", routers=[ds.rpc.ConditionRouter("method = sayHello => ")])
    assert call(c, "sayHello", "x").error.code == "no_invoker"
    with pytest.raises(ValueError, match="failover"):
        system([FAST], "failover-ish")
