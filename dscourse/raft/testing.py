"""A Python port of MIT 6.5840's Raft test harness (``raft/config.go``) on virtual time.

The Go tester runs servers as goroutines over ``labrpc`` and sleeps in real time; here the
servers are :class:`~dscourse.raft.node.RaftNode` s in one deterministic
:class:`~dscourse.sim.Simulation`, and ``run_for(ms)`` replaces every sleep. Method names
follow ``config.go`` in snake case (``checkOneLeader`` -> ``check_one_leader``, ``one``,
``nCommitted`` -> ``n_committed``, ``crash1`` -> ``crash``, ``start1`` -> ``restart``).

The harness is an observer of every server: it runs the tester's applier (checking that
every server applies the same command at each index, in order) and, through
:class:`~dscourse.raft.invariants.RaftMonitor`, the five safety properties of Figure 3 after
every state change. ``end()`` fails if anything was violated.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..errors import allowed
from ..sim import Constant, Simulation, UniformInt, reliable
from .invariants import RaftMonitor
from .messages import AppendEntries, ApplyMsg, InstallSnapshot
from .node import RaftNode
from .options import RaftOptions

SNAPSHOT_INTERVAL = 10          # 6.5840 part D: the applier snapshots every 10 entries
ELECTION_TIMEOUT = 1000.0       # config.go's RaftElectionTimeout (ms)
HARNESS_OPTIONS = RaftOptions(election_timeout=(300.0, 600.0), heartbeat=100.0, noop=False)


def _size(value: Any) -> int:
    """A rough encoded size in bytes (labrpc counts gob bytes; this is its stand-in)."""
    t = type(value)
    if t is int or t is float or t is bool or value is None:
        return 8
    if t is str or t is bytes:
        return len(value)
    if t is tuple or t is list:
        return 8 + sum(_size(v) for v in value)
    return len(repr(value))


class _Tester(RaftMonitor):
    """The harness's observer: the safety monitor plus config.go's applier and counters."""

    def __init__(self, harness: Harness) -> None:
        super().__init__()
        self.h = harness

    def on_request(self, node: RaftNode, src: str, msg: Any) -> None:
        h = self.h
        h._rpcs += 1
        if type(msg) is AppendEntries:
            h._bytes += 48 + sum(8 + _size(c) for _t, c in msg.entries)
        elif type(msg) is InstallSnapshot:
            h._bytes += 48 + _size(msg.data)
        else:
            h._bytes += 40

    def on_apply(self, node: RaftNode, msg: ApplyMsg) -> None:
        super().on_apply(node, msg)
        self.h._apply(node, msg)


class Task:
    """A spawned test client: a generator stepped when virtual time reaches ``wake``."""

    def __init__(self, steps: Generator[float, None, Any], wake: float, order: int) -> None:
        self.steps, self.wake, self.order = steps, wake, order
        self.done = False
        self.result: Any = None
        self.error: AssertionError | None = None

    def step(self, now: float) -> None:
        try:
            self.wake = now + next(self.steps)
        except StopIteration as stop:
            self.done, self.result = True, stop.value
        except AssertionError as exc:
            self.done, self.error = True, exc


class Harness:
    """6.5840's ``config`` for ``n`` servers; see the module docstring and the method names.

    ``unreliable`` starts with labrpc's unreliable network (``set_unreliable``); with
    ``snapshot`` the applier snapshots every 10 applied entries as in 6.5840 part D.
    ``options`` default to :data:`HARNESS_OPTIONS` (no start-of-term no-op, as 6.5840's
    scenarios expect the first command at index 1); ``node_class`` lets a test run a
    variant (e.g. a deliberately broken Raft), built with ``node_kwargs``.
    """

    def __init__(self, n: int = 3, seed: int = 1, unreliable: bool = False,
                 snapshot: bool = False, options: RaftOptions | None = None,
                 node_class: type[RaftNode] = RaftNode,
                 node_kwargs: dict[str, Any] | None = None) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise allowed("n", n, "an int >= 1")
        self.n = n
        self.snapshot = snapshot
        self.sim = Simulation(seed, network=reliable(Constant(1.0)))
        self.rng = self.sim.rng("tester")
        self.ids = [str(i) for i in range(n)]
        self.monitor = _Tester(self)
        self.options = options or HARNESS_OPTIONS
        self.nodes: list[RaftNode] = []
        for sid in self.ids:
            self.nodes.append(node_class(sid, self.ids, self.options, self.monitor, **(node_kwargs or {})))
            self.sim.add_node(self.nodes[-1])
        self.connected = [True] * n
        self.logs: list[dict[int, Any]] = [{} for _ in range(n)]
        self.last_applied = [0] * n
        self.max_index = 0
        self.apply_errors: list[str] = []
        self._tasks: list[Task] = []
        self._spawned: list[Task] = []
        self._rpcs = 0
        self._bytes = 0
        self._unreliable = False
        self._long_reordering = False
        self.sim.run(until=0)
        if unreliable:
            self.set_unreliable(True)

    # -- the applier (config.go's applier / applierSnap / checkLogs / ingestSnap) ---------
    def _apply(self, node: RaftNode, m: ApplyMsg) -> None:
        i = int(node.id)
        if m.snapshot_valid:
            index, xlog = m.snapshot
            if index != m.index:
                self.apply_errors.append(f"server {i} snapshot doesn't match SnapshotIndex")
            self.logs[i] = dict(enumerate(xlog))
            self.last_applied[i] = index
            return
        err = ""
        if self.snapshot and m.index != self.last_applied[i] + 1:
            err = (f"server {i} apply out of order, expected index {self.last_applied[i] + 1}, "
                   f"got {m.index}")
        if not err:
            for j, log in enumerate(self.logs):
                old = log.get(m.index, _MISSING)
                if old is not _MISSING and old != m.command:
                    err = (f"commit index={m.index} server={i} {m.command!r} != "
                           f"server={j} {old!r}")
            prevok = (m.index - 1) in self.logs[i]
            self.logs[i][m.index] = m.command
            self.max_index = max(self.max_index, m.index)
            if m.index > 1 and not prevok:
                err = f"server {i} apply out of order {m.index}"
        if err:
            self.apply_errors.append(err)
        self.last_applied[i] = m.index
        if self.snapshot and (m.index + 1) % SNAPSHOT_INTERVAL == 0:
            xlog = tuple(self.logs[i].get(j) for j in range(m.index + 1))
            node.snapshot(m.index, (m.index, xlog))

    # -- connectivity, crashes, restarts -------------------------------------------------
    def _check(self, i: int) -> str:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.n:
            raise allowed("server", i, f"an int in 0..{self.n - 1}")
        return self.ids[i]

    def _rewire(self) -> None:
        sim = self.sim
        sim.heal()
        for a in range(self.n):
            for b in range(self.n):
                if a != b and not (self.connected[a] and self.connected[b]):
                    sim.cut(self.ids[a], self.ids[b])

    def disconnect(self, i: int) -> None:
        """Cut every link to and from server ``i``."""
        self._check(i)
        self.connected[i] = False
        self._rewire()

    def connect(self, i: int) -> None:
        """Restore server ``i``'s links to every connected server."""
        self._check(i)
        self.connected[i] = True
        self._rewire()

    def is_connected(self, i: int) -> bool:
        self._check(i)
        return self.connected[i]

    def alive(self, i: int) -> bool:
        return self.sim.status(self._check(i)) != "crashed"

    def crash(self, i: int) -> None:
        """Disconnect and kill server ``i``; its ``stable`` (the persister) survives."""
        self.disconnect(i)
        if self.alive(i):
            self.sim.crash(self.ids[i])

    def restart(self, i: int) -> None:
        """A fresh instance from the persisted state, still disconnected (``start1``)."""
        if self.alive(i):
            self.crash(i)
        else:
            self.disconnect(i)
        self.last_applied[i] = 0
        self.sim.recover(self.ids[i])

    # -- network modes --------------------------------------------------------------------
    def _relink(self) -> None:
        latency = UniformInt(0, 26) if self._unreliable else Constant(1.0)
        for a in self.ids:
            for b in self.ids:
                if a != b:
                    self.sim.set_link(a, b, latency=latency, fifo=not self._unreliable,
                                      drop=0.1 if self._unreliable else 0.0,
                                      long_reorder=600 / 900 if self._long_reordering else 0.0)

    def set_unreliable(self, unreliable: bool) -> None:
        """labrpc's ``Reliable(false)``: 0-26 ms delays and 10% of messages dropped."""
        self._unreliable = bool(unreliable)
        self._relink()

    def set_long_reordering(self, on: bool) -> None:
        """labrpc's ``LongReordering(true)``: ~2/3 of replies held back 200-2200 ms."""
        self._long_reordering = bool(on)
        self._relink()

    # -- time and counters ----------------------------------------------------------------
    def run_for(self, ms: float) -> None:
        """Advance virtual time by ``ms`` (the Go tests' ``time.Sleep``), running spawned
        tasks when they wake up."""
        sim = self.sim
        end = sim.now + ms
        while True:
            due = [t for t in self._tasks if not t.done and t.wake <= end]
            if not due:
                break
            task = min(due, key=lambda t: (t.wake, t.order))
            if task.wake > sim.now:
                sim.run(until=task.wake)
            task.step(sim.now)
        self._tasks = [t for t in self._tasks if not t.done]
        if end > sim.now:
            sim.run(until=end)

    def rpc_total(self) -> int:
        """RPC requests delivered to servers so far (replies not counted)."""
        return self._rpcs

    def bytes_total(self) -> int:
        """Approximate bytes of RPC requests delivered so far."""
        return self._bytes

    def persisted_size(self, i: int) -> int:
        """Approximate bytes of server ``i``'s persisted Raft state (the snapshot excluded)."""
        st = self.nodes[i].stable
        return 32 + sum(8 + _size(c) for _t, c in st.get("log", ()))

    def log_size(self) -> int:
        """The largest persisted Raft state of any server (config.go's ``LogSize``)."""
        return max(self.persisted_size(i) for i in range(self.n))

    # -- the Raft interface ---------------------------------------------------------------
    def start(self, server: int, cmd: Any) -> tuple[int, int, bool]:
        """``Start(cmd)`` on ``server``; ``(-1, -1, False)`` if it is crashed."""
        if not self.alive(server):
            return -1, -1, False
        return self.nodes[server].start(cmd)

    def get_state(self, server: int) -> tuple[int, bool]:
        """``(term, is_leader)`` of a live server; ``(-1, False)`` if it is crashed."""
        if not self.alive(server):
            return -1, False
        return self.nodes[server].get_state()

    # -- checks (config.go) ---------------------------------------------------------------
    def check_one_leader(self) -> int:
        """A single leader among the connected servers within ~5 s, else AssertionError."""
        for _ in range(10):
            self.run_for(450 + int(self.rng.integers(100)))
            leaders: dict[int, list[int]] = {}
            for i in range(self.n):
                if self.connected[i] and self.alive(i):
                    term, leader = self.get_state(i)
                    if leader:
                        leaders.setdefault(term, []).append(i)
            last = -1
            for term, ids in leaders.items():
                if len(ids) > 1:
                    raise AssertionError(f"term {term} has {len(ids)} (>1) leaders")
                last = max(last, term)
            if leaders:
                return leaders[last][0]
        raise AssertionError("expected one leader, got none")

    def check_terms(self) -> int:
        """The term all connected servers agree on, else AssertionError."""
        term = -1
        for i in range(self.n):
            if self.connected[i] and self.alive(i):
                t, _ = self.get_state(i)
                if term == -1:
                    term = t
                elif t != term:
                    raise AssertionError("servers disagree on term")
        return term

    def check_no_leader(self) -> None:
        for i in range(self.n):
            if self.connected[i] and self.alive(i) and self.get_state(i)[1]:
                raise AssertionError(f"expected no leader among connected servers, but {i} "
                                     "claims to be leader")

    def _check_apply(self) -> None:
        if self.apply_errors:
            raise AssertionError(f"apply error: {self.apply_errors[0]}")

    def n_committed(self, index: int) -> tuple[int, Any]:
        """How many servers applied ``index``, and the command (they must agree)."""
        self._check_apply()
        count, cmd = 0, None
        for i in range(self.n):
            if index in self.logs[i]:
                cmd1 = self.logs[i][index]
                if count > 0 and cmd != cmd1:
                    raise AssertionError(f"committed values do not match: index {index}, "
                                         f"{cmd!r}, {cmd1!r}")
                count += 1
                cmd = cmd1
        return count, cmd

    def wait(self, index: int, n: int, start_term: int) -> Any:
        """Wait for ``n`` servers to apply ``index``; ``-1`` if the term moved on."""
        to = 10.0
        for _ in range(30):
            nd, _cmd = self.n_committed(index)
            if nd >= n:
                break
            self.run_for(to)
            if to < 1000:
                to *= 2
            if start_term > -1:
                for i in range(self.n):
                    if self.alive(i) and self.get_state(i)[0] > start_term:
                        return -1
        nd, cmd = self.n_committed(index)
        if nd < n:
            raise AssertionError(f"only {nd} decided for index {index}; wanted {n}")
        return cmd

    def one(self, cmd: Any, expected_servers: int, retry: bool) -> int:
        """Submit ``cmd`` until ``expected_servers`` applied it (10 s of virtual time)."""
        return self._drive(self.one_steps(cmd, expected_servers, retry))

    def one_steps(self, cmd: Any, expected_servers: int, retry: bool) -> Generator[float, None, int]:
        """``one`` as a task for :meth:`spawn` (a Go test's ``go cfg.one(...)``)."""
        t0 = self.sim.now
        starts = 0
        while self.sim.now - t0 < 10_000:
            index = -1
            for _ in range(self.n):
                starts = (starts + 1) % self.n
                if self.connected[starts] and self.alive(starts):
                    index1, _term, ok = self.nodes[starts].start(cmd)
                    if ok:
                        index = index1
                        break
            if index != -1:
                t1 = self.sim.now
                while self.sim.now - t1 < 2_000:
                    nd, cmd1 = self.n_committed(index)
                    if nd > 0 and nd >= expected_servers and cmd1 == cmd:
                        return index
                    yield 20
                if not retry:
                    raise AssertionError(f"one({cmd!r}) failed to reach agreement")
            else:
                yield 50
        raise AssertionError(f"one({cmd!r}) failed to reach agreement")

    # -- concurrent test clients (the Go tests' goroutines) as generator tasks -----------
    def spawn(self, steps: Generator[float, None, Any]) -> Task:
        """Run ``steps`` (a generator yielding ms to sleep) alongside the test: it advances
        whenever the test advances time. Its result or AssertionError lands in the Task."""
        task = Task(steps, self.sim.now, len(self._spawned))
        self._tasks.append(task)
        self._spawned.append(task)
        return task

    def join(self, *tasks: Task, timeout: float = 60_000) -> list[Any]:
        """Advance time until ``tasks`` finish; their results (AssertionError if one failed)."""
        deadline = self.sim.now + timeout
        while not all(t.done for t in tasks):
            if self.sim.now >= deadline:
                raise AssertionError("test clients did not finish")
            self.run_for(10)
        for t in tasks:
            if t.error is not None:
                raise t.error
        return [t.result for t in tasks]

    def _drive(self, steps: Generator[float, None, Any]) -> Any:
        try:
            while True:
                self.run_for(next(steps))
        except StopIteration as stop:
            return stop.value

    def end(self) -> None:
        """AssertionError if any invariant was violated or any apply check failed."""
        self._check_apply()
        self.monitor.assert_ok()
        for task in self._spawned:
            if task.error is not None:
                raise task.error

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.end()


_MISSING = object()

