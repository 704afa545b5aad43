"""The simulation trace: every observable thing that happened, in order, as plain data.

The contract is ``/work/team/TRACE.md``: a trace is a list of :class:`Event` records
``(seq, time, kind, node, peer, msg_id, label, data)`` with ``time`` in integer microseconds
of virtual time and ``data`` JSON-able. The kernel appends raw 7-tuples (everything but
``seq``) in its hot path; :attr:`Trace.events` materializes :class:`Event` records lazily and
incrementally, so recording costs one tuple per event.

``digest()`` hashes the canonical JSON-lines rendering (the exact bytes ``to_jsonl`` writes),
so it is identical across processes and machines for the same seed and code.
``stats()`` reports network statistics in the spirit of Maelstrom's ``net-stats``
(messages and bytes by type, and messages per client operation).
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import hashlib
import io
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO, Any, NamedTuple

from ..errors import ConfigError, allowed
from .errors import MessageNotDataError

KINDS: tuple[str, ...] = (
    "start", "send", "deliver", "drop", "duplicate", "timer_set", "timer_fire",
    "timer_cancel", "crash", "recover", "pause", "resume", "partition", "heal", "cut",
    "link", "annotate", "clock_jump", "clock_set", "clock_drift", "clock_strobe",
)
DROP_REASONS: tuple[str, ...] = ("loss", "partition", "crashed", "debugger")


class Event(NamedTuple):
    """One trace record (see TRACE.md for the meaning of each field per kind)."""

    seq: int
    time: int
    kind: str
    node: str | None
    peer: str | None
    msg_id: int | None
    label: str | None
    data: Any


_ATOMIC = frozenset({int, str, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Render ``value`` as deterministic JSON-safe data (a snapshot; the input is not kept).

    Tuples and lists become lists, sets become sorted lists, dataclasses and NamedTuples
    become dicts of their fields, enums their name, non-finite floats the strings ``"inf"``,
    ``"-inf"``, ``"nan"``, dict keys strings. Functions, methods, generators and other
    callables are rejected: messages, timers and annotations are data, not closures.
    """
    cls = type(value)
    if cls in _ATOMIC:
        return value
    if cls is float:
        return value if math.isfinite(value) else ("nan" if value != value else
                                                     ("inf" if value > 0 else "-inf"))
    if cls is dict:
        return {k if type(k) is str else _key(k): v if type(v) in _ATOMIC else jsonable(v)
                for k, v in value.items()}
    if cls is list or cls is tuple:
        return [v if type(v) in _ATOMIC else jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (int, str)):  # bool/int/str subclasses (IntEnum handled above)
        return value if isinstance(value, str) else int(value)
    if isinstance(value, float):
        return jsonable(float(value))
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalar
        return jsonable(value.item())
    if callable(value) or not hasattr(value, "__dict__"):
        raise MessageNotDataError(
            f"value {value!r} of type {cls.__name__} is not data: expected None, bool, int, "
            "float, str, bytes, tuple, list, dict, set, an enum, a dataclass or NamedTuple "
            "(no functions, methods, lambdas or generators)"
        )
    return {k: jsonable(v) for k, v in sorted(vars(value).items())}


_IMMUTABLE: dict[type, bool] = {t: True for t in (int, str, bool, float, bytes, complex,
                                                   type(None), frozenset)}


def private(msg: Any) -> Any:
    """The receiver's own copy of a message: ``msg`` itself when it is immutable (atomic
    values, enums, frozen dataclasses, tuples of atomic values), else a deep copy, so sender
    and receiver never share mutable state (DSLabs clones messages for the same reason)."""
    cls = type(msg)
    immutable = _IMMUTABLE.get(cls)
    if immutable is None:
        params = getattr(cls, "__dataclass_params__", None)
        immutable = _IMMUTABLE[cls] = issubclass(cls, enum.Enum) or bool(params and params.frozen)
    if immutable:
        return msg
    if cls is dict:
        if all(_IMMUTABLE.get(type(v)) for v in msg.values()):
            return msg.copy()  # keys are immutable; a flat dict needs only a shallow copy
    elif cls is tuple and all(_IMMUTABLE.get(type(x)) for x in msg):
        return msg
    return copy.deepcopy(msg)


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    rendered = jsonable(key)
    return rendered if isinstance(rendered, str) else json.dumps(rendered, sort_keys=True)


def label_of(msg: Any) -> str:
    """The trace label of a message: ``msg["type"]`` for a dict with a str "type", else its class name."""
    if type(msg) is dict:
        t = msg.get("type")
        if type(t) is str:
            return t
    return type(msg).__name__


class Unrendered:
    """A message kept for the trace unrendered (:func:`jsonable` runs when the trace is read).

    Only the model checker asks for it (``Simulation._lazy_trace``, off by default): it sends
    thousands of messages whose trace rows are never read. The message is the queued private
    copy, which no handler mutates (the explorer hands each receiver its own copy), so
    rendering it later gives what rendering it at the send would have given."""

    __slots__ = ("msg",)

    def __init__(self, msg: Any) -> None:
        self.msg = msg

    def __reduce__(self) -> tuple:
        return (Unrendered, (self.msg,))


def _line(seq: int, row: tuple) -> str:
    time, kind, node, peer, msg_id, label, data = row
    return json.dumps(
        {"seq": seq, "time": time, "kind": kind, "node": node, "peer": peer,
         "msg_id": msg_id, "label": label, "data": data},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False,
    )


class Trace:
    """An append-only list of :class:`Event` records (see module docstring)."""

    __slots__ = ("_rows", "_events", "append", "_lazy")

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._rows: list[tuple] = [tuple(e[1:]) for e in events]
        self._events: list[Event] = []
        self._lazy = False   # rows may hold Unrendered data (the model checker's searches)
        # The kernel records with ``trace.append((time, kind, node, peer, msg_id, label, data))``.
        self.append = self._rows.append

    # -- reading ---------------------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        """All events as :class:`Event` records (materialized incrementally, then cached)."""
        events, rows = self._events, self._rendered()
        if len(events) < len(rows):
            make = Event._make
            events.extend(make((i, *rows[i])) for i in range(len(events), len(rows)))
        return events

    def _rendered(self) -> list[tuple]:
        """The rows, any :class:`Unrendered` data rendered in place first (only when
        :attr:`_lazy` is set; a normal simulation's rows are rendered at the send)."""
        rows = self._rows
        if self._lazy:
            for i, row in enumerate(rows):
                data = row[6]
                if type(data) is Unrendered:
                    rows[i] = (*row[:6], jsonable(data.msg))
        return rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __getitem__(self, index: int) -> Event:
        return self.events[index]

    def __repr__(self) -> str:
        return f"<Trace of {len(self._rows)} events>"

    def filter(self, kind: str | Iterable[str] | None = None,
               node: str | Iterable[str] | None = None) -> list[Event]:
        """Events of the given kind(s) and acting node(s); ``None`` means any."""
        kinds = _as_set("kind", kind)
        if kinds is not None:
            unknown = kinds - set(KINDS)
            if unknown:
                raise allowed("kind", sorted(unknown)[0], f"one of {', '.join(KINDS)}")
        nodes = _as_set("node", node)
        return [e for e in self.events
                if (kinds is None or e.kind in kinds) and (nodes is None or e.node in nodes)]

    # -- export ----------------------------------------------------------------------------
    def lines(self) -> Iterator[str]:
        """The canonical JSON lines (without newlines), one per event."""
        for seq, row in enumerate(self._rendered()):
            yield _line(seq, row)

    def digest(self) -> str:
        """SHA-256 hex digest of the canonical JSON-lines rendering of the whole trace."""
        h = hashlib.sha256()
        for line in self.lines():
            h.update(line.encode("ascii"))
            h.update(b"\n")
        return h.hexdigest()

    def to_jsonl(self, file: str | os.PathLike | IO[str]) -> None:
        """Write the trace as JSON lines to a path or a text file object."""
        if isinstance(file, (str, os.PathLike)):
            with open(file, "w", encoding="ascii") as fh:
                self.to_jsonl(fh)
            return
        for line in self.lines():
            file.write(line + "\n")

    @classmethod
    def from_jsonl(cls, file: str | os.PathLike | IO[str]) -> Trace:
        """Read a trace written by :meth:`to_jsonl` (digest and events round-trip exactly)."""
        if isinstance(file, (str, os.PathLike)):
            with open(file, encoding="ascii") as fh:
                return cls.from_jsonl(fh)
        events = []
        for n, raw in enumerate(file):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                events.append(Event(obj["seq"], obj["time"], obj["kind"], obj["node"],
                                    obj["peer"], obj["msg_id"], obj["label"], obj["data"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"line {n + 1} of the trace is not a trace event: {exc}") from exc
            if events[-1].seq != len(events) - 1:
                raise allowed(f"seq on line {n + 1}", events[-1].seq, f"{len(events) - 1}")
        return cls(events)

    def to_jsonl_string(self) -> str:
        """The JSON-lines rendering as one string."""
        buf = io.StringIO()
        self.to_jsonl(buf)
        return buf.getvalue()

    # -- statistics ------------------------------------------------------------------------
    def stats(self, clients: Iterable[str] = ()) -> dict[str, Any]:
        """Network statistics like Maelstrom's ``net-stats``.

        Returns counts of ``sent``, ``delivered``, ``dropped`` (with ``drop_reasons``) and
        ``duplicated`` messages; ``by_label``: per message type, ``messages`` sent and
        ``bytes`` (length of the JSON rendering of the payload); ``operations``: annotate
        events that carry an ``op`` field (clients call ``self.annotate(op=...)`` once per
        operation they invoke); and ``msgs_per_op`` (sent messages per operation, ``None``
        without operations). ``servers`` repeats ``sent``/``msgs_per_op`` counting only
        messages between non-client nodes, as Maelstrom separates server traffic.
        """
        client_set = set(clients)
        sent = delivered = duplicated = ops = server_sent = 0
        reasons: Counter[str] = Counter()
        by_label: dict[str, dict[str, int]] = {}
        for _time, kind, node, peer, _mid, label, data in self._rendered():
            if kind == "send":
                sent += 1
                entry = by_label.setdefault(label, {"messages": 0, "bytes": 0})
                entry["messages"] += 1
                entry["bytes"] += len(json.dumps(data, sort_keys=True, separators=(",", ":")))
                if node not in client_set and peer not in client_set:
                    server_sent += 1
            elif kind == "deliver":
                delivered += 1
            elif kind == "drop":
                reasons[data.get("reason", "?") if isinstance(data, dict) else "?"] += 1
            elif kind == "duplicate":
                duplicated += 1
            elif kind == "annotate" and isinstance(data, dict) and "op" in data:
                ops += 1
        return {
            "sent": sent,
            "delivered": delivered,
            "dropped": sum(reasons.values()),
            "drop_reasons": dict(sorted(reasons.items())),
            "duplicated": duplicated,
            "by_label": dict(sorted(by_label.items())),
            "operations": ops,
            "msgs_per_op": sent / ops if ops else None,
            "servers": {"sent": server_sent, "msgs_per_op": server_sent / ops if ops else None},
        }


def _as_set(what: str, value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    try:
        return set(value)
    except TypeError:
        raise allowed(what, value, "None, a str, or an iterable of str") from None
