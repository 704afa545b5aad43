"""MiniMall's own messages (frozen dataclasses, as every message in ``dscourse``).

The components' protocols keep their own messages: ``ds.rpc`` requests between the gateway and
the order service, ``ds.redis`` commands for the lock, ``ds.locks`` ``Write``/``WriteResult``
for the fenced inventory, ``ds.ids`` database statements between the Leaf server and its
database, ``ds.config`` long polls and ``ds.zk`` sessions. The messages below are the few the
capstone adds: a shopper's HTTP-like request to the gateway, the order service's calls to
the Leaf server, the inventory's read, and the payment service's TCC branch calls.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrderRequest:
    """A shopper's ``POST /orders`` to the gateway; ``request_id`` is the idempotency key
    (the same on every retry of one purchase)."""

    request_id: str
    user: str
    item: str
    qty: int


@dataclass(frozen=True)
class OrderResponse:
    """The gateway's answer: ``status`` 200 with the order number, or 429/503/504 and why."""

    request_id: str
    status: int
    order_no: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class IdRequest:
    """Order service -> Leaf server: ``count`` ids for the biz tag (Leaf's ``/api/segment/get``)."""

    req: int
    count: int


@dataclass(frozen=True)
class IdReply:
    req: int
    ids: tuple[int, ...]


@dataclass(frozen=True)
class StockRead:
    """Order service -> inventory: read the stock of ``item`` and what ``order_no`` holds."""

    req: int
    item: str
    order_no: int


@dataclass(frozen=True)
class StockValue:
    """The stock of ``item`` and the units order ``order_no`` holds now (its reservation)."""

    req: int
    item: str
    stock: int
    held: int


@dataclass(frozen=True)
class TccCall:
    """Order service (the TCC transaction manager) -> payment: one branch action
    (``try``/``confirm``/``cancel``) on ``account`` for ``amount`` (< 0 debit, > 0 credit)."""

    req: int
    xid: str
    branch: str
    action: str
    account: str
    amount: int


@dataclass(frozen=True)
class TccResult:
    req: int
    ok: bool


@dataclass(frozen=True)
class Reserve:
    """The value the order service writes to the inventory: the new ``stock`` of ``item`` after
    ``delta`` units were taken (> 0) or given back (< 0) for order ``order_no``."""

    item: str
    stock: int
    order_no: int
    delta: int

    def __str__(self) -> str:
        return f"{self.item}={self.stock} (order {self.order_no} {self.delta:+d})"

