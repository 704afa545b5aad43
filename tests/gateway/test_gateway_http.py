"""The real-HTTP lab: the same route table served by uvicorn on loopback in front of two real
backends, driven by httpx with a bounded number of requests; outcome assertions only."""

from dscourse.gateway import http_lab


def test_real_http_gateway_routes_limits_and_breaks():
    r = http_lab.tour(requests=12)
    assert r["url"].startswith("http://127.0.0.1:")
    assert r["api"] == {"a": 6, "b": 6}   # lb:// round robin over the two real backends
    ok, denied = r["limited"][200], r["limited"][429]
    assert ok + denied == 12 and 3 <= ok <= 5   # burst of 3, refill 1/s during a short loop
    assert r["breaker"][0] == ("CLOSED", "OPEN")
    assert r["flaky"]["fallback"] == 12   # errors and then the open breaker both give the fallback
    assert r["calls_to_b"] == 6 + 4   # six /api calls, then four failures open it: none after
    assert all(len(line.trace_id) == 32 for line in r["log"])
