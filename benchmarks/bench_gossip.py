"""Benchmark: ``ds.gossip.broadcast_workload`` (25 nodes, 20 s of virtual time) against the
same workload and server design written directly on SimPy, measured in the same run.

Both sides run the tuned design of Chapter 4 (a star around n0, 50 ms batches, acknowledged,
resent after 1 s) on 25 servers with constant 100 ms links, a client sending 100 broadcasts
per second (exponential gaps) to random servers for 20 s, 5 s to settle, and a probe reading
every server every 20 ms to time when each value is visible everywhere. dscourse also records
its full trace and a Jepsen-style history; the SimPy side records nothing. Reported: virtual
seconds simulated per CPU second (``time.process_time``), best of N, sides interleaved so
they see the same machine load. Not a test: nothing here asserts a time.

    .venv/bin/python benchmarks/bench_gossip.py [--repeat 3] [--duration-ms 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy

import dscourse as ds

LATENCY, NODES, RATE, INTERVAL, RETRY, PROBE, SETTLE = 100.0, 25, 100.0, 50.0, 1000.0, 20.0, 5000.0


def simpy_broadcast(duration_ms: float, seed: int = 1) -> dict:
    """The same workload and design on SimPy (ms as SimPy time units)."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    names = list(range(NODES))
    inbox = [simpy.Store(env) for _ in names]
    messages: list[set[int]] = [set() for _ in names]
    star = [[n for n in names if n != i] if i == 0 else [0] for i in names]
    pending: list[dict[int, dict[int, float]]] = [{n: {} for n in star[i]} for i in names]
    invoked: dict[int, float] = {}
    visible: dict[int, float] = {}
    count: dict[int, int] = {}
    seen: list[set[int]] = [set() for _ in names]
    server_msgs = [0]

    def deliver(dst: int, msg: tuple):
        yield env.timeout(LATENCY)
        inbox[dst].put(msg)

    def send(src: int, dst: int, msg: tuple, server: bool = True) -> None:
        if server:
            server_msgs[0] += 1
        env.process(deliver(dst, msg))

    def learn(i: int, values: list[int], src: int) -> None:
        for v in values:
            if v not in messages[i]:
                messages[i].add(v)
                for nbr in star[i]:
                    if nbr != src:
                        pending[i][nbr][v] = -1e18

    def server(i: int):
        while True:
            kind, src, body = yield inbox[i].get()
            if kind == "broadcast":
                learn(i, [body], -1)
            elif kind == "gossip":
                learn(i, body, src)
                send(i, src, ("gossip_ok", i, body))
            elif kind == "gossip_ok":
                for v in body:
                    pending[i][src].pop(v, None)

    def ticker(i: int):
        while True:
            yield env.timeout(INTERVAL)
            for nbr, pend in pending[i].items():
                due = [v for v, t in pend.items() if env.now - t >= RETRY]
                if due:
                    for v in due:
                        pend[v] = env.now
                    send(i, nbr, ("gossip", i, sorted(due)))

    def client():
        v = 0
        yield env.timeout(2 * LATENCY + 1)
        while env.now < duration_ms:
            yield env.timeout(float(rng.exponential(1000 / RATE)))
            if env.now >= duration_ms:
                break
            invoked[v] = env.now
            send(-1, int(rng.integers(NODES)), ("broadcast", -1, v), server=False)
            v += 1

    def probe():
        while env.now < duration_ms + SETTLE:
            yield env.timeout(PROBE)
            for i in names:
                new = set(sorted(messages[i])) - seen[i]
                seen[i] |= new
                for v in new:
                    c = count[v] = count.get(v, 0) + 1
                    if c == NODES:
                        visible[v] = env.now

    for i in names:
        env.process(server(i))
        env.process(ticker(i))
    env.process(client())
    env.process(probe())
    env.run(until=duration_ms + SETTLE)
    lat = sorted(visible[v] - invoked[v] for v in visible)
    return {"ops": len(invoked), "msgs_per_op": server_msgs[0] / max(len(invoked), 1),
            "median_ms": lat[len(lat) // 2] if lat else float("nan")}


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.process_time()
    out = fn(*args, **kwargs)
    return time.process_time() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration-ms", type=float, default=20_000)
    args = ap.parse_args()
    virtual = (args.duration_ms + SETTLE) / 1000
    ours, peer = [], []
    for _ in range(args.repeat):
        t, res = timed(ds.gossip.broadcast_workload, ds.gossip.batched(INTERVAL), nodes=NODES,
                       latency_ms=LATENCY, rate=RATE, duration_ms=args.duration_ms, seed=1)
        ours.append(t)
        t2, pres = timed(simpy_broadcast, args.duration_ms, seed=1)
        peer.append(t2)
    a, b = min(ours), min(peer)
    print(f"workload: {NODES} nodes, {LATENCY:g} ms links, {RATE:g} broadcasts/s for {args.duration_ms / 1000:g} s "
          f"+ {SETTLE / 1000:g} s settle = {virtual:g} virtual s; best of {args.repeat}")
    print(f"dscourse broadcast_workload: {a:6.2f} CPU s = {virtual / a:6.2f} virtual s per CPU s "
          f"({len(res.sim.trace):,} trace events; msgs/op {res.msgs_per_op:.1f}, median {res.latency_ms[50]:.0f} ms)")
    print(f"SimPy, same design:          {b:6.2f} CPU s = {virtual / b:6.2f} virtual s per CPU s "
          f"(no trace; msgs/op {pres['msgs_per_op']:.1f}, median {pres['median_ms']:.0f} ms)")
    print(f"ratio: dscourse takes {a / b:.2f}x SimPy's CPU time")


if __name__ == "__main__":
    main()
