"""Benchmark: ids per second for each generator, against Python's ``uuid.uuid4()`` in the same run;
bytes per id; B+-tree page splits per 1,000 inserts into a clustered index.

Run: ``.venv/bin/python benchmarks/bench_ids.py [--n 200000]``. Throughput is wall-clock and
machine-dependent (this is a benchmark, not a test); the index columns are deterministic.
The Snowflake generators here use the real clock (``WallClock``), so the batch API is
limited by the design's 4,096 ids per millisecond per worker.
"""

from __future__ import annotations

import argparse
import uuid

import numpy as np

from dscourse.idesign import CouponCodec, ShortUrlService
from dscourse.ids import (
    LEAF,
    SEATA,
    TWITTER,
    FakeClock,
    ObjectIdGenerator,
    Snowflake,
    TimeUUID,
    UUIDv7,
    WallClock,
    ids_per_second,
    k_sortedness,
    page_splits,
    uuid4,
)


def throughput(n: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    wall = WallClock()
    sf = Snowflake(TWITTER, worker=1, clock=wall)
    sf_batch = Snowflake(TWITTER, worker=2, clock=wall)
    leaf = Snowflake(LEAF, worker=3, clock=wall, policy="wait", random_start=100, rng=rng)
    seata = Snowflake(SEATA, worker=4, clock=wall, policy="logical")
    v7 = UUIDv7(wall, np.random.default_rng(1))
    v6 = TimeUUID(wall, np.random.default_rng(2), version=6)
    oid = ObjectIdGenerator(wall, np.random.default_rng(3))
    coupon = CouponCodec(b"bench-key")
    short = ShortUrlService(b"bench-key")
    counter = iter(range(10**12))
    rows = [("uuid.uuid4() [baseline]", ids_per_second(uuid.uuid4, n))]
    rows += [
        ("snowflake twitter next_id()", ids_per_second(sf.next_id, n)),
        ("snowflake twitter next_ids(n) batch", ids_per_second(None, n, batch=sf_batch.next_ids)),
        ("leaf-snowflake (wait, random start)", ids_per_second(leaf.next_id, n)),
        ("seata (logical clock)", ids_per_second(seata.next_id, n)),
        ("uuid4 from a numpy Generator", ids_per_second(lambda: uuid4(rng), n // 4)),
        ("uuid v7 (monotonic)", ids_per_second(v7.next, n // 4)),
        ("uuid v6", ids_per_second(v6.next, n // 4)),
        ("uuid.uuid1() [stdlib]", ids_per_second(uuid.uuid1, n // 4)),
        ("objectid", ids_per_second(oid.next, n // 4)),
        ("coupon encode (HMAC + Feistel)",
         ids_per_second(lambda: coupon.encode(10000, next(counter) % 2**30), n // 10)),
        ("short url encode (Feistel + base62)",
         ids_per_second(lambda: short.encode_id(next(counter) % 62**7), n // 10)),
    ]
    return rows


def index_locality(n: int) -> list[tuple[str, int, float, float, int]]:
    """(scheme, bytes per id, splits per 1,000 inserts, leaf fill, tail share, k-sortedness)."""
    clock = FakeClock()
    rng = np.random.default_rng(7)
    workers = [Snowflake(TWITTER, worker=w, clock=clock) for w in range(8)]
    v7s = [UUIDv7(clock, np.random.default_rng(w)) for w in range(8)]
    oids = [ObjectIdGenerator(clock, np.random.default_rng(100 + w)) for w in range(8)]
    schemes: dict[str, tuple[int, list]] = {"auto-increment / segment (BIGINT)": (8, []),
                                            "snowflake, 8 workers": (8, []),
                                            "objectid, 8 processes": (12, []),
                                            "uuid v7, 8 generators": (16, []),
                                            "uuid v4 (random)": (16, []),
                                            "uuid v4 as CHAR(36)": (36, [])}
    for i in range(n):
        if i % 20 == 0:
            clock.advance(1)
        w = int(rng.integers(8))
        schemes["auto-increment / segment (BIGINT)"][1].append(i + 1)
        schemes["snowflake, 8 workers"][1].append(workers[w].next_id())
        schemes["objectid, 8 processes"][1].append(oids[w].next())
        schemes["uuid v7, 8 generators"][1].append(v7s[w].next().bytes)
        u = uuid4(rng)
        schemes["uuid v4 (random)"][1].append(u.bytes)
        schemes["uuid v4 as CHAR(36)"][1].append(str(u))
    out = []
    for name, (size, keys) in schemes.items():
        st = page_splits(keys, key_bytes=size)
        out.append((name, size, st.splits_per_1000, st.fill, st.tail_fraction, k_sortedness(keys)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="ids per throughput measurement")
    ap.add_argument("--index-n", type=int, default=20_000, help="inserts per index measurement")
    args = ap.parse_args()
    rows = throughput(args.n)
    base = rows[0][1]
    print(f"{'generator':40s} {'ids/s':>12s} {'x uuid4()':>10s}")
    for name, rate in rows:
        print(f"{name:40s} {rate:12,.0f} {rate / base:10.2f}")
    print(f"\nTwitter layout design limit: {TWITTER.ids_per_ms * 1000:,.0f} ids/s per worker")
    print(f"\n{'scheme':36s} {'bytes/id':>8s} {'splits/1000':>12s} {'leaf fill':>10s} "
          f"{'tail share':>10s} {'k-sorted':>9s}")
    for name, size, splits, fill, tail, k in index_locality(args.index_n):
        print(f"{name:36s} {size:8d} {splits:12.1f} {fill:10.2f} {tail:10.2f} {k:9d}")


if __name__ == "__main__":
    main()
