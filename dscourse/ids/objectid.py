"""MongoDB ObjectId: the current 12-byte layout, and a decoder for the legacy one.

Current layout (MongoDB Specifications, "BSON ObjectID"; MongoDB Manual, "ObjectId"):
bytes 0-3 a big-endian timestamp in *seconds* since the Unix epoch, bytes 4-8 a 5-byte
random value generated once per process, bytes 9-11 a big-endian counter that starts at a
random value and wraps at 2**24. Legacy drivers (before 2019) used bytes 4-6 for a machine
hash and bytes 7-8 for the process id (:func:`decode_legacy`). Since the timestamp has
one-second granularity and the counter starts at random, ObjectIds are only roughly ordered.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import allowed
from .clock import Clock, valid_clock
from .uuids import random_bits

COUNTER_MOD = 1 << 24


class ObjectIdParts(NamedTuple):
    seconds: int
    process_random: int
    counter: int


class LegacyObjectIdParts(NamedTuple):
    seconds: int
    machine: int
    pid: int
    counter: int


def _oid(oid: object) -> bytes:
    if isinstance(oid, str):
        try:
            raw = bytes.fromhex(oid)
        except ValueError:
            raw = b""
        if len(raw) == 12 and len(oid) == 24:
            return raw
    elif isinstance(oid, (bytes, bytearray)) and len(oid) == 12:
        return bytes(oid)
    raise allowed("ObjectId", oid, "12 bytes or 24 hex characters")


def encode(seconds: int, process_random: int, counter: int) -> bytes:
    """Pack the three fields into 12 bytes."""
    for what, v, bits in (("seconds", seconds, 32), ("process_random", process_random, 40),
                          ("counter", counter, 24)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < (1 << bits):
            raise allowed(what, v, f"an int in [0, 2**{bits})")
    return seconds.to_bytes(4, "big") + process_random.to_bytes(5, "big") + counter.to_bytes(3, "big")


def decode(oid: bytes | str) -> ObjectIdParts:
    """Split an ObjectId (bytes or hex) by the current layout."""
    raw = _oid(oid)
    return ObjectIdParts(int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:9], "big"),
                         int.from_bytes(raw[9:], "big"))


def decode_legacy(oid: bytes | str) -> LegacyObjectIdParts:
    """Split an ObjectId by the legacy layout: 4 seconds, 3 machine, 2 pid, 3 counter."""
    raw = _oid(oid)
    return LegacyObjectIdParts(int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:7], "big"),
                               int.from_bytes(raw[7:9], "big"), int.from_bytes(raw[9:], "big"))


class ObjectIdGenerator:
    """One "process": its 5-byte random value and counter start come from ``rng``."""

    def __init__(self, clock: Clock, rng: np.random.Generator) -> None:
        self.clock = valid_clock(clock)
        self.process_random = random_bits(rng, 40)
        self.counter = random_bits(rng, 24)

    def next(self) -> bytes:
        """12 bytes: seconds, this process's random value, counter (then counter += 1)."""
        seconds = (self.clock.ms() // 1000) % (1 << 32)
        out = encode(seconds, self.process_random, self.counter)
        self.counter = (self.counter + 1) % COUNTER_MOD
        return out

    def next_hex(self) -> str:
        return self.next().hex()
