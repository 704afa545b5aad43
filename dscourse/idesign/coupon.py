"""Pre-generated redemption codes (兑换码): scheme id, serial and check bits in 10 characters.

The seed's layout: a 15-bit scheme (优惠方案 ID), a 30-bit serial (兑换码序列号) and a 13-bit
check code split 6 + 7, over a 60-character alphabet (a-z, A-Z, 0-9 without ``O`` and
``I``). 15 + 30 + 13 = 58 bits and 60**9 < 2**58 < 60**10, so every code is exactly 10
characters. The seed never says how the check bits are computed; here they are
HMAC-SHA-256(key, scheme || serial) truncated, so only the key holder can mint codes, and the
serial is passed through a keyed permutation (per scheme) so consecutive codes look
unrelated. A forger still succeeds with probability 2**-13 per guess, hence rate limiting;
and redemption (核销) needs state: :class:`RedemptionLedger` (seed erratum G5).

Bit order, most significant first: check_hi | scheme | permuted serial | check_lo.
"""

from __future__ import annotations

import hmac
from typing import NamedTuple

from ..errors import DscourseError, allowed
from .permutation import FeistelPermutation, valid_key

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
BASE = len(ALPHABET)
INDEX = {c: i for i, c in enumerate(ALPHABET)}
SCHEME_BITS, SERIAL_BITS, CHECK_BITS = 15, 30, 13
LENGTH = 10


class Coupon(NamedTuple):
    scheme: int
    serial: int


class InvalidCode(DscourseError):
    """A code that does not decode (wrong length, foreign character, out of range, bad MAC)."""


class CouponCodec:
    """``encode(scheme, serial) -> str`` and ``decode(code) -> Coupon`` under ``key``.

    ``check_bits`` (default 13, at most 14 so that codes stay 10 characters) sets the MAC
    width; the forge lab varies it to show the forgery probability 2**-check_bits.
    """

    def __init__(self, key: bytes | str, check_bits: int = CHECK_BITS) -> None:
        self.key = valid_key(key)
        if isinstance(check_bits, bool) or not isinstance(check_bits, int) or not 1 <= check_bits <= 14:
            raise allowed("check_bits", check_bits, "an int in [1, 14] (10 characters hold 59 bits)")
        self.check_bits = check_bits
        self.hi = check_bits // 2
        self.lo = check_bits - self.hi
        self.total_bits = SCHEME_BITS + SERIAL_BITS + check_bits
        self._perm = FeistelPermutation(1 << SERIAL_BITS, self.key)

    def mac(self, scheme: int, serial: int) -> int:
        """The check code: HMAC-SHA-256 of (scheme, serial), truncated to ``check_bits``."""
        msg = scheme.to_bytes(2, "big") + serial.to_bytes(4, "big")
        digest = hmac.digest(self.key, msg, "sha256")
        return int.from_bytes(digest[:4], "big") >> (32 - self.check_bits)

    def encode(self, scheme: int, serial: int) -> str:
        for what, v, bits in (("scheme", scheme, SCHEME_BITS), ("serial", serial, SERIAL_BITS)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < (1 << bits):
                raise allowed(what, v, f"an int in [0, {1 << bits}) ({bits} bits)")
        check = self.mac(scheme, serial)
        value = check >> self.lo
        value = (value << SCHEME_BITS) | scheme
        value = (value << SERIAL_BITS) | self._perm.forward(serial, scheme)
        value = (value << self.lo) | (check & ((1 << self.lo) - 1))
        chars = []
        for _ in range(LENGTH):
            value, d = divmod(value, BASE)
            chars.append(ALPHABET[d])
        return "".join(reversed(chars))

    def decode(self, code: str) -> Coupon:
        """The coupon a code stands for; :class:`InvalidCode` if it is not one of ours."""
        if not isinstance(code, str) or len(code) != LENGTH:
            raise InvalidCode(f"code={code!r} is not valid: expected {LENGTH} characters")
        value = 0
        for c in code:
            d = INDEX.get(c)
            if d is None:
                raise InvalidCode(f"code={code!r} is not valid: character {c!r} is not in the "
                                  "60-character alphabet (no O or I)")
            value = value * BASE + d
        if value >> self.total_bits:
            raise InvalidCode(f"code={code!r} is not valid: out of range")
        lo = value & ((1 << self.lo) - 1)
        value >>= self.lo
        permuted = value & ((1 << SERIAL_BITS) - 1)
        value >>= SERIAL_BITS
        scheme = value & ((1 << SCHEME_BITS) - 1)
        hi = value >> SCHEME_BITS
        serial = self._perm.inverse(permuted, scheme)
        if not hmac.compare_digest(((hi << self.lo) | lo).to_bytes(2, "big"),
                                   self.mac(scheme, serial).to_bytes(2, "big")):
            raise InvalidCode(f"code={code!r} is not valid: check code mismatch")
        return Coupon(scheme, serial)

    def is_valid(self, code: str) -> bool:
        try:
            self.decode(code)
        except InvalidCode:
            return False
        return True


def forgery_probability(check_bits: int) -> float:
    """Chance that one random well-formed guess passes the check: 2**-check_bits."""
    return 2.0 ** -check_bits


class RedemptionLedger:
    """Redeemed serials per scheme as a sparse bitmap (a full one is 2**30 bits = 128 MiB)."""

    PAGE_BITS = 1 << 15

    def __init__(self) -> None:
        self._pages: dict[tuple[int, int], bytearray] = {}
        self.redeemed = 0

    def redeem(self, coupon: Coupon) -> bool:
        """Mark ``coupon`` used; False if it already was (the 核销 check)."""
        page_no, bit = divmod(coupon.serial, self.PAGE_BITS)
        page = self._pages.setdefault((coupon.scheme, page_no), bytearray(self.PAGE_BITS // 8))
        byte, mask = bit >> 3, 1 << (bit & 7)
        if page[byte] & mask:
            return False
        page[byte] |= mask
        self.redeemed += 1
        return True

    @property
    def bytes_used(self) -> int:
        return len(self._pages) * self.PAGE_BITS // 8


def scheme_years(bits: int = SCHEME_BITS, first: int = 10_000, per_year: int = 365) -> float:
    """Years of daily campaigns a scheme field lasts: (2**bits - first) / per_year (≈ 62)."""
    return ((1 << bits) - first) / per_year
