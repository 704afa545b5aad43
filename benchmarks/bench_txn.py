"""Distributed-transaction benchmark (issue 20): 2PC transactions per CPU-second.

Workload: one coordinator, three participants, ``--txns`` transactions started together,
each moving 1 unit of a row of its own (no lock conflicts) from ``p1`` to ``p2`` and ``p3``;
reliable 1 ms network; run to quiescence; every transaction must commit everywhere.
Reported: transactions per CPU-second for

1. participants on **SQLite** (``ds.txn.SQLiteRM``: one database file per participant, each
   protocol step one ``BEGIN IMMEDIATE ... COMMIT``, default journal, in a temporary folder);
2. the named peer in the same run: the same protocol with ``ds.txn.MemoryRM`` (a dict in
   ``stable``), so the difference is what the real local transactions cost;
3. the floor: the same number of single-row ``UPDATE`` local transactions on one SQLite
   connection, without any protocol.

A second table compares commit protocols on one transaction per simulation (three
participants on ``MemoryRM``, reliable 1 ms network, construction included): 2PC
(``ds.txn.simulation``) as the named peer, and Paxos Commit with ``F = 1`` and ``F = 2``
(``ds.txn.paxoscommit.simulation``), with the messages each sends.

Run: ``.venv/bin/python benchmarks/bench_txn.py [--txns 500] [--repeat 3]``. Wall-clock and CPU
timing live here only, never in tests.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import dscourse as ds


def two_pc(txns: int, sqlite: bool) -> float:
    """CPU seconds to run ``txns`` 2PC transactions to completion."""
    with tempfile.TemporaryDirectory(prefix="bench-txn-") as folder:
        work = [(f"t{i}", {"p1": ((f"k{i}", -2),), "p2": ((f"k{i}", 1),), "p3": ((f"k{i}", 1),)})
                for i in range(txns)]
        rows = {f"k{i}": 100 for i in range(txns)}
        sim = ds.sim.Simulation(seed=1, network=ds.sim.reliable())
        sim.add_node(ds.txn.Coordinator("c", work, timeout_ms=10_000))
        ids = ["p1", "p2", "p3"]
        for p in ids:
            db = str(Path(folder) / f"{p}.sqlite") if sqlite else None
            sim.add_node(ds.txn.Participant(p, "c", ids, db=db, rows=rows, timeout_ms=10_000, inquiries=0))
        cpu = time.process_time()
        sim.run()
        cpu = time.process_time() - cpu
        done = ds.txn.outcomes(sim)
        assert all(set(o.values()) == {"committed"} for o in done.values()), "a transaction did not commit"
        for p in ids:
            rm = getattr(sim.nodes[p], "_sqlite", None)
            if rm is not None:
                rm.close()
    return cpu


def local_floor(txns: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-txn-") as folder:
        conn = sqlite3.connect(str(Path(folder) / "floor.sqlite"), isolation_level=None)
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, 100)", [(f"k{i}",) for i in range(txns)])
        cpu = time.process_time()
        for i in range(txns):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE t SET v = v - 1 WHERE k = ?", (f"k{i}",))
            conn.execute("COMMIT")
        cpu = time.process_time() - cpu
        conn.close()
    return cpu


def one_txn(protocol: str, f: int, runs: int) -> tuple[float, int]:
    """CPU seconds for ``runs`` single-transaction simulations, and messages per transaction."""
    sent = 0
    cpu = time.process_time()
    for seed in range(runs):
        if protocol == "2pc":
            sim = ds.txn.simulation(seed, participants=3, network=ds.sim.reliable(), inquiries=0)
        else:
            sim = ds.txn.paxoscommit.simulation(seed, participants=3, f=f, network=ds.sim.reliable())
        sim.run(until=50)
        sent = sum(1 for e in sim.trace.events if e.kind == "send")
    cpu = time.process_time() - cpu
    ok = ds.txn.outcomes(sim) if protocol == "2pc" else ds.txn.paxoscommit.outcomes_of(sim)
    assert set(ok["t1"].values()) == {"committed"}, "a transaction did not commit"
    return cpu, sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--txns", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    best = {"2PC on SQLite": min(two_pc(a.txns, True) for _ in range(a.repeat)),
            "peer: 2PC on MemoryRM": min(two_pc(a.txns, False) for _ in range(a.repeat)),
            "floor: local UPDATE txns": min(local_floor(a.txns) for _ in range(a.repeat))}
    base = a.txns / best["2PC on SQLite"]
    print(f"{a.txns} transactions, best of {a.repeat} (CPU seconds)")
    print(f"{'':28} {'txn/CPU-s':>12} {'vs SQLite 2PC':>14}")
    for name, cpu in best.items():
        rate = a.txns / max(cpu, 1e-9)
        print(f"{name:28} {rate:12,.0f} {rate / base:13.2f}x")
    runs = max(a.txns // 3, 1)
    protocols = {"peer: 2PC": ("2pc", 0), "Paxos Commit F=1": ("paxos", 1), "Paxos Commit F=2": ("paxos", 2)}
    timed = {n: min((one_txn(p, f, runs) for _ in range(a.repeat)), key=lambda r: r[0])
             for n, (p, f) in protocols.items()}
    peer = runs / timed["peer: 2PC"][0]
    print(f"\n{runs} single-transaction simulations, best of {a.repeat}")
    print(f"{'':28} {'txn/CPU-s':>12} {'vs 2PC':>8} {'messages':>9}")
    for name, (cpu, sent) in timed.items():
        rate = runs / max(cpu, 1e-9)
        print(f"{name:28} {rate:12,.0f} {rate / peer:7.2f}x {sent:9}")


if __name__ == "__main__":
    main()
