"""The ZooKeeper registry: Dubbo's layout, ephemeral providers, watches, the local cache."""

from urllib.parse import quote

import pytest

import dscourse as ds

A, B, C = "10.0.0.1:20880", "10.0.0.2:20880", "10.0.0.3:20880"


def test_layout_is_dubbos():
    c = ds.rpc.cluster(2, seed=1)
    client = c.zk_clients["consumer"]
    assert sorted(client.get_children("/dubbo/DemoService")) == ["consumers", "providers"]
    children = client.get_children("/dubbo/DemoService/providers")
    urls = c.registered()
    assert sorted(children) == sorted(quote(u, safe="") for u in urls)
    assert all("/" not in child for child in children)
    for child in children:
        assert client.exists(f"/dubbo/DemoService/providers/{child}").ephemeralOwner != 0
    p, params = ds.rpc.parse_provider_url(urls[0])
    assert p.address == A and params["interface"] == "DemoService" and "placeOrder" in params["methods"]


@pytest.mark.parametrize("seed", range(3))
def test_a_dead_provider_leaves_only_when_its_session_expires(seed):
    c = ds.rpc.cluster(3, seed=seed, session_timeout_ms=4_000)
    t0 = c.now
    c.crash_provider(A)
    c.run(3_000)
    assert len(c.consumer.providers) == 3                  # seed erratum H3: no immediate push
    assert c.run_until(lambda: len(c.consumer.providers) == 2, 10_000)
    assert 4_000 <= c.now - t0 <= 8_000
    assert A not in {p.address for p in c.consumer.providers}


def test_graceful_unregister_is_heard_at_once():
    c = ds.rpc.cluster(3, seed=2)
    reg = c.registries[B]
    url = next(u for u in c.registered() if B in u)
    reg.unregister("DemoService", url)
    assert c.run_until(lambda: len(c.consumer.providers) == 2, 200)


@pytest.mark.parametrize("seed", range(3))
def test_consumers_keep_serving_from_the_cache_through_a_registry_outage(seed):
    c = ds.rpc.cluster(3, seed=seed)
    c.registry_outage()
    c.run(30_000)
    assert len(c.consumer.providers) == 3 and c.consumer.stable["registry_cache"]
    proxy = c.proxy()
    assert all(proxy.sayHello(f"u{i}").startswith("Hello") for i in range(10))
    c.restore_registry()
    c.crash_provider(C)
    assert c.run_until(lambda: len(c.consumer.providers) == 2, 60_000)


def test_the_cache_survives_a_consumer_crash_during_the_outage():
    c = ds.rpc.cluster(3, seed=1)
    c.registry_outage()
    c.crash("consumer")
    c.recover("consumer")
    c.run(100)
    assert len(c.consumer.providers) == 3
    assert c.proxy().sayHello("after").startswith("Hello")


def test_all_providers_gone_forbids_calls():
    c = ds.rpc.cluster(1, seed=1)
    c.registries[A].unregister("DemoService", c.registered()[0])
    c.run_until(lambda: c.consumer.forbidden, 1_000)
    with pytest.raises(ds.rpc.RpcError, match="forbidden"):
        c.proxy().sayHello("x")


def test_url_round_trip_and_bad_urls():
    p = ds.rpc.Provider("10.0.0.7:20881", weight=7, timestamp=1234)
    url = ds.rpc.provider_url(p, "DemoService", ("sayHello",))
    assert ds.rpc.parse_provider_url(url)[0] == ds.rpc.Provider("10.0.0.7:20881", 7, 1234.0)
    assert ds.rpc.parse_provider_url(ds.rpc.encode_url(url))[0].weight == 7
    with pytest.raises(ValueError, match="dubbo://"):
        ds.rpc.parse_provider_url("http://x/y")


def test_same_seed_same_trace():
    def run(seed):
        c = ds.rpc.cluster(3, seed=seed, heartbeat=500)
        c.consumer.start_load(50, 20.0)
        c.crash_provider(B)
        c.run(10_000)
        return c.trace.digest(), c.consumer.completed
    assert run(5) == run(5)
    assert run(5)[0] != run(6)[0]
