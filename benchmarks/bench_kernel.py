"""Kernel benchmark: dscourse.sim against SimPy on the same ping-pong, timed in the same run.

Workloads (issue 3, "Performance"):

1. Ping-pong: two nodes pass one message back and forth ``HOPS`` times over a constant 1 ms
   link, tracing on. The SimPy peer: two processes, a ``simpy.Store`` per node and
   ``env.timeout(1)`` per hop. Printed: seconds for each and the speed ratio.
2. Broadcast under the ``lossy`` preset: 5 nodes, each broadcasting to the other 4 every
   millisecond; printed as kernel events (trace events) per second.
3. Memory per million trace events, measured with ``tracemalloc`` on the ping-pong trace.

Run: ``.venv/bin/python benchmarks/bench_kernel.py [--hops N] [--clock cpu|wall]``. Times
are this process's CPU time by default (``time.process_time``): on a shared machine, time
spent waiting for a core would otherwise enter one side's best run and not the other's.
Timing lives here only, never in tests.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import simpy

import dscourse as ds

HOPS = 200_000


class Pinger(ds.sim.Node):
    """Sends the ball back until it has made ``hops`` hops."""

    def __init__(self, id: str, hops: int) -> None:
        super().__init__(id)
        self.hops = hops

    def on_start(self) -> None:
        if self.id == "a":
            self.send("b", 1)

    def on_message(self, src: str, msg: int) -> None:
        if msg < self.hops:
            self.send(src, msg + 1)


def ping_pong_dscourse(hops: int) -> ds.sim.Simulation:
    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(latency=ds.sim.Constant(1.0)))
    sim.add_node(Pinger("a", hops))
    sim.add_node(Pinger("b", hops))
    sim.run()
    return sim


def ping_pong_simpy(hops: int) -> int:
    env = simpy.Environment()
    boxes = {"a": simpy.Store(env), "b": simpy.Store(env)}
    delivered = [0]

    def wire(dst: str, msg: int):
        yield env.timeout(1)
        yield boxes[dst].put(msg)

    def node(me: str, other: str):
        if me == "a":
            env.process(wire(other, 1))
        while True:
            msg = yield boxes[me].get()
            delivered[0] += 1
            if msg >= hops:
                return
            env.process(wire(other, msg + 1))

    env.process(node("a", "b"))
    env.process(node("b", "a"))
    env.run()
    return delivered[0]


class Broadcaster(ds.sim.Node):
    def on_start(self) -> None:
        self.set_timer(1.0, "tick")

    def on_timer(self, name: str, payload: object) -> None:
        self.broadcast({"type": "Gossip", "from": self.id, "at": self.now})
        self.set_timer(1.0, "tick")


def broadcast_lossy(until_ms: float) -> ds.sim.Simulation:
    sim = ds.sim.Simulation(seed=1, network=ds.sim.lossy())
    for i in range(5):
        sim.add_node(Broadcaster(f"n{i}"))
    sim.run(until=until_ms)
    return sim


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


def timed(fn, *args):
    gc.collect()
    start = clock()
    result = fn(*args)
    return clock() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hops", type=int, default=HOPS)
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs for each side")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: this process's CPU time (default); wall: elapsed time")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]

    # Interleaved, best of N each: the machine is shared, so both sides see the same load.
    ours_runs, peer_runs = [], []
    for _ in range(args.repeat):
        ours_runs.append(timed(ping_pong_dscourse, args.hops)[0])
        peer_runs.append(timed(ping_pong_simpy, args.hops)[0])
    ours, peer = min(ours_runs), min(peer_runs)
    sim = ping_pong_dscourse(args.hops)
    print(f"ping-pong, {args.hops:,} hops over a constant 1 ms link, tracing on "
          f"({len(sim.trace):,} trace events); {args.clock} time, best of {args.repeat}")
    print(f"  dscourse.sim : {ours:7.3f} s  ({args.hops / ours:,.0f} hops/s)")
    print(f"  SimPy {simpy.__version__:6s} : {peer:7.3f} s  ({args.hops / peer:,.0f} hops/s)")
    print(f"  ratio        : dscourse.sim is {peer / ours:.1f}x faster than SimPy")

    best, bsim = min((timed(broadcast_lossy, 2_000.0) for _ in range(args.repeat)),
                     key=lambda r: r[0])
    st = bsim.trace.stats()
    print(f"broadcast, 5 nodes, lossy preset, 2,000 ms: {len(bsim.trace):,} trace events in "
          f"{best:.3f} s = {len(bsim.trace) / best:,.0f} events/s "
          f"(sent {st['sent']:,}, dropped {st['dropped']:,}, duplicated {st['duplicated']:,})")

    del sim, bsim
    gc.collect()
    tracemalloc.start()
    sim = ping_pong_dscourse(args.hops)
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(sim.trace)
    print(f"memory: {current / n * 1e6 / 2**20:,.0f} MiB per million trace events "
          f"(raw tuples, ping-pong; {current / n:.0f} bytes/event, measured with tracemalloc)")
    tracemalloc.start()
    _ = sim.trace.events
    current2, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"        +{current2 / n * 1e6 / 2**20:,.0f} MiB per million once trace.events "
          "materializes Event records")


if __name__ == "__main__":
    main()
