"""Operations and sequential models for the linearizability checker (Porcupine's ``model.go``).

An :class:`Operation` is one client call with its interval and output; a :class:`Model` is the
sequential specification the checker (:mod:`.linearizability`) judges a history against. The
models here: :func:`register`, :func:`cas_register` and :func:`kv` (a key-value store checked
one key at a time). Each also names the operations the search may treat specially (its
``read_only``, ``removable`` and ``unread`` hooks; see :class:`Model`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, allowed


class _Unknown:
    """The output of an operation whose effect is unknown; any output is acceptable for it."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
"""Jepsen's ``info``: an operation (a client that timed out) that may or may not have taken effect."""


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
    ``input`` in ``state`` (``output`` may be :data:`UNKNOWN`: then any output is legal, so
    ``ok`` holds in every state) and what state follows. States must be hashable and
    compared by value. ``partition(ops)`` optionally splits a history into independent
    sub-histories (lists of operations); ``describe(input, output)`` renders an operation
    for pictures and messages.

    Three optional hooks let the search skip choices that cannot matter
    (:mod:`.linearizability` explains why each is exact):

    * ``read_only(input, output)``: the operation never changes the state, in *any* state
      where it is legal (a read; a compare-and-set that returned False). The search
      linearizes such an operation as soon as it is legal, without branching ("forced reads").
    * ``removable(ops)``: indices of operations that can be linearized last in any
      linearization of the others; they are left out of the search and appended to the
      result's linearization (writes of unknown outcome whose value nobody read).
    * ``unread(ops)``: indices of *unread writes*: operations that overwrite the whole state,
      are legal in any state, and whose resulting state no operation of ``ops`` observes.
      The search places them only just before an operation that ``overwrites`` the whole
      state (every operation that is not read-only when ``overwrites`` is ``None``), or when
      they return. Used only together with ``read_only``; :func:`unread_writes` names none
      in a history with a cas.
    * ``overwrites(input, output)``: the operation replaces the whole state (a write, a put).
    * ``reachable(state, input, output)``: for a read-only operation, ``False`` when no run
      of operations that do not overwrite the state leads from ``state`` to one where the
      operation is legal (a get returning ``"ab"`` once the value is ``"abc"``). The search
      abandons a configuration as soon as an enabled read is unreachable and no
      overwriting operation could still come before it ("early illegality").
    * ``reachable_states(input, output)``: optional, with ``reachable``: every state from which
      ``reachable`` holds for the read (a register's read: its output; a get: the prefixes
      of its output), so the search need not try ``reachable`` on every state a write sets.
    * ``name``: the model's name in exported histories (:mod:`.linearizability_json`).
    """

    init: Any
    step: Step
    partition: Callable[[Sequence[Operation]], list[list[Operation]]] | None = None
    describe: Callable[[Any, Any], str] | None = None
    read_only: Callable[[Any, Any], bool] | None = None
    removable: Callable[[Sequence[Operation]], set[int]] | None = None
    unread: Callable[[Sequence[Operation]], set[int]] | None = None
    overwrites: Callable[[Any, Any], bool] | None = None
    reachable: Callable[[Any, Any, Any], bool] | None = None
    reachable_states: Callable[[Any, Any], Iterable[Any]] | None = None
    name: str = ""

    def render(self, op: Operation) -> str:
        if self.describe is not None:
            return self.describe(op.input, op.output)
        return f"{op.input!r} -> {op.output!r}"


# -- the hooks of the models below ----------------------------------------------------------
def is_read(inp: Any, out: Any) -> bool:
    """``("read", None)`` or ``("get", key)``: never changes the state."""
    return type(inp) is tuple and len(inp) == 2 and inp[0] in ("read", "get")


def is_read_or_failed_cas(inp: Any, out: Any) -> bool:
    """A read, or a compare-and-set that returned False (it changed nothing)."""
    return is_read(inp, out) or (type(inp) is tuple and inp[:1] == ("cas",) and out is False)


def _observed(ops: Sequence[Operation]) -> tuple[list[Any], bool] | None:
    """The outputs reads returned and whether the history appends, or ``None`` when a cas
    (which reads the state it changes) makes states depend on history."""
    observed: list[Any] = []
    appends = False
    for op in ops:
        kind = op.input[0] if type(op.input) is tuple and op.input else None
        if kind == "cas":
            return None
        appends = appends or kind == "append"
        if kind in ("read", "get") and op.output is not UNKNOWN:
            observed.append(op.output)
    return observed, appends


def _writes(ops: Sequence[Operation]) -> set[int]:
    """Writes (put, append) whose value no read can have seen.

    Without append, a read returns exactly one written value, so a write is unread when no
    read returned its value. With append, a state is a put's value followed by appended
    values, so a write is unread when its value is a non-empty string that is a substring of
    no read's output: no read can sit between it and the next put (or the end).
    """
    seen = _observed(ops)
    if seen is None:
        return set()
    observed, appends = seen
    kinds = (("write",), ("put",), ("append",))
    # only a write with a legal output (None or unknown) is legal in every state
    writes = [i for i, op in enumerate(ops) if type(op.input) is tuple and op.input[:1] in kinds
              and (op.output is None or op.output is UNKNOWN)]
    if not appends:
        values = set(observed)
        return {i for i in writes if ops[i].input[-1] not in values}
    if not all(type(v) is str for v in observed):
        return set()
    return {i for i in writes if type(ops[i].input[-1]) is str and ops[i].input[-1]
            and not any(ops[i].input[-1] in v for v in observed)}


def unread_unknown_writes(ops: Sequence[Operation]) -> set[int]:
    """Writes with unknown outcome and no return whose value no read can have seen
    (``removable``; see :func:`_writes`).

    Such a write ``w`` can be dropped from the search when no cas reads the state: if the
    others are linearizable, ``w`` can go last (any output is allowed for it, and it precedes
    nothing); if a linearization places ``w`` earlier, no read sits between ``w`` and the
    next put (it would have seen ``w``'s value), so removing ``w`` changes what no read sees.
    """
    return {i for i in _writes(ops) if ops[i].ret == math.inf and ops[i].output is UNKNOWN}


def unread_writes(ops: Sequence[Operation]) -> set[int]:
    """Completed writes (put, append) whose value no read can have seen, in a history without
    cas (``unread``; see :func:`_writes`).

    Nobody can observe the states such a write leaves before the next put, so in some
    linearization it comes just before a put (or ends the history): placing every enabled
    one just before the next put the search places, or when it returns, loses nothing.
    """
    return {i for i in _writes(ops) if ops[i].ret != math.inf}


def overwrites(inp: Any, out: Any) -> bool:
    """``("write", v)`` or ``("put", k, v)``: replaces the whole state (``overwrites`` hook)."""
    return type(inp) is tuple and inp[:1] in (("write",), ("put",))


def read_equals(state: Any, inp: Any, out: Any) -> bool:
    """``reachable`` for a register: only a write changes its value."""
    return out is UNKNOWN or out == state


def read_extends(state: Any, inp: Any, out: Any) -> bool:
    """``reachable`` for a key-value store: appends only extend a key's value."""
    return out is UNKNOWN or (type(out) is str and type(state) is str and out.startswith(state))


def prefixes(inp: Any, out: Any) -> list[Any]:
    """``reachable_states`` for a key-value store: the prefixes of a get's output (its
    ``reachable`` is :func:`read_extends`; a watched read's output is never unknown)."""
    return [out[:k] for k in range(len(out) + 1)] if type(out) is str else []


def read_value(inp: Any, out: Any) -> list[Any]:
    """``reachable_states`` for a register: the value read (:func:`read_equals`)."""
    return [out]


def _bad_input(model: str, value: Any, allowed_forms: str) -> ConfigError:
    return allowed(f"{model} operation input", value, allowed_forms)


# -- the models ------------------------------------------------------------------------------
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

    return Model(init=init, step=step, describe=describe, read_only=is_read,
                 removable=unread_unknown_writes, unread=unread_writes, overwrites=overwrites,
                 reachable=read_equals, reachable_states=read_value, name="register")


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

    return Model(init=init, step=step, describe=describe, read_only=is_read_or_failed_cas,
                 removable=unread_unknown_writes, unread=unread_writes, overwrites=overwrites,
                 name="cas_register")


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

    return Model(init="", step=step, partition=_partition_by_key, describe=describe, read_only=is_read,
                 removable=unread_unknown_writes, unread=unread_writes, overwrites=overwrites, reachable=read_extends,
                 reachable_states=prefixes, name="kv")
