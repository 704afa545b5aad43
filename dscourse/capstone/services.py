"""MiniMall's back-end services, each a thin node around an earlier chapter's real part.

* :class:`LeafServer` -- Chapter 10's :class:`ds.ids.LeafSegmentAllocator` (Leaf-segment's
  double buffer over a ``leaf_alloc`` row in a :class:`ds.ids.Database`), answering the order
  services' :class:`~.messages.IdRequest` s. Ids come only from ranges the database handed
  out, so two order services, or one restarted, never get the same number (Meituan Leaf,
  "Leaf-segment": a retried range request claims a *new* range).
* :class:`InventoryStore` -- Chapter 9's :class:`ds.locks.FencedResource` holding the stock
  per item: a write carries the lock's fencing token and is rejected if a newer token was
  already seen (Kleppmann 2016). ``fencing=False`` accepts every write, as most storage does.
  It keeps a reservation ledger (the units each order took and gave back), which the
  no-oversell monitor reads.
* :class:`PaymentService` -- Chapter 14's :class:`ds.txn.TccAccount` (real SQLite with Seata's
  ``tcc_fence_log``): one TCC branch action per :class:`~.messages.TccCall`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import allowed
from ..ids import Database, Issued, LeafSegmentAllocator
from ..locks import FencedResource, Write, WriteResult
from ..sim import Node
from ..txn import TccAccount
from .messages import IdReply, IdRequest, Reserve, StockRead, StockValue, TccCall, TccResult

BIZ_TAG = "order"


def leaf_database(id: str = "leafdb", step: int = 20) -> Database:
    """The ``leaf_alloc`` table with one row, biz tag ``order`` (ids start at 1)."""
    return Database(id, rows={BIZ_TAG: {"max_id": 1, "step": step}})


class LeafServer(LeafSegmentAllocator):
    """A Leaf server (biz tag ``order``) serving batches of ids over the network.

    Leaf's own ``take()`` hands out ids from the current segment and loads the next one in the
    background; requests that find both segments empty wait in ``queue`` until it arrives.
    Every id handed out is appended to ``sink`` (shared, so it survives a crash).
    """

    def __init__(self, id: str = "leaf", *, db: str = "leafdb", sink: list[Issued]) -> None:
        super().__init__(id, db=db, biz=BIZ_TAG, sink=sink, demand_interval_ms=1.0, stop_ms=0.0,
                         timeout_ms=50.0)
        self.queue: list[tuple[str, IdRequest, float, list[int]]] = []

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, IdRequest):
            self.queue.append((src, msg, self.now, []))
            self.serve()
        else:
            super().on_message(src, msg)   # the database's replies (Leaf's own calls)

    def serve(self) -> None:
        while self.queue:
            src, msg, asked, got = self.queue[0]
            while len(got) < msg.count:
                ident = self.take()
                if ident is None:
                    return   # take() started loading the next segment; serve() runs again then
                got.append(ident)
            self.queue.pop(0)
            self.sink.extend(Issued(self.id, asked, self.now, i) for i in got)
            self.send(src, IdReply(msg.req, tuple(got)))


class InventoryStore(FencedResource):
    """Stock per item behind fencing tokens; ``reservations[(order_no, kind)] = delta`` records
    each accepted reservation (``kind`` "take") and release ("give") once."""

    def __init__(self, id: str = "inventory", *, stock: dict[str, int], fencing: bool = True) -> None:
        super().__init__(id, fencing=fencing)
        if "stock" not in self.stable:
            self.stable["stock"] = dict(stock)
            self.stable["initial"] = dict(stock)
            self.stable["reservations"] = {}

    @property
    def stock(self) -> dict[str, int]:
        return self.stable["stock"]

    @property
    def initial(self) -> dict[str, int]:
        return self.stable["initial"]

    @property
    def reservations(self) -> dict[tuple[int, str], tuple[str, int]]:
        """``(order_no, "take"|"give") -> (item, units)``: what each order took and gave back."""
        return self.stable["reservations"]

    def apply(self, msg: Write) -> str:
        reason = super().apply(msg)
        value = msg.value
        if not reason and isinstance(value, Reserve):
            self.stock[value.item] = value.stock
            kind = "take" if value.delta > 0 else "give"
            self.reservations.setdefault((value.order_no, kind), (value.item, abs(value.delta)))
        return reason

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, StockRead):
            self.send(src, StockValue(msg.req, msg.item, self.stock.get(msg.item, 0), self.net(msg.order_no)))
        elif isinstance(msg, Write):
            reason = self.apply(msg)
            self.send(src, WriteResult(msg.req, not reason, reason))

    def net(self, order_no: int) -> int:
        """Units order ``order_no`` holds now (taken minus given back)."""
        take = self.reservations.get((order_no, "take"), ("", 0))[1]
        give = self.reservations.get((order_no, "give"), ("", 0))[1]
        return take - give


class PaymentService(Node):
    """The payment service: TCC branches on a real SQLite database (``path``) that survives a
    crash (a recovered node reopens the same file)."""

    def __init__(self, id: str = "payment", *, path: str | Path, balances: dict[str, int],
                 fenced: bool = True) -> None:
        super().__init__(id)
        self.account = TccAccount(path, balances, fenced=fenced)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, TccCall):
            action = {"try": self.account.try_, "confirm": self.account.confirm, "cancel": self.account.cancel}
            if msg.action not in action:
                raise allowed("TCC action", msg.action, "try, confirm or cancel")
            ok = action[msg.action](msg.xid, msg.branch, msg.account, msg.amount)
            if ok and msg.action == "confirm":
                self.confirmed.add((msg.xid, msg.branch))
            self.send(src, TccResult(msg.req, ok))

    @property
    def confirmed(self) -> set[tuple[str, str]]:
        """(xid, branch) pairs whose Confirm succeeded (the database's ``tcc_fence_log`` says
        COMMITTED for exactly these)."""
        return self.stable.setdefault("confirmed", set())
