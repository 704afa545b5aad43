"""Per-(provider, method) call statistics: Dubbo's ``RpcStatus``.

Dubbo keeps one ``RpcStatus`` per URL and per URL + method (``RpcStatus.getStatus(url, method)``):
``active`` (calls in flight, +1 in ``beginCount``, -1 in ``endCount``), totals, failures and
elapsed times. LeastActive reads ``active``; ShortestResponse reads the succeeded calls' mean
elapsed time. Dubbo keeps the table in a static map; here it is an object the consumer owns
(no global state), shared by its filters and balancers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MethodStatus:
    """One ``RpcStatus``: counters for a provider address and a method."""

    active: int = 0
    total: int = 0
    failed: int = 0
    succeeded_elapsed: float = 0.0
    succeeded: int = 0

    @property
    def succeeded_average_elapsed(self) -> float:
        return self.succeeded_elapsed / self.succeeded if self.succeeded else 0.0


class RpcStatus:
    """The consumer's table of :class:`MethodStatus`, keyed ``(address, method)``."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], MethodStatus] = {}

    def get(self, address: str, method: str) -> MethodStatus:
        key = (address, method)
        s = self.table.get(key)
        if s is None:
            s = self.table[key] = MethodStatus()
        return s

    def active(self, address: str, method: str) -> int:
        s = self.table.get((address, method))
        return s.active if s else 0

    def begin(self, address: str, method: str) -> None:
        """``RpcStatus.beginCount``: one more call in flight."""
        self.get(address, method).active += 1

    def end(self, address: str, method: str, elapsed: float, succeeded: bool) -> None:
        """``RpcStatus.endCount``: the call finished after ``elapsed`` ms."""
        s = self.get(address, method)
        s.active -= 1
        s.total += 1
        if succeeded:
            s.succeeded += 1
            s.succeeded_elapsed += elapsed
        else:
            s.failed += 1
