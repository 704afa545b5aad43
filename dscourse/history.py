"""Jepsen-style operation histories: clients record ``invoke``, then ``ok``, ``fail`` or ``info``.

As in Jepsen (Kingsbury, "Jepsen: Knossos" and ``jepsen.history``): a *process* (a logical
client thread) has at most one operation in flight; ``invoke(process, f, value, time)``
starts one, and exactly one completion ends it:

* ``ok`` -- it took effect, with the given result;
* ``fail`` -- it certainly did **not** take effect (dropped from linearizability checks);
* ``info`` -- the outcome is unknown (a timeout): it may or may not have taken effect, at any
  time after its invocation, so checkers see it with ``ret = inf`` and output ``UNKNOWN``.
  An operation never completed counts the same way.

Times are virtual milliseconds. :meth:`Recorder.tuples` and :meth:`Recorder.operations`
convert to the checker's view (Porcupine's ``Operation{ClientId, Input, Call, Output,
Return}``), with ``input = (f, value)``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Hashable, Sequence
from typing import IO, Any, NamedTuple

from .errors import ConfigError, allowed
from .sim.trace import jsonable

TYPES = ("invoke", "ok", "fail", "info")


class HistoryEvent(NamedTuple):
    """One line of a history (Jepsen's op map)."""

    index: int  # type: ignore[assignment]  # Jepsen's field name; shadows tuple.index on purpose
    type: str
    process: Hashable
    f: str
    value: Any
    time: float


class Op(NamedTuple):
    """A whole operation: invocation paired with its completion (``status`` "pending" if none)."""

    process: Hashable
    f: str
    input: Any
    output: Any
    call: float
    ret: float
    status: str


class Recorder:
    """Records a history. ``Recorder(sim)`` takes times from ``sim.now`` when none is given."""

    def __init__(self, sim: Any = None) -> None:
        self._sim = sim
        self.events: list[HistoryEvent] = []
        self._open: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        return f"<Recorder of {len(self.events)} events, {len(self._open)} in flight>"

    def _time(self, time: float | None) -> float:
        if time is None:
            if self._sim is None:
                raise allowed("time", None, "a virtual time in ms (or create Recorder(sim))")
            return float(self._sim.now)
        if isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time):
            raise allowed("time", time, "a finite virtual time in ms")
        return float(time)

    def invoke(self, process: Hashable, f: str, value: Any = None,
               time: float | None = None) -> int:
        """Start operation ``f(value)`` by ``process``; returns its event index."""
        try:
            hash(process)
        except TypeError:
            raise allowed("process", process, "a hashable id (int or str)") from None
        if process in self._open:
            raise ConfigError(f"process={process!r} already has an operation in flight "
                              f"(event {self._open[process]}): expected ok/fail/info first")
        if not isinstance(f, str) or not f:
            raise allowed("f", f, 'a non-empty str naming the operation, e.g. "read"')
        index = self._append("invoke", process, f, value, self._time(time))
        self._open[process] = index
        return index

    def ok(self, process: Hashable, value: Any = None, time: float | None = None) -> int:
        """The in-flight operation of ``process`` took effect and returned ``value``."""
        return self._complete("ok", process, value, time)

    def fail(self, process: Hashable, value: Any = None, time: float | None = None) -> int:
        """The in-flight operation of ``process`` certainly did not take effect."""
        return self._complete("fail", process, value, time)

    def info(self, process: Hashable, value: Any = None, time: float | None = None) -> int:
        """The outcome of the in-flight operation of ``process`` is unknown (e.g. a timeout)."""
        return self._complete("info", process, value, time)

    def in_flight(self, process: Hashable) -> bool:
        """True while ``process`` has an invoked, uncompleted operation."""
        return process in self._open

    def _complete(self, kind: str, process: Hashable, value: Any, time: float | None) -> int:
        start = self._open.get(process)
        if start is None:
            raise ConfigError(f"process={process!r} has no operation in flight: expected "
                              f"invoke() before {kind}()")
        at = self._time(time)
        invoked = self.events[start]
        if at < invoked.time:
            raise allowed(f"{kind} time", at, f">= the invocation time {invoked.time}")
        del self._open[process]
        return self._append(kind, process, invoked.f, value, at)

    def _append(self, kind: str, process: Hashable, f: str, value: Any, time: float) -> int:
        jsonable(value)  # reject non-data values now, not at export time
        index = len(self.events)
        self.events.append(HistoryEvent(index, kind, process, f, value, time))
        return index

    # -- whole operations ------------------------------------------------------------------
    def ops(self) -> list[Op]:
        """Invocations paired with completions, in invocation order."""
        result: dict[int, Op] = {}
        open_: dict[Hashable, int] = {}
        for e in self.events:
            if e.type == "invoke":
                open_[e.process] = e.index
                result[e.index] = Op(e.process, e.f, e.value, None, e.time, math.inf, "pending")
            else:
                start = open_.pop(e.process)
                result[start] = result[start]._replace(output=e.value, ret=e.time, status=e.type)
        return [result[i] for i in sorted(result)]

    def tuples(self) -> list[tuple[Hashable, float, float, Any, Any]]:
        """``(process, call, ret, input, output)`` for the checker, ``input = (f, value)``.

        ``fail`` operations are left out (they did not happen); ``info`` and pending ones get
        ``ret = math.inf`` and output ``UNKNOWN`` (from ``dscourse.checkers.linearizability``).
        """
        from .checkers.linearizability import UNKNOWN

        out = []
        for op in self.ops():
            if op.status == "fail":
                continue
            if op.status == "ok":
                out.append((op.process, op.call, op.ret, (op.f, op.input), op.output))
            else:
                out.append((op.process, op.call, math.inf, (op.f, op.input), UNKNOWN))
        return out

    def operations(self, *, flat: bool = False,
                   processes: Sequence[Hashable] | None = None) -> list[Any]:
        """The history as ``dscourse.checkers.linearizability.Operation`` records.

        ``flat=True`` gives inputs ``(f, *value)`` when ``value`` is a tuple and ``(f, value)``
        otherwise: the form ``lin.kv()`` reads (``("put", key, value)``, ``("get", key)``) from
        clients that record ``value = key`` or ``(key, value)``. ``processes`` keeps only
        those processes' operations, grouped process by process in that order (each in
        invocation order)."""
        from .checkers.linearizability import Operation

        ops = [Operation(client=p, call=c, ret=r,
                         input=(i[0], *i[1]) if flat and isinstance(i[1], tuple) else i, output=o)
               for p, c, r, i, o in self.tuples()]
        if processes is None:
            return ops
        rank = {p: k for k, p in enumerate(processes)}
        return sorted((op for op in ops if op.client in rank), key=lambda op: rank[op.client])

    # -- JSON lines ------------------------------------------------------------------------
    def to_jsonl(self, file: str | os.PathLike | IO[str]) -> None:
        """Write one JSON object per event (``index, type, process, f, value, time``)."""
        if isinstance(file, (str, os.PathLike)):
            with open(file, "w", encoding="utf-8") as fh:
                self.to_jsonl(fh)
            return
        for e in self.events:
            file.write(json.dumps({"index": e.index, "type": e.type, "process": jsonable(e.process),
                                   "f": e.f, "value": jsonable(e.value), "time": e.time},
                                  sort_keys=True, separators=(",", ":")) + "\n")

    @classmethod
    def from_jsonl(cls, file: str | os.PathLike | IO[str]) -> Recorder:
        """Read a history written by :meth:`to_jsonl`; JSON lists come back as tuples."""
        if isinstance(file, (str, os.PathLike)):
            with open(file, encoding="utf-8") as fh:
                return cls.from_jsonl(fh)
        rec = cls()
        for n, line in enumerate(file):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                kind, process, f, value, time = (obj["type"], _tuples(obj["process"]), obj["f"],
                                                 _tuples(obj["value"]), obj["time"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"line {n + 1} is not a history event: {exc}") from exc
            if kind not in TYPES:
                raise allowed(f"type on line {n + 1}", kind, f"one of {', '.join(TYPES)}")
            if kind == "invoke":
                rec.invoke(process, f, value, time)
            else:
                rec._complete(kind, process, value, time)
        return rec


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value

