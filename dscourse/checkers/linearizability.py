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
* **Forced reads** (a partial-order reduction): an enabled operation that cannot change the
  state and is legal in the current state is linearized at once, without branching on the
  alternatives (see :class:`Model`'s ``read_only``). Porcupine does not do this; on histories
  with many concurrent clients it cuts the search by orders of magnitude.
* **Unobserved writes**: a write whose outcome is unknown and whose value nobody read is left
  out of the search and linearized last (``Model.removable``); a completed write nobody read
  is never branched on, only placed just before the next write or when it returns
  (``Model.invisible``). See :func:`_unread_unknown_writes` and :func:`_unread_writes` for
  why both are exact.

The layout follows Porcupine's ``checkSingle``: entries in a doubly linked list, a stack of
(entry, previous state) for backtracking, a bitset of linearized operations.

An operation whose outcome is unknown (Jepsen's ``info``; a client that timed out) has output
:data:`UNKNOWN` and may have ``ret = math.inf``: it may or may not have taken effect, so it may be
linearized anywhere after its call, including after everything else.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Sequence

from ..errors import ConfigError, allowed

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


class _Unknown:
    """The output of an operation whose effect is unknown; any output is acceptable for it."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Operation:
    """One client operation: invoked at ``call``, answered at ``ret`` (ms, or ``math.inf``)."""

    client: Hashable
    call: float
    ret: float
    input: Any
    output: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.call, (int, float)) or math.isnan(self.call) or math.isinf(self.call):
            raise allowed("Operation.call", self.call, "a finite number (virtual ms)")
        if not isinstance(self.ret, (int, float)) or math.isnan(self.ret):
            raise allowed("Operation.ret", self.ret, "a number or math.inf")
        if self.ret < self.call:
            raise ConfigError(f"Operation.ret={self.ret!r} is before call={self.call!r}: ret must be >= call")
        if math.isinf(self.ret) and self.output is not UNKNOWN:
            raise ConfigError(
                f"Operation with ret=inf has output={self.output!r}: an unfinished operation's output must be UNKNOWN"
            )


Step = Callable[[Any, Any, Any], "tuple[bool, Any]"]


@dataclass(frozen=True)
class Model:
    """A sequential specification.

    ``step(state, input, output) -> (ok, new_state)`` says whether ``output`` is legal for
    ``input`` in ``state`` (``output`` may be :data:`UNKNOWN`: then any output is legal) and
    what state follows. States must be hashable and compared by value. ``partition(ops)``
    optionally splits a history into independent sub-histories (lists of operations);
    ``describe(input, output)`` renders an operation for pictures and messages;
    ``read_only(input, output)`` optionally says that an operation never changes the state,
    in *any* state where it is legal (a read; a compare-and-set that returned False): the
    search then linearizes such operations as soon as they are legal, without branching;
    ``removable(ops)`` optionally names operations (indices) that can be linearized last in
    any linearization of the others and left out of the search (they are appended to the
    result's linearization); ``invisible(ops)`` optionally names operations that overwrite
    the whole state, are legal in any state, and whose resulting state no operation of
    ``ops`` can observe (writes nobody read): the search places them only just before
    another operation that is not read-only, or when they return. It is used only together
    with ``read_only``, and only where every operation that is not read-only overwrites the
    whole state (as :func:`_unread_writes` checks: no append, no cas).
    """

    init: Any
    step: Step
    partition: Callable[[Sequence[Operation]], list[list[Operation]]] | None = None
    describe: Callable[[Any, Any], str] | None = None
    read_only: Callable[[Any, Any], bool] | None = None
    removable: Callable[[Sequence[Operation]], set[int]] | None = None
    invisible: Callable[[Sequence[Operation]], set[int]] | None = None

    def render(self, op: Operation) -> str:
        if self.describe is not None:
            return self.describe(op.input, op.output)
        return f"{op.input!r} -> {op.output!r}"


def _bad_input(model: str, value: Any, allowed_forms: str) -> ConfigError:
    return allowed(f"{model} operation input", value, allowed_forms)


def _reads(inp: Any, out: Any) -> bool:
    return type(inp) is tuple and len(inp) == 2 and inp[0] in ("read", "get")


def _reads_or_failed_cas(inp: Any, out: Any) -> bool:
    return _reads(inp, out) or (type(inp) is tuple and inp[:1] == ("cas",) and out is False)


def _observed_values(ops: Sequence[Operation]) -> set[Any] | None:
    """The values reads returned, or ``None`` if an append or cas makes states depend on history."""
    observed = set()
    for op in ops:
        kind = op.input[0] if type(op.input) is tuple and op.input else None
        if kind in ("append", "cas"):
            return None
        if kind in ("read", "get") and op.output is not UNKNOWN:
            observed.add(op.output)
    return observed


def _unread_unknown_writes(ops: Sequence[Operation]) -> set[int]:
    """Writes with unknown outcome and no return whose value no read returned.

    Such a write ``w(v)`` can be dropped from the search when every other state-changing
    operation overwrites the whole state (no append, no cas): if the others are
    linearizable, ``w`` can go last (any output is allowed for it, and it precedes nothing);
    if a linearization places ``w`` earlier, no read sits between ``w`` and the next write
    (it would have returned ``v``), so removing ``w`` changes nothing else.
    """
    observed = _observed_values(ops)
    if observed is None:
        return set()
    return {i for i, op in enumerate(ops)
            if op.ret == math.inf and op.output is UNKNOWN and type(op.input) is tuple
            and op.input[:1] in (("write",), ("put",)) and op.input[-1] not in observed}


def _unread_writes(ops: Sequence[Operation]) -> set[int]:
    """Completed writes whose value no read returned (in a history without append or cas).

    Nobody can observe the state such a write leaves, so in some linearization it is
    immediately followed by another write (or ends the history): placing every enabled one
    just before the next write the search places, or when it returns, loses nothing.
    """
    observed = _observed_values(ops)
    if observed is None:
        return set()
    return {i for i, op in enumerate(ops)
            if op.ret != math.inf and type(op.input) is tuple
            and op.input[:1] in (("write",), ("put",)) and op.input[-1] not in observed}


def register(init: Any = None) -> Model:
    """A read/write register: ``("read", None)`` returns the value (``init`` before any write);
    ``("write", v)`` returns ``None``."""

    def step(state: Any, inp: Any, out: Any) -> tuple[bool, Any]:
        match inp:
            case ("read", None):
                return (out is UNKNOWN or out == state), state
            case ("write", value):
                return (out is UNKNOWN or out is None), value
        raise _bad_input("register", inp, '("read", None) or ("write", value)')

    def describe(inp: Any, out: Any) -> str:
        return f"read() -> {out!r}" if inp[0] == "read" else f"write({inp[1]!r})"

    return Model(init=init, step=step, describe=describe, read_only=_reads,
                 removable=_unread_unknown_writes, invisible=_unread_writes)


def cas_register(init: Any = None) -> Model:
    """A register with compare-and-set: ``("cas", (old, new))`` sets ``new`` and returns
    ``True`` iff the value is ``old``, else returns ``False``; plus read and write."""
    base = register(init)

    def step(state: Any, inp: Any, out: Any) -> tuple[bool, Any]:
        match inp:
            case ("cas", (old, new)):
                swapped = state == old
                return (out is UNKNOWN or out is swapped), (new if swapped else state)
            case ("read", None) | ("write", _):
                return base.step(state, inp, out)
        raise _bad_input("cas_register", inp, '("read", None), ("write", v) or ("cas", (old, new))')

    def describe(inp: Any, out: Any) -> str:
        if inp[0] == "cas":
            return f"cas({inp[1][0]!r}→{inp[1][1]!r}) -> {out!r}"
        return base.render(Operation(0, 0, 0, inp, out))

    return Model(init=init, step=step, describe=describe, read_only=_reads_or_failed_cas,
                 removable=_unread_unknown_writes, invisible=_unread_writes)


def _kv_key(inp: Any) -> Any:
    match inp:
        case ("get", key) | ("put", key, _) | ("append", key, _):
            return key
    raise _bad_input("kv", inp, '("get", key), ("put", key, value) or ("append", key, value)')


def _partition_by_key(ops: Sequence[Operation]) -> list[list[Operation]]:
    groups: dict[Any, list[Operation]] = {}
    for op in ops:
        groups.setdefault(_kv_key(op.input), []).append(op)
    return [groups[k] for k in sorted(groups, key=repr)]


def kv() -> Model:
    """A key-value store with string values, checked one key at a time: ``("get", k)`` returns
    the value (``""`` when absent); ``("put", k, v)`` and ``("append", k, v)`` return ``None``.
    The state of one partition is that key's value."""

    def step(state: str, inp: Any, out: Any) -> tuple[bool, str]:
        match inp:
            case ("get", _):
                return (out is UNKNOWN or out == state), state
            case ("put", _, value):
                return (out is UNKNOWN or out is None), value
            case ("append", _, value):
                return (out is UNKNOWN or out is None), state + value
        raise _bad_input("kv", inp, '("get", key), ("put", key, value) or ("append", key, value)')

    def describe(inp: Any, out: Any) -> str:
        if inp[0] == "get":
            return f"get({inp[1]!r}) -> {out!r}"
        return f"{inp[0]}({inp[1]!r}, {inp[2]!r})"

    return Model(init="", step=step, partition=_partition_by_key, describe=describe, read_only=_reads,
                 removable=_unread_unknown_writes, invisible=_unread_writes)


@dataclass(frozen=True)
class PartitionResult:
    """The verdict on one partition.

    ``operations`` are the partition's operations; ``longest`` is the longest linearizable
    prefix found, as indices into ``operations`` in linearization order (all of them when the
    partition is linearizable); ``stuck`` lists the operations whose return was reached
    before they could be linearized at the deepest point of the search (the first illegal
    point, for pictures)."""

    outcome: str
    operations: tuple[Operation, ...]
    longest: tuple[int, ...]
    stuck: tuple[int, ...] = ()


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
    """A call or return event in the doubly linked list the search walks (Porcupine's node)."""

    __slots__ = ("op", "is_call", "match", "prev", "next")

    def __init__(self, op: int, is_call: bool) -> None:
        self.op = op
        self.is_call = is_call
        self.match: _Entry | None = None
        self.prev: _Entry | None = None
        self.next: _Entry | None = None

    def lift(self) -> None:
        """Remove this call entry and its return entry from the list."""
        self.prev.next = self.next
        self.next.prev = self.prev
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
        self.prev.next = self
        self.next.prev = self


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


def _check_partition(model: Model, ops: Sequence[Operation], deadline: float | None) -> PartitionResult:
    """Search one partition, leaving out the operations ``model.removable`` names (they are
    linearized last); indices in the result refer to ``ops``."""
    ops = tuple(ops)
    drop = model.removable(ops) if model.removable is not None else set()
    if not drop:
        return _search(model, ops, deadline)
    keep = [i for i in range(len(ops)) if i not in drop]
    sub = _search(model, [ops[i] for i in keep], deadline)
    longest = tuple(keep[i] for i in sub.longest)
    if sub.outcome == "ok":
        longest += tuple(sorted(drop))
    return PartitionResult(sub.outcome, ops, longest, tuple(keep[i] for i in sub.stuck))


def _search(model: Model, ops: Sequence[Operation], deadline: float | None) -> PartitionResult:
    ops = tuple(ops)
    head = _entries(ops)
    call_entry: list[_Entry] = [head] * len(ops)
    e = head.next
    while e is not None:
        if e.is_call:
            call_entry[e.op] = e
        e = e.next
    step = model.step
    read_only = model.read_only
    ro = [bool(read_only is not None and read_only(op.input, op.output)) for op in ops]
    hidden = model.invisible(ops) if model.invisible is not None and read_only is not None else set()
    lazy = [i in hidden for i in range(len(ops))]
    state = model.init
    linearized = 0
    done = (1 << len(ops)) - 1
    cache: set[tuple[int, Any]] = {(0, state)}
    # frames: (entry, state before, forced?, invisible writes placed just before the entry)
    stack: list[tuple[_Entry, Any, bool, tuple[_Entry, ...]]] = []
    longest: tuple[int, ...] = ()
    stuck: tuple[int, ...] = ()
    stuck_depth = -1
    entry = head.next
    fresh = True          # a new configuration: look for a read-only operation to force first
    counter = 0

    def order() -> tuple[int, ...]:
        return tuple(i for top, _, _, flushed in stack for i in (*(f.op for f in flushed), top.op))

    while head.next is not None:
        counter += 1
        if deadline is not None and not counter & 0x3FF and time.monotonic() > deadline:
            raise _Timeout
        failed = False
        if fresh:
            # Partial-order reduction: an enabled operation that never changes the state (a
            # read) and is legal now can be linearized now without loss of generality (moving
            # it earlier in any linearization keeps it legal and changes no other step), so
            # it is forced: if the search fails after it, this configuration fails.
            fresh = False
            e = head.next
            forced = None
            while e is not None and e.is_call:
                if ro[e.op]:
                    op = ops[e.op]
                    if step(state, op.input, op.output)[0]:
                        key = (linearized | (1 << e.op), state)
                        if key in cache:
                            failed = True
                        else:
                            cache.add(key)
                            forced = e
                        break
                e = e.next
            if forced is not None:
                stack.append((forced, state, True, ()))
                linearized |= 1 << forced.op
                forced.lift()
                if linearized.bit_count() > len(longest):
                    longest = order()
                fresh = True
                continue
            entry = head.next
        if not failed:
            if entry.is_call:
                i = entry.op
                if ro[i] or lazy[i]:  # reads: illegal here (see the sweep); invisible writes: below
                    entry = entry.next
                    continue
                # Invisible writes (Model.invisible) are never tried on their own: placing every
                # enabled one just before the next write loses nothing (nobody observes them).
                flushed = []
                e = head.next
                before, bits = state, linearized
                while e is not None and e.is_call:
                    if lazy[e.op]:
                        flushed.append(e)
                        before = step(before, ops[e.op].input, ops[e.op].output)[1]
                        bits |= 1 << e.op
                    e = e.next
                op = ops[i]
                ok, new_state = step(before, op.input, op.output)
                if ok:
                    key = (bits | (1 << i), new_state)
                    if key not in cache:
                        cache.add(key)
                        for f in flushed:
                            f.lift()
                        entry.lift()
                        stack.append((entry, state, False, tuple(flushed)))
                        state = new_state
                        linearized = key[0]
                        if linearized.bit_count() > len(longest):
                            longest = order()
                        fresh = True
                        continue
                entry = entry.next
                continue
            if lazy[entry.op]:
                # an invisible write reached its return: it must take effect now
                w = call_entry[entry.op]
                op = ops[entry.op]
                key = (linearized | (1 << entry.op), step(state, op.input, op.output)[1])
                if key not in cache:
                    cache.add(key)
                    w.lift()
                    stack.append((w, state, False, ()))
                    state = key[1]
                    linearized = key[0]
                    if linearized.bit_count() > len(longest):
                        longest = order()
                    fresh = True
                    continue
            # A return reached before its operation was linearized: backtrack. Remember the
            # first operation that got stuck at the deepest point reached, for pictures.
            if linearized.bit_count() == len(longest) > stuck_depth:
                stuck, stuck_depth = (entry.op,), len(longest)
        while True:
            if not stack:
                return PartitionResult("illegal", ops, longest, stuck)
            top, state, was_forced, flushed = stack.pop()
            linearized &= ~(1 << top.op)
            top.unlift()
            for f in reversed(flushed):
                linearized &= ~(1 << f.op)
                f.unlift()
            if not was_forced:
                entry = top.next
                break
    assert linearized == done
    return PartitionResult("ok", ops, longest)


def check(
    operations: Iterable[Operation], model: Model, timeout: float | None = None
) -> CheckResult:
    """Check that ``operations`` are linearizable with respect to ``model``.

    ``timeout`` (seconds of real time, ``None`` for no limit) bounds the search; when it cuts
    the search short the outcome is ``"unknown"``, never a guess. This is the library's one
    use of the wall clock: it limits the checker, never the simulation.
    """
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
    if any(r.outcome == "illegal" for r in results):
        outcome = "illegal"
    elif unknown:
        outcome = "unknown"
    else:
        outcome = "ok"
    return CheckResult(outcome, tuple(results))


def random_register_history(seed: int, n_ops: int = 10, *, clients: int = 4, values: int = 3,
                            span: float = 40.0, corrupt: float = 0.3) -> list[Operation]:
    """A random completed read/write register history, for testing checkers (exercise E3.1).

    Each of ``clients`` clients runs operations one after another, each lasting a random time
    in a window of ``span`` ms, so operations of different clients overlap. Outputs come from
    a real sequential run (one linearization point inside each interval), so the history is
    linearizable, unless, with probability ``corrupt``, one read's output is replaced by
    another value (which usually, not always, makes it illegal). Written values are drawn
    from ``1..values`` (few values: adversarial, many orders explain a read).
    """
    import numpy as np

    if isinstance(n_ops, bool) or not isinstance(n_ops, int) or n_ops < 0:
        raise allowed("n_ops", n_ops, "an int >= 0")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise allowed("clients", clients, "an int >= 1")
    rng = np.random.default_rng([seed, 0xE31])
    free = [0.0] * clients
    raw = []
    for _ in range(n_ops):
        c = int(rng.integers(clients))
        call = free[c] + float(rng.integers(0, 4))
        ret = call + float(rng.integers(1, int(span // 4) + 2))
        point = float(rng.uniform(call, ret))
        free[c] = ret
        inp = ("read", None) if rng.random() < 0.5 else ("write", int(rng.integers(1, values + 1)))
        raw.append((point, c, call, ret, inp))
    state, out = None, []
    for point, c, call, ret, inp in sorted(raw, key=lambda r: r[0]):
        if inp[0] == "write":
            state = inp[1]
            out.append(Operation(c, call, ret, inp, None))
        else:
            out.append(Operation(c, call, ret, inp, state))
    reads = [i for i, op in enumerate(out) if op.input[0] == "read"]
    if reads and rng.random() < corrupt:
        i = reads[int(rng.integers(len(reads)))]
        old = out[i]
        choices = [v for v in [None, *range(1, values + 1)] if v != old.output]
        out[i] = Operation(old.client, old.call, old.ret, old.input, choices[int(rng.integers(len(choices)))])
    out.sort(key=lambda op: (op.call, op.ret, str(op.client)))
    return out
