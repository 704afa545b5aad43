"""Gray (canary) release rules: which clients get the gray release of a key.

Apollo's gray release (``ctripcorp/apollo`` wiki, "Apollo user guide" §5: gray rules by client
IP or label, then "merge to full release" or "abandon gray") and Nacos's beta release (by IP)
and gray rules (by tag); the percentage rule hashes the client id so a client's cohort is stable
across restarts (the same client always lands in the same bucket).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from ..errors import allowed

BUCKETS = 10_000


def bucket(client: str, key: str) -> int:
    """A stable bucket in ``[0, 10000)`` for ``client`` and ``key`` (SHA-256, not Python's
    salted ``hash``): the same client lands in the same bucket in every run and after restarts."""
    digest = hashlib.sha256(f"{key}|{client}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@dataclass(frozen=True)
class GrayRule:
    """A client gets the gray release if its IP is in ``ips``, or it carries one of ``labels``,
    or its stable bucket is below ``percentage`` of the buckets."""

    ips: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    percentage: float = 0.0

    def __post_init__(self) -> None:
        p = self.percentage
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (math.isfinite(p) and 0 <= p <= 100):
            raise allowed("percentage", p, "a number in [0, 100]")
        for what, v in (("ips", self.ips), ("labels", self.labels)):
            if not isinstance(v, tuple) or not all(isinstance(x, str) and x for x in v):
                raise allowed(what, v, "a tuple of non-empty str")

    def matches(self, client: str, key: str, ip: str = "", labels: tuple[str, ...] = ()) -> bool:
        if ip and ip in self.ips:
            return True
        if set(labels) & set(self.labels):
            return True
        return bucket(client, key) < self.percentage / 100 * BUCKETS
