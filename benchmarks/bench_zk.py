"""ZooKeeper benchmark (issue 16): writes per CPU-second for a 3-server ``ds.zk`` ensemble.

Workload: 3 clients in closed loops (one request in flight each, the async kazoo API), each
``set`` a versionless write on one of three znodes, over a reliable 1 ms network, for a fixed
span of virtual time. Reported: committed writes, virtual writes per second, CPU seconds, and
**writes per CPU-second**. The named peer, measured in the same run: ``ds.raft``'s key-value
store, 3 servers and 3 clerks doing the same number of operations (a third of them reads),
reported the same way. Both include tracing (every message is recorded).

Run: ``.venv/bin/python benchmarks/bench_zk.py [--virtual-ms 20000] [--repeat 3]``. Wall-clock
timing lives here only, never in tests.
"""

from __future__ import annotations

import argparse
import time

import dscourse as ds


def zk_run(virtual_ms: float, seed: int = 1) -> tuple[int, float, float]:
    ens = ds.zk.ensemble(servers=3, seed=seed)
    ens.run_until_leader()
    clients = []
    for _ in range(3):
        zk = ens.client(record=False)
        zk.start()
        clients.append(zk)
    setup = clients[0]
    for k in range(3):
        setup.create(f"/k{k}")
    done = [0]
    issued = [0]

    def loop(zk):
        issued[0] += 1
        res = zk.set_async(f"/k{issued[0] % 3}", str(issued[0]).encode())
        res.rawlink(lambda r: (done.__setitem__(0, done[0] + 1), loop(zk)) if r.successful() else None)

    start_v = ens.now
    cpu = time.process_time()
    for zk in clients:
        loop(zk)
    ens.run(virtual_ms)
    cpu = time.process_time() - cpu
    assert ens.check() == []
    return done[0], (ens.now - start_v) / 1000, cpu


def raft_run(ops_per_clerk: int, seed: int = 1) -> tuple[int, float, float]:
    cluster = ds.raft.kv_cluster(3, clients=3, seed=seed, ops=ops_per_clerk)
    cpu = time.process_time()
    cluster.run_until(cluster.done, 10_000_000)
    cpu = time.process_time() - cpu
    n = sum(1 for op in cluster.recorder.ops() if op.status == "ok")
    return n, cluster.now / 1000, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--virtual-ms", type=float, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    best_zk = best_raft = None
    for _ in range(args.repeat):
        z = zk_run(args.virtual_ms)
        r = raft_run(max(1, z[0] // 3))
        best_zk = z if best_zk is None or z[2] < best_zk[2] else best_zk
        best_raft = r if best_raft is None or r[2] < best_raft[2] else best_raft
    zw, zv, zc = best_zk
    rw, rv, rc = best_raft
    print(f"ds.zk  3 servers: {zw} writes in {zv:.1f} s virtual ({zw / zv:,.0f} writes/s virtual), "
          f"{zc:.2f} CPU s -> {zw / zc:,.0f} writes per CPU-second")
    print(f"ds.raft KV 3 servers: {rw} ops in {rv:.1f} s virtual, {rc:.2f} CPU s -> {rw / rc:,.0f} ops per CPU-second")
    print(f"ratio (ds.zk writes per CPU-s / ds.raft ops per CPU-s): {(zw / zc) / (rw / rc):.2f}")


if __name__ == "__main__":
    main()
