"""Trusted harness for E12.6: a schema-based varint codec, wire-compatible with protobuf.

``encode(schema, message) -> bytes`` and ``decode(schema, data) -> message`` for a small
schema language given as data: a message's schema is a list of fields ``{"name", "number",
"type", "repeated"?}``, ``type`` one of ``uint64``, ``sint64``, ``bool``, ``string``,
``bytes`` or a nested schema (a list). The encoding is protobuf's wire format (protobuf docs,
"Encoding", protobuf.dev/programming-guides/encoding): each field a record ``tag = number << 3
| wire type``, as a base-128 varint (7 bits a byte, least significant group first, the high bit
set on every byte but the last); wire type 0 (VARINT) for ``uint64``, ``bool`` and ``sint64``
(ZigZag: ``(n << 1) ^ (n >> 63)``, so small negatives stay short), wire type 2 (LEN: a varint
length, then the bytes) for ``string`` (UTF-8), ``bytes`` and nested messages. Records go in
field-number order; a singular field present in the message is written even when zero (proto2's
explicit presence), an absent one is not; a repeated field is one record per element (proto2's
unpacked default). So :func:`reference_encode` gives exactly the bytes of ``google.protobuf``'s
``SerializeToString`` for the same ``syntax = "proto2"`` message (the tests check it). Decoding
returns every repeated field (``[]`` when none), skips unknown field numbers of wire types 0, 1, 2
and 5 (how old readers survive new writers) and accepts packed repeated varints as protobuf
parsers must.

Properties: ``roundtrip`` (the student's decode inverts their encode on random nested
messages, types included), ``writes`` (the reference decodes the student's bytes to the
message), ``reads`` (the student decodes the reference's bytes), ``skips`` (unknown fields
inserted into the reference's bytes are skipped), ``size`` (on :data:`CORPUS`, realistic RPC
messages, at most half of compact JSON's bytes, bytes as base64) and ``rejects`` (a value of
the wrong type, an unknown field and truncated data raise; their valid twins do not).
Bytes cross the grader's sandbox as bytes (``dscourse/grading/runtime/wire.py`` tags them
``$b``); a ``bytearray`` does not, so the answer must return ``bytes``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from ..checkers.trial import Trial, selected
from ..sim import stream
from .codec import CodecError, write_varint

Fn = Callable[..., Any]
Schema = list[dict[str, Any]]

CODEC_PROPERTIES = ("roundtrip", "writes", "reads", "skips", "size", "rejects")
SCALARS = ("uint64", "sint64", "bool", "string", "bytes")
U64, S64 = 1 << 64, 1 << 63
SIZE_LIMIT = 0.5


# -- the reference codec ---------------------------------------------------------------------------
def _is_len(t: Any) -> bool:
    return isinstance(t, list) or t in ("string", "bytes")


def _write_value(t: Any, v: Any, out: bytearray, where: str) -> None:
    if isinstance(t, list):
        sub = bytearray()
        _write_message(t, v, sub, where + ".")
        write_varint(out, len(sub))
        out += sub
    elif t == "uint64":
        if type(v) is not int or not 0 <= v < U64:
            raise CodecError(f"{where}: a uint64 is an int in [0, 2**64), not {v!r}")
        write_varint(out, v)
    elif t == "sint64":
        if type(v) is not int or not -S64 <= v < S64:
            raise CodecError(f"{where}: a sint64 is an int in [-2**63, 2**63), not {v!r}")
        write_varint(out, (v << 1) ^ (v >> 63))
    elif t == "bool":
        if type(v) is not bool:
            raise CodecError(f"{where}: a bool is True or False, not {v!r}")
        out.append(1 if v else 0)
    elif t == "string":
        if type(v) is not str:
            raise CodecError(f"{where}: a string is a str, not {v!r}")
        raw = v.encode("utf-8")
        write_varint(out, len(raw))
        out += raw
    elif t == "bytes":
        if type(v) is not bytes:
            raise CodecError(f"{where}: a bytes field holds bytes, not {v!r}")
        write_varint(out, len(v))
        out += v
    else:
        raise CodecError(f"{where}: unknown type {t!r}")


def _write_message(schema: Schema, message: Any, out: bytearray, prefix: str = "") -> None:
    if type(message) is not dict:
        raise CodecError(f"{prefix or 'message'}: a message is a dict, not {message!r}")
    fields = {f["name"]: f for f in schema}
    for name in message:
        if name not in fields:
            raise CodecError(f"{prefix}{name}: not a field of the schema ({', '.join(fields)})")
    for f in sorted(schema, key=lambda f: f["number"]):
        if f["name"] not in message:
            continue
        v, where = message[f["name"]], prefix + f["name"]
        values = v if f.get("repeated") else [v]
        if f.get("repeated") and type(v) is not list:
            raise CodecError(f"{where}: a repeated field is a list, not {v!r}")
        for item in values:
            write_varint(out, f["number"] << 3 | (2 if _is_len(f["type"]) else 0))
            _write_value(f["type"], item, out, where)


def reference_encode(schema: Schema, message: dict[str, Any]) -> bytes:
    """``message`` in protobuf's wire format (proto2 rules: explicit presence, unpacked)."""
    out = bytearray()
    _write_message(schema, message, out)
    return bytes(out)


def _varint(data: bytes, i: int, end: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if i >= end:
            raise CodecError(f"truncated varint at byte {i}")
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            if n >= U64:
                raise CodecError("varint over 64 bits")
            return n, i
        shift += 7
        if shift >= 70:
            raise CodecError("varint longer than 10 bytes")


def _chunk(data: bytes, i: int, end: int) -> tuple[bytes, int]:
    n, i = _varint(data, i, end)
    if i + n > end:
        raise CodecError(f"length {n} at byte {i} runs past the end ({end})")
    return data[i:i + n], i + n


def _scalar(t: str, n: int) -> Any:
    if t == "sint64":
        return (n >> 1) ^ -(n & 1)
    return n != 0 if t == "bool" else n


def _read_message(schema: Schema, data: bytes, i: int, end: int) -> dict[str, Any]:
    fields = {f["number"]: f for f in schema}
    out: dict[str, Any] = {f["name"]: [] for f in schema if f.get("repeated")}
    while i < end:
        key, i = _varint(data, i, end)
        number, wire = key >> 3, key & 7
        f = fields.get(number)
        if number == 0:
            raise CodecError("field number 0")
        if f is None:                                  # an unknown field: skip it
            if wire == 0:
                _, i = _varint(data, i, end)
            elif wire == 2:
                _, i = _chunk(data, i, end)
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
                if i > end:
                    raise CodecError("truncated fixed-width field")
            else:
                raise CodecError(f"wire type {wire} (field {number}) is not supported")
            continue
        t, name = f["type"], f["name"]
        if wire == 2 and not _is_len(t) and f.get("repeated"):     # packed repeated varints
            raw, i = _chunk(data, i, end)
            j = 0
            while j < len(raw):
                n, j = _varint(raw, j, len(raw))
                out[name].append(_scalar(t, n))
            continue
        if wire != (2 if _is_len(t) else 0):
            raise CodecError(f"field {name} ({number}) arrived with wire type {wire}")
        value: Any
        if _is_len(t):
            raw, i = _chunk(data, i, end)
            if isinstance(t, list):
                value = _read_message(t, raw, 0, len(raw))
            elif t == "string":
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise CodecError(f"field {name}: bad UTF-8: {e}") from None
            else:
                value = raw
        else:
            n, i = _varint(data, i, end)
            value = _scalar(t, n)
        if f.get("repeated"):
            out[name].append(value)
        else:
            out[name] = value                          # the last one wins, as in protobuf
    return out


def reference_decode(schema: Schema, data: bytes) -> dict[str, Any]:
    """The message ``data`` encodes (raises :class:`CodecError` on malformed bytes)."""
    if type(data) is not bytes:
        raise CodecError(f"decode takes bytes, not {type(data).__name__}")
    return _read_message(schema, data, 0, len(data))


# -- random schemas and messages ---------------------------------------------------------------------
_FIELD_NAMES = ["id", "user_id", "item", "tags", "price", "quantity", "note", "payload", "ok", "delta", "owner",
                "items", "created_at", "sku", "labels", "parent", "status", "retries", "key", "value"]
_WORDS = ["", "a", "gift", "prime", "The Art of Computer Programming", "10.0.3.7:20880", "café", "订单",
          "多语言 ✓", "x" * 130, "emoji 🎉", "DemoService"]


def random_schema(rng: Any, depth: int = 0) -> Schema:
    """1-6 fields with distinct numbers in 1..40 (two-byte tags above 15), nested to depth 2."""
    n = int(rng.integers(1, 7))
    names = [_FIELD_NAMES[int(i)] for i in rng.permutation(len(_FIELD_NAMES))[:n]]
    numbers = sorted(int(x) + 1 for x in rng.permutation(40)[:n])
    numbers = [numbers[int(i)] for i in rng.permutation(n)]       # declaration order is not number order
    out: Schema = []
    for name, number in zip(names, numbers, strict=True):
        t: Any = SCALARS[int(rng.integers(0, len(SCALARS)))]
        if depth < 2 and rng.random() < 0.25:
            t = random_schema(rng, depth + 1)
        field: dict[str, Any] = {"name": name, "number": number, "type": t}
        if rng.random() < 0.3:
            field["repeated"] = True
        out.append(field)
    return out


def _random_int(rng: Any, signed: bool) -> int:
    r = rng.random()
    if r < 0.1:
        edges = [-S64, -1, S64 - 1, 0] if signed else [0, U64 - 1, 127, 128]
        return edges[int(rng.integers(0, 4))]
    bits = [7, 14, 21, 35, 63][int(rng.integers(0, 5))]
    n = int(rng.integers(0, 1 << bits)) if bits < 63 else int(rng.integers(0, 1 << 62)) * 2 + int(rng.integers(0, 2))
    if signed:
        return -n - 1 if rng.random() < 0.5 else n
    return n * 2 + int(rng.integers(0, 2)) if bits == 63 else n


def _random_value(rng: Any, t: Any) -> Any:
    if isinstance(t, list):
        return random_message(rng, t)
    if t in ("uint64", "sint64"):
        return _random_int(rng, t == "sint64")
    if t == "bool":
        return bool(rng.random() < 0.5)
    if t == "string":
        return _WORDS[int(rng.integers(0, len(_WORDS)))]
    return bytes(int(b) for b in rng.integers(0, 256, size=int(rng.integers(0, 20))))


def random_message(rng: Any, schema: Schema) -> dict[str, Any]:
    """Each singular field present with probability 3/4; every repeated field, 0-3 elements."""
    out: dict[str, Any] = {}
    for f in schema:
        if f.get("repeated"):
            out[f["name"]] = [_random_value(rng, f["type"]) for _ in range(int(rng.integers(0, 4)))]
        elif rng.random() < 0.75:
            out[f["name"]] = _random_value(rng, f["type"])
    return out


# -- the benchmark corpus ----------------------------------------------------------------------------
def _f(number: int, name: str, t: Any, repeated: bool = False) -> dict[str, Any]:
    return {"name": name, "number": number, "type": t, **({"repeated": True} if repeated else {})}


ORDER = [_f(1, "user_id", "uint64"), _f(2, "item", "string"), _f(3, "quantity", "uint64"),
         _f(4, "price_cents", "uint64"), _f(5, "tags", "string", True)]
ATTACHMENT = [_f(1, "key", "string"), _f(2, "value", "string")]
REQUEST = [_f(1, "request_id", "uint64"), _f(2, "service", "string"), _f(3, "method", "string"),
           _f(4, "order", ORDER), _f(5, "attachments", ATTACHMENT, True), _f(6, "timeout_ms", "uint64"),
           _f(7, "oneway", "bool")]
RESULT = [_f(1, "request_id", "uint64"), _f(2, "status", "uint64"), _f(3, "order_id", "uint64"),
          _f(4, "created_at_ms", "uint64"), _f(5, "balance_delta_cents", "sint64"), _f(6, "trace_id", "bytes")]
LINE = [_f(1, "sku", "uint64"), _f(2, "quantity", "uint64"), _f(3, "price_cents", "uint64")]
SUMMARY = [_f(1, "order_id", "uint64"), _f(2, "user_id", "uint64"), _f(3, "total_cents", "uint64"),
           _f(4, "state", "uint64"), _f(5, "created_at_ms", "uint64"), _f(6, "lines", LINE, True)]
PAGE = [_f(1, "orders", SUMMARY, True), _f(2, "next_page_token", "bytes")]
STATS = [_f(1, "provider", "string"), _f(2, "timestamp_ms", "uint64"), _f(3, "active", "uint64"),
         _f(4, "success", "uint64"), _f(5, "failure", "uint64"), _f(6, "elapsed_ms", "uint64", True),
         _f(7, "drift_ms", "sint64", True), _f(8, "warm", "bool")]

_TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
CORPUS: list[tuple[str, Schema, dict[str, Any]]] = [
    ("placeOrder request", REQUEST, {
        "request_id": 1_000_017, "service": "DemoService", "method": "placeOrder",
        "order": {"user_id": 1234567, "item": "The Art of Computer Programming", "quantity": 2, "price_cents": 19999,
                  "tags": ["gift", "prime", "hardcover"]},
        "attachments": [{"key": "timeout", "value": "1000"}], "timeout_ms": 1000, "oneway": False}),
    ("placeOrder result", RESULT, {"request_id": 1_000_017, "status": 0, "order_id": 7_311_045_211_872_002,
                                   "created_at_ms": 1_764_846_000_123, "balance_delta_cents": -39998,
                                   "trace_id": _TRACE}),
    ("listOrders page", PAGE, {
        "orders": [{"order_id": 7_311_045_211_872_002 + 97 * k, "user_id": 1234567, "total_cents": 4599 + 1000 * k,
                    "state": k % 4, "created_at_ms": 1_764_846_000_123 - 86_400_000 * k,
                    "lines": [{"sku": 880_000 + 13 * j, "quantity": 1 + j, "price_cents": 1299 + 50 * j}
                              for j in range(1 + k % 3)]} for k in range(5)],
        "next_page_token": bytes(range(8))}),
    ("provider statistics", STATS, {"provider": "10.0.3.7:20880", "timestamp_ms": 1_764_846_060_000, "active": 3,
                                    "success": 118_204, "failure": 37,
                                    "elapsed_ms": [12, 9, 15, 230, 11, 10, 13, 8, 9, 14],
                                    "drift_ms": [-3, 1, 0, -12, 4, 2, -1, 0], "warm": True}),
]


def json_size(message: Any) -> int:
    """Compact JSON's bytes (UTF-8; bytes as base64, as protobuf's JSON mapping writes them)."""
    def b64(o: Any) -> str:
        if isinstance(o, bytes):
            return base64.b64encode(o).decode("ascii")
        raise TypeError(type(o).__name__)
    return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=b64).encode("utf-8"))


# -- bad input ---------------------------------------------------------------------------------------
_BAD_SCHEMA = [_f(1, "id", "uint64"), _f(2, "name", "string"), _f(3, "ok", "bool"), _f(4, "delta", "sint64"),
               _f(5, "blob", "bytes"), _f(6, "tags", "string", True), _f(7, "child", [_f(1, "n", "uint64")])]
_GOOD = {"id": 5, "name": "x", "ok": True, "delta": -2, "blob": b"\x00\xff", "tags": ["a"], "child": {"n": 1}}
# (what is wrong, the change to _GOOD that makes it wrong)
BAD_MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("a str for a uint64", {"id": "5"}),
    ("True for a uint64 (a bool is not an int here)", {"id": True}),
    ("a negative uint64", {"id": -1}),
    ("a uint64 of 2**64", {"id": U64}),
    ("a sint64 below -2**63", {"delta": -S64 - 1}),
    ("an int for a string", {"name": 7}),
    ("bytes for a string", {"name": b"x"}),
    ("an int for a bool", {"ok": 1}),
    ("a str for bytes", {"blob": "00ff"}),
    ("a str for a repeated field", {"tags": "a"}),
    ("a list for a singular field", {"name": ["x"]}),
    ("a field the schema does not have", {"colour": "red"}),
    ("a field the nested schema does not have", {"child": {"n": 1, "m": 2}}),
    ("a wrong type inside a nested message", {"child": {"n": "1"}}),
    ("a str for a nested message", {"child": "n=1"}),
]


def _raises(fn: Fn, *args: Any) -> tuple[bool, Any]:
    """Whether ``fn(*args)`` raised (a stub's NotImplementedError propagates), and what it
    returned or, when it raised, how (:func:`raised`)."""
    try:
        return False, fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:       # any error is a refusal; a sandboxed one arrives as StudentError
        if getattr(e, "not_implemented", False):
            raise
        return True, raised(e)


def raised(e: BaseException) -> str:
    """``Kind: message (where)`` of an exception from the code under test: the sandbox's
    StudentError carries its kind and place; a local one, its innermost frame outside dscourse."""
    kind, message = getattr(e, "kind", type(e).__name__), getattr(e, "message", str(e))
    where = getattr(e, "where", "")
    if not where:
        import traceback
        from pathlib import Path
        root = str(Path(__file__).resolve().parents[1])
        frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(root)]
        where = f" (line {frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{kind}: {message}{where}"


# -- the trial ---------------------------------------------------------------------------------------
class _Shape(Exception):
    pass


def same(a: Any, b: Any) -> bool:
    """Equal with the same types throughout (``1 == True`` does not count)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _short(x: Any, n: int = 160) -> str:
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


def _encode(encode: Fn, schema: Schema, message: dict[str, Any]) -> bytes:
    data = encode(schema, message)
    if type(data) is not bytes:
        raise _Shape(f"encode(schema, {_short(message)}) returned {_short(data, 60)}: expected bytes "
                     "(return bytes(out), not a bytearray or a list)")
    return data


def _decode(decode: Fn, schema: Schema, data: bytes) -> dict[str, Any]:
    message = decode(schema, data)
    if type(message) is not dict:
        raise _Shape(f"decode(schema, {_short(data, 60)}) returned {_short(message, 60)}: expected a dict")
    return message


def _unknown_record(rng: Any, number: int) -> bytes:
    out = bytearray()
    wire = [0, 2, 1, 5][int(rng.integers(0, 4))]
    write_varint(out, number << 3 | wire)
    if wire == 0:
        write_varint(out, _random_int(rng, False))
    elif wire == 2:
        raw = bytes(int(b) for b in rng.integers(0, 256, size=int(rng.integers(0, 12))))
        write_varint(out, len(raw))
        out += raw
    else:
        out += bytes(int(b) for b in rng.integers(0, 256, size=8 if wire == 1 else 4))
    return bytes(out)


def _records(schema: Schema, message: dict[str, Any]) -> list[bytes]:
    """The reference encoding of ``message``, one field record at a time."""
    out: list[bytes] = []
    for f in sorted(schema, key=lambda f: f["number"]):
        if f["name"] in message:
            v = message[f["name"]]
            out += [reference_encode(schema, {f["name"]: [x]}) for x in v] if f.get("repeated") \
                else [reference_encode(schema, {f["name"]: v})]
    return out


def first_difference(got: Any, want: Any, path: str = "m") -> str | None:
    """Where ``got`` first differs from ``want`` (types included), or None when :func:`same`."""
    if type(got) is not type(want):
        return (f"{path} is {_short(got, 60)} ({type(got).__name__}); expected {_short(want, 60)} "
                f"({type(want).__name__})")
    if type(want) is dict:
        for k in want:
            if k not in got:
                return f"{path} lacks the field {k!r} (expected {_short(want[k], 60)})"
        for k in got:
            if k not in want:
                return f"{path} has a field {k!r} = {_short(got[k], 60)} that m does not have"
        return next((d for k in want if (d := first_difference(got[k], want[k], f"{path}[{k!r}]"))), None)
    if type(want) is list:
        if len(got) != len(want):
            return f"{path} has {len(got)} elements; expected {len(want)}: {_short(want, 80)}"
        return next((d for i, (x, y) in enumerate(zip(got, want, strict=True))
                     if (d := first_difference(x, y, f"{path}[{i}]"))), None)
    return None if got == want else f"{path} is {_short(got, 60)}; expected {_short(want, 60)}"


def _check_roundtrip(encode: Fn, decode: Fn, schema: Schema, m: dict[str, Any], *_: Any) -> str | None:
    back = _decode(decode, schema, _encode(encode, schema, m))
    d = first_difference(back, m)
    return None if d is None else f"decode(encode(m)) is not m: {d}"


def _check_writes(encode: Fn, decode: Fn, schema: Schema, m: dict[str, Any], *_: Any) -> str | None:
    data = _encode(encode, schema, m)
    ref = reference_encode(schema, m).hex(" ")[:240]
    try:
        d = first_difference(reference_decode(schema, data), m)
    except CodecError as e:
        return f"a protobuf reader cannot parse your encoding {data.hex(' ')[:240]}: {e}; protobuf's is {ref}"
    return None if d is None else (f"a protobuf reader decodes your encoding {data.hex(' ')[:240]} to another "
                                   f"message: {d}; protobuf's encoding is {ref}")


def _check_reads(encode: Fn, decode: Fn, schema: Schema, m: dict[str, Any], *_: Any) -> str | None:
    ref = reference_encode(schema, m)
    d = first_difference(_decode(decode, schema, ref), m)
    return None if d is None else f"your decode of protobuf's encoding {ref.hex(' ')[:240]} is not m: {d}"


def _check_skips(encode: Fn, decode: Fn, schema: Schema, m: dict[str, Any], junk: list[bytes], at: int,
                 ) -> str | None:
    records = _records(schema, m)
    for k, j in enumerate(junk):
        records.insert((at >> (4 * k)) % (len(records) + 1), j)
    data = b"".join(records)
    d = first_difference(_decode(decode, schema, data), m)
    return None if d is None else (f"protobuf's encoding of m with unknown fields (numbers above 40: "
                                   f"{', '.join(j.hex(' ') for j in junk)}) inserted, {data.hex(' ')[:240]}, "
                                   f"decodes to another message: {d}")


def _check_size(encode: Fn) -> str | None:
    mine = {what: len(_encode(encode, schema, m)) for what, schema, m in CORPUS}
    js = {what: json_size(m) for what, _schema, m in CORPUS}
    if sum(mine.values()) <= SIZE_LIMIT * sum(js.values()):
        return None
    rows = "; ".join(f"{w} {mine[w]} bytes (JSON {js[w]})" for w in mine)
    return (f"the corpus encodes to {sum(mine.values())} bytes, {sum(mine.values()) / sum(js.values()):.0%} of "
            f"JSON's {sum(js.values())}; expected at most {SIZE_LIMIT:.0%} ({rows})")


_CHECKS: dict[str, Callable[..., str | None]] = {"roundtrip": _check_roundtrip, "writes": _check_writes,
                                                 "reads": _check_reads, "skips": _check_skips}


def _guard(problems: dict[str, str], prop: str, schema: Schema, m: dict[str, Any],
           check: Callable[[], str | None]) -> None:
    """Run one check of ``prop`` on message ``m``: a mismatch, or an exception from the code
    under test, is that property's violation (a stub's NotImplementedError propagates)."""
    try:
        why = check()
    except (_Shape, NotImplementedError):
        raise
    except Exception as e:       # the code under test may raise anything
        if getattr(e, "not_implemented", False):
            raise
        why = f"your code raised {raised(e)}"
    if why is not None:
        problems[prop] = f"{prop}: {why} (m = {_short(m, 240)}; schema {_short(schema, 240)})" if schema \
            else f"{prop}: {why}"


def codec_trial(encode: Fn, decode: Fn, seed: int, *, messages: int = 40,
                properties: Iterable[str] = CODEC_PROPERTIES) -> Trial:
    """``messages`` random nested messages (each on a random schema) for ``roundtrip``,
    ``writes``, ``reads`` and ``skips``; :data:`CORPUS` for ``size``; :data:`BAD_MESSAGES` and
    two truncations for ``rejects``."""
    props = selected(properties, CODEC_PROPERTIES)
    trial, problems = Trial(seed), dict[str, str]()
    rng = stream(seed, "E12.6")
    try:
        cases: list[tuple[int, Schema, dict[str, Any], list[bytes], int]] = []
        for _ in range(messages if set(props) & {"roundtrip", "writes", "reads", "skips"} else 0):
            schema = random_schema(rng)
            m = random_message(rng, schema)
            junk = [_unknown_record(rng, 41 + int(rng.integers(0, 200))) for _ in range(int(rng.integers(1, 4)))]
            cases.append((len(reference_encode(schema, m)), schema, m, junk, int(rng.integers(0, 1 << 30))))
        cases.sort(key=lambda c: c[0])                   # smallest first: a violation shows the smallest case
        for _size, schema, m, junk, at in cases:
            for prop in ("roundtrip", "writes", "reads", "skips"):
                if prop in props and prop not in problems:
                    _guard(problems, prop, schema, m, partial(_CHECKS[prop], encode, decode, schema, m, junk, at))
        if "size" in props:
            _guard(problems, "size", [], {}, lambda: _check_size(encode))
        if "rejects" in props:
            problems.update(_rejects(encode, decode))
    except _Shape as e:
        return trial.fail(str(e))
    for p in props:
        if p in problems:
            trial.violate(problems[p])
    return trial


def _rejects(encode: Fn, decode: Fn) -> dict[str, str]:
    refused, how = _raises(encode, _BAD_SCHEMA, dict(_GOOD))
    if refused:
        return {"rejects": f"rejects: encode refused a valid message, {_GOOD}: it raised {how}"}
    for what, change in BAD_MESSAGES:
        bad = {**_GOOD, **change}
        refused, data = _raises(encode, _BAD_SCHEMA, bad)
        if not refused:
            return {"rejects": f"rejects: {what}: encode(schema, {_short(bad)}) returned {_short(data, 80)}; "
                               "expected an error (a wrong value must never be encoded silently)"}
    good = reference_encode(_BAD_SCHEMA, _GOOD)
    name_at = good.index(b"\x12\x01x")              # field 2, LEN, 1 byte
    for what, data in (("data cut inside a length-delimited field", good[:name_at + 2]),
                       ("data cut inside a varint", good[:-1] + b"\x80")):
        refused, got = _raises(decode, _BAD_SCHEMA, data)
        if not refused:
            return {"rejects": f"rejects: {what}: decode(schema, {data.hex(' ')}) returned {_short(got, 80)}; "
                               "expected an error"}
    return {}
