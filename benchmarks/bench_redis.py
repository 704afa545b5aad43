"""Benchmark: ``ds.redis`` commands per CPU-second through the redis-py-compatible client, and
the overhead of ``EVAL`` (real Lua through lupa) against a plain command.

Peers measured in the same run: a Python ``dict`` doing the same work (the floor of any
emulator), and, when ``redis-server`` is on PATH, a real Redis through redis-py over
loopback (its rate is per wall-clock second and includes the round trip). Run:
``.venv/bin/python benchmarks/bench_redis.py [--n 20000]``. Machine-dependent; not a test.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import dscourse as ds
from dscourse.redis import COMPARE_AND_DELETE, REDISSON_LOCK


def rate(fn: Callable[[int], Any], n: int, clock: Callable[[], float] = time.process_time) -> float:
    start = clock()
    for i in range(n):
        fn(i)
    return n / max(clock() - start, 1e-9)


def workloads(r: Any) -> dict[str, Callable[[int], Any]]:
    sha = r.script_load(COMPARE_AND_DELETE)
    return {
        "SET": lambda i: r.set(f"k{i % 1000}", i),
        "GET": lambda i: r.get(f"k{i % 1000}"),
        "INCR": lambda i: r.incr("n"),
        "HINCRBY": lambda i: r.hincrby("h", f"f{i % 100}", 1),
        "EVAL return 1": lambda i: r.eval("return 1", 0),
        "EVALSHA compare-and-delete": lambda i: r.evalsha(sha, 1, f"k{i % 1000}", "nope"),
        "EVAL Redisson lock": lambda i: r.eval(REDISSON_LOCK, 1, f"L{i % 1000}", 30000, "uuid:1"),
    }


def simulated() -> Any:
    sim = ds.sim.Simulation(seed=0)
    sim.add_node(ds.redis.RedisServer("redis", persistence="none"))
    sim.run(until=1)
    return ds.redis.client(sim, "redis")


def real_redis(n: int) -> dict[str, float] | None:
    exe = shutil.which("redis-server")
    try:
        import redis
    except ImportError:
        return None
    if exe is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as work:
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            r = redis.Redis(host="127.0.0.1", port=port)
            for _ in range(100):
                try:
                    r.ping()
                    break
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            return {name: rate(fn, n, time.perf_counter) for name, fn in workloads(r).items()}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    n = parser.parse_args().n
    sim = {name: rate(fn, n) for name, fn in workloads(simulated()).items()}
    d: dict[str, int] = {}
    floor = rate(lambda i: d.__setitem__(f"k{i % 1000}", i), n)
    real = real_redis(n)
    print(f"{'command':<28} {'ds.redis ops/CPU-s':>19} {'vs dict':>9} {'real Redis ops/s':>17} {'ds/real':>8}")
    for name, ops in sim.items():
        real_ops = f"{real[name]:>17,.0f}" if real else f"{'n/a':>17}"
        ratio = f"{ops / real[name]:>8.2f}" if real else f"{'n/a':>8}"
        print(f"{name:<28} {ops:>19,.0f} {ops / floor:>9.4f} {real_ops} {ratio}")
    print(f"{'(Python dict set)':<28} {floor:>19,.0f}")
    print(f"EVAL overhead: 'EVAL return 1' costs {sim['SET'] / sim['EVAL return 1']:.1f}x a SET; "
          f"Redisson's lock script {sim['SET'] / sim['EVAL Redisson lock']:.1f}x")


if __name__ == "__main__":
    main()
