"""Raft benchmark (issue 6, "Performance"): the ported 6.5840 suite on virtual time.

MIT 6.5840 runs its Raft tests in real time, so one pass costs as much wall time as the
scenarios last (several minutes). Our peer measurement is therefore *the same scenarios'
virtual duration*, measured in this run: the ratio printed is how many times faster than
real time the suite runs here.

1. The whole public scenario suite (``tests/raft/test_6_5840.py``) on one seed: CPU seconds,
   virtual seconds, and their ratio. Target: under a minute of CPU.
2. Figure8Unreliable alone: CPU seconds (target: under 2 s) and virtual seconds.
3. A 5-node Raft KV cluster with 5 clerks under ``labrpc_unreliable``: virtual seconds
   simulated per CPU second.

Run: ``.venv/bin/python benchmarks/bench_raft.py [--seed N]``. Wall-clock timing lives here
only, never in tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import pathlib
import time

import dscourse as ds
from dscourse.raft import testing

SUITE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "raft" / "test_6_5840.py"


def load_suite():
    spec = importlib.util.spec_from_file_location("raft_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Clock:
    """Sums the virtual time of every Harness built while it is installed."""

    def __init__(self) -> None:
        self.harnesses: list[testing.Harness] = []
        self._init = testing.Harness.__init__
        clock = self

        def init(h, *args, **kwargs):
            clock._init(h, *args, **kwargs)
            clock.harnesses.append(h)
        testing.Harness.__init__ = init

    def close(self) -> float:
        testing.Harness.__init__ = self._init
        return sum(h.sim.now for h in self.harnesses) / 1000


def cases(module):
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if not name.startswith("test_"):
            continue
        marks = getattr(fn, "pytestmark", [])
        grids = [m.args for m in marks if m.name == "parametrize" and m.args[0] != "seed"]
        if grids:
            names, rows = grids[0]
            for row in rows:
                row = row if isinstance(row, tuple) else (row,)
                yield f"{name}[{row[0]}]", fn, dict(zip(names.split(","), row, strict=True))
        else:
            yield name, fn, {}


def timed(fn, **kwargs) -> tuple[float, float]:
    clock = _Clock()
    t0 = time.process_time()
    try:
        fn(**kwargs)
    finally:
        virtual = clock.close()
    return time.process_time() - t0, virtual


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    suite = load_suite()

    total_cpu = total_virtual = 0.0
    print(f"6.5840 scenario suite, seed {args.seed}:")
    for name, fn, extra in cases(suite):
        cpu, virtual = timed(fn, seed=args.seed, **extra)
        total_cpu += cpu
        total_virtual += virtual
        print(f"  {name:45s} {cpu:6.2f} s CPU  {virtual:7.1f} s virtual")
    print(f"suite: {total_cpu:.1f} s CPU for {total_virtual:.0f} s of virtual time; "
          f"real-time execution (6.5840's way) would take {total_virtual:.0f} s: "
          f"{total_virtual / total_cpu:.0f}x faster than real time")

    cpu, virtual = timed(suite.test_figure8_unreliable, seed=args.seed)
    print(f"Figure8Unreliable: {cpu:.2f} s CPU for {virtual:.1f} s virtual "
          f"({virtual / cpu:.0f}x real time; target < 2 s CPU)")

    kv = ds.raft.kv_cluster(5, clients=5, seed=args.seed, ops=10**9,
                            network=ds.sim.labrpc_unreliable())
    t0 = time.process_time()
    kv.run(60_000)
    cpu = time.process_time() - t0
    done = sum(op.status == "ok" for op in kv.recorder.ops())
    print(f"KV, 5 servers + 5 clerks, labrpc_unreliable: {60 / cpu:.0f} virtual s per CPU s "
          f"({len(kv.sim.trace) / cpu:,.0f} trace events/s, {done} operations in 60 virtual s)")


if __name__ == "__main__":
    main()
