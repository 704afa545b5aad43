"""Short URLs (短网址): a numeric id, scrambled by a keyed bijection, written in base 62.

Base 62 (``0-9a-zA-Z``) with a fixed width of 7 covers 62**7 ≈ 3.5 * 10**12 ids. Without
scrambling, consecutive ids give codes that share their first six characters, so anyone can
enumerate every link; a keyed permutation of ``[0, 62**width)`` keeps the mapping
one-to-one (no collisions, no table lookup to decode) while making neighbours unrelated.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ..errors import allowed
from .permutation import FeistelPermutation

BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_INDEX = {c: i for i, c in enumerate(BASE62)}


def base62_encode(n: int, width: int = 0) -> str:
    """``n`` in base 62, left-padded with ``0`` to ``width`` characters."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise allowed("n", n, "an int >= 0")
    chars = []
    while True:
        n, d = divmod(n, 62)
        chars.append(BASE62[d])
        if n == 0:
            break
    return "".join(reversed(chars)).rjust(width, "0")


def base62_decode(s: str) -> int:
    if not isinstance(s, str) or not s or any(c not in _INDEX for c in s):
        raise allowed("base-62 string", s, "a non-empty string over 0-9a-zA-Z")
    n = 0
    for c in s:
        n = n * 62 + _INDEX[c]
    return n


class ShortUrlService:
    """``shorten(url) -> code`` and ``resolve(code) -> url``; ids come from a counter.

    ``scramble=False`` shows the naive mapping (``base62(id)``).
    """

    def __init__(self, key: bytes | str, *, width: int = 7, scramble: bool = True,
                 first_id: int = 1) -> None:
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 12:
            raise allowed("width", width, "an int in [1, 12]")
        self.width, self.scramble = width, bool(scramble)
        self.space = 62 ** width
        self._perm = FeistelPermutation(self.space, key)
        self.next_id = first_id
        self._urls: dict[int, str] = {}
        self._ids: dict[str, int] = {}

    def encode_id(self, ident: int) -> str:
        if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident < self.space:
            raise allowed("id", ident, f"an int in [0, 62**{self.width})")
        return base62_encode(self._perm.forward(ident) if self.scramble else ident, self.width)

    def decode_code(self, code: str) -> int:
        if not isinstance(code, str) or len(code) != self.width:
            raise allowed("code", code, f"{self.width} base-62 characters")
        n = base62_decode(code)
        return self._perm.inverse(n) if self.scramble else n

    def shorten(self, url: str) -> str:
        if not isinstance(url, str) or not url:
            raise allowed("url", url, "a non-empty str")
        ident = self._ids.get(url)
        if ident is None:
            ident = self._ids[url] = self.next_id
            self._urls[ident] = url
            self.next_id += 1
        return self.encode_id(ident)

    def resolve(self, code: str) -> str | None:
        """The long URL (a 301/302 redirect target), or None for an unknown code."""
        try:
            return self._urls.get(self.decode_code(code))
        except ValueError:
            return None


def shared_prefix_rate(codes: Sequence[str], k: int = 4) -> float:
    """Fraction of consecutive pairs whose first ``k`` characters are equal."""
    if len(codes) < 2:
        return 0.0
    return sum(a[:k] == b[:k] for a, b in itertools.pairwise(codes)) / (len(codes) - 1)
