"""Dubbo's monitor role: per-provider call statistics (``MonitorFilter`` → ``Statistics``).

:class:`Monitor` receives one record per finished call: provider, method, elapsed ms and
success. It reports calls, failures, the active count now (from the consumer's
:class:`~dscourse.rpc.status.RpcStatus`) and latency percentiles (nearest-rank).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .status import RpcStatus


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of ``values`` (nan when empty)."""
    if not values:
        return math.nan
    s = sorted(values)
    k = max(1, math.ceil(q / 100 * len(s)))
    return s[k - 1]


@dataclass
class ProviderStats:
    calls: int = 0
    failures: int = 0
    elapsed: list[float] = field(default_factory=list)


class Monitor:
    """Collects records; ``table()`` gives one row per provider."""

    def __init__(self, status: RpcStatus | None = None) -> None:
        self.status = status
        self.stats: dict[str, ProviderStats] = {}

    def record(self, address: str, method: str, elapsed: float, ok: bool) -> None:
        s = self.stats.setdefault(address, ProviderStats())
        s.calls += 1
        if not ok:
            s.failures += 1
        s.elapsed.append(elapsed)

    def active(self, address: str) -> int:
        if self.status is None:
            return 0
        return sum(s.active for (a, _m), s in self.status.table.items() if a == address)

    def table(self, addresses: list[str] | None = None) -> list[dict[str, object]]:
        """Rows: provider, calls, failures, active, p50, p99 (ms)."""
        rows = []
        for a in addresses if addresses is not None else sorted(self.stats):
            s = self.stats.get(a, ProviderStats())
            rows.append({"provider": a, "calls": s.calls, "failures": s.failures, "active": self.active(a),
                         "p50": percentile(s.elapsed, 50), "p99": percentile(s.elapsed, 99)})
        return rows

    def all_elapsed(self) -> list[float]:
        return [e for s in self.stats.values() for e in s.elapsed]
