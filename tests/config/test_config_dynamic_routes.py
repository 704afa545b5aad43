"""The gateway's routes fed from Nacos: changes propagate while requests flow, bad definitions
are rejected with the old routes kept, and a restarted instance serves its snapshot's routes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.config.dynamic_routes import ROUTES_DATA_ID, route_cluster

V1 = """
- id: orders
  uri: http://orders-v1:80
  predicates: [Path=/api/orders/**]
"""
V2 = """
- id: orders-canary
  uri: http://orders-v2:80
  predicates:
    - Path=/api/orders/**
    - Header=X-Canary,true
- id: orders
  uri: http://orders-v2:80
  predicates: [Path=/api/orders/**]
"""
BAD = {
    "unknown predicate": "- id: orders\n  uri: http://orders-v2:80\n  predicates: [Paht=/api/orders/**]\n",
    "bad uri scheme": "- id: orders\n  uri: ftp://orders-v2:80\n  predicates: [Path=/api/orders/**]\n",
    "duplicate ids": V1 + V1,
    "not a list": "routes: 3\n",
    "broken YAML": "- id: orders\n  uri: [http://orders-v2:80\n",
    "unknown filter": V1.replace("predicates:", "filters: [StripPrefx=1]\n  predicates:"),
    "unclosed capture": "- id: orders\n  uri: http://orders-v2:80\n  predicates:\n    - Path=/api/orders/{id\n",
}


def served_by(c, gateway):
    return [s.served_by for s in c.served() if s.gateway == gateway]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), gateways=st.integers(1, 4), at=st.floats(200, 3_000),
       latency=st.floats(0.5, 20))
def test_a_route_change_reaches_every_instance_quickly_and_never_flaps_back(seed, gateways, at, latency):
    c = route_cluster(V1, gateways=gateways, seed=seed, interval=10,
                      network=ds.sim.Network(latency=ds.sim.Uniform(latency / 2, latency), fifo=True))
    c.publish_routes(V2, at=at)
    c.run(at + 2_000)
    assert all(s.status == 200 for s in c.served())  # no request failed during the change
    for g in c.clients:
        seq = served_by(c, g)
        first_v2 = seq.index("orders-v2:80")
        assert set(seq[:first_v2]) == {"orders-v1:80"} and set(seq[first_v2:]) == {"orders-v2:80"}
        switched = next(s.time for s in c.served() if s.gateway == g and s.served_by == "orders-v2:80")
        # held poll answered, content fetched: about three one-way trips, then the next request
        assert at < switched <= at + 3 * latency + 10 + 1e-6
    assert set(c.routes().values()) == {("orders-canary", "orders")}


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_bad_definition_is_rejected_everywhere_and_the_old_routes_keep_serving(kind, seed):
    c = route_cluster(V1, gateways=3, seed=seed, interval=10)
    c.run(500)
    c.publish_routes(V2)
    c.run(500)
    before = {g: list(n.gateway.routes) for g, n in c.clients.items()}
    t = c.now
    c.publish_routes(BAD[kind])
    c.run(1_000)
    rejected = [r for r in c.refreshes() if r.time >= t]
    assert len(rejected) == 3 and not any(r.accepted for r in rejected)
    assert all(r.error and r.routes == ("orders-canary -> http://orders-v2:80", "orders -> http://orders-v2:80")
               for r in rejected)
    if kind == "unclosed capture":  # refused by the gateway's pattern parser, not by YAML
        assert all("Path pattern='/api/orders/{id'" in r.error for r in rejected), rejected[0].error
    for g, n in c.clients.items():
        assert n.gateway.routes == before[g]  # the same route objects: nothing half-swapped
        assert n.get(ROUTES_DATA_ID) == BAD[kind]  # the client holds the new config; the gateway refused it
    after = [s for s in c.served() if s.time >= t]
    assert after and all(s.status == 200 and s.served_by == "orders-v2:80" for s in after)
    c.publish_routes(V1)  # a good definition after a bad one is taken
    c.run(500)
    assert set(c.routes().values()) == {("orders",)}
    assert served_by(c, "g0")[-1] == "orders-v1:80"


@pytest.mark.parametrize("seed", range(5))
def test_a_restarted_instance_serves_its_snapshot_routes_while_the_server_is_down(seed):
    c = route_cluster(V2, gateways=2, seed=seed, interval=10, boot_routes=V1)
    c.run(1_000)
    assert served_by(c, "g0")[-1] == "orders-v2:80"
    c.crash("server")
    c.crash("g0")
    c.run(100)
    c.recover("g0")
    c.run(2_000)
    after = [s for s in c.served() if s.gateway == "g0" and s.time > 1_100]
    assert after and {s.served_by for s in after} == {"orders-v2:80"}  # not the boot routes (v1)


def test_refresh_routes_builds_everything_before_swapping():
    gw = ds.gateway.Gateway(V1, [ds.gateway.Backend("orders-v1:80")], seed=0)
    old = list(gw.routes)
    weighted = ("- {id: a, uri: 'http://x:1', predicates: ['Weight=g,1']}\n"
                "- {id: b, uri: 'http://y:1', predicates: ['Weight=g,3']}\n"
                "- {id: c, uri: 'http://z:1', predicates: ['Nope=1']}\n")
    with pytest.raises(ValueError, match="Nope"):
        gw.refresh_routes(weighted)
    assert gw.routes == old and gw.weight_groups == {}
    gw.refresh_routes(weighted.rsplit("- {id: c", 1)[0])
    assert [r.id for r in gw.routes] == ["a", "b"] and gw.weight_groups == {"g": [("a", 1), ("b", 3)]}


@pytest.mark.parametrize("seed", range(5))
def test_after_a_rejected_publish_a_restart_falls_back_to_boot_routes_until_rollback(seed):
    c = route_cluster(V1, gateways=3, seed=seed, interval=10)
    c.run(200)
    c.publish_routes(V2)
    c.run(200)
    c.publish_routes(BAD["unknown predicate"])
    c.run(200)
    c.crash("g1")
    c.recover("g1")
    c.run(300)
    assert c.routes()["g1"] == ("orders",) and c.routes()["g0"] == ("orders-canary", "orders")
    assert served_by(c, "g1")[-1] == "orders-v1:80" and served_by(c, "g0")[-1] == "orders-v2:80"
    c.rollback(ROUTES_DATA_ID)
    c.run(300)
    assert set(c.routes().values()) == {("orders-canary", "orders")}
    assert {served_by(c, g)[-1] for g in c.clients} == {"orders-v2:80"}
