"""Codec sizes (deterministic) and encode/decode cost (measured).

This module reads a clock, :func:`time.perf_counter`, to measure CPU cost: the one place in
``ds.rpc`` that does, and only for the codec table; nothing in a simulation depends on it.
Sizes are exact and reproducible; microseconds vary from machine to machine and run to run.
"""

from __future__ import annotations

import time
from typing import Any

from .codec import CODECS, ProtobufCodec, codec, order_message_class

ORDER = {"user_id": 1234567, "item": "The Art of Computer Programming", "quantity": 2, "price": 199.99,
         "tags": ["gift", "prime", "hardcover"]}
REQUEST = {"service": "DemoService", "method": "placeOrder", "args": [ORDER],
           "attachments": {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "timeout": "1000"}}


def codecs_under_test() -> list[tuple[str, Any, Any]]:
    """``(label, codec, value)``: each library codec on the request, and protobuf with a schema
    on the order alone (a schema message has no room for free-form envelopes)."""
    rows: list[tuple[str, Any, Any]] = [(name, codec(name), REQUEST) for name in CODECS]
    rows.append(("protobuf (schema, order only)", ProtobufCodec(order_message_class()), ORDER))
    rows.append(("json (order only)", codec("json"), ORDER))
    return rows


def sizes() -> dict[str, int]:
    """Encoded size in bytes of each row of :func:`codecs_under_test` (deterministic)."""
    return {label: len(c.encode(v)) for label, c, v in codecs_under_test()}


def timed(fn: Any, repeats: int) -> float:
    """Best of three batches: microseconds per call of ``fn()``."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeats * 1e6)
    return best


def codec_table(repeats: int = 2_000) -> list[dict[str, Any]]:
    """Rows: codec, bytes, encode µs, decode µs, cross-language, self-describing."""
    out = []
    for label, c, value in codecs_under_test():
        data = c.encode(value)
        assert c.decode(data) == value, label
        out.append({"codec": label, "bytes": len(data),
                    "encode_us": timed(lambda c=c, v=value: c.encode(v), repeats),
                    "decode_us": timed(lambda c=c, d=data: c.decode(d), repeats),
                    "cross_language": c.cross_language,
                    "self_describing": c.self_describing and "schema" not in label})
    return out
