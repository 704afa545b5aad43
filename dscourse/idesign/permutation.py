"""A keyed permutation of ``range(domain)``: a balanced Feistel network with cycle walking.

Luby and Rackoff (1988) showed that a Feistel network with enough rounds of a keyed
pseudorandom function is a pseudorandom permutation; Black and Rogaway (CT-RSA 2002) showed
how to permute an arbitrary domain ``[0, n)`` by "cycle walking": encrypt over the enclosing
power of two and re-encrypt until the value lands inside the domain. The round function here
is keyed BLAKE2b. It makes consecutive serials look unrelated; it is not a substitute for
the MAC that makes codes unforgeable.
"""

from __future__ import annotations

import hashlib

from ..errors import allowed


def valid_key(key: object) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or not 1 <= len(key) <= 64:
        raise allowed("key", key, "1 to 64 bytes (or a str)")
    return bytes(key)


class FeistelPermutation:
    """``forward`` and ``inverse`` are mutually inverse bijections of ``range(domain)``.

    ``tweak`` (an int) selects an independent permutation under the same key, e.g. one per
    coupon scheme or per day.
    """

    def __init__(self, domain: int, key: bytes | str, rounds: int = 4) -> None:
        if isinstance(domain, bool) or not isinstance(domain, int) or domain < 2:
            raise allowed("domain", domain, "an int >= 2")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 3:
            raise allowed("rounds", rounds, "an int >= 3 (Luby-Rackoff needs at least 3)")
        self.domain, self.rounds, self.key = domain, rounds, valid_key(key)
        bits = max(2, (domain - 1).bit_length())
        bits += bits % 2
        self.half = bits // 2
        self.mask = (1 << self.half) - 1

    def _f(self, i: int, r: int, tweak: int) -> int:
        msg = i.to_bytes(1, "big") + tweak.to_bytes(8, "big", signed=True) + r.to_bytes(8, "big")
        return int.from_bytes(hashlib.blake2b(msg, key=self.key, digest_size=8).digest(), "big") & self.mask

    def _enc(self, x: int, tweak: int) -> int:
        left, right = x >> self.half, x & self.mask
        for i in range(self.rounds):
            left, right = right, left ^ self._f(i, right, tweak)
        return (left << self.half) | right

    def _dec(self, y: int, tweak: int) -> int:
        left, right = y >> self.half, y & self.mask
        for i in reversed(range(self.rounds)):
            left, right = right ^ self._f(i, left, tweak), left
        return (left << self.half) | right

    def _check(self, x: object) -> int:
        if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < self.domain:
            raise allowed("value", x, f"an int in [0, {self.domain})")
        return x

    def forward(self, x: int, tweak: int = 0) -> int:
        y = self._enc(self._check(x), tweak)
        while y >= self.domain:
            y = self._enc(y, tweak)
        return y

    def inverse(self, y: int, tweak: int = 0) -> int:
        x = self._dec(self._check(y), tweak)
        while x >= self.domain:
            x = self._dec(x, tweak)
        return x
