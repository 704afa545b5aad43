"""The mutual-exclusion checker: believed ownership and accepted writes, audited from a trace.

Every lock client reports when it *believes* it holds the lock (from the reply that granted it
until it sends its release, or until it crashes) and every write it sends; the resource
reports whether it accepted each write. Two properties (Kleppmann 2016, "How to do
distributed locking"; seed errata F3 and E13):

* **exclusive belief**: no two clients believe they hold the lock at the same virtual time
  (:meth:`Audit.overlaps`). Lease-based locks cannot guarantee it under pauses, clock jumps
  and failover.
* **no stale write**: the resource never accepts a write from a grant that is older than the
  grant of a write it has already accepted (:meth:`Audit.stale_writes`). Fencing tokens
  checked by the resource guarantee this one.

Grants are numbered in true-time order of acquisition, independently of any fencing token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Holding:
    """One believed ownership: client, grant number, fencing token, [start, end) in ms."""

    client: str
    grant: int
    token: int | None
    start: float
    lease_ms: float
    end: float | None = None

    @property
    def lease_end(self) -> float:
        """When the lease granted at ``start`` runs out (true time, without renewals)."""
        return self.start + self.lease_ms


@dataclass(frozen=True)
class WriteRecord:
    write_id: int
    client: str
    grant: int
    token: int | None
    sent: float
    applied: float | None = None
    accepted: bool | None = None
    reason: str = ""


@dataclass
class Audit:
    """The record the checks run on (see the module docstring)."""

    holdings: list[Holding] = field(default_factory=list)
    writes: dict[int, WriteRecord] = field(default_factory=dict)
    renewals: list[tuple[float, str]] = field(default_factory=list)
    _current: dict[str, Holding] = field(default_factory=dict)

    # -- reports from clients and the resource ----------------------------------------------------
    def acquired(self, client: str, now: float, token: int | None, lease_ms: float) -> Holding:
        h = Holding(client, len(self.holdings) + 1, token, now, lease_ms)
        self.holdings.append(h)
        self._current[client] = h
        return h

    def set_token(self, client: str, token: int | None) -> None:
        self._current[client].token = token

    def released(self, client: str, now: float) -> None:
        h = self._current.pop(client, None)
        if h is not None:
            h.end = now

    def holding(self, client: str) -> Holding | None:
        return self._current.get(client)

    def sent(self, client: str, now: float, token: int | None) -> int:
        h = self._current[client]
        wid = len(self.writes) + 1
        self.writes[wid] = WriteRecord(wid, client, h.grant, token, now)
        return wid

    def applied(self, write_id: int, now: float, accepted: bool, reason: str = "") -> None:
        w = self.writes[write_id]
        self.writes[write_id] = WriteRecord(w.write_id, w.client, w.grant, w.token, w.sent, now, accepted, reason)

    # -- the checks -----------------------------------------------------------------------------
    def overlaps(self, now: float | None = None) -> list[tuple[Holding, Holding]]:
        """Pairs of holdings by different clients whose believed ownership overlaps in time."""
        ends = {id(h): (h.end if h.end is not None else (now if now is not None else float("inf")))
                for h in self.holdings}
        out = []
        hs = sorted(self.holdings, key=lambda h: (h.start, h.grant))
        for i, a in enumerate(hs):
            for b in hs[i + 1:]:
                if b.start >= ends[id(a)]:
                    break
                if a.client != b.client and b.start < ends[id(a)]:
                    out.append((a, b))
        return out

    def stale_writes(self) -> list[WriteRecord]:
        """Accepted writes from a grant older than the grant of a write accepted before them."""
        done = sorted((w for w in self.writes.values() if w.accepted), key=lambda w: (w.applied, w.write_id))
        out, newest = [], 0
        for w in done:
            if w.grant < newest:
                out.append(w)
            newest = max(newest, w.grant)
        return out

    def accepted_tokens(self) -> list[int | None]:
        done = sorted((w for w in self.writes.values() if w.accepted), key=lambda w: (w.applied, w.write_id))
        return [w.token for w in done]

    def rejected(self) -> list[WriteRecord]:
        return [w for w in self.writes.values() if w.accepted is False]

    def summary(self, now: float | None = None) -> dict[str, Any]:
        return {"grants": len(self.holdings), "overlaps": len(self.overlaps(now)),
                "writes_accepted": sum(1 for w in self.writes.values() if w.accepted),
                "writes_rejected": len(self.rejected()), "stale_writes": len(self.stale_writes())}
