"""Key → hash slot, exactly as Redis Cluster computes it.

Redis Cluster Specification, "Key distribution model" and "Hash tags": ``HASH_SLOT =
CRC16(key) mod 16384`` with CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection);
if the key contains ``{`` and a ``}`` somewhere after the first ``{``, with at least one byte
between them, only the bytes between the first ``{`` and the first ``}`` after it are hashed.
So ``{user1000}.following`` and ``{user1000}.followers`` share a slot, ``{}`` and ``a{`` hash
whole, and ``{a}{b}`` hashes ``a``.
"""

from __future__ import annotations

from ..errors import allowed

SLOTS = 16384


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        out.append(crc & 0xFFFF)
    return tuple(out)


_TABLE = _table()


def crc16(data: bytes) -> int:
    """CRC16-XMODEM of ``data`` (the spec's reference: ``crc16(b"123456789") == 0x31C3``)."""
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def hash_tag(key: bytes) -> bytes:
    """The part of ``key`` that is hashed (the whole key unless it has a non-empty tag)."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1:end]
    return key


def key_slot(key: str | bytes) -> int:
    """The hash slot (0–16383) of ``key``; a ``str`` is encoded as UTF-8, as redis-py does."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    elif not isinstance(key, (bytes, bytearray, memoryview)):
        raise allowed("key", key, "a str or bytes")
    return crc16(hash_tag(bytes(key))) % SLOTS


def ranges(slots: set[int] | frozenset[int] | list[int]) -> tuple[tuple[int, int], ...]:
    """Slots as sorted inclusive ``(first, last)`` ranges, as ``CLUSTER NODES`` prints them."""
    out: list[list[int]] = []
    for s in sorted(slots):
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return tuple((a, b) for a, b in out)


def expand(rngs: tuple[tuple[int, int], ...]) -> set[int]:
    """The slots in ``(first, last)`` ranges."""
    return {s for a, b in rngs for s in range(a, b + 1)}
