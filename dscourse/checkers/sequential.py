"""Sequential consistency: is there one order of all operations that every client agrees with?

A history is *sequentially consistent* (Lamport 1979, "How to make a multiprocessor computer
that correctly executes multiprocess programs") when some total order of its operations is
legal for the sequential :class:`~.models.Model` and keeps each client's *program order* (the
order in which that client issued its own operations). Unlike linearizability (Herlihy and
Wing 1990, §3), the order need not respect real time *across* clients: a read may return a
value that another client overwrote long before, as long as every client's view fits one
sequence. So every linearizable history is sequentially consistent, not the other way round.

The search (:func:`check`) walks the clients' operation lists like the Wing-Gong search walks
a history: at each step it tries the next operation of every client, applies it to the
model, and recurses, remembering each failed (position per client, state) configuration (the
analogue of Lowe's memoization). An operation without a return (``ret = inf``, output
:data:`~.models.UNKNOWN`) is its client's last; it may take effect or not, so the search may
also drop it. A legal operation the model calls ``read_only`` is taken without branching (it
changes no state, so some solution takes it first if any solution exists), which keeps long
histories of reads fast.

Sequential consistency is *not* compositional (Herlihy and Wing 1990, §3.2): a key-value
history must be checked as a whole, not key by key; :func:`kv_store` is the whole-store model.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed
from .models import UNKNOWN, Model, Operation, kv

#: Configurations the search may visit before it gives up (the answer is then ``"unknown"``).
MAX_STATES = 2_000_000


@dataclass(frozen=True)
class Result:
    """``outcome`` is ``"ok"`` (``order`` is a legal sequential order keeping every client's
    program order), ``"illegal"`` or ``"unknown"`` (the search hit ``max_states``)."""

    outcome: str
    order: tuple[Operation, ...] = ()
    states: int = 0
    clients: dict[Hashable, tuple[Operation, ...]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def program_order(ops: Sequence[Operation]) -> dict[Hashable, tuple[Operation, ...]]:
    """Each client's operations in the order it issued them (by call time). A client runs one
    operation at a time: two of its operations that overlap are a ``ValueError``."""
    by_client: dict[Hashable, list[Operation]] = {}
    for op in ops:
        if not isinstance(op, Operation):
            raise allowed("operation", op, "a dscourse.checkers.models.Operation")
        by_client.setdefault(op.client, []).append(op)
    out = {}
    for client, mine in by_client.items():
        mine.sort(key=lambda o: (o.call, o.ret))
        for a, b in itertools.pairwise(mine):
            if b.call < a.ret:
                raise allowed(f"client {client!r}'s operations", (a.call, a.ret, b.call, b.ret),
                              "one at a time (each called after the previous one returned)")
        out[client] = tuple(mine)
    return out


def check(ops: Sequence[Operation], model: Model, *, max_states: int = MAX_STATES) -> Result:
    """Is ``ops`` sequentially consistent for ``model``? (See the module docstring.) The
    model's ``partition`` is ignored on purpose: sequential consistency is not compositional."""
    if isinstance(max_states, bool) or not isinstance(max_states, int) or max_states < 1:
        raise allowed("max_states", max_states, "a positive int")
    lanes = program_order(ops)
    clients = list(lanes)
    queues = [lanes[c] for c in clients]
    total = [len(q) for q in queues]
    read_only = model.read_only
    failed: set[tuple[tuple[int, ...], Any]] = set()
    order: list[Operation] = []
    visited = 0

    class _Budget(Exception):
        pass

    def done(pos: tuple[int, ...]) -> bool:
        return all(p == n or (p == n - 1 and math.isinf(queues[i][p].ret))
                   for i, (p, n) in enumerate(zip(pos, total, strict=True)))

    def close(pos: tuple[int, ...], state: Any) -> tuple[int, ...]:
        """Take every legal read-only operation at the head of a lane, without branching: it
        changes no state, and moving it ahead of other clients' operations breaks no program
        order, so some solution takes it first if any solution exists."""
        if read_only is None:
            return pos
        moved = True
        while moved:
            moved = False
            for i, p in enumerate(pos):
                while p < total[i] and read_only(queues[i][p].input, queues[i][p].output):
                    op = queues[i][p]
                    if not model.step(state, op.input, op.output)[0]:
                        break
                    order.append(op)
                    p += 1
                    moved = True
                pos = (*pos[:i], p, *pos[i + 1:])
        return pos

    def search(pos: tuple[int, ...], state: Any) -> bool:
        nonlocal visited
        mark = len(order)
        pos = close(pos, state)
        if done(pos):
            return True
        if (pos, state) not in failed:
            visited += 1
            if visited > max_states:
                raise _Budget
            for i, p in enumerate(pos):
                if p == total[i]:
                    continue
                op = queues[i][p]
                ok, after = model.step(state, op.input, op.output)
                if ok:
                    order.append(op)
                    if search((*pos[:i], p + 1, *pos[i + 1:]), after):
                        return True
                    order.pop()
            failed.add((pos, state))
        del order[mark:]
        return False

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 2 * sum(total) + 1000))   # one frame per state-changing step
    try:
        found = search(tuple(0 for _ in clients), model.init)
    except _Budget:
        return Result("unknown", (), visited, lanes)
    finally:
        sys.setrecursionlimit(limit)
    return Result("ok" if found else "illegal", tuple(order) if found else (), visited, lanes)


def kv_store() -> Model:
    """The key-value model of :func:`~.models.kv` over the whole store at once (its state a
    sorted tuple of ``(key, value)`` pairs), for checks that must not split by key."""
    per_key = kv()

    def step(state: tuple, inp: Any, out: Any) -> tuple[bool, tuple]:
        if not isinstance(inp, tuple) or len(inp) < 2:
            raise allowed("kv operation", inp, '("get", key), ("put", key, value) or ("append", key, value)')
        values = dict(state)
        key = inp[1]
        ok, after = per_key.step(values.get(key, per_key.init), inp, out)
        if ok:
            values[key] = after
        return ok, tuple(sorted(values.items()))

    return Model(init=(), step=step, describe=per_key.describe, read_only=per_key.read_only, name="kv-store")


__all__ = ["MAX_STATES", "UNKNOWN", "Result", "check", "kv_store", "program_order"]
