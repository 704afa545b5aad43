"""UUIDs per RFC 9562 (May 2024; obsoletes RFC 4122): versions 1, 3, 4, 5, 6, 7 and 8.

Builders (``uuid1_from`` ... ``uuid8``) turn field values into a :class:`uuid.UUID` and are
checked against the RFC's Appendix A test vectors; name-based versions hash
(``uuid3``: MD5, ``uuid5``: SHA-1, ``uuid8_name``: SHA-256 per Appendix B.2). Generators
(:class:`TimeUUID` for v1/v6, :class:`UUIDv7`, :func:`uuid4`) take an injectable clock and a
numpy Generator, never the wall clock or ``os.urandom``, so runs are reproducible.
The canonical text form is 36 characters (32 hex digits and 4 hyphens); the binary form is
16 bytes; the variant bits are ``10`` (RFC 9562 §4.1) and the version sits in bits 48-51.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import numpy as np

from ..errors import allowed
from .clock import Clock, valid_clock

GREGORIAN_OFFSET_100NS = 0x01B21DD213814000  # 1582-10-15 to 1970-01-01 in 100 ns (§5.1)
NAMESPACE_DNS = uuid.NAMESPACE_DNS
NAMESPACE_URL = uuid.NAMESPACE_URL


def _field(what: str, value: object, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise allowed(what, value, f"an int in [0, 2**{bits})")
    return value


def _stamp(value: int, version: int) -> uuid.UUID:
    """Set the version nibble and the RFC variant (10) on a 128-bit integer."""
    value &= ~(0xF << 76)
    value |= version << 76
    value &= ~(0x3 << 62)
    value |= 0x2 << 62
    return uuid.UUID(int=value)


def _rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise allowed("rng", rng, "a numpy Generator (e.g. sim.rng('uuid'))")
    return rng


def random_bits(rng: np.random.Generator, bits: int) -> int:
    """``bits`` uniformly random bits from ``rng`` as a Python int."""
    nbytes = (bits + 7) // 8
    return int.from_bytes(_rng(rng).bytes(nbytes), "big") >> (8 * nbytes - bits)


# -- builders ----------------------------------------------------------------------------
def uuid1_from(timestamp: int, clock_seq: int, node: int) -> uuid.UUID:
    """v1 (§5.1): 60-bit Gregorian 100-ns timestamp split low/mid/high, 14-bit clock_seq, node."""
    ts = _field("timestamp", timestamp, 60)
    cs = _field("clock_seq", clock_seq, 14)
    nd = _field("node", node, 48)
    value = ((ts & 0xFFFFFFFF) << 96) | (((ts >> 32) & 0xFFFF) << 80) | ((ts >> 48) << 64)
    return _stamp(value | (cs << 48) | nd, 1)


def uuid6_from(timestamp: int, clock_seq: int, node: int) -> uuid.UUID:
    """v6 (§5.6): v1's fields with the timestamp reordered most significant first."""
    ts = _field("timestamp", timestamp, 60)
    cs = _field("clock_seq", clock_seq, 14)
    nd = _field("node", node, 48)
    value = ((ts >> 12) << 80) | ((ts & 0xFFF) << 64)
    return _stamp(value | (cs << 48) | nd, 6)


def uuid7_from(unix_ts_ms: int, rand_a: int, rand_b: int) -> uuid.UUID:
    """v7 (§5.7): 48-bit Unix ms, 12 bits ``rand_a``, 62 bits ``rand_b``."""
    ms = _field("unix_ts_ms", unix_ts_ms, 48)
    a = _field("rand_a", rand_a, 12)
    b = _field("rand_b", rand_b, 62)
    return _stamp((ms << 80) | (a << 64) | b, 7)


def uuid8(custom_a: int, custom_b: int, custom_c: int) -> uuid.UUID:
    """v8 (§5.8): 48 + 12 + 62 vendor-defined bits."""
    a = _field("custom_a", custom_a, 48)
    b = _field("custom_b", custom_b, 12)
    c = _field("custom_c", custom_c, 62)
    return _stamp((a << 80) | (b << 64) | c, 8)


def _namespace(ns: object) -> uuid.UUID:
    if not isinstance(ns, uuid.UUID):
        raise allowed("namespace", ns, "a uuid.UUID such as ds.ids.NAMESPACE_DNS")
    return ns


def _name(name: object) -> bytes:
    if isinstance(name, str):
        return name.encode("utf-8")
    if isinstance(name, bytes):
        return name
    raise allowed("name", name, "a str or bytes")


def _hashed(algorithm: str, ns: Any, name: Any, version: int) -> uuid.UUID:
    digest = hashlib.new(algorithm, _namespace(ns).bytes + _name(name)).digest()[:16]
    return _stamp(int.from_bytes(digest, "big"), version)


def uuid3(namespace: uuid.UUID, name: str | bytes) -> uuid.UUID:
    """v3 (§5.3): MD5 of namespace + name."""
    return _hashed("md5", namespace, name, 3)


def uuid5(namespace: uuid.UUID, name: str | bytes) -> uuid.UUID:
    """v5 (§5.5): SHA-1 of namespace + name, truncated to 128 bits."""
    return _hashed("sha1", namespace, name, 5)


def uuid8_name(namespace: uuid.UUID, name: str | bytes, algorithm: str = "sha256") -> uuid.UUID:
    """v8 name-based (Appendix B.2): like v5 with a modern hash (SHA-256 by default)."""
    if algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake"):
        raise allowed("algorithm", algorithm, "a hashlib algorithm such as 'sha256'")
    return _hashed(algorithm, namespace, name, 8)


def uuid4(rng: np.random.Generator) -> uuid.UUID:
    """v4 (§5.4): 122 random bits from ``rng`` (a seeded numpy Generator)."""
    return _stamp(random_bits(rng, 128), 4)


# -- decoding ----------------------------------------------------------------------------
def version(u: uuid.UUID) -> int:
    """The version nibble."""
    return (u.int >> 76) & 0xF


def timestamp_ms(u: uuid.UUID) -> int | None:
    """Unix milliseconds embedded in a v1, v6 or v7 UUID (``None`` for other versions)."""
    v = version(u)
    if v == 7:
        return u.int >> 80
    if v in (1, 6):
        x = u.int >> 64
        if v == 1:
            ts = ((x & 0xFFF) << 48) | (((x >> 16) & 0xFFFF) << 32) | (x >> 32)
        else:
            ts = ((x >> 16) << 12) | (x & 0xFFF)
        return (ts - GREGORIAN_OFFSET_100NS) // 10_000
    return None


# -- stateful generators -----------------------------------------------------------------
class TimeUUID:
    """v1 or v6 generator (§5.1, §6.1): 100-ns ticks derived from an injectable ms clock.

    Within one clock millisecond it adds a sub-tick counter (up to 10,000 per ms). If the
    clock goes backwards, the 14-bit clock sequence is incremented, which is exactly what
    keeps time-based UUIDs unique across a clock fault. ``node`` defaults to a random 48-bit
    value with the multicast bit set (§6.10), instead of leaking a MAC address.
    """

    def __init__(self, clock: Clock, rng: np.random.Generator, version: int = 6,
                 node: int | None = None) -> None:
        if version not in (1, 6):
            raise allowed("version", version, "1 or 6")
        self.clock = valid_clock(clock)
        self.rng = _rng(rng)
        self.version = version
        self.node = (random_bits(rng, 48) | (1 << 40)) if node is None else _field("node", node, 48)
        self.clock_seq = random_bits(rng, 14)
        self._last = -1

    def next(self) -> uuid.UUID:
        ts = self.clock.ms() * 10_000 + GREGORIAN_OFFSET_100NS
        if ts <= self._last:
            if ts // 10_000 == self._last // 10_000 and self._last % 10_000 < 9_999:
                ts = self._last + 1  # same millisecond: next 100-ns tick
            else:  # the clock went back (or the ms is full): new clock sequence
                self.clock_seq = (self.clock_seq + 1) & 0x3FFF
        self._last = ts
        build = uuid1_from if self.version == 1 else uuid6_from
        return build(ts, self.clock_seq, self.node)


class UUIDv7:
    """v7 generator, monotonic per generator (§6.2 Method 1, as in CPython 3.14's uuid7).

    A 42-bit counter (``rand_a`` and the top 30 bits of ``rand_b``) is re-seeded randomly
    with its top bit clear in each new millisecond and incremented within it; the remaining
    32 bits are fresh random. If the counter overflows, or the clock steps back, the
    timestamp is advanced past the last one instead, so ids never decrease.
    """

    def __init__(self, clock: Clock, rng: np.random.Generator) -> None:
        self.clock = valid_clock(clock)
        self.rng = _rng(rng)
        self._last_ms = -1
        self._counter = 0

    def next(self) -> uuid.UUID:
        ms = self.clock.ms()
        if ms > self._last_ms:
            self._counter = random_bits(self.rng, 41)
        else:
            self._counter += 1
            if self._counter >> 42:
                ms = self._last_ms + 1
                self._counter = random_bits(self.rng, 41)
            else:
                ms = self._last_ms
        self._last_ms = ms
        tail = random_bits(self.rng, 32)
        return uuid7_from(ms, self._counter >> 30, ((self._counter & ((1 << 30) - 1)) << 32) | tail)
