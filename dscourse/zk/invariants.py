"""ZAB's safety properties, checked at every proposal and every delivery.

From Junqueira, Reed & Serafini (DSN 2011), §II ("Zab guarantees") and Medeiros (2012), §2:

* **Integrity / one leader per epoch.** Only one server proposes in an epoch, and a zxid names
  one transaction (no two leaders of one epoch deliver conflicting proposals).
* **Total order and prefix.** Every server delivers a prefix of one global order: the n-th
  transaction a server delivers (since its last snapshot point) is the n-th of that order.
* **Agreement on what a quorum acknowledged.** A proposal a quorum ACKed (and the leader
  committed) stays at its place in the order: a later leader that skipped it would make some
  server deliver something else at that position, which the prefix check reports.

The monitor is the ensemble's single observer of deliveries; ``violations`` lists what broke,
with the virtual time.
"""

from __future__ import annotations

from typing import Any

from .messages import Txn, epoch_of, zxid_str


class ZabMonitor:
    """Watches every server of one ensemble (passed to each :class:`~.server.ZKServer`)."""

    def __init__(self) -> None:
        self.order: list[Txn] = []
        self.index: dict[int, int] = {}
        self.pos: dict[str, int] = {}
        self.epoch_leader: dict[int, str] = {}
        self.proposed: dict[int, Txn] = {}
        self.acked: list[int] = []
        self.established: list[tuple[float, str]] = []
        self.violations: list[tuple[float, str]] = []
        self.deliveries = 0

    def violate(self, now: float, message: str) -> None:
        if len(self.violations) < 50:
            self.violations.append((now, message))

    # -- hooks -------------------------------------------------------------------------------
    def propose(self, server: str, epoch: int, p: Txn, now: float) -> None:
        leader = self.epoch_leader.setdefault(epoch, server)
        if leader != server:
            self.violate(now, f"two leaders propose in epoch {epoch}: {leader} and {server}")
        old = self.proposed.get(p.zxid)
        if old is not None and old != p:
            self.violate(now, f"zxid {zxid_str(p.zxid)} names two proposals")
        self.proposed[p.zxid] = p

    def quorum_acked(self, z: int, now: float) -> None:
        self.acked.append(z)

    def event(self, server: str, what: str, now: float) -> None:
        if what == "established":
            self.established.append((now, server))

    def restart(self, server: str, applied: int) -> None:
        """``server`` (re)built its tree from a snapshot at zxid ``applied``."""
        if applied == 0:
            self.pos[server] = 0
        elif applied in self.index:
            self.pos[server] = self.index[applied] + 1
        else:
            self.violate(float("nan"), f"{server} loaded a snapshot at {zxid_str(applied)}, outside the order")
            self.pos[server] = len(self.order)

    def deliver(self, server: str, p: Txn, now: float) -> None:
        self.deliveries += 1
        i = self.pos.get(server, 0)
        if i < len(self.order):
            if self.order[i] != p:
                self.violate(now, f"{server} delivered {zxid_str(p.zxid)} at position {i}, where the order has "
                                  f"{zxid_str(self.order[i].zxid)}")
        else:
            if self.order and p.zxid <= self.order[-1].zxid:
                self.violate(now, f"{server} delivered {zxid_str(p.zxid)} after {zxid_str(self.order[-1].zxid)}")
            self.index[p.zxid] = len(self.order)
            self.order.append(p)
        self.pos[server] = i + 1

    # -- queries -------------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return not self.violations

    def lost(self) -> list[int]:
        """Quorum-acknowledged zxids missing from the order (should be empty)."""
        return [z for z in self.acked if z not in self.index]

    def epochs(self) -> list[int]:
        return sorted(self.epoch_leader)

    def summary(self) -> dict[str, Any]:
        return {"delivered": len(self.order), "epochs": len(self.epoch_leader),
                "leaders": len(self.established), "violations": len(self.violations),
                "last": zxid_str(self.order[-1].zxid) if self.order else "0:0",
                "epoch_of_last": epoch_of(self.order[-1].zxid) if self.order else 0}
