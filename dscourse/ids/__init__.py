"""dscourse.ids: distributed ID generators, simulated and measured (Chapter 10).

Local generators (clock injected, randomness from numpy Generators): :class:`Snowflake`
with configurable :class:`Layout` (presets ``TWITTER``, ``LEAF``, ``SEATA``,
``UIDGENERATOR``) and rollback policies; UUID v1/v3/v4/v5/v6/v7/v8 (RFC 9562); MongoDB
ObjectId. Simulated services on ``dscourse.sim``: :class:`Database`, auto-increment clients,
Leaf double-buffer and Tinyid segment allocators, Redis ``INCR`` clients, Leaf-snowflake with
worker ids from ZooKeeper (``ds.zk``); :func:`cluster` builds any of them in one line (an :class:`IdCluster`). Analysis:
:func:`k_sortedness`, :class:`BPlusTree` page splits, :func:`birthday_probability`.
"""

from .._lazy import lazy
from . import objectid
from .allocator import Allocator
from .analysis import (
    BPlusTree,
    BPlusTreeStats,
    birthday_probability,
    ids_per_second,
    inversion_rate,
    k_sortedness,
    measured_collision_rate,
    page_splits,
)
from .autoincrement import AutoIncrementClient
from .clock import Clock, FakeClock, NodeClock, WallClock, valid_clock
from .cluster import KINDS, IdCluster, RedisCrash, cluster, duplicates, redis_crash
from .db import Database
from .errors import ClockRollbackError, ExhaustedError
from .layout import LEAF, PRESETS, SEATA, TWITTER, TWITTER_EPOCH_MS, UIDGENERATOR, Layout, layout
from .leaf_snowflake import LeafSnowflakeNode, ZooKeeperConnector
from .messages import Issued
from .objectid import ObjectIdGenerator
from .redis_incr import RedisIncrClient
from .segment import LeafSegmentAllocator, Segment, TinyidAllocator, leaf_next_step, tinyid_segment
from .snowflake import POLICIES, Snowflake, Wait
from .uuids import (
    NAMESPACE_DNS,
    NAMESPACE_URL,
    TimeUUID,
    UUIDv7,
    random_bits,
    timestamp_ms,
    uuid1_from,
    uuid3,
    uuid4,
    uuid5,
    uuid6_from,
    uuid7_from,
    uuid8,
    uuid8_name,
    version,
)

__all__ = [
    "KINDS", "LEAF", "NAMESPACE_DNS", "NAMESPACE_URL", "POLICIES", "PRESETS", "SEATA",
    "TWITTER", "TWITTER_EPOCH_MS", "UIDGENERATOR", "Allocator", "AutoIncrementClient",
    "BPlusTree", "BPlusTreeStats", "Clock", "ClockRollbackError", "Database", "ExhaustedError",
    "FakeClock", "IdCluster", "Issued", "Layout", "LeafSegmentAllocator", "LeafSnowflakeNode",
    "NodeClock", "ObjectIdGenerator", "RedisCrash", "RedisIncrClient", "Segment", "Snowflake", "TimeUUID",
    "TinyidAllocator", "UUIDv7", "Wait", "WallClock", "ZooKeeperConnector", "birthday_probability",
    "cluster", "duplicates", "exercises", "ids_per_second", "inversion_rate", "k_sortedness",
    "labs", "layout", "leaf_next_step", "measured_collision_rate", "objectid", "page_splits",
    "random_bits", "redis_crash", "timestamp_ms", "tinyid_segment", "uuid1_from", "uuid3", "uuid4", "uuid5",
    "uuid6_from", "uuid7_from", "uuid8", "uuid8_name", "valid_clock", "version",
]


# labs (widgets, matplotlib) and exercises (grading harnesses) load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises"))
