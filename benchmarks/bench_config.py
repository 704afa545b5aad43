"""Configuration-center benchmark (issue 21): 10,000 simulated clients per design on virtual time.

Workload, per design (``ds.config.DESIGNS``: Nacos 1.x long polling, Nacos 2.x push, Apollo
``/notifications/v2``, fixed-interval polling every 10 s): ``--clients`` clients of one key on
FIFO links with 1-10 ms uniform latency; 35 s of warm-up, ``--idle`` seconds with no change,
then one publish and 15 s more (``ds.config.measure.at_scale``). Tracing on.

Reported per design: the server's idle cost (requests/s, KB/s of message bodies, long polls
held, long-lived connections), the cost of one change (requests beyond the idle rate), the
propagation delay (median, p99, max) and the **CPU seconds** of the whole run with its trace
events per CPU-second.

Named peer, measured in the same run: the bare ``ds.sim`` kernel's ping-pong (two nodes, one
message back and forth, as ``bench_kernel.py``) for as many trace events as the Nacos run
produced; the ratio says what the config protocol layer costs per event over the kernel.

``--herd``: the thundering herd instead (``ds.config.herd``): ``--clients`` Nacos 2.x clients
on one server that restarts and is down 10 s; for the Nacos 2.x and Apollo reconnect schedules,
with and without full jitter, the peak and mean requests/s at the server (100 ms buckets) over
the 40 s after it is back, the time until every client is reconnected, and the CPU seconds.

Run: ``.venv/bin/python benchmarks/bench_config.py [--clients 10000] [--idle 300] [--herd]``.
Wall-clock and CPU timing live here only, never in tests.
"""

from __future__ import annotations

import argparse
import time

import dscourse as ds
from dscourse.config import measure


class Ping(ds.sim.Node):
    def __init__(self, id: str, hops: int) -> None:
        super().__init__(id)
        self.hops = hops

    def on_start(self) -> None:
        if self.id == "a":
            self.send("b", 0)

    def on_message(self, src: str, msg: int) -> None:
        if msg < self.hops:
            self.send(src, msg + 1)


def kernel_run(events: int) -> tuple[int, float]:
    hops = events // 2
    sim = ds.sim.Simulation(seed=1, network=ds.sim.reliable())
    sim.add_node(Ping("a", hops))
    sim.add_node(Ping("b", hops))
    cpu = time.process_time()
    sim.run()
    return len(sim.trace), time.process_time() - cpu


def pct(xs: tuple[float, ...], q: float) -> float:
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--idle", type=float, default=300.0)
    ap.add_argument("--designs", default=",".join(ds.config.DESIGNS))
    ap.add_argument("--herd", action="store_true", help="the restart herd instead of the designs")
    args = ap.parse_args()
    if args.herd:
        herd(args.clients)
        return
    print(f"{args.clients} clients, idle window {args.idle:g} s, one change, 15 s after it")
    head = (f"{'design':8} {'idle req/s':>10} {'idle KB/s':>9} {'held':>6} {'conns':>6} "
            f"{'+req/change':>11} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'got':>6} "
            f"{'CPU s':>6} {'events':>9} {'ev/CPU-s':>9}")
    print(head)
    nacos_events = 0
    for design in args.designs.split(","):
        cpu = time.process_time()
        s = measure.at_scale(design, clients=args.clients, idle_s=args.idle)
        cpu = time.process_time() - cpu
        events = s.events
        if design == "nacos":
            nacos_events = events
        d = s.delays
        print(f"{design:8} {s.idle.requests_per_s:10.1f} {s.idle.bytes_per_s / 1000:9.1f} "
              f"{s.idle.held_mean:6.0f} {s.idle.connections:6d} {s.extra_requests_per_change:11.0f} "
              f"{pct(d, 0.5):8.1f} {pct(d, 0.99):8.1f} {pct(d, 1.0):8.1f} {len(d):6d} "
              f"{cpu:6.1f} {events:9d} {events / cpu:9.0f}", flush=True)
    if nacos_events:
        n, cpu = kernel_run(nacos_events)
        print(f"peer: ds.sim ping-pong, {n} trace events in {cpu:.2f} CPU s = {n / cpu:.0f} events/CPU-s")


def herd(clients: int) -> None:
    from dscourse.config import herd as H

    print(f"{clients} clients, server down 10 s, 40 s measured after it is back")
    print(f"{'schedule':22} {'peak/s':>9} {'mean/s':>8} {'peak/mean':>9} {'all back ms':>11} "
          f"{'CPU s':>6}")
    for policy in (H.NACOS2, H.NACOS2.jittered(), H.APOLLO, H.APOLLO.jittered()):
        cpu = time.process_time()
        h = H.herd(policy, clients=clients, seed=1, down_ms=10_000, window_s=40)
        cpu = time.process_time() - cpu
        print(f"{h.policy:22} {h.peak_per_s:9.0f} {h.mean_per_s:8.0f} {h.peak_per_s / h.mean_per_s:9.1f} "
              f"{h.reconnected_ms:11.0f} {cpu:6.1f}", flush=True)


if __name__ == "__main__":
    main()
