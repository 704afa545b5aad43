"""Audits of Redis Cluster's failure detector, computed from the trace alone.

The trace records every delivered PING/PONG (with its gossip section and the sender's role)
and every flag change a node annotates (``view=X, flag=PFAIL|FAIL|ok``). The audits do not
trust a node's own account of why it flagged FAIL: they recount the failure reports from the
deliveries (Redis Cluster Specification, "Failure detection").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..sim import Trace
from .node import FAIL_REPORT_VALIDITY_MULT


@dataclass(frozen=True)
class FailEvent:
    """Node ``node`` flagged ``about`` FAIL at ``time`` (ms), from reports or by a FAIL message."""

    time: float
    node: str
    about: str
    by: str


def fail_events(trace: Trace) -> list[FailEvent]:
    """Every FAIL flag set, in trace order."""
    return [FailEvent(e.time / 1000, e.node or "", e.data["view"], e.data.get("by", "?"))
            for e in trace.filter("annotate") if e.data.get("flag") == "FAIL"]


def _reports_at(trace: Trace, node: str, about: str, t_us: int, window_us: float) -> set[str]:
    """Masters whose latest gossip entry about ``about`` delivered to ``node`` before ``t_us``
    flags it PFAIL/FAIL and arrived inside the validity window."""
    latest: dict[str, tuple[int, bool]] = {}
    for e in trace.filter("deliver", node):
        if e.time > t_us:
            break
        if e.label != "Ping" or not isinstance(e.data, dict) or e.data.get("role") != "master":
            continue
        for g in e.data.get("gossip", ()):
            if g["name"] == about:
                failing = "pfail" in g["flags"] or "fail" in g["flags"]
                latest[e.peer or ""] = (e.time, failing)
    return {s for s, (t, failing) in latest.items() if failing and t >= t_us - window_us}


def _role_at(trace: Trace, node: str, t_us: int) -> str:
    role = "?"
    for e in trace.filter("send", node):
        if e.time > t_us:
            break
        if e.label == "Ping" and isinstance(e.data, dict):
            role = e.data["role"]
    return role


def audit_quorum(trace: Trace, masters: int, node_timeout: float) -> list[str]:
    """Violations of: a node flags FAIL from reports only with a majority of ``masters``
    (valid reports inside NODE_TIMEOUT × 2, plus itself if it is a master)."""
    need = masters // 2 + 1
    window = node_timeout * FAIL_REPORT_VALIDITY_MULT * 1000
    out = []
    for f in fail_events(trace):
        if f.by != "reports":
            continue
        t = round(f.time * 1000)
        reports = _reports_at(trace, f.node, f.about, t, window)
        me = 1 if _role_at(trace, f.node, t) == "master" else 0
        if len(reports) + me < need:
            out.append(f"{f.node} flagged {f.about} FAIL at {f.time:g} ms with {len(reports)} valid "
                       f"master reports {sorted(reports)} (+{me} itself): a majority is {need}")
    return out


def audit_minority(trace: Trace, majority: Iterable[str]) -> list[str]:
    """Violations of: no node in ``majority`` is ever flagged FAIL (run it over a partition
    whose minority side cannot reach the majority)."""
    maj = set(majority)
    return [f"{f.node} flagged majority-side node {f.about} FAIL at {f.time:g} ms"
            for f in fail_events(trace) if f.about in maj]


def audit_bound(trace: Trace, crashed: str, crash_ms: float, observers: Iterable[str], bound_ms: float) -> list[str]:
    """Violations of: every observer flags ``crashed`` FAIL within ``bound_ms`` of the crash."""
    first: dict[str, float] = {}
    for f in fail_events(trace):
        if f.about == crashed and f.time >= crash_ms:
            first.setdefault(f.node, f.time)
    out = []
    for o in observers:
        t = first.get(o)
        if t is None or t - crash_ms > bound_ms:
            when = "never" if t is None else f"after {t - crash_ms:g} ms"
            out.append(f"{o} flagged {crashed} FAIL {when}: expected within {bound_ms:g} ms")
    return out
