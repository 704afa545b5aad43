"""Explaining an illegal verdict: a small set of operations that cannot be linearized together.

An illegal history usually holds thousands of operations, but the contradiction is between a
few: a write, the read that missed it, the read that saw it. :func:`illegal_core` shrinks an
illegal partition to a *core*: operations that cannot be linearized together however the
others behave, and minimal by removal (set any one of them free and the history becomes
linearizable).

"However the others behave": an operation outside the core is *relaxed*, not deleted. A
relaxed read is dropped (it constrains nothing); a relaxed write or append keeps its call but
becomes an operation of unknown outcome that never returned (it may take effect at any time
after its call, or never). Deleting writes instead would make every read of a written value
a "core" of one; relaxing is monotone (relaxing more operations never makes a history less
linearizable), so the core is what the remaining operations contradict each other about,
and one pass of single removals proves it minimal.

The shrinking is Zeller & Hildebrandt's delta debugging (``ddmin``, "Simplifying and Isolating
Failure-Inducing Input", IEEE TSE 28(2), 2002, §3), with the linearizability search as the
test: relax chunks of the set while it stays illegal, halving the chunks down to single
operations. Every trial search gets a fixed step budget; a trial that exceeds it counts as
"not shown illegal" (the operations stay), so the result depends on the history only, never
on the machine's speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .models import UNKNOWN, Model, Operation

STEP_BUDGET = 20_000
"""Search steps allowed to each trial (deterministic: a count, not a time)."""

MAX_TRIALS = 400
"""Trials allowed to one core; past them the current (illegal, maybe not minimal) set is kept."""


def _window(ops: Sequence[Operation], stuck: Sequence[int]) -> list[int]:
    """The operations called by the time the stuck operation returned (a first guess)."""
    if not stuck:
        return list(range(len(ops)))
    end = ops[stuck[0]].ret
    return [i for i, op in enumerate(ops) if op.call <= end or end == math.inf]


def ddmin(items: list[int], failing: Callable[[list[int]], bool]) -> list[int]:
    """Zeller's ``ddmin``: a 1-minimal sublist of ``items`` on which ``failing`` holds
    (``failing(items)`` must hold)."""
    n = 2
    while len(items) >= 2:
        size = math.ceil(len(items) / n)
        chunks = [items[k:k + size] for k in range(0, len(items), size)]
        for k in range(len(chunks)):
            rest = [i for c in chunks[:k] + chunks[k + 1:] for i in c]
            if rest and failing(rest):
                items, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(2 * n, len(items))
    return items


class _Spent(Exception):
    pass


def illegal_core(model: Model, ops: Sequence[Operation], stuck: Sequence[int] = (),
                 budget: int = STEP_BUDGET, max_trials: int = MAX_TRIALS) -> tuple[int, ...]:
    """Indices into ``ops`` (one illegal partition) of a subset that is not linearizable and
    minimal by removal (unless ``max_trials`` ran out first); ``()`` if no trial within
    ``budget`` steps shows even the whole partition illegal. ``stuck`` (the search's stuck
    operation) seeds the first guess."""
    from .linearizability import _check_partition, _Timeout

    trials = 0
    best: list[int] = []

    relaxed = [None if model.read_only is not None and model.read_only(op.input, op.output)
               else op if op.ret == math.inf else Operation(op.client, op.call, math.inf, op.input, UNKNOWN)
               for op in ops]

    def illegal(subset: list[int]) -> bool:
        nonlocal trials, best
        trials += 1
        if trials > max_trials:
            raise _Spent
        keep = set(subset)
        history = [op if i in keep else relaxed[i] for i, op in enumerate(ops)]
        try:
            bad = _check_partition(model, [op for op in history if op is not None], None,
                                   budget).outcome == "illegal"
        except _Timeout:
            return False
        if bad and (not best or len(subset) < len(best)):
            best = subset
        return bad

    start = _window(ops, stuck)
    if not illegal(start):
        start = list(range(len(ops)))
        if len(start) == len(_window(ops, stuck)) or not illegal(start):
            return ()
    try:
        return tuple(sorted(ddmin(start, illegal)))
    except _Spent:
        return tuple(sorted(best))
