"""Gateway benchmark (issue 19): simulated requests per CPU-second through ``ds.gateway``.

Workload: a 10-route table (Path predicates, the matching route declared last, so every request
evaluates all ten), and a 3-filter chain on each route (StripPrefix, AddRequestHeader,
SetStatus) plus the three global filters, to an ``lb://`` service of three instances chosen by
``ds.rpc``'s round robin; traceparent started per request and an access-log line written.
Variant: the same with a ``RequestRateLimiter`` (the Spring Cloud Gateway Lua script run by
``ds.redis`` through lupa) in place of SetStatus.

Named peers, measured in the same run: (1) ``ds.rpc``'s full call path (calls per CPU-second, the
same loop as ``bench_rpc.py``); (2) a plain-Python dispatcher doing the same matching with
precompiled regexes and a dict of headers, the floor any gateway pays.

Run: ``.venv/bin/python benchmarks/bench_gateway.py [--requests 20000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import re
import time

import dscourse as ds


def routes(limited: bool) -> list[dict]:
    last = ({"name": "RequestRateLimiter", "args": {"redis-rate-limiter.replenishRate": 100000,
                                                    "redis-rate-limiter.burstCapacity": 100000}}
            if limited else "SetStatus=200")
    return [{"id": f"r{i}", "uri": "lb://svc", "predicates": [f"Path=/svc{i}/{{id}}/**"],
             "filters": ["StripPrefix=1", "AddRequestHeader=X-Id,{id}", last]} for i in range(10)]


def gateway_run(n: int, limited: bool, seed: int = 1) -> tuple[int, float]:
    backends = [ds.gateway.Backend(f"10.0.0.{i}:80", seed=seed) for i in (1, 2, 3)]
    disc = ds.gateway.StaticDiscovery({"svc": [b.name for b in backends]})
    gw = ds.gateway.Gateway(routes(limited), backends, discovery=disc, seed=seed)
    cpu = time.process_time()
    ok = sum(gw.handle(ds.gateway.Request(path=f"/svc9/{i % 97}/items", time_ms=i)).status == 200
             for i in range(n))
    cpu = time.process_time() - cpu
    assert ok == n, (ok, n)
    return ok, cpu


def rpc_run(calls: int, seed: int = 1) -> tuple[int, float]:
    c = ds.rpc.cluster(3, seed=seed, registry=False, loadbalance="roundrobin")
    cpu = time.process_time()
    c.consumer.start_load(calls, 0.5, "sayHello", keys=1000)
    c.run_until(lambda: len(c.consumer.completed) == calls, calls * 0.5 + 10_000)
    return len(c.consumer.completed), time.process_time() - cpu


def plain_run(n: int) -> tuple[int, float]:
    table = [(re.compile(rf"/svc{i}/(?P<id>[^/]+)(/.*)?"), f"r{i}") for i in range(10)]
    instances = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]
    cpu, ok = time.process_time(), 0
    for i in range(n):
        path = f"/svc9/{i % 97}/items"
        for rx, _rid in table:
            m = rx.fullmatch(path)
            if m:
                headers = {"X-Id": m.group("id")}
                new_path = "/" + "/".join(path.split("/")[2:])
                ok += bool(instances[i % 3] and new_path and headers)
                break
    return ok, time.process_time() - cpu


def best(f, *args, repeat: int) -> tuple[int, float]:
    runs = [f(*args) for _ in range(repeat)]
    return min(runs, key=lambda r: r[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rows = [("ds.gateway, 10 routes, 3 filters", best(gateway_run, a.requests, False, repeat=a.repeat)),
            ("ds.gateway, with RequestRateLimiter (Lua)", best(gateway_run, a.requests // 4, True, repeat=a.repeat)),
            ("peer: ds.rpc call path (round robin)", best(rpc_run, a.requests // 4, repeat=a.repeat)),
            ("peer: plain-Python regex dispatch", best(plain_run, a.requests, repeat=a.repeat))]
    base = rows[0][1][0] / rows[0][1][1]
    print(f"{'workload':45} {'n':>7} {'CPU s':>8} {'per CPU-s':>11} {'vs gateway':>10}")
    for name, (n, cpu) in rows:
        rate = n / cpu
        print(f"{name:45} {n:>7} {cpu:>8.3f} {rate:>11,.0f} {rate / base:>9.2f}x")


if __name__ == "__main__":
    main()
