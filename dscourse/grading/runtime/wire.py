"""Tagged JSON: how values cross between the grading child and the trusted parent.

Plain JSON loses tuples, sets and dataclasses, which protocol code uses for messages, so they
are tagged: ``{"$t": [...]}`` a tuple, ``{"$s": [...]}`` a set, ``{"$c": "Name", "f": {...}}``
a dataclass instance, ``{"$d": [[k, v], ...]}`` a dict with non-string keys, ``{"$b": "..."}``
bytes (base64), ``{"$f": "nan"}`` a non-finite float. Decoding never runs code: the parent
turns ``$c`` into a :class:`Record`; only the child rebuilds the student's own classes.
This file is copied into the sandbox and must use only the standard library.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any, NamedTuple

MAX_DEPTH = 40


class WireError(ValueError):
    """A value that cannot cross the wire (a function, a socket, a cycle, ...)."""


class Record(NamedTuple):
    """The parent's view of a dataclass instance sent by the child: its class name and fields."""

    name: str
    fields: tuple


def encode(value: Any, depth: int = 0) -> Any:
    """Return a JSON-ready rendering of ``value`` (raises :class:`WireError`)."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply (or a cycle)")
    t = type(value)
    if value is None or t is bool or t is int or t is str:
        return value
    if t is float:
        return value if math.isfinite(value) else {"$f": repr(value)}
    if t is list:
        return [encode(v, depth + 1) for v in value]
    if t is tuple or (isinstance(value, tuple) and hasattr(value, "_fields")):
        return {"$t": [encode(v, depth + 1) for v in value]}
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: encode(v, depth + 1) for k, v in value.items()}
        return {"$d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if t is set or t is frozenset:
        items = [encode(v, depth + 1) for v in value]
        return {"$s": sorted(items, key=lambda x: json.dumps(x, sort_keys=True))}
    if t is bytes:
        return {"$b": base64.b64encode(value).decode("ascii")}
    if t is Record:
        return {"$c": value.name, "f": {k: encode(v, depth + 1) for k, v in value.fields}}
    if t.__module__ == "numpy" and getattr(value, "shape", None) == ():
        return encode(value.item(), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
        return {"$c": t.__name__, "f": fields}
    if t in (bytearray, memoryview):
        raise WireError(f"a {t.__name__} cannot be sent or returned here; convert it with bytes(...)")
    raise WireError(f"a {t.__name__} cannot be sent or returned here; use numbers, strings, bytes, "
                    "lists, tuples, dicts, sets or dataclasses")


def decode(data: Any, make: Callable[[str, dict], Any] | None = None, depth: int = 0) -> Any:
    """Inverse of :func:`encode`; ``make(name, fields)`` rebuilds dataclasses (default Record)."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    t = type(data)
    if data is None or t in (bool, int, str):
        return data
    if t is float:
        return data
    if t is list:
        return [decode(v, make, depth + 1) for v in data]
    if t is not dict:
        raise WireError(f"unexpected {t.__name__} on the wire")
    if len(data) == 1 and "$t" in data and type(data["$t"]) is list:
        return tuple(decode(v, make, depth + 1) for v in data["$t"])
    if len(data) == 1 and "$s" in data and type(data["$s"]) is list:
        return frozenset(decode(v, make, depth + 1) for v in data["$s"])
    if len(data) == 1 and "$d" in data and type(data["$d"]) is list:
        out = {}
        for pair in data["$d"]:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("bad dict entry on the wire")
            out[decode(pair[0], make, depth + 1)] = decode(pair[1], make, depth + 1)
        return out
    if len(data) == 1 and "$b" in data and type(data["$b"]) is str:
        return base64.b64decode(data["$b"].encode("ascii"), validate=True)
    if len(data) == 1 and "$f" in data and data["$f"] in ("nan", "inf", "-inf"):
        return float(data["$f"])
    if set(data) == {"$c", "f"} and type(data["$c"]) is str and type(data["f"]) is dict:
        fields = {k: decode(v, make, depth + 1) for k, v in data["f"].items()}
        if make is None:
            return Record(data["$c"], tuple(fields.items()))
        return make(data["$c"], fields)
    if any(type(k) is not str or k.startswith("$") for k in data):
        raise WireError("bad tagged value on the wire")
    return {k: decode(v, make, depth + 1) for k, v in data.items()}


def label(data: Any) -> str:
    """The message type name of an encoded value (for traces): class, ``type`` key or kind."""
    if type(data) is dict:
        if "$c" in data:
            return str(data["$c"])
        if "$t" in data and data["$t"] and type(data["$t"][0]) is str:
            return data["$t"][0][:40]
        if type(data.get("type")) is str:
            return data["type"][:40]
        return "tuple" if "$t" in data else "dict"
    if type(data) is list and data and type(data[0]) is str:
        return data[0][:40]
    return {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(type(data), "value")
