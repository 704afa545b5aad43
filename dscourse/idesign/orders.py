"""Order numbers: numeric, at most 19 digits (a signed BIGINT), partly readable, not leaking
daily volume (seed "订单号": 信息安全, 部分可读, 查询效率).

Layout (decimal digits): ``yymmdd`` (6) | business type (1) | node (1) | 11 opaque digits.
The opaque part is a keyed permutation (per day and node) of that node's daily counter over
``[0, 10**11)``: unique because the counter is, unordered because of the permutation. With
``scramble=False`` the counter shows through, and :func:`estimate_daily_volume` (the German
tank estimator) reads the day's volume off a handful of order numbers. The date prefix keeps
numbers below 2**63 - 1 until 2092-12-31 (``921231...``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from ..errors import DscourseError, allowed
from ..ids import Clock, valid_clock
from .permutation import FeistelPermutation

OPAQUE_DIGITS = 11
OPAQUE = 10 ** OPAQUE_DIGITS
BIGINT_MAX = (1 << 63) - 1


class OrderNumber(NamedTuple):
    date: dt.date
    biz: int
    node: int
    opaque: int


def _digit(what: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 9:
        raise allowed(what, v, "one decimal digit, 0-9")
    return v


class OrderNumberGenerator:
    """Order numbers for one node (``node`` and ``biz`` are single digits)."""

    def __init__(self, *, node: int, biz: int, clock: Clock, key: bytes | str,
                 scramble: bool = True) -> None:
        self.node, self.biz = _digit("node", node), _digit("biz", biz)
        self.clock = valid_clock(clock)
        self.scramble = bool(scramble)
        self._perm = FeistelPermutation(OPAQUE, key)
        self._day: int | None = None
        self._count = 0

    def next(self) -> int:
        day = dt.datetime.fromtimestamp(self.clock.ms() / 1000, dt.UTC).date()
        ordinal = day.toordinal()
        if ordinal != self._day:
            self._day, self._count = ordinal, 0
        if self._count >= OPAQUE:
            raise DscourseError(f"node {self.node} issued all {OPAQUE} numbers of {day}")
        opaque = (self._perm.forward(self._count, ordinal * 10 + self.node)
                  if self.scramble else self._count)
        self._count += 1
        number = int(f"{day:%y%m%d}{self.biz}{self.node}{opaque:0{OPAQUE_DIGITS}d}")
        if number > BIGINT_MAX:
            raise DscourseError(f"order number {number} exceeds BIGINT (date {day} is after 2092)")
        return number


def parse(number: int) -> OrderNumber:
    """Split an order number into date, business type, node and the opaque digits."""
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= BIGINT_MAX:
        raise allowed("order number", number, "a positive int of at most 19 digits")
    s = f"{number:019d}"
    try:
        date = dt.datetime.strptime(s[:6], "%y%m%d").date()
    except ValueError:
        raise allowed("order number", number, "a yymmdd date in its first 6 digits") from None
    return OrderNumber(date, int(s[6]), int(s[7]), int(s[8:]))


def estimate_daily_volume(numbers: Sequence[int], nodes: int = 1) -> float:
    """German-tank estimate of a day's orders from a sample: ``nodes * (m (1 + 1/k) - 1)``,
    with ``m`` the largest opaque part seen (+1) and ``k`` the sample size."""
    if not numbers:
        raise allowed("numbers", numbers, "a non-empty sample of order numbers")
    m = max(parse(n).opaque for n in numbers) + 1
    k = len(numbers)
    return nodes * (m * (1 + 1 / k) - 1)
