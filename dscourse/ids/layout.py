"""Snowflake bit layouts: which fields, how wide, in what order, from which epoch.

Twitter's Snowflake (2010) packs a 64-bit signed integer as sign 1 | timestamp 41 (ms since
its epoch 2010-11-04T01:42:54.657Z) | datacenter 5 | worker 5 | sequence 12. Variants move
or resize the fields: Leaf-snowflake uses a 10-bit worker id; Baidu's UidGenerator uses
seconds, 1 | 28 | 22 | 13; Seata's improved generator puts the worker id *above* the
timestamp, 1 | 10 | 41 | 12, so that timestamp and sequence form one counter. A layout lists
its fields from the most significant bit down; the widths sum to 63 (the sign bit stays 0,
so ids are positive Java ``long``\\ s) or 64 (all bits used, unsigned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed

FIELD_NAMES = ("timestamp", "datacenter", "worker", "sequence", "business")
TWITTER_EPOCH_MS = 1_288_834_974_657
SEATA_EPOCH_MS = 1_588_435_200_000  # 2020-05-03, Seata's IdWorker twepoch
UIDGEN_EPOCH_MS = 1_463_702_400_000  # 2016-05-20 00:00 UTC, UidGenerator's default epochStr
MS_PER_YEAR = 365.25 * 24 * 3600 * 1000


def _int(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise allowed(what, value, "an int")
    return value


@dataclass(frozen=True)
class Layout:
    """A Snowflake-style layout: ``fields`` as ``(name, bits)`` pairs, most significant first.

    ``unit_ms`` is the timestamp's tick (1 for ms, 1000 for UidGenerator's seconds).
    """

    fields: tuple[tuple[str, int], ...]
    epoch_ms: int = TWITTER_EPOCH_MS
    unit_ms: int = 1
    name: str = "custom"

    def __post_init__(self) -> None:
        try:
            pairs = tuple((str(n), b) for n, b in self.fields)
        except (TypeError, ValueError):
            raise allowed("layout fields", self.fields,
                          "(name, bits) pairs, e.g. (('timestamp', 41), ('worker', 10), "
                          "('sequence', 12))") from None
        names = [n for n, _ in pairs]
        for n, b in pairs:
            if n not in FIELD_NAMES:
                raise allowed("layout field", n, f"one of {', '.join(FIELD_NAMES)}")
            if _int(f"bits of {n}", b) < 1:
                raise allowed(f"bits of {n}", b, "at least 1 bit (leave the field out instead)")
        if len(set(names)) != len(names):
            raise allowed("layout fields", names, "each field at most once")
        for needed in ("timestamp", "sequence"):
            if needed not in names:
                raise allowed("layout fields", names, f"a {needed!r} field")
        total = sum(b for _, b in pairs)
        if total not in (63, 64):
            raise allowed("layout bit total", total,
                          "63 (sign bit kept 0) or 64 (unsigned): "
                          + " + ".join(f"{n} {b}" for n, b in pairs))
        _int("epoch_ms", self.epoch_ms)
        if _int("unit_ms", self.unit_ms) < 1:
            raise allowed("unit_ms", self.unit_ms, "a tick of at least 1 ms")
        object.__setattr__(self, "fields", pairs)

    # -- geometry ----------------------------------------------------------------------------
    @property
    def total_bits(self) -> int:
        return sum(b for _, b in self.fields)

    def bits(self, name: str) -> int:
        """Width of field ``name`` (0 if the layout has no such field)."""
        return dict(self.fields).get(name, 0)

    def shift(self, name: str) -> int:
        """Position of field ``name``'s least significant bit."""
        if name not in dict(self.fields):
            raise allowed("field", name, f"one of {', '.join(n for n, _ in self.fields)}")
        shift = self.total_bits
        for n, b in self.fields:
            shift -= b
            if n == name:
                return shift
        raise AssertionError("unreachable")

    def limit(self, name: str) -> int:
        """The number of values field ``name`` can hold (2**bits; 1 if absent)."""
        return 1 << self.bits(name)

    @property
    def lifetime_years(self) -> float:
        """How long the timestamp lasts from the epoch."""
        return self.limit("timestamp") * self.unit_ms / MS_PER_YEAR

    @property
    def max_workers(self) -> int:
        """Distinct generators: 2**(datacenter + worker bits)."""
        return self.limit("datacenter") * self.limit("worker")

    @property
    def ids_per_ms(self) -> float:
        """Per-generator capacity: sequence values per tick divided by the tick length."""
        return self.limit("sequence") / self.unit_ms

    @property
    def sequence_lowest(self) -> bool:
        """True when the sequence is the least significant field (ids in a tick are consecutive)."""
        return self.fields[-1][0] == "sequence"

    # -- codec -------------------------------------------------------------------------------
    def encode(self, **values: int) -> int:
        """Pack field values (missing fields are 0); each must fit its width."""
        out = 0
        known = dict(self.fields)
        for key in values:
            if key not in known:
                raise allowed("field", key, f"one of {', '.join(known)}")
        for name, bits in self.fields:
            v = _int(name, values.get(name, 0))
            if not 0 <= v < (1 << bits):
                raise allowed(name, v, f"0 <= {name} < {1 << bits} ({bits} bits)")
            out = (out << bits) | v
        return out

    def decode(self, ident: int) -> dict[str, int]:
        """Unpack an id into its fields plus ``time_ms`` (Unix ms of its timestamp)."""
        ident = _int("id", ident)
        if not 0 <= ident < (1 << self.total_bits):
            raise allowed("id", ident, f"0 <= id < 2**{self.total_bits}")
        out: dict[str, int] = {}
        for name, bits in reversed(self.fields):
            out[name] = ident & ((1 << bits) - 1)
            ident >>= bits
        ordered = {n: out[n] for n, _ in self.fields}
        ordered["time_ms"] = self.epoch_ms + ordered["timestamp"] * self.unit_ms
        return ordered

    def describe(self) -> str:
        """One line: the fields, lifetime, workers and capacity."""
        parts = " | ".join(f"{n} {b}" for n, b in self.fields)
        sign = "sign 1 | " if self.total_bits == 63 else ""
        return (f"{self.name}: {sign}{parts}; lifetime {self.lifetime_years:.1f} years, "
                f"{self.max_workers} workers, {self.ids_per_ms:g} ids/ms per worker")


def layout(timestamp: int = 41, worker: int = 10, sequence: int = 12, *, datacenter: int = 0,
           business: int = 0, epoch_ms: int = TWITTER_EPOCH_MS, unit_ms: int = 1,
           name: str = "custom") -> Layout:
    """Build the common order timestamp | datacenter | worker | business | sequence."""
    spec: list[tuple[str, Any]] = [("timestamp", timestamp), ("datacenter", datacenter),
                                   ("worker", worker), ("business", business),
                                   ("sequence", sequence)]
    return Layout(tuple((n, b) for n, b in spec if b != 0 or n in ("timestamp", "sequence")),
                  epoch_ms=epoch_ms, unit_ms=unit_ms, name=name)


TWITTER = Layout((("timestamp", 41), ("datacenter", 5), ("worker", 5), ("sequence", 12)),
                 name="twitter")
LEAF = Layout((("timestamp", 41), ("worker", 10), ("sequence", 12)), name="leaf")
SEATA = Layout((("worker", 10), ("timestamp", 41), ("sequence", 12)), epoch_ms=SEATA_EPOCH_MS,
               name="seata")
UIDGENERATOR = Layout((("timestamp", 28), ("worker", 22), ("sequence", 13)),
                      epoch_ms=UIDGEN_EPOCH_MS, unit_ms=1000, name="uidgenerator")
PRESETS = {p.name: p for p in (TWITTER, LEAF, SEATA, UIDGENERATOR)}
