"""Filter factories, the chain's pre/post order, global filters (lb:// through ds.rpc, including
its ZooKeeper registry), the error handler, the traceparent log, and loading bad configs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.gateway import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Backend,
    Gateway,
    RegistryDiscovery,
    Request,
    Response,
    StaticDiscovery,
    discovery_routes,
    java_replacement,
    load_routes,
    strip,
)


def gw_with(filters, uri="http://a:1", backends=None, **kw):
    routes = [{"id": "r", "uri": uri, "predicates": ["Path=/api/{segment}/**"], "filters": filters}]
    return Gateway(routes, backends or [Backend("a:1")], seed=kw.pop("seed", 1), **kw)


@pytest.mark.parametrize("path,parts,expected", [("/a/b/c", 2, "/c"), ("/a/b/c", 0, "/a/b/c"), ("/a", 3, "/"),
                                                 ("/a/b/", 1, "/b/"), ("/name/blue/red", 2, "/red")])
def test_strip_prefix_table(path, parts, expected):
    assert strip(path, parts) == expected


@settings(max_examples=50)
@given(segs=st.lists(st.text("abcxyz0123", min_size=1, max_size=4), max_size=6), n=st.integers(0, 8))
def test_strip_prefix_drops_exactly_n_segments(segs, n):
    out = strip("/" + "/".join(segs), n)
    assert [s for s in out.split("/") if s] == segs[n:]


def test_rewrite_path_with_java_named_group_and_yaml_escape():
    assert java_replacement("/$\\{segment}") == "/\\g<segment>"
    g = gw_with(["RewritePath=/api/(?<segment>.*),/$\\{segment}"])
    resp = g.handle(Request(path="/api/member/list"))
    assert resp.status == 200 and resp.body.endswith(" /member/list")


def test_add_request_header_uses_uri_variables_and_pre_post_order():
    g = gw_with(["AddRequestHeader=X-Seg,{segment}", "StripPrefix=1", "SetStatus=201",
                 "AddResponseHeader=X-Resp,1"])
    resp = g.handle(Request(path="/api/orders/7"))
    ex = g.last_exchange
    assert ex.request.header("X-Seg") == ["orders"] and ex.request.path == "/orders/7"
    assert resp.status == 201 and resp.header("X-Resp") == "1"
    pre = [t[4:] for t in ex.trace if t.startswith("pre ")]
    post = [t[5:] for t in ex.trace if t.startswith("post ")]
    assert pre == ["AddRequestHeader", "StripPrefix", "SetStatus", "AddResponseHeader",
                   "RouteToRequestUrlFilter", "ReactiveLoadBalancerClientFilter", "RoutingFilter"]
    assert post == pre[::-1]


def test_retry_reruns_the_chain_with_backoff():
    flaky = Backend("a:1", latency_ms=5, failure_rate=1.0, error_status=503)
    g = gw_with([{"name": "Retry", "args": {"retries": 3, "statuses": "SERVICE_UNAVAILABLE",
                                            "backoff": {"firstBackoff": "10ms", "maxBackoff": "25ms", "factor": 2}}}],
                backends=[flaky])
    resp = g.handle(Request(path="/api/x"))
    assert resp.status == 503 and flaky.calls == 4
    assert g.log[-1].latency_ms == 4 * 5 + 10 + 20 + 25   # four calls and three capped backoffs
    g.handle(Request("POST", "/api/x"))
    assert flaky.calls == 5   # POST is not retried by default


def test_rate_limiter_filter_429_with_headers_and_empty_key_403():
    g = gw_with([{"name": "RequestRateLimiter", "args": {"redis-rate-limiter": {"replenishRate": 1, "burstCapacity": 2},
                                                         "key-resolver": "#{@user}"}}])
    codes = [g.handle(Request(path="/api/x", headers={"X-User": "u"})).status for _ in range(3)]
    assert codes == [200, 200, 429]
    denied = g.handle(Request(path="/api/x", headers={"X-User": "u"}))
    assert denied.header("X-RateLimit-Remaining") == "0" and denied.header("X-RateLimit-Burst-Capacity") == "2"
    assert g.handle(Request(path="/api/x", headers={"X-User": "v"})).status == 200   # another key
    assert g.handle(Request(path="/api/x")).status == 403   # deny-empty-key


def test_circuit_breaker_filter_opens_uses_fallback_and_spares_the_upstream():
    down = Backend("a:1", failure_rate=1.0, error_status=None)
    g = gw_with([{"name": "CircuitBreaker", "args": {"name": "cb", "fallbackUri": "forward:/fallback"}}],
                backends=[down], breakers={"cb": dict(sliding_window_size=4, minimum_number_of_calls=4,
                                                      wait_duration_in_open_state_ms=1000,
                                                      permitted_number_of_calls_in_half_open_state=1)},
                forwards={"/fallback": lambda ex: Response(200, body="degraded", served_by="fallback")})
    out = [g.handle(Request(path="/api/x", time_ms=t)) for t in range(10)]
    assert all(r.body == "degraded" for r in out)
    assert down.calls == 4 and g.breakers["cb"].state == OPEN   # zero upstream calls while open
    down.failure_rate = 0.0
    assert g.handle(Request(path="/api/x", time_ms=2000)).status == 200
    assert [t.to_state for t in g.breakers["cb"].transitions] == [OPEN, HALF_OPEN, CLOSED]
    g2 = gw_with(["CircuitBreaker=cb2"], backends=[Backend("a:1", failure_rate=1.0, error_status=None)],
                 breakers={"cb2": dict(sliding_window_size=2, minimum_number_of_calls=2)})
    assert [g2.handle(Request(path="/api/x")).status for _ in range(3)] == [502, 502, 503]


def test_lb_round_robin_and_no_instance():
    disc = StaticDiscovery({"svc": ["10.0.0.1:80", "10.0.0.2:80"]})
    g = gw_with([], uri="lb://svc", backends=[Backend("10.0.0.1:80"), Backend("10.0.0.2:80")], discovery=disc)
    assert [g.handle(Request(path="/api/x")).served_by for _ in range(4)] == ["10.0.0.1:80", "10.0.0.2:80"] * 2
    disc.deregister("svc", "10.0.0.1:80")
    disc.deregister("svc", "10.0.0.2:80")
    assert g.handle(Request(path="/api/x")).status == 503


def test_discovery_routes_from_the_rpc_zookeeper_registry():
    zk = ds.zk.ensemble(1, seed=4)
    zk.run_until_leader()
    client = zk.client(record=False)
    client.start()
    reg = ds.rpc.ZookeeperRegistry(client)
    for addr in ("10.0.0.1:20880", "10.0.0.2:20880"):
        reg.register("member", ds.rpc.provider_url(ds.rpc.Provider(addr), "member"))
    disc = RegistryDiscovery(reg, ["member", "order"])
    g = Gateway(discovery_routes(disc), [Backend("10.0.0.1:20880"), Backend("10.0.0.2:20880")],
                discovery=disc, seed=2)
    resp = g.handle(Request(path="/member/list"))
    assert resp.status == 200 and resp.body.endswith(" /list")
    assert {g.handle(Request(path="/member/x")).served_by for _ in range(4)} == {"10.0.0.1:20880", "10.0.0.2:20880"}
    assert g.handle(Request(path="/order/1")).status == 503   # a route, but no instance registered


def test_errors_and_trace_log():
    g = gw_with([], backends=[Backend("a:1")])
    assert g.handle(Request(path="/nothing")).status == 404
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    g.handle(Request(path="/api/x", headers={"traceparent": tp}))
    ex = g.last_exchange
    sent = ex.request.header("traceparent")[0]
    assert sent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c" and sent.split("-")[2] != "b7ad6b7169203331"
    assert g.log[-1].trace_id == "0af7651916cd43dd8448eb211c80319c" and g.log[-1].route_id == "r"
    g.handle(Request(path="/api/x", headers={"traceparent": "garbage"}))
    assert len(g.log[-1].trace_id) == 32 and g.log[-1].trace_id != g.log[-2].trace_id


def test_same_seed_same_log():
    def run(seed):
        routes = [{"id": "a", "uri": "http://a:1", "predicates": ["Path=/**", "Weight=g,5"]},
                  {"id": "b", "uri": "http://b:1", "predicates": ["Path=/**", "Weight=g,5"]}]
        g = Gateway(routes, [Backend("a:1", failure_rate=0.3, seed=seed), Backend("b:1", seed=seed)], seed=seed)
        for t in range(200):
            g.handle(Request(path="/x", time_ms=t))
        return g.log
    assert run(3) == run(3) and run(3) != run(4)


@pytest.mark.parametrize("config,match", [
    ([{"id": "x", "uri": "ftp://h", "predicates": []}], "scheme"),
    ([{"id": "x", "uri": "http://h", "filters": ["StripPrefixx=1"]}], "StripPrefixx.*AddRequestHeader"),
    ([{"id": "x", "uri": "http://h", "predicates": ["Path"]}], "Name=arg1"),
    ([{"id": "x", "uri": "http://h"}, {"id": "x", "uri": "http://h"}], "all different"),
    ([{"id": "x", "uri": "http://h", "filters": ["StripPrefix=two"]}], "parts"),
    ([{"id": "x", "uri": "http://h", "filters": [{"name": "Retry", "args": {"retriez": 1}}]}], "retriez"),
    ({"spring": {"cloud": {}}}, "spring.cloud.gateway.routes"),
])
def test_bad_config_is_a_clear_error(config, match):
    with pytest.raises(ValueError, match=match):
        Gateway(config, [], seed=0)


def test_yaml_loading():
    defs = load_routes("spring:\n  cloud:\n    gateway:\n      routes:\n        - id: a\n          uri: lb://s\n"
                       "          order: 2\n          predicates:\n            - Path=/a/**,/b/**\n")
    assert defs[0].uri == "lb://s" and defs[0].order == 2 and defs[0].predicates[0].args == ("/a/**", "/b/**")
