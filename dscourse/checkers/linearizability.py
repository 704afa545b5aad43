"""Linearizability checking: the Wing–Gong / Lowe search with P-compositionality.

A history is linearizable when every operation can be given a single instant between its call
and its return such that, taken in that order, the operations are a legal sequential run of the
object (Herlihy & Wing 1990, §3). Checking it is NP-complete in general, but the search below is
fast on the histories real systems produce:

* **Wing & Gong** (1993): walk the history in time order; at each step, try to linearize any
  operation whose call has happened and whose predecessors in real time are all linearized;
  backtrack when an operation's return is reached before it was linearized.
* **Lowe** (2017, §4): memoize the pairs (set of linearized operations, model state) already
  explored, so each configuration is searched once ("just-in-time linearization" cache).
* **P-compositionality** (Horn & Kroening 2015; Porcupine by Athalye): a history is linearizable
  iff each of its partitions is (for a key-value store, each key), so each is checked alone.

Five reductions, each exact, cut the search on histories with many concurrent clients
(Porcupine has none of them; ``benchmarks/bench_linearizability.py`` runs both on the same
histories). Three are driven by hooks of the :class:`~.models.Model`:

* **Forced reads** (:func:`_forced_read`, a partial-order reduction; ``Model.read_only``): an
  enabled operation that cannot change the state and is legal in the current state is
  linearized at once, without branching on the alternatives.
* **Unread writes** (:func:`_place_unread_writes`; ``Model.unread``): a completed write whose
  value nobody read is never branched on; it is placed just before the next write the search
  places, or when it returns.
* **Removable writes** (:func:`_check_partition`; ``Model.removable``): a write of unknown
  outcome whose value nobody read is left out of the search and linearized last.

Two hold for every model (:func:`_search`):

* **Twin order** (:func:`_twins`, a symmetry reduction): of two operations with equal input
  and output, the one called and returning no later is linearized first.
* **Pending no-ops**: an operation that never returned is not tried where it would leave the
  state unchanged (it can go last instead), and once only such operations are left the
  partition is linearizable.

With appends (a key-value store), a write or append is "unread" when its value is a
substring of no read's output, and waits for the next put (``Model.overwrites``). One more
check makes *illegal* histories as fast as legal ones:

* **Early illegality** (:class:`_EarlyIllegality`; ``Model.reachable``): a configuration is
  abandoned as soon as an unlinearized read, called or not, can no longer be made legal:
  its output does not follow the current state by operations that keep the state, and
  every overwriting operation that could repair it is linearized already. Without it,
  refuting a bad read explores every order of the appends pending around it.

An illegal partition is explained by a *core* (:mod:`.linearizability_core`): operations
that cannot be linearized together, minimal by removal; ``check(..., explain=False)`` skips it.

:func:`_search` is the loop of Porcupine's ``checkSingle``: call and return entries in a doubly
linked list, a stack of frames for backtracking, a bitset of linearized operations.

An operation whose outcome is unknown (Jepsen's ``info``; a client that timed out) has output
:data:`UNKNOWN` and may have ``ret = math.inf``: it may or may not have taken effect, so it may be
linearized anywhere after its call, including after everything else. The operations and the
models live in :mod:`.models`; generated test histories in :mod:`.histories`.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed
from .histories import random_register_history
from .models import UNKNOWN, Model, Operation, Step, cas_register, kv, register

__all__ = [
    "UNKNOWN",
    "CheckResult",
    "Model",
    "Operation",
    "PartitionResult",
    "cas_register",
    "check",
    "kv",
    "random_register_history",
    "register",
]


@dataclass(frozen=True)
class PartitionResult:
    """The verdict on one partition.

    ``operations`` are the partition's operations; ``longest`` is the longest linearizable
    prefix found, as indices into ``operations`` in linearization order (all of them when the
    partition is linearizable); ``stuck`` lists the operations whose return was reached
    before they could be linearized at the deepest point of the search (the first illegal
    point, for pictures). ``core``, in an illegal partition checked with ``explain``, names
    operations that cannot be linearized together, minimal by removal
    (:func:`.linearizability_core.illegal_core`): the explanation of the verdict."""

    outcome: str
    operations: tuple[Operation, ...]
    longest: tuple[int, ...]
    stuck: tuple[int, ...] = ()
    core: tuple[int, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class CheckResult:
    """``outcome`` is ``"ok"``, ``"illegal"`` or ``"unknown"`` (the timeout cut the search)."""

    outcome: str
    partitions: tuple[PartitionResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def illegal_partitions(self) -> list[PartitionResult]:
        return [p for p in self.partitions if p.outcome == "illegal"]


class _Entry:
    """A call or return event in the doubly linked list the search walks (Porcupine's node).

    ``match`` is a call's return entry. Every entry but the sentinel head has a ``prev``, and a
    call always has a ``next`` (its return comes after it); only the last entry has none.
    """

    __slots__ = ("is_call", "match", "next", "op", "prev")

    def __init__(self, op: int, is_call: bool) -> None:
        self.op = op
        self.is_call = is_call
        self.match: _Entry = self          # set on calls when the list is built
        self.prev: _Entry = self           # set when the list is built (the head keeps itself)
        self.next: _Entry | None = None

    def lift(self) -> None:
        """Remove this call entry and its return entry from the list (Porcupine's ``lift``)."""
        after = self.next
        assert after is not None
        self.prev.next = after
        after.prev = self.prev
        ret = self.match
        ret.prev.next = ret.next
        if ret.next is not None:
            ret.next.prev = ret.prev

    def unlift(self) -> None:
        """Put this call entry and its return entry back where they were."""
        ret = self.match
        ret.prev.next = ret
        if ret.next is not None:
            ret.next.prev = ret
        after = self.next
        assert after is not None
        self.prev.next = self
        after.prev = self


def _entries(ops: Sequence[Operation]) -> _Entry:
    """Build the time-ordered list; returns its sentinel head. At equal times calls come first,
    so operations that touch at an instant count as concurrent."""
    events = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        events.append((op.ret, 1, i))
    events.sort()
    head = _Entry(-1, False)
    tail = head
    calls: dict[int, _Entry] = {}
    for _, kind, i in events:
        entry = _Entry(i, kind == 0)
        if kind == 0:
            calls[i] = entry
        else:
            calls[i].match = entry
        entry.prev = tail
        tail.next = entry
        tail = entry
    return head


class _Timeout(Exception):
    pass


def _check_partition(model: Model, ops: Sequence[Operation], deadline: float | None,
                     budget: int | None = None, *, plain: bool = False) -> PartitionResult:
    """Search one partition, leaving out the operations ``model.removable`` names (the
    removable-writes reduction: they are linearized last); indices in the result refer to ``ops``."""
    ops = tuple(ops)
    drop = model.removable(ops) if model.removable is not None else set()
    if not drop:
        return _search(model, ops, deadline, budget, plain=plain)
    keep = [i for i in range(len(ops)) if i not in drop]
    sub = _search(model, [ops[i] for i in keep], deadline, budget, plain=plain)
    longest = tuple(keep[i] for i in sub.longest)
    if sub.outcome == "ok":
        longest += tuple(sorted(drop))
    return PartitionResult(sub.outcome, ops, longest, tuple(keep[i] for i in sub.stuck))


def _marks(model: Model, ops: Sequence[Operation]) -> tuple[list[bool], list[bool], list[bool]]:
    """Which operations are read-only, which are unread writes and which overwrite the whole
    state, by the model's hooks (the unread-writes reduction relies on forced reads, so it
    needs ``read_only`` too)."""
    read_only = [bool(model.read_only is not None and model.read_only(op.input, op.output))
                 for op in ops]
    ids = model.unread(ops) if model.unread is not None and model.read_only is not None else set()
    over = model.overwrites
    overwrite = [not read_only[i] if over is None else bool(over(op.input, op.output))
                 for i, op in enumerate(ops)]
    return read_only, [i in ids for i in range(len(ops))], overwrite


def _forced_read(head: _Entry, ops: Sequence[Operation], read_only: list[bool], step: Step,
                 state: Any) -> _Entry | None:
    """The forced-reads reduction: the first enabled read-only operation legal in ``state``.

    Linearizing it now loses nothing: moving a read earlier, to a point where it is legal and
    after its call, keeps it legal and changes no other step. So if the search fails after it,
    the configuration fails, and its alternatives need not be tried.
    """
    e = head.next
    while e is not None and e.is_call:   # the enabled calls come before the first return
        if read_only[e.op]:
            op = ops[e.op]
            if step(state, op.input, op.output)[0]:
                return e
        e = e.next
    return None


class _EarlyIllegality:
    """Early illegality: a read no continuation can make legal.

    A read is dead when ``reachable`` says its output cannot follow the current state by
    operations that do not overwrite the state, and every overwriting operation that could
    set a state it can follow (its *rescuers*: called before the read returns) is linearized
    already: until it is linearized only unlinearized operations run, and the last overwrite
    before it (if any) leaves a state it cannot follow. So any unlinearized read may be
    looked at, called or not. The *orphans*, the unlinearized reads without an unlinearized
    rescuer, are kept up to date as the search steps and backtracks (a count of unlinearized
    rescuers per read), so each configuration looks at them alone.

    An overwriting operation sets the same state whatever came before, so the state it sets
    is computed once, from ``init``; the reads it rescues come from ``Model.reachable_states``
    when the model has it, else from ``reachable`` on every pair.
    """

    def __init__(self, model: Model, ops: Sequence[Operation], watch: list[bool],
                 overwrite: list[bool]) -> None:
        assert model.reachable is not None
        self.ops, self.reachable = ops, model.reachable
        by_state: dict[Any, list[int]] = {}
        for j, op in enumerate(ops):
            if overwrite[j]:
                ok, after = model.step(model.init, op.input, op.output)
                if ok:
                    by_state.setdefault(after, []).append(j)
        self.rescues: list[list[int]] = [[] for _ in ops]   # per overwriting operation: the reads it rescues
        self.remaining = [0] * len(ops)                      # per read: its unlinearized rescuers
        states = model.reachable_states
        for i, op in enumerate(ops):
            if not watch[i]:
                continue
            try:
                candidates = [by_state.get(s, ()) for s in states(op.input, op.output)] if states else None
            except TypeError:                                # an unhashable output: no state equals it
                candidates = None
            if candidates is None:
                candidates = [js for s, js in by_state.items() if self.reachable(s, op.input, op.output)]
            for js in candidates:
                for j in js:
                    if ops[j].call <= op.ret:
                        self.rescues[j].append(i)
                        self.remaining[i] += 1
        self.orphans = {i for i in range(len(ops)) if watch[i] and not self.remaining[i]}

    def take(self, a: int, linearized: int) -> None:
        """Operation ``a`` was linearized (``linearized`` includes it)."""
        self.orphans.discard(a)
        remaining = self.remaining
        for r in self.rescues[a]:
            remaining[r] -= 1
            if not remaining[r] and not linearized >> r & 1:
                self.orphans.add(r)

    def give(self, a: int, watched: bool) -> None:
        """Operation ``a`` was unlinearized (backtracking, in the reverse order of ``take``)."""
        remaining = self.remaining
        for r in self.rescues[a]:
            if not remaining[r]:
                self.orphans.discard(r)
            remaining[r] += 1
        if watched and not remaining[a]:
            self.orphans.add(a)

    def dead(self, state: Any) -> int:
        """The dead read that returns first (-1: none)."""
        ops, reachable, found = self.ops, self.reachable, -1
        for i in self.orphans:
            op = ops[i]
            if not reachable(state, op.input, op.output) and (found < 0 or (op.ret, i) < (ops[found].ret, found)):
                found = i
        return found


def _place_unread_writes(head: _Entry, ops: Sequence[Operation], unread: list[bool], step: Step,
                         state: Any, linearized: int) -> tuple[tuple[_Entry, ...], Any, int]:
    """The unread-writes reduction: place every enabled unread write now, just before the write
    about to be tried. Returns their call entries, the state after them and the new bitset.

    Nobody observes the state an unread write leaves, so some linearization follows it
    immediately with another write (or with nothing): trying it only there loses nothing.
    """
    placed = []
    e = head.next
    while e is not None and e.is_call:
        if unread[e.op]:
            placed.append(e)
            op = ops[e.op]
            state = step(state, op.input, op.output)[1]
            linearized |= 1 << e.op
        e = e.next
    return tuple(placed), state, linearized


def _twins(ops: Sequence[Operation], branched: Sequence[bool]) -> list[int]:
    """The twin-order reduction (a symmetry reduction): for each operation the search
    branches on, its *twin* that must be linearized before it, or -1.

    Twins are operations with equal input and output (compared by ``repr``). If ``a`` is
    called no later and returns no later than its twin ``b``, a linearization placing ``b``
    first stays legal with the two exchanged: the sequence of steps is the same, and ``a`` at
    ``b``'s place and ``b`` at ``a``'s respect real time (``a`` is called before anything
    ``b`` follows; ``b`` returns after anything ``a`` precedes). Each exchange removes an
    inversion, so some linearization has every chain of twins in (call, return) order. An
    exchange changes no step, so it keeps what the other reductions ask of a linearization
    (where its reads, unread writes and pending operations sit), and the gate depends on the
    linearized set alone, as the cache does.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, op in enumerate(ops):
        if branched[i]:
            groups.setdefault((repr(op.input), repr(op.output)), []).append(i)
    gate = [-1] * len(ops)
    for members in groups.values():
        members.sort(key=lambda i: (ops[i].call, ops[i].ret, i))
        for a, b in itertools.pairwise(members):
            if ops[a].ret <= ops[b].ret:
                gate[b] = a
    return gate


def _search(model: Model, ops: Sequence[Operation], deadline: float | None,
            budget: int | None = None, *, plain: bool = False) -> PartitionResult:
    """Wing & Gong's search with Lowe's cache over one partition (Porcupine's ``checkSingle``),
    with the forced-reads, unread-writes, twin-order and pending no-op reductions and early
    illegality.

    Pending no-ops: an operation that never returned (``ret = inf``, unknown outcome) is not
    tried where its step leaves the state unchanged. Such a step is needed by no
    linearization: the operation can go last instead (its return is after every other
    event, so it constrains no other operation, and any output is allowed for it). And once
    the walk reaches the return of such an operation, every operation with a return is
    linearized: the rest go last, in call order, and the partition is linearizable.

    ``plain`` turns these two off: with a model without hooks, this is Porcupine's search
    (the reference of the tests)."""
    ops = tuple(ops)
    head = _entries(ops)
    step = model.step
    read_only, unread, overwrite = _marks(model, ops)
    call_of: dict[int, _Entry] = {}   # an unread write's call entry, for when its return is reached
    e = head.next
    while e is not None:
        if e.is_call and unread[e.op]:
            call_of[e.op] = e
        e = e.next
    pending = [not plain and op.ret == math.inf for op in ops]
    gate = [-1] * len(ops) if plain else _twins(ops, [not (read_only[i] or unread[i]) for i in range(len(ops))])

    reachable = model.reachable
    watch = [reachable is not None and read_only[i] and not overwrite[i] and ops[i].output is not UNKNOWN
             for i in range(len(ops))]
    early = _EarlyIllegality(model, ops, watch, overwrite) if any(watch) else None

    state = model.init
    linearized = 0                    # bitset of the linearized operations
    cache: set[tuple[int, Any]] = {(0, state)}
    # frames: (call entry, state before it, forced read?, unread writes placed just before it)
    stack: list[tuple[_Entry, Any, bool, tuple[_Entry, ...]]] = []
    depth = deepest = 0               # operations linearized now; most ever
    longest: tuple[int, ...] = ()     # the order at the first point that deep (taken on backtracking)
    stuck: tuple[int, ...] = ()
    stuck_depth = -1

    def order() -> tuple[int, ...]:
        return tuple(i for top, _, _, before in stack for i in (*(w.op for w in before), top.op))

    def linearize(call: _Entry, new_state: Any, bits: int, forced: bool = False,
                  placed: tuple[_Entry, ...] = ()) -> bool:
        """Take the step to configuration ``(bits, new_state)`` unless the cache has seen it."""
        nonlocal state, linearized, depth, deepest
        key = (bits, new_state)
        if key in cache:
            return False
        cache.add(key)
        for w in placed:
            w.lift()
        call.lift()
        stack.append((call, state, forced, placed))
        state, linearized = new_state, bits
        depth += 1 + len(placed)
        if depth > deepest:
            deepest = depth
        if early is not None:
            for w in placed:
                early.take(w.op, bits)
            early.take(call.op, bits)
        return True

    def backtrack() -> _Entry | None:
        """Undo frames back to the last choice; the entry to try after it (None: no choice left)."""
        nonlocal state, linearized, depth, longest
        if depth == deepest > len(longest):
            longest = order()
        while stack:
            top, state, forced, placed = stack.pop()
            depth -= 1 + len(placed)
            linearized &= ~(1 << top.op)
            top.unlift()
            if early is not None:
                early.give(top.op, watch[top.op])
            for w in reversed(placed):
                linearized &= ~(1 << w.op)
                w.unlift()
                if early is not None:
                    early.give(w.op, watch[w.op])
            if not forced:
                return top.next
        return None

    entry: _Entry | None = head.next
    fresh = True          # a new configuration: look for a read to force first
    changed = True        # ... reached by a step that may have changed what early illegality sees
    steps = 0
    while head.next is not None:
        steps += 1
        if budget is not None and steps > budget:
            raise _Timeout(longest, len(cache))
        if deadline is not None and not steps & 0x3FF and time.monotonic() > deadline:
            raise _Timeout(longest, len(cache))
        if fresh:
            fresh = False
            dead = early.dead(state) if early is not None and changed else -1
            if dead >= 0:
                if depth == deepest > stuck_depth:
                    stuck, stuck_depth = (dead,), deepest
                entry = backtrack()
                if entry is None:
                    return PartitionResult("illegal", ops, longest, stuck)
                continue
            read = _forced_read(head, ops, read_only, step, state)
            if read is not None:
                # a forced read keeps the state and is no rescuer: early illegality sees the same
                if linearize(read, state, linearized | 1 << read.op, forced=True):
                    fresh, changed = True, False
                    continue
                entry = backtrack()           # seen before: this configuration fails
                if entry is None:
                    return PartitionResult("illegal", ops, longest, stuck)
                continue
            entry = head.next
        assert entry is not None
        i = entry.op
        if entry.is_call:
            g = gate[i]
            if not (read_only[i] or unread[i]) and (g < 0 or linearized >> g & 1):
                # reads are illegal here; unread writes wait; a twin waits for the one before it
                placed, before, bits = (_place_unread_writes(head, ops, unread, step, state, linearized)
                                        if call_of and overwrite[i] else ((), state, linearized))
                op = ops[i]
                ok, new_state = step(before, op.input, op.output)
                if ok and not (pending[i] and not placed and new_state == state) \
                        and linearize(entry, new_state, bits | 1 << i, placed=placed):
                    fresh = changed = True
                    continue
            entry = entry.next
            continue
        if pending[i]:   # every operation that returned is linearized: the rest go last
            rest = []
            e = head.next
            while e is not None:
                if e.is_call:
                    rest.append(e.op)
                e = e.next
            return PartitionResult("ok", ops, order() + tuple(rest))
        if unread[i]:  # an unread write reached its return: it must take effect now
            op = ops[i]
            if linearize(call_of[i], step(state, op.input, op.output)[1], linearized | 1 << i):
                fresh = changed = True
                continue
        # A return reached before its operation was linearized: backtrack. Remember the first
        # operation that got stuck at the deepest point reached, for pictures.
        if depth == deepest > stuck_depth:
            stuck, stuck_depth = (i,), deepest
        entry = backtrack()
        if entry is None:
            return PartitionResult("illegal", ops, longest, stuck)
    assert linearized == (1 << len(ops)) - 1
    return PartitionResult("ok", ops, order())


def check(
    operations: Iterable[Operation], model: Model, timeout: float | None = None, *, explain: bool = True
) -> CheckResult:
    """Check that ``operations`` are linearizable with respect to ``model``.

    With ``explain`` (the default), each illegal partition also names its ``core``: a set of
    operations that cannot be linearized together and is minimal by removal.

    ``timeout`` (seconds of real time, ``None`` for no limit) bounds the search; when it cuts
    the search short the outcome is ``"unknown"``, never a guess. This is the library's one
    use of the wall clock: it limits the checker, never the simulation.

    The cyclic garbage collector is off meanwhile: the search allocates a tuple per
    configuration and makes no garbage cycles (a partition's entry list is one, freed
    afterwards), so collections would only cost time, each full one walking every object of
    the process.
    """
    collecting = gc.isenabled()   # off before the first allocation (see above)
    gc.disable()
    try:
        return _check(operations, model, timeout, explain)
    finally:
        if collecting:
            gc.enable()


def _check(operations: Iterable[Operation], model: Model, timeout: float | None, explain: bool) -> CheckResult:
    ops = list(operations)
    for op in ops:
        if not isinstance(op, Operation):
            raise allowed("operation", op, "dscourse.checkers.linearizability.Operation instances")
    if not isinstance(model, Model):
        raise allowed("model", model, "a linearizability.Model (e.g. lin.register())")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise allowed("timeout", timeout, "None or a positive number of seconds")
    parts = model.partition(ops) if model.partition is not None else [ops]
    deadline = None if timeout is None else time.monotonic() + timeout
    results = []
    unknown = False
    for part in parts:
        try:
            results.append(_check_partition(model, part, deadline))
        except _Timeout:
            unknown = True
            results.append(PartitionResult("unknown", tuple(part), ()))
            deadline = time.monotonic()  # no time left for the other partitions either
    if explain:
        from .linearizability_core import illegal_core

        results = [dataclasses.replace(r, core=illegal_core(model, r.operations, r.stuck))
                   if r.outcome == "illegal" else r for r in results]
    if any(r.outcome == "illegal" for r in results):
        outcome = "illegal"
    elif unknown:
        outcome = "unknown"
    else:
        outcome = "ok"
    return CheckResult(outcome, tuple(results))
