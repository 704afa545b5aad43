"""Benchmark: the linearizability checker against Porcupine, on the same histories in the same run.

Histories:

* **Porcupine's published test histories** (its ``test_data``): 102 Jepsen etcd logs checked as
  a compare-and-set register, and the six MIT 6.5840 key-value logs (1, 10 and 50 clients,
  ``ok`` and ``bad``), read as Porcupine's own test parser reads them (``porcupine/logs.py``).
* **Histories recorded from Chapter 3's stores** (``dscourse.replication``): 5 replicas, 5 to
  100 concurrent clients, each running 40 operations on 4 keys (half reads), a
  majority/minority partition from 50 to 200 ms. Mode CP (majority quorums + ABD:
  linearizable, with timed-out writes of unknown outcome) and mode AP (any replica + LWW:
  illegal).

Both checkers judge every history: ours (``dscourse.checkers.linearizability.check`` with
``explain=False``: the verdict alone, as Porcupine's ``CheckOperations`` gives it; CPU time
of this process) and **Porcupine** (Athalye's Go checker, ``CheckOperations`` with its
key-value model and a compare-and-set register model, timed inside the Go program
``benchmarks/porcupine/main.go``, wall time with ``GOMAXPROCS=1`` by default, so both use one
core). The histories go to Porcupine as JSON exported by
``dscourse.checkers.linearizability_json``. Verdicts must agree (and equal the verdicts
Porcupine's own tests expect); a disagreement between two decided verdicts fails the run.

Porcupine needs Go (``go`` on the PATH) and a copy of its source and test data in
``benchmarks/porcupine/.cache`` (see ``benchmarks/README.md``). Without them the script runs
our checker alone and says what is missing.

Usage::

    .venv/bin/python benchmarks/bench_linearizability.py
    .venv/bin/python benchmarks/bench_linearizability.py --repeat 3 --clients 5 10 50 100
    .venv/bin/python benchmarks/bench_linearizability.py --quiet      # totals and slow ones only
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dscourse.checkers import linearizability as lin
from dscourse.checkers import linearizability_json as lj
from dscourse.replication import cluster, majority_minority

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "porcupine"))
import logs  # noqa: E402  (benchmarks/porcupine/logs.py)

MODELS = {"cas_register": lin.cas_register, "kv": lin.kv}


def record(mode: str, clients: int, seed: int) -> list[lin.Operation]:
    c = cluster(mode, replicas=5, clients=clients, seed=seed,
                workload=dict(ops=40, keys=("a", "b", "c", "d"), gap_ms=(0.0, 5.0)))
    a, b = majority_minority(c)
    c.nemesis([(50, ("partition", [a, b])), (200, ("heal",))])
    c.run()
    return c.operations()


def ours(ops: list[lin.Operation], model: lin.Model, repeat: int, timeout: float | None) -> tuple[str, float]:
    """Best CPU time of ``repeat`` runs (one run when it hits the timeout). As in ``timeit``,
    the garbage other code left is collected before the clock starts."""
    best, outcome = float("inf"), ""
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        outcome = lin.check(ops, model, timeout=timeout, explain=False).outcome
        best = min(best, time.process_time() - start)
        if outcome == "unknown":
            break
    return outcome, best


def porcupine_missing() -> str | None:
    if shutil.which("go") is None:
        return "no Go toolchain (`go` is not on the PATH; Debian: apt-get install golang-go)"
    if not (logs.CACHE / "checker.go").exists():
        return f"no copy of Porcupine's source in {logs.CACHE} (see benchmarks/README.md)"
    return None


def build_porcupine() -> Path:
    binary = logs.CACHE / "porcupinebench"
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off")
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=HERE / "porcupine", env=env, check=True)
    return binary


def run_porcupine(binary: Path, files: list[Path], repeat: int, procs: int,
                  timeout: float) -> dict[str, tuple[str, float]]:
    env = dict(os.environ, GOMAXPROCS=str(procs))
    out = subprocess.run([str(binary), "-repeat", str(repeat), "-timeout", f"{timeout}s", *map(str, files)],
                         env=env, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {Path(r["file"]).stem: (r["verdict"], r["seconds"]) for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="recorded histories per mode and size")
    parser.add_argument("--clients", type=int, nargs="*", default=[5, 10, 50, 100])
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs per history")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed to each checker per history")
    parser.add_argument("--go-procs", type=int, default=1,
                        help="GOMAXPROCS for Porcupine (it checks partitions in parallel)")
    parser.add_argument("--quiet", action="store_true", help="print only histories over 0.1 s and the totals")
    args = parser.parse_args()

    missing = porcupine_missing()
    histories: list[tuple[str, str, str, list[lin.Operation]]] = []   # (set, name, model, ops)
    if missing is None:
        expected = logs.expected()
        histories += [("porcupine", name, model, ops) for name, model, ops in logs.published()]
    else:
        expected = {}
        print(f"Porcupine is not run: {missing}.\nOur checker runs alone on our own histories.\n")
    for mode in ("cp", "ap"):
        for clients in args.clients:
            for seed in range(1, args.seeds + 1):
                histories.append(("ours", f"{mode}_c{clients:03d}_s{seed}", "kv", record(mode, clients, seed)))

    peer: dict[str, tuple[str, float]] = {}
    if missing is None:
        binary = build_porcupine()
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for _, name, model, ops in histories:
                path = Path(tmp) / f"{name}.json"
                path.write_text(lj.dumps(ops, MODELS[model]()))
                files.append(path)
            peer = run_porcupine(binary, files, args.repeat, args.go_procs, args.timeout)

    print(f"{'history':<16} {'ops':>5} {'ours':>8} {'ours s':>8} {'Porcupine':>9} {'Porc. s':>8} {'ratio':>7}")
    totals: dict[str, list[float]] = {}
    disagreements = []
    for group, name, model, ops in histories:
        outcome, dt = ours(ops, MODELS[model](), args.repeat, args.timeout)
        p_outcome, p_dt = peer.get(name, ("-", float("nan")))
        if name in expected and outcome != ("ok" if expected[name] else "illegal"):
            disagreements.append(f"{name}: ours {outcome}, Porcupine's test expects {expected[name]}")
        if name in peer and "unknown" not in (outcome, p_outcome) and outcome != p_outcome:
            disagreements.append(f"{name}: ours {outcome}, Porcupine {p_outcome}")
        t = totals.setdefault(group, [0.0, 0.0, 0, 0, 0])
        t[0] += dt
        t[1] += p_dt if name in peer else 0.0
        t[2] += 1
        t[3] += outcome == "unknown"
        t[4] += p_outcome == "unknown"
        if not args.quiet or dt > 0.1 or outcome != p_outcome:
            ratio = f"{dt / p_dt:.2f}" if name in peer and p_dt > 0 else "-"
            print(f"{name:<16} {len(ops):>5} {outcome:>8} {dt:>8.3f} {p_outcome:>9} {p_dt:>8.3f} {ratio:>7}",
                  flush=True)
    print()
    for group, (t_ours, t_peer, n, unknown, p_unknown) in totals.items():
        line = f"total {group:<10} {n:>3} histories: ours {t_ours:.2f} s CPU ({unknown} unknown)"
        if peer:
            line += (f", Porcupine {t_peer:.2f} s ({p_unknown} unknown, each counted at the "
                     f"{args.timeout:g} s timeout); ours / Porcupine = {t_ours / t_peer:.2f}")
        print(line)
    if disagreements:
        raise SystemExit("verdicts disagree:\n" + "\n".join(disagreements))


if __name__ == "__main__":
    main()
