"""Trace and span ids: SOFATracer's TraceId and hierarchical SpanId, and W3C ``traceparent``.

SOFATracer (``TraceIdGenerator``; docs "TraceId and SpanId generation rule"): a TraceId is
the IPv4 address as 8 hex digits (``ffffffff`` when none is found), the 13-digit millisecond
time, a 4-digit sequence, and the process id appended unpadded. The sequence counter starts
at 1000 and ``next = current > 9000 ? 1000 : current + 1``, so it emits 1001 ... 9001, then
1000, 1001, ... (seed erratum G6: it occupies characters 22-25, and the pid has variable
length). SpanIds are hierarchical: the root is ``0``; the n-th call a span makes is
``<span>.<n>``; client and server log the same SpanId.

W3C Trace Context (Recommendation, 2021): ``traceparent = 00-<32 hex trace-id>-<16 hex
parent-id>-<2 hex flags>``, lowercase, ids not all zero; OpenTelemetry draws both ids at random.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from ..errors import allowed
from ..ids import Clock, random_bits, valid_clock

SEQ_START = 1000
SEQ_WRAP = 9000


class TraceIdParts(NamedTuple):
    ip: str | None
    ms: int
    seq: int
    pid: int


def ip_hex(ip: str | None) -> str:
    """IPv4 dotted quad as 8 hex digits; ``None`` gives SOFATracer's ``ffffffff``."""
    if ip is None:
        return "ffffffff"
    parts = ip.split(".") if isinstance(ip, str) else []
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise allowed("ip", ip, "an IPv4 address like '10.209.52.143' (IPv6 has no TraceId form)")
    return "".join(f"{int(p):02x}" for p in parts)


class TraceIdGenerator:
    """SOFATracer-style TraceIds for one process."""

    def __init__(self, *, ip: str | None, pid: int, clock: Clock) -> None:
        self.ip_hex = ip_hex(ip)
        if isinstance(pid, bool) or not isinstance(pid, int) or pid < 0:
            raise allowed("pid", pid, "a non-negative int")
        self.pid = pid
        self.clock = valid_clock(clock)
        self.count = SEQ_START

    def next_seq(self) -> int:
        self.count = SEQ_START if self.count > SEQ_WRAP else self.count + 1
        return self.count

    def next(self) -> str:
        return f"{self.ip_hex}{self.clock.ms():013d}{self.next_seq()}{self.pid}"


_TRACE = re.compile(r"([0-9a-f]{8})(\d{13})(\d{4})(\d+)")


def parse_trace_id(trace_id: str) -> TraceIdParts:
    """Split a SOFATracer TraceId; ``ip`` is None for ``ffffffff``."""
    m = _TRACE.fullmatch(trace_id) if isinstance(trace_id, str) else None
    if m is None:
        raise allowed("trace id", trace_id, "8 hex digits, 13-digit ms, 4-digit sequence, pid digits")
    h, ms, seq, pid = m.groups()
    ip = None if h == "ffffffff" else ".".join(str(int(h[i:i + 2], 16)) for i in range(0, 8, 2))
    return TraceIdParts(ip, int(ms), int(seq), int(pid))


_SPAN = re.compile(r"0(\.[1-9]\d*)*")


def valid_span_id(span_id: str) -> str:
    if not isinstance(span_id, str) or not _SPAN.fullmatch(span_id):
        raise allowed("span id", span_id, "'0' or a dotted path like '0.2.1'")
    return span_id


def child_span_id(span_id: str, n: int) -> str:
    """The n-th (1-based) call made inside ``span_id``: ``0.2`` -> ``0.2.n``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise allowed("child number", n, "an int >= 1")
    return f"{valid_span_id(span_id)}.{n}"


def next_sibling(span_id: str) -> str:
    """``0.2.1`` -> ``0.2.2`` (the root has no sibling)."""
    valid_span_id(span_id)
    if span_id == "0":
        raise allowed("span id", span_id, "a non-root span ('0' has no sibling)")
    head, last = span_id.rsplit(".", 1)
    return f"{head}.{int(last) + 1}"


def parent_span_id(span_id: str) -> str | None:
    valid_span_id(span_id)
    return None if span_id == "0" else span_id.rsplit(".", 1)[0]


class SpanContext:
    """A span in a process: ``child()`` numbers the calls it makes 1, 2, 3, ..."""

    def __init__(self, trace_id: str, span_id: str = "0") -> None:
        self.trace_id, self.span_id = trace_id, valid_span_id(span_id)
        self.children = 0

    def child(self) -> SpanContext:
        self.children += 1
        return SpanContext(self.trace_id, child_span_id(self.span_id, self.children))

    def __repr__(self) -> str:
        return f"SpanContext({self.trace_id!r}, {self.span_id!r})"


class TraceParent(NamedTuple):
    version: str
    trace_id: str
    parent_id: str
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & 1)

    def __str__(self) -> str:
        return f"{self.version}-{self.trace_id}-{self.parent_id}-{self.flags:02x}"


_TP = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def parse_traceparent(header: str) -> TraceParent:
    """Validate and split a version-00 ``traceparent`` header."""
    m = _TP.fullmatch(header) if isinstance(header, str) else None
    if m is None:
        raise allowed("traceparent", header, "'00-<32 lowercase hex>-<16 lowercase hex>-<2 hex>'")
    version, trace_id, parent_id, flags = m.groups()
    if version != "00":
        raise allowed("traceparent version", version, "'00' (the only version defined)")
    if set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        raise allowed("traceparent", header, "non-zero trace-id and parent-id")
    return TraceParent(version, trace_id, parent_id, int(flags, 16))


def new_traceparent(rng: np.random.Generator, sampled: bool = True) -> TraceParent:
    """Random 128-bit trace-id and 64-bit parent-id (as OpenTelemetry's default generator)."""
    trace, parent = 0, 0
    while trace == 0:
        trace = random_bits(rng, 128)
    while parent == 0:
        parent = random_bits(rng, 64)
    return TraceParent("00", f"{trace:032x}", f"{parent:016x}", int(bool(sampled)))
