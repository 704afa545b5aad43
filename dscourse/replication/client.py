"""The client: coordinates each operation itself and records a Jepsen-style history.

A client runs one operation at a time (a Jepsen *process*) and records ``invoke`` and then
``ok``, ``fail`` or ``info`` in a shared :class:`dscourse.history.Recorder`:

* **read** ``get(key)``: send ``Read`` to the key's home replicas and wait for ``r``
  replies; take the version with the highest timestamp. With ``write_back`` (ABD, Attiya,
  Bar-Noy & Dolev 1995, §3, "read" phase 2) write that version to ``w`` replicas before
  returning it. With ``read_repair`` send the newest version seen to every replica that
  answered with an older one, also for answers that arrive after the read has returned. A read
  that times out records ``fail`` (a read has no effect).
* **write** ``put(key, value)``: with ``"abd"`` timestamps first ask ``r`` replicas for
  their highest tag and use ``(max + 1, client id)``; with ``"lww"`` the tag is
  ``(clock(), client id)``. Then send ``Write`` and wait for ``w`` acknowledgements. A
  write that times out records ``info``: it may or may not have taken effect.
* **sloppy quorums** (Dynamo §4.6): every home replica that has not answered after
  ``sloppy_ms`` is replaced by the next unused replica on the ring; a write sent there
  carries a hint naming the home replica. A write keeps doing this after it has returned,
  so that all ``n`` copies exist somewhere (Dynamo writes to the first ``n`` healthy nodes).

Operations come from a list, from a seeded random workload (:class:`Workload`), or from
:meth:`KVClient.submit` (the widgets' buttons).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..history import Recorder
from ..sim import Node
from .config import Config
from .messages import ZERO, Read, ReadReply, Repair, Write, WriteAck
from .ring import Ring


@dataclass(frozen=True)
class Workload:
    """``ops`` random operations on ``keys``, a fraction ``reads`` of them reads, each
    started a uniformly random ``gap_ms`` (min, max) after the previous one ended; the first
    starts after ``start_ms``. Written values are unique: ``"<client>.<k>"``."""

    ops: int = 10
    keys: tuple[str, ...] = ("x",)
    reads: float = 0.5
    gap_ms: tuple[float, float] = (0.0, 10.0)
    start_ms: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.ops, bool) or not isinstance(self.ops, int) or self.ops < 0:
            raise allowed("ops", self.ops, "an int >= 0")
        if not self.keys or not all(isinstance(k, str) for k in self.keys):
            raise allowed("keys", self.keys, "a non-empty tuple of str keys")
        if not 0.0 <= self.reads <= 1.0:
            raise allowed("reads", self.reads, "a fraction in [0, 1]")
        lo, hi = self.gap_ms
        if not 0 <= lo <= hi:
            raise allowed("gap_ms", self.gap_ms, "(min, max) with 0 <= min <= max")


def _check_op(op: Any) -> tuple:
    if isinstance(op, tuple) and ((len(op) == 2 and op[0] == "get" and isinstance(op[1], str))
                                  or (len(op) == 3 and op[0] == "put" and isinstance(op[1], str)
                                      and isinstance(op[2], str))):
        return op
    raise allowed("operation", op, '("get", key) or ("put", key, value) with str key and value')


def newest_and_stale(replies: dict[str, tuple]) -> tuple[tuple, list[str]]:
    """The newest ``(ts, value)`` of ``{replica: (ts, value)}`` and the replicas (sorted)
    that hold an older one."""
    best = max((tuple(ts), value) for ts, value in replies.values())
    return best, sorted(r for r, (ts, _) in replies.items() if tuple(ts) < best[0])


class _Pending:
    """The operation in flight: its phase and the replies gathered in that phase."""

    __slots__ = ("asked", "best", "f", "key", "op", "phase", "replies", "sloppy", "timer", "value")

    def __init__(self, op: int, f: str, key: str, value: str | None) -> None:
        self.op, self.f, self.key, self.value = op, f, key, value
        self.phase = ""
        self.replies: dict[str, Any] = {}
        self.asked: list[str] = []
        self.best: tuple = (ZERO, "")
        self.timer = -1
        self.sloppy = -1


class KVClient(Node):
    """A client of the store (see the module docstring). ``workload`` is a :class:`Workload`
    (or a dict of its fields) or a list of ``("get", key)`` / ``("put", key, value)``.

    ``ring`` and ``config`` may be given as plain data (a list of replica ids, a dict of
    :class:`Config` fields), so that a subclass can run in the grading sandbox. Operations are
    recorded in ``recorder``, shared by all the cluster's clients, or, when it is ``None``,
    reported through ``self.record(kind, f, value, time)`` (an upcall the harness installs).

    Subclasses change what a read does once ``r`` replies are in by overriding
    :meth:`on_read_quorum`, using :meth:`write_back` and :meth:`complete`.
    """

    record: Callable[[str, str, Any, float], None]  # the harness's upcall when recorder is None

    def __init__(self, node_id: str, ring: Ring | list, config: Config | dict,
                 recorder: Recorder | None = None, workload: Workload | dict | list | tuple = ()) -> None:
        super().__init__(node_id)
        self.ring = ring if isinstance(ring, Ring) else Ring(list(ring))
        self.config = config if isinstance(config, Config) else Config(**config)
        self.recorder = recorder
        if isinstance(workload, dict):
            options: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in workload.items()}
            workload = Workload(**options)
        self.workload = workload if isinstance(workload, Workload) else None
        self.queue: deque[tuple] = deque()
        if not isinstance(workload, Workload):  # a list of operations to run in order
            self.queue.extend(_check_op(op) for op in workload)
        self.generated = 0
        self.next_op = 0
        self.current: _Pending | None = None
        self.recent: dict[int, _Pending] = {}      # finished reads, for late read repair
        self.unhinted: dict[int, _Pending] = {}    # finished writes a home has not acked yet
        self.idle = True

    def on_start(self) -> None:
        self.annotate(role="client")
        start = self.workload.start_ms if self.workload else 1.0
        self.idle = False
        self.set_timer(start, "next")

    # -- the workload ---------------------------------------------------------------------
    def submit(self, op: tuple) -> None:
        """Queue ``("get", key)`` or ``("put", key, value)``; it starts when the client is idle."""
        self.queue.append(_check_op(op))
        if self.idle:
            self.idle = False
            self.set_timer(0.0, "next")

    def _draw(self) -> tuple | None:
        wl = self.workload
        if wl is None or self.generated >= wl.ops:
            return None
        self.generated += 1
        key = wl.keys[int(self.rng.integers(len(wl.keys)))]
        if self.rng.random() < wl.reads:
            return ("get", key)
        return ("put", key, f"{self.id}.{self.generated}")

    def _gap(self) -> float:
        if self.workload is None:
            return 0.0
        lo, hi = self.workload.gap_ms
        return float(lo + (hi - lo) * self.rng.random())

    def on_timer(self, name: str, payload: Any) -> None:
        cur = self.current
        if name == "next":
            if cur is None:                           # never two operations at once
                self._start_next()
        elif name == "timeout" and cur is not None and cur.op == payload:
            self._finish("fail" if cur.f == "get" else "info", None)
        elif name == "sloppy":
            pending = cur if cur is not None and cur.op == payload else self.unhinted.pop(payload, None)
            if pending is not None:
                self._go_sloppy(pending)

    def _start_next(self) -> None:
        op = self.queue.popleft() if self.queue else self._draw()
        if op is None:
            self.idle = True
            return
        self.next_op += 1
        f, key = op[0], op[1]
        value = op[2] if f == "put" else None
        cur = self.current = _Pending(self.next_op, f, key, value)
        self._record("invoke", f, key if f == "get" else (key, value))
        self.annotate(op=f"{f} {key}")
        cur.timer = self.set_timer(self.config.timeout_ms, "timeout", cur.op)
        if f == "get" or self.config.timestamps == "abd":
            self._phase(cur, "query")
        else:
            self._phase(cur, "write", (self.clock(), self.id), value)

    # -- phases ---------------------------------------------------------------------------------
    def _phase(self, cur: _Pending, phase: str, ts: tuple | None = None, value: str | None = None) -> None:
        cur.phase, cur.replies = phase, {}
        if phase == "write":
            cur.best = (ts, value)
        cur.asked = list(self.ring.home(cur.key, self.config.n))
        for replica in cur.asked:
            self._send_phase(cur, replica, None)
        if self.config.sloppy:
            if cur.sloppy >= 0:
                self.cancel_timer(cur.sloppy)
            cur.sloppy = self.set_timer(self.config.sloppy_ms, "sloppy", cur.op)

    def _send_phase(self, cur: _Pending, replica: str, hint_for: str | None) -> None:
        if cur.phase == "query":
            self.send(replica, Read(cur.key, cur.op))
        else:
            ts, value = cur.best
            self.send(replica, Write(cur.key, cur.op, ts, value, hint_for))

    def _go_sloppy(self, cur: _Pending) -> None:
        """Replace each silent home replica by the next unused fallback (with a hint)."""
        cur.sloppy = -1
        home = self.ring.home(cur.key, self.config.n)
        fallbacks = [r for r in self.ring.preference(cur.key) if r not in cur.asked]
        for missing in [r for r in home if r not in cur.replies]:
            if not fallbacks:
                break
            fallback = fallbacks.pop(0)
            cur.asked.append(fallback)
            self._send_phase(cur, fallback, missing if cur.phase == "write" else None)

    def on_message(self, src: str, msg: Any) -> None:
        cur = self.current
        if isinstance(msg, ReadReply):
            if cur is not None and cur.op == msg.op and cur.phase == "query":
                cur.replies[src] = (msg.ts, msg.value)
                if (msg.ts, msg.value) > cur.best:
                    cur.best = (msg.ts, msg.value)
                if len(cur.replies) >= self.config.r:
                    self._quorum_read(cur)
            elif msg.op in self.recent:               # a late answer to a finished read
                read = self.recent[msg.op]
                read.replies[src] = (msg.ts, msg.value)
                read.best = max(read.best, (msg.ts, msg.value))
                self._repair(read)
        elif isinstance(msg, WriteAck):
            if cur is not None and cur.op == msg.op and cur.phase in ("write", "writeback"):
                cur.replies[src] = True
                if len(cur.replies) >= self.config.w:
                    self._finish("ok", cur.best[1] if cur.phase == "writeback" else None)
            elif msg.op in self.unhinted:
                self.unhinted[msg.op].replies[src] = True

    def _record(self, kind: str, f: str, value: Any) -> None:
        if self.recorder is None:
            self.record(kind, f, value, self.now)
        elif kind == "invoke":
            self.recorder.invoke(self.id, f, value, self.now)
        else:
            getattr(self.recorder, kind)(self.id, value, self.now)

    def _quorum_read(self, cur: _Pending) -> None:
        if cur.f == "put":                            # ABD write, phase 1 done: a higher tag
            tag = (int(cur.best[0][0]) + 1, self.id)
            self._phase(cur, "write", tag, cur.value)
            return
        if self.config.read_repair:
            self._repair(cur)
        self.on_read_quorum(cur.key, cur.best[0], cur.best[1])

    # -- the read's last step (override to change it) ----------------------------------------
    def on_read_quorum(self, key: str, ts: tuple, value: str) -> None:
        """``r`` replicas answered the current read of ``key``; ``(ts, value)`` is the newest
        version among them. With ``write_back`` (ABD), write it back first; else return it."""
        if self.config.write_back:
            self.write_back(ts, value)
        else:
            self.complete(value)

    def write_back(self, ts: tuple, value: str) -> None:
        """Send ``(ts, value)`` of the current read to the key's replicas; the read returns
        ``value`` once ``w`` of them have acknowledged it."""
        cur = self.current
        if cur is None or cur.f != "get":
            raise allowed("write_back()", "no read in progress", "a call from on_read_quorum")
        cur.best = (tuple(ts), value)
        self._phase(cur, "writeback", tuple(ts), value)

    def complete(self, value: str) -> None:
        """Return ``value`` for the current read now."""
        cur = self.current
        if cur is None or cur.f != "get":
            raise allowed("complete()", "no read in progress", "a call from on_read_quorum")
        self._finish("ok", value)

    def read_repair_plan(self, key: str, replies: dict[str, tuple]) -> tuple[tuple, list[str]]:
        """Read repair's decision (Dynamo §5; Cassandra "read repair"): from a read's
        ``replies`` ``{replica: (ts, value)}``, the newest version ``(ts, value)`` (the read
        returns it) and the replicas to send it to, those that answered with an older one.
        Override to change it."""
        return newest_and_stale(replies)

    def _repair(self, read: _Pending) -> None:
        """Send the newest version seen to every replica that answered with an older one."""
        best, stale = self.read_repair_plan(read.key, dict(read.replies))
        read.best = best
        for replica in stale:
            self.send(replica, Repair(read.key, best[0], best[1]))
            read.replies[replica] = best

    def _finish(self, kind: str, value: Any) -> None:
        cur = self.current
        assert cur is not None
        self.cancel_timer(cur.timer)
        if cur.sloppy >= 0:
            if cur.phase == "write" and kind == "ok":
                self.unhinted[cur.op] = cur           # a silent home still gets a hinted copy
            else:
                self.cancel_timer(cur.sloppy)
        self._record(kind, cur.f, value if kind == "ok" else None)
        if cur.f == "get" and self.config.read_repair and kind == "ok":
            self.recent[cur.op] = cur
            if len(self.recent) > 8:
                del self.recent[min(self.recent)]
        self.current = None
        self.set_timer(self._gap(), "next")
