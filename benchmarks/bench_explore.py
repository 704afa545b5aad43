"""The model checker's speed: states per second, against a naive explorer in the same run.

Workload: Basic Paxos, 2 proposers x 3 acceptors, one attempt each
(``dscourse.paxos.modelcheck``), breadth-first to a fixed depth.

* ``dscourse``: ``dscourse.checkers.explore`` -- deduplicated states, one simulation moved
  between states: the default ``engine="incremental"`` (per-node snapshots, a step restores
  only the node it ran on; node keys carried over from the parent) against
  ``engine="checkpoint"``, the original search (the whole simulation pickled and the key
  rebuilt per state), in the same run: states per CPU-second, the ratio, and the state counts,
  which must be identical.
* peer, "naive": the simplest correct explorer one would write first: breadth-first over
  choice *sequences* with no state deduplication, each node re-simulated from the seed along
  its path (``explore.replay``). It visits every interleaving, so it needs far more nodes
  for the same depth; we report its nodes/s and the total time ratio for the same depth.

(The other peers one might name -- DSLabs' Java checker, TLC on a TLA+ spec -- cannot run
here: no JVM on this machine.)

    .venv/bin/python benchmarks/bench_explore.py [--depth 7] [--full]

``--full`` also runs the exhaustive searches (every reachable state) with no faults, with one
lost message and with one duplicated message allowed. Measured once on the shared 2-core VM
(2026-11-26, loaded): 30,302 / 107,340 / 548,174 states, every one checked, no violation;
about 500-2,000 states/s depending on the load. The same run measured dscourse 2,119 states/s
against the naive explorer's 709 nodes/s at depth 5 (465 states vs 6,931 nodes: 45x less
time for the same depth).
"""

from __future__ import annotations

import argparse
import time

from dscourse.checkers import explore as ex
from dscourse.paxos import modelcheck as M

BASELINE = {5: (465, 2657), 6: (866, 2310), 7: (1616, 2806), 8: (2975, 2514)}
"""Issue 24's starting point, measured on the project's 2-core VM on 2026-12-03 (load about
14): depth -> (states, states per CPU-second) of ``M.check("correct", max_depth=depth)``,
before any work on the explorer's speed. Printed beside today's run, so a speed-up (the
issue asks for 10x) shows against the same searches and state counts."""


def naive(make_sim, depth: int) -> int:
    """Breadth-first over choice sequences, no dedup; returns the number of nodes visited."""
    level = [[]]
    visited = 1
    for _ in range(depth):
        nxt = []
        for path in level:
            sim = ex.replay(make_sim, 0, path)
            for choice in ex.choices(sim, (0, 0, 0), ex.Bounds()):
                child = ex.replay(make_sim, 0, [*path, choice])
                M.INVARIANTS["agreement"](child)
                nxt.append([*path, choice])
                visited += 1
        level = nxt
    return visited


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    make = M.Variant("correct")

    t = time.perf_counter()
    r = M.check("correct", max_depth=args.depth)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    nodes = naive(make, args.depth)
    theirs = time.perf_counter() - t
    print(f"depth {args.depth}: dscourse {r.states} states in {ours:.2f} s "
          f"({r.states / ours:,.0f} states/s)")
    t = time.process_time()
    M.check("correct", max_depth=args.depth)
    cpu = time.process_time() - t
    t = time.process_time()
    old = M.check("correct", max_depth=args.depth, engine="checkpoint")
    old_cpu = time.process_time() - t
    print(f"          CPU time: incremental {r.states / cpu:,.0f} states per CPU-second, checkpoint "
          f"(the original search) {old.states / old_cpu:,.0f}: ratio {old_cpu / cpu:.2f}x; "
          f"state counts {r.states} and {old.states} ({'same' if old.states == r.states else 'DIFFERENT'})")
    if args.depth in BASELINE:
        states, rate = BASELINE[args.depth]
        print(f"          issue 24 baseline (2026-12-03): {rate:,} states per CPU-second with {states} "
              f"states ({'same' if states == r.states else 'DIFFERENT'} state count), "
              f"ratio {r.states / cpu / rate:.2f}x")
    print(f"          naive    {nodes} nodes in {theirs:.2f} s ({nodes / theirs:,.0f} nodes/s)")
    print(f"          same depth: dscourse is {theirs / ours:.1f}x faster; "
          f"per node visited {(nodes / theirs) and (r.states / ours) / (nodes / theirs):.1f}x")
    if args.full:
        for label, kw in (("exhaustive, no faults", {}),
                          ("exhaustive, 1 loss", dict(max_drops=1)),
                          ("exhaustive, 1 duplicate", dict(max_duplicates=1))):
            t = time.perf_counter()
            r = M.check("correct", **kw)
            dt = time.perf_counter() - t
            print(f"{label}: {r.summary().splitlines()[0]}; {dt:.1f} s, {r.states / dt:,.0f} states/s")


if __name__ == "__main__":
    main()
