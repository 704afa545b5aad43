"""Happens-before on an execution: the oracle, random executions, traces, and their stamps.

An *execution* is a list of :class:`Step` records in an order consistent with causality (a
receive comes after its send), e.g. the events of a ``ds.sim`` trace (:func:`from_trace`).
Lamport's happened-before relation (CACM 1978, "The Partial Ordering") is the smallest transitive relation
containing program order (two events of one node, in the order they happened) and
send → receive of each message. :func:`happens_before_oracle` computes it by transitive
closure, without any clock, which is what the clocks are tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import allowed
from .logical import LamportClock, VectorClock

STEP_KINDS = ("local", "send", "receive")


@dataclass(frozen=True)
class Step:
    """One event: ``node`` did a ``kind`` ("local", "send", "receive") of message ``msg``."""

    node: str
    kind: str
    msg: int | None = None
    time: float | None = None      # virtual ms, when the step comes from a trace
    label: str | None = None


def check_execution(steps: Sequence[Step]) -> list[Step]:
    """Validate ``steps``: known kinds, one send per message, receives after their send."""
    sent: set[int] = set()
    out = list(steps)
    for i, s in enumerate(out):
        if not isinstance(s, Step) or s.kind not in STEP_KINDS:
            raise allowed(f"step {i}", s, f"a Step with kind one of {', '.join(STEP_KINDS)}")
        if s.kind == "send":
            if s.msg in sent or s.msg is None:
                raise allowed(f"step {i} message id", s.msg, "a new message id for every send")
            sent.add(s.msg)
        elif s.kind == "receive" and s.msg not in sent:
            raise allowed(f"step {i} message id", s.msg, "the id of a message sent earlier")
    return out


def happens_before_oracle(steps: Sequence[Step]) -> list[int]:
    """For each step ``i``, a bitmask of the steps ``j`` with ``i → j`` (transitive closure)."""
    steps = check_execution(steps)
    succ: list[list[int]] = [[] for _ in steps]
    last: dict[str, int] = {}
    send_at: dict[int, int] = {}
    for i, s in enumerate(steps):
        if s.node in last:
            succ[last[s.node]].append(i)
        last[s.node] = i
        if s.kind == "send":
            send_at[s.msg] = i          # type: ignore[index]
        elif s.kind == "receive":
            succ[send_at[s.msg]].append(i)  # type: ignore[index]
    reach = [0] * len(steps)
    for i in range(len(steps) - 1, -1, -1):   # every edge points forward in the list
        r = 0
        for j in succ[i]:
            r |= (1 << j) | reach[j]
        reach[i] = r
    return reach


def related(reach: list[int], i: int, j: int) -> str:
    """The oracle's verdict for steps ``i`` and ``j``: "->", "<-", "||" or "==" (same step)."""
    if i == j:
        return "=="
    if reach[i] >> j & 1:
        return "->"
    if reach[j] >> i & 1:
        return "<-"
    return "||"


def nodes_of(steps: Iterable[Step]) -> list[str]:
    return list(dict.fromkeys(s.node for s in steps))


def lamport_stamps(steps: Sequence[Step]) -> list[int]:
    """Every step's Lamport timestamp (a message carries its send's stamp)."""
    clocks: dict[str, LamportClock] = {}
    carried: dict[Any, int] = {}
    out = []
    for s in check_execution(steps):
        c = clocks.setdefault(s.node, LamportClock())
        stamp = c.receive(carried[s.msg]) if s.kind == "receive" else c.tick()
        if s.kind == "send":
            carried[s.msg] = stamp
        out.append(stamp)
    return out


def vector_stamps(steps: Sequence[Step]) -> list[dict[str, int]]:
    """Every step's vector timestamp (entries for every node of the execution)."""
    steps = check_execution(steps)
    nodes = nodes_of(steps)
    clocks = {n: VectorClock(n, nodes) for n in nodes}
    carried: dict[Any, dict[str, int]] = {}
    out = []
    for s in steps:
        c = clocks[s.node]
        stamp = c.receive(carried[s.msg]) if s.kind == "receive" else c.tick()
        if s.kind == "send":
            carried[s.msg] = stamp
        out.append(stamp)
    return out


def random_execution(rng: np.random.Generator, *, nodes: int = 3, steps: int = 12,
                     p_send: float = 0.4, p_receive: float = 0.4) -> list[Step]:
    """A random execution: at each step a random node receives a pending message addressed
    to it (probability ``p_receive``, if it has one), sends to a random other node
    (``p_send``), or does a local step. Some messages are never received (lost or late)."""
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise allowed("nodes", nodes, "an int >= 1")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise allowed("steps", steps, "an int >= 0")
    names = [chr(ord("a") + i) if nodes <= 26 else f"n{i}" for i in range(nodes)]
    pending: dict[str, list[int]] = {n: [] for n in names}
    out: list[Step] = []
    next_msg = 0
    for _ in range(steps):
        u = rng.random(3).tolist()
        node = names[int(u[0] * nodes)]
        if pending[node] and u[1] < p_receive:
            msg = pending[node].pop(int(u[2] * len(pending[node])))
            out.append(Step(node, "receive", msg))
        elif nodes > 1 and u[1] < p_receive + p_send:
            others = [n for n in names if n != node]
            dst = others[int(u[2] * len(others))]
            pending[dst].append(next_msg)
            out.append(Step(node, "send", next_msg))
            next_msg += 1
        else:
            out.append(Step(node, "local"))
    return out


def from_trace(trace: Any, *, local: Sequence[str] = ("annotate", "timer_fire")) -> list[Step]:
    """The steps of a ``ds.sim`` trace (or Simulation): sends, deliveries (receives) and, as
    local steps, the event kinds in ``local``. Drops and other kernel events are not steps."""
    events = getattr(getattr(trace, "trace", trace), "events", trace)
    out = []
    for e in events:
        if e.kind == "send":
            out.append(Step(e.node, "send", e.msg_id, e.time / 1000, e.label))
        elif e.kind == "deliver":
            out.append(Step(e.node, "receive", e.msg_id, e.time / 1000, e.label))
        elif e.kind in local:
            out.append(Step(e.node, "local", None, e.time / 1000, e.label))
    return out
