"""MiniMall's six end-to-end invariants, judged from the outside.

Each check reads what the components recorded, never what the order service says it did
(except one question, an order's final state, which only the service can answer):

=============================  ===========================================================  ===============
invariant                      what is read                                                 its defence
=============================  ===========================================================  ===============
``no_oversell``                the inventory's reservation ledger: units held per item       ``fencing``
                               never exceed the initial stock
``money_conserved``            the payment database: the sum of balances never changes;     ``compensation``
                               when all is quiet no money is left frozen or booked
``orders_resolved``            every order the gateway accepted is completed (both TCC       ``saga_log``
                               branches confirmed, its units held) or compensated (nothing
                               confirmed, nothing held), and the service says so
``unique_order_numbers``       the gateway's answers: one order number, one purchase         ``leaf_ids``
``stable_cohorts``             the gateway's calls: a user's cohort never changes under one  ``stable_gray``
                               release of the gray rule
``registry_routing``           the gateway's calls against the registry as a monitor saw    ``registry_watch``
                               it: no call goes to a provider whose znode had been gone for
                               longer than ``grace`` ms (its session expired)
=============================  ===========================================================  ===============

Violations are :class:`ds.checkers.invariants.Violation` s (name, time, detail).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..checkers.invariants import Violations
from ..sim import Node

if TYPE_CHECKING:
    from .system import MiniMall

INVARIANTS = ("no_oversell", "money_conserved", "orders_resolved", "unique_order_numbers",
              "stable_cohorts", "registry_routing")
#: which defence protects which invariant (removing it is how the chapter breaks each one)
DEFENDS = {"fencing": "no_oversell", "compensation": "money_conserved", "saga_log": "orders_resolved",
           "leaf_ids": "unique_order_numbers", "stable_gray": "stable_cohorts",
           "registry_watch": "registry_routing"}


@dataclass(frozen=True)
class Verdict:
    """One invariant's verdict: ``ok``, how many cases were examined, the violations."""

    name: str
    ok: bool
    examined: int
    violations: tuple[Any, ...]

    def __str__(self) -> str:
        head = f"{self.name}: {'holds' if self.ok else 'VIOLATED'} ({self.examined} checked)"
        return head if self.ok else f"{head}; first: {self.violations[0]}"


class RegistryMonitor(Node):
    """A god's-eye sampler (outside the nemesis): every ``every_ms`` it reads which providers
    the ZooKeeper leader's tree holds under ``/dubbo/OrderService/providers``."""

    def __init__(self, id: str, *, mall: MiniMall, every_ms: float = 20.0) -> None:
        super().__init__(id)
        self.mall, self.every_ms = mall, every_ms
        self.samples: list[tuple[float, frozenset[str]]] = []

    def on_start(self) -> None:
        self.set_timer(0.0, "sample")

    def on_timer(self, name: str, payload: Any) -> None:
        regs = self.mall.registered()
        if regs is not None:
            self.samples.append((self.now, frozenset(regs)))
        self.set_timer(self.every_ms, "sample")

    def seen(self, provider: str, start: float, end: float) -> bool | None:
        """Was ``provider`` registered in some sample in ``[start, end]`` (None: no sample)?"""
        times = [t for t, _ in self.samples]
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_right(times, end)
        if lo >= hi:
            return None
        return any(provider in regs for _, regs in self.samples[lo:hi])


def _verdict(name: str, examined: int, v: Violations) -> Verdict:
    return Verdict(name, not v, examined, tuple(v.items))


def no_oversell(mall: MiniMall) -> Verdict:
    inv = mall.inventory
    held: dict[str, int] = defaultdict(int)
    orders = {o for o, _ in inv.reservations}
    for order_no in orders:
        take = inv.reservations.get((order_no, "take"))
        if take is not None:
            held[take[0]] += inv.net(order_no)
    v = Violations()
    for item, units in sorted(held.items()):
        if units > inv.initial.get(item, 0):
            v.report("no_oversell", mall.now, f"{units} units of {item!r} sold or held, stock was {inv.initial[item]}")
    return _verdict("no_oversell", len(orders), v)


def money_conserved(mall: MiniMall, quiet: bool = True) -> Verdict:
    accounts = mall.payment.account.accounts()
    total = sum(b for b, _, _ in accounts.values())
    v = Violations()
    if total != mall.money_total:
        v.report("money_conserved", mall.now, f"balances sum to {total}, not {mall.money_total}")
    if quiet:
        for acc, (_, frozen, incoming) in sorted(accounts.items()):
            if frozen or incoming:
                v.report("money_conserved", mall.now, f"{acc}: {frozen} frozen, {incoming} incoming left reserved")
    return _verdict("money_conserved", len(accounts), v)


def orders_resolved(mall: MiniMall) -> Verdict:
    confirmed: dict[str, set[str]] = defaultdict(set)
    for xid, branch in mall.payment.confirmed:
        confirmed[xid].add(branch)
    accepted = {r.order_no for r in mall.gateway.answered if r.status == 200 and r.order_no is not None}
    v = Violations()
    for order_no in sorted(accepted):
        states = [s for s in (p.service.status(order_no) for p in mall.live_providers()) if s is not None]
        final = [s for s in states if s in ("completed", "compensated", "rejected")]
        state = final[0] if final else (states[0] if states else None)
        held, paid = mall.inventory.net(order_no), confirmed.get(str(order_no), set())
        if state == "completed":
            ok = paid == {"debit", "credit"} and held > 0
        elif state in ("compensated", "rejected"):
            ok = not paid and held == 0
        else:
            ok = False
        if not ok:
            v.report("orders_resolved", mall.now, f"order {order_no}: state {state}, {held} units held, "
                                                 f"confirmed {sorted(paid) or 'nothing'}")
    return _verdict("orders_resolved", len(accepted), v)


def unique_order_numbers(mall: MiniMall) -> Verdict:
    by_no: dict[int, set[str]] = defaultdict(set)
    for r in mall.gateway.answered:
        if r.status == 200 and r.order_no is not None:
            by_no[r.order_no].add(r.request_id.rsplit("#", 1)[0])
    v = Violations()
    for n, reqs in sorted(by_no.items()):
        if len(reqs) > 1:
            v.report("unique_order_numbers", mall.now, f"order number {n} given to {', '.join(sorted(reqs))}")
    return _verdict("unique_order_numbers", len(by_no), v)


def stable_cohorts(mall: MiniMall) -> Verdict:
    seen: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for d in mall.dispatches:
        seen[(d.user, d.release)].setdefault(d.cohort, d.time)
    v = Violations()
    for (user, release), cohorts in sorted(seen.items()):
        if len(cohorts) > 1:
            v.report("stable_cohorts", max(cohorts.values()), f"{user} in {' and '.join(sorted(cohorts))} "
                                                            f"under release {release[:8]}")
    return _verdict("stable_cohorts", len(seen), v)


def registry_routing(mall: MiniMall) -> Verdict:
    v = Violations()
    grace = mall.grace_ms
    for d in mall.dispatches:
        if d.time < grace:
            continue
        if mall.monitor.seen(d.provider, d.time - grace, d.time) is False:
            v.report("registry_routing", d.time, f"call {d.request_id} sent to {d.provider}, absent from "
                                                 f"the registry for the last {grace:g} ms")
    return _verdict("registry_routing", len(mall.dispatches), v)


CHECKS = {"no_oversell": no_oversell, "money_conserved": money_conserved, "orders_resolved": orders_resolved,
          "unique_order_numbers": unique_order_numbers, "stable_cohorts": stable_cohorts,
          "registry_routing": registry_routing}
