"""RPC benchmark (issue 18): simulated calls per CPU-second through ``ds.rpc``'s full call path.

Workload: one consumer, three providers (5 ms service time), direct connection (no registry,
so only the RPC path is timed), round robin, Failover, the Hessian-like codec, ``sayHello``
calls issued one per 0.5 ms of virtual time until ``--calls`` have finished: each call goes
proxy -> filters (RpcStatus, monitor) -> cluster -> directory -> load balancer -> codec ->
simulated transport (timeout timer) -> provider (decode, dispatch, encode) -> back. Tracing on.
Reported: calls, CPU seconds and **calls per CPU-second**, for each of the five balancers.

Named peers, measured in the same run: (1) ``ds.raft``'s key-value store doing as many
operations, reported as ops per CPU-second (a replicated write costs more messages than a
call); (2) the same number of direct Python calls of the service method, the floor every RPC
framework pays for.

Then codec sizes and encode/decode costs side by side (``ds.rpc.measure.codec_table``).

Run: ``.venv/bin/python benchmarks/bench_rpc.py [--calls 20000] [--repeat 3]``. Wall-clock and
CPU timing live here only, never in tests.
"""

from __future__ import annotations

import argparse
import time

import dscourse as ds
from dscourse.rpc.measure import codec_table


def rpc_run(calls: int, loadbalance: str, seed: int = 1) -> tuple[int, float]:
    c = ds.rpc.cluster(3, seed=seed, registry=False, loadbalance=loadbalance)
    cpu = time.process_time()
    c.consumer.start_load(calls, 0.5, "sayHello", keys=1000)
    c.run_until(lambda: len(c.consumer.completed) == calls, calls * 0.5 + 10_000)
    cpu = time.process_time() - cpu
    ok = sum(1 for *_, good, _code in c.consumer.completed if good)
    assert ok == calls, (ok, calls)
    return ok, cpu


def raft_run(ops_per_clerk: int, seed: int = 1) -> tuple[int, float]:
    cluster = ds.raft.kv_cluster(3, clients=3, seed=seed, ops=ops_per_clerk)
    cpu = time.process_time()
    cluster.run_until(cluster.done, 10_000_000)
    cpu = time.process_time() - cpu
    return sum(1 for op in cluster.recorder.ops() if op.status == "ok"), cpu


def direct_run(calls: int) -> tuple[int, float]:
    class Node:
        id = "local"
    service = ds.rpc.DemoService(Node())  # type: ignore[arg-type]
    cpu = time.process_time()
    for i in range(calls):
        service.sayHello(f"user-{i % 1000}")
    return calls, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    best: dict[str, tuple[int, float]] = {}
    for _ in range(args.repeat):
        for lb in ds.rpc.loadbalance.BALANCERS:
            r = rpc_run(args.calls, lb)
            if lb not in best or r[1] < best[lb][1]:
                best[lb] = r
        r = raft_run(max(1, args.calls // 3))
        if "raft" not in best or r[1] < best["raft"][1]:
            best["raft"] = r
        r = direct_run(args.calls)
        if "direct" not in best or r[1] < best["direct"][1]:
            best["direct"] = r
    raft_rate = best["raft"][0] / best["raft"][1]
    direct_rate = best["direct"][0] / best["direct"][1]
    for lb in ds.rpc.loadbalance.BALANCERS:
        n, cpu = best[lb]
        print(f"ds.rpc {lb:<17} {n} calls, {cpu:.2f} CPU s -> {n / cpu:>9,.0f} calls per CPU-second "
              f"({n / cpu / raft_rate:.2f}x ds.raft KV ops, 1/{direct_rate / (n / cpu):,.0f} of a direct call)")
    print(f"peer ds.raft KV 3 servers: {best['raft'][0]} ops, {best['raft'][1]:.2f} CPU s -> "
          f"{raft_rate:,.0f} ops per CPU-second")
    print(f"peer direct Python call: {direct_rate:,.0f} calls per CPU-second")
    print()
    print(f"{'codec':<30} {'bytes':>5} {'encode us':>10} {'decode us':>10}  (vs json: size, encode, decode)")
    rows = codec_table(repeats=2_000)
    js = next(r for r in rows if r["codec"] == "json")
    for r in rows:
        print(f"{r['codec']:<30} {r['bytes']:>5} {r['encode_us']:>10.2f} {r['decode_us']:>10.2f}  "
              f"({r['bytes'] / js['bytes']:.2f}x, {r['encode_us'] / js['encode_us']:.2f}x, "
              f"{r['decode_us'] / js['decode_us']:.2f}x)")


if __name__ == "__main__":
    main()
