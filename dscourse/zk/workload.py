"""A checked workload: clients doing versioned writes and reads while a nemesis crashes,
pauses and partitions servers (and keeps killing leaders mid-broadcast).

Writes are conditional ``set(path, value, version=v)``: a compare-and-set on the znode's
version, so their outcomes reveal the order and the history can be checked for
linearizability (Herlihy & Wing 1990) with ``ds.checkers.linearizability``. Reads are plain
``get`` from whatever server the client is on: ZooKeeper promises them only sequential
consistency (Hunt et al. 2010, §2.3; seed erratum A4), so the checks for them are that a client
never sees a version older than one it saw before in the same session (FIFO client order and
single system image), and that the whole history, reads and writes, is sequentially consistent
with each session's program order (``ds.checkers.sequential``; an operation of unknown outcome
may take effect anywhere, or not at all). ZAB's own properties are checked at every step by
the ensemble's :class:`~.invariants.ZabMonitor`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..checkers import linearizability as lin
from ..checkers import sequential as sc
from ..history import Recorder
from .client import AsyncResult, KazooClient
from .ensemble import Ensemble, ensemble
from .errors import BadVersionError
from .server import ZKOptions, ZKServer


def version_cas() -> lin.Model:
    """A znode's version as a compare-and-set register, one partition per path:
    ``("cas", path, expected)`` returns True (the version becomes expected + 1) or False."""

    def step(state: int, inp: Any, out: Any) -> tuple[bool, int]:
        _, _, expected = inp
        if out is lin.UNKNOWN:
            return True, state + 1 if state == expected else state
        if out is True:
            return state == expected, state + 1
        return state != expected, state

    def partition(ops: Any) -> list[list[Any]]:
        groups: dict[Any, list[Any]] = {}
        for op in ops:
            groups.setdefault(op.input[1], []).append(op)
        return [groups[k] for k in sorted(groups)]

    return lin.Model(init=0, step=step, partition=partition, describe=_describe_cas)


def _describe_cas(inp: Any, out: Any) -> str:
    return f"cas({inp[1]}, v{inp[2]}) -> {out!r}"


#: The sequential-consistency search's budget per run (past it the verdict is ``"unknown"``).
SC_STATES = 200_000


def version_store() -> lin.Model:
    """Every znode's version at once (sequential consistency is not compositional), as a sorted
    tuple of ``(path, version)``: ``("cas", path, expected)`` as in :func:`version_cas`, and
    ``("read", path)`` returning the version."""
    cas = version_cas()

    def step(state: tuple, inp: Any, out: Any) -> tuple[bool, tuple]:
        versions = dict(state)
        version = versions.get(inp[1], 0)
        if inp[0] == "read":
            return out is lin.UNKNOWN or out == version, state
        ok, versions[inp[1]] = cas.step(version, inp, out)
        return ok, tuple(sorted(versions.items()))

    def describe(inp: Any, out: Any) -> str:
        return f"read({inp[1]}) -> v{out!r}" if inp[0] == "read" else _describe_cas(inp, out)

    def read_only(inp: Any, out: Any) -> bool:
        return inp[0] == "read" or out is False

    return lin.Model(init=(), step=step, describe=describe, read_only=read_only, name="znode-versions")


def session_lanes(ops: list[lin.Operation], sessions: dict[tuple[Any, float], int]) -> list[lin.Operation]:
    """``ops`` with each operation's client replaced by its (client, session), the unit of
    ZooKeeper's FIFO client order; a write of unknown outcome becomes a lane of its own (it may
    take effect anywhere, or not at all) and a read of unknown outcome is left out."""
    out = []
    for op in ops:
        if op.output is lin.UNKNOWN and op.input[0] == "read":
            continue
        if op.output is lin.UNKNOWN:
            lane: Any = ("unknown", op.client, op.call)
        else:
            lane = (op.client, sessions[(op.client, op.call)])
        out.append(replace(op, client=lane))
    return out


@dataclass
class WorkloadResult:
    """What a run observed: the ensemble, the history and every violated property."""

    ens: Ensemble
    history: Recorder
    violations: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


class _Client:
    def __init__(self, zk: KazooClient) -> None:
        self.zk = zk
        self.busy = False
        self.known: dict[str, int] = {}
        self.seen: dict[tuple[int, str], int] = {}
        self.n = 0


def nemesis_step(ens: Ensemble, rng: Any, faulty: list[tuple[str, Any]], kinds: tuple[str, ...]) -> None:
    """Undo the current fault, or start a new one (one fault at a time)."""
    sim = ens.sim
    if faulty:
        kind, arg = faulty.pop()
        if kind == "crash":
            sim.recover(arg)
        elif kind == "partition":
            sim.heal()
        return
    servers = sorted(ens.nodes)
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "kill-leader":
        leader = ens.leader()
        if leader is None:
            return
        sim.crash(leader)
        faulty.append(("crash", leader))
    elif kind == "crash":
        victim = servers[int(rng.integers(len(servers)))]
        if ens.up(victim):
            sim.crash(victim)
            faulty.append(("crash", victim))
    elif kind == "partition":
        side = [s for s in servers if rng.random() < 0.5]
        if 0 < len(side) < len(servers):
            side += [c for c in sorted(ens.clients) if rng.random() < 0.5]
            sim.partition(side)
            faulty.append(("partition", None))
    elif kind == "pause":
        victim = servers[int(rng.integers(len(servers)))]
        if ens.up(victim):
            sim.pause(victim, float(rng.integers(200, 4000)))


def run(seed: int, *, servers: int = 3, observers: int = 0, clients: int = 3, keys: int = 2,
        duration_ms: float = 20_000, fault_every_ms: float = 1_500,
        kinds: tuple[str, ...] = ("kill-leader", "crash", "partition", "pause"),
        settle_ms: float = 60_000, options: ZKOptions | None = None,
        server_class: type[ZKServer] = ZKServer) -> WorkloadResult:
    """One seeded run: ``clients`` clients for ``duration_ms`` under the nemesis, then heal,
    let the ensemble settle and check everything (see the module docstring)."""
    ens = ensemble(servers=servers, observers=observers, seed=seed, options=options, server_class=server_class)
    ens.run_until_leader()
    rng = ens.sim.rng("zk-workload")
    paths = [f"/k{i}" for i in range(keys)]
    setup = ens.client(record=False)
    setup.start()
    for p in paths:
        setup.create(p, b"0")
    setup.stop()
    history = Recorder(ens.sim)
    cs = []
    for _ in range(clients):
        zk = ens.client(session_timeout_ms=6000, record=False)
        zk.start()
        cs.append(_Client(zk))
    result = WorkloadResult(ens, history)
    sessions: dict[tuple[Any, float], int] = {}
    faulty: list[tuple[str, Any]] = []
    next_fault = ens.now + fault_every_ms
    end = ens.now + duration_ms

    def issue(c: _Client) -> None:
        c.busy = True
        c.n += 1
        path = paths[int(rng.integers(len(paths)))]
        pid = c.zk.id
        session = c.zk.client_id[0] if c.zk.client_id else 0
        sessions[(pid, ens.now)] = session
        if rng.random() < 0.5:
            expected = c.known.get(path, 0)
            history.invoke(pid, "cas", (path, expected))
            res = c.zk.set_async(path, f"{pid}-{c.n}".encode(), version=expected)

            def done(r: AsyncResult, path: str = path, expected: int = expected) -> None:
                c.busy = False
                if r.successful():
                    c.known[path] = r.value.version
                    observe(c, session, path, r.value.version)
                    history.ok(pid, True)
                elif isinstance(r.exception, BadVersionError):
                    history.ok(pid, False)
                    c.known[path] = expected + 1  # learn by reading next time
                else:
                    history.info(pid, type(r.exception).__name__)
            res.rawlink(done)
        else:
            history.invoke(pid, "read", path)
            res = c.zk.get_async(path)

            def read_done(r: AsyncResult, path: str = path) -> None:
                c.busy = False
                if r.successful():
                    c.known[path] = r.value[1].version
                    observe(c, session, path, r.value[1].version)
                    history.ok(pid, r.value[1].version)
                else:
                    history.info(pid, type(r.exception).__name__)
            res.rawlink(read_done)

    def observe(c: _Client, session: int, path: str, version: int) -> None:
        key = (session, path)
        before = c.seen.get(key, -1)
        if version < before:
            result.violations.append(f"t={ens.now:g}: {c.zk.id} read version {version} of {path} after "
                                     f"seeing {before} in the same session (single system image)")
        c.seen[key] = max(before, version)

    while ens.now < end:
        if ens.now >= next_fault:
            nemesis_step(ens, rng, faulty, kinds)
            next_fault = ens.now + float(rng.exponential(fault_every_ms))
        for c in cs:
            if not c.busy and c.zk.connected:
                issue(c)
        ens.run(20)
    while faulty:
        nemesis_step(ens, rng, faulty, kinds)
    ens.sim.heal()
    settled = ens.sim.run_until(lambda: ens.leader() is not None and ens.settled() and not any(c.busy for c in cs)
                                and all(c.zk.connected for c in cs)
                                and all(ens.sim.status(s) != "paused" for s in ens.nodes), settle_ms)
    ens.run(2000)
    result.violations += ens.check()
    if not settled:
        result.violations.append(f"no stable leader with every server serving {settle_ms:g} ms after the nemesis")
    elif not ens.converged():
        result.violations.append("servers hold different trees after settling")
    ops = [o for o in history.operations(flat=True) if o.input[0] == "cas"]
    verdict = lin.check(ops, version_cas(), timeout=20)
    if verdict.outcome == "illegal":
        result.violations.append("versioned writes are not linearizable")
    sequential = sc.check(session_lanes(history.operations(flat=True), sessions), version_store(),
                          max_states=SC_STATES)
    if sequential.outcome == "illegal":
        result.violations.append("reads and writes are not sequentially consistent in any order "
                                 "that keeps each session's program order")
    leader = ens.leader()
    if leader is not None:
        tree = ens.nodes[leader].tree
        for p in paths:
            acked = sum(1 for o in ops if o.input[1] == p and o.output is True)
            unknown = sum(1 for o in ops if o.input[1] == p and o.output is lin.UNKNOWN)
            version = tree.nodes[p].version
            if not acked <= version <= acked + unknown:
                result.violations.append(f"{p} is at version {version}, but {acked} writes were acknowledged "
                                         f"and {unknown} had unknown outcomes")
    result.facts = {"ops": len(history.ops()), "writes_ok": sum(1 for o in ops if o.output is True),
                    "epochs": len(ens.monitor.epochs()), "leaders": len(ens.monitor.established),
                    "delivered": len(ens.monitor.order),
                    "linearizable": verdict.outcome, "sequential": sequential.outcome, "virtual_ms": ens.now}
    return result
