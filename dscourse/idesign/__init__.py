"""dscourse.idesign: identifiers with business meaning that leak nothing (Chapter 11).

Coupon codes (:class:`CouponCodec`: 15-bit scheme, 30-bit serial, 13-bit keyed MAC over a
60-character alphabet, keyed serial permutation; :class:`RedemptionLedger`), order numbers
(:class:`OrderNumberGenerator`), SOFATracer TraceIds and hierarchical SpanIds plus W3C
``traceparent`` (:mod:`.tracing`, and a simulated call graph in :mod:`.callgraph`), short
URLs (:class:`ShortUrlService`) and the one-code-pay User-Agent router (:func:`route`).
"""

from .._lazy import lazy
from . import callgraph, tracing
from .callgraph import LogLine, call_graph, reconstruct, render_tree
from .coupon import ALPHABET, Coupon, CouponCodec, InvalidCode, RedemptionLedger, forgery_probability, scheme_years
from .onecode import CHANNELS, Route, detect_channel, route
from .orders import OrderNumber, OrderNumberGenerator, estimate_daily_volume
from .orders import parse as parse_order_number
from .permutation import FeistelPermutation
from .shorturl import BASE62, ShortUrlService, base62_decode, base62_encode, shared_prefix_rate
from .tracing import (
    SpanContext,
    TraceIdGenerator,
    TraceParent,
    child_span_id,
    new_traceparent,
    next_sibling,
    parent_span_id,
    parse_trace_id,
    parse_traceparent,
)

__all__ = [
    "ALPHABET", "BASE62", "CHANNELS", "Coupon", "CouponCodec", "FeistelPermutation",
    "InvalidCode", "LogLine", "OrderNumber", "OrderNumberGenerator", "RedemptionLedger", "Route",
    "ShortUrlService", "SpanContext", "TraceIdGenerator", "TraceParent", "base62_decode",
    "base62_encode", "call_graph", "callgraph", "child_span_id", "detect_channel",
    "estimate_daily_volume", "exercises", "forgery_probability", "labs", "new_traceparent", "next_sibling",
    "parent_span_id", "parse_order_number", "parse_trace_id", "parse_traceparent",
    "reconstruct", "render_tree", "route", "scheme_years", "shared_prefix_rate", "tracing",
]


# labs (widgets, matplotlib) and exercises (grading harnesses) load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises"))
