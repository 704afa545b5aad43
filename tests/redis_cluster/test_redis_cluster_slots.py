"""key_slot against redis-py's own implementation (``redis.crc.key_slot``)."""

import pytest
import redis.crc as redis_crc  # redis-py, from the dev extra: the conformance reference
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.redis_cluster import key_slot
from dscourse.redis_cluster.slots import crc16, expand, ranges

EDGE = [b"", "", b"{}", "{}", b"{a}{b}", b"a{", b"{", b"}", b"}{", b"{}a", b"a{}", b"{a}",
        b"foo{}{bar}", b"foo{{bar}}zap", b"foo{bar}{zap}", b"{user1000}.following",
        "{user1000}.followers", "ключ{тег}", b"\xff\x00{\x00}", b"123456789"]


@pytest.mark.parametrize("key", EDGE)
def test_edge_cases_match_redis_py(key):
    raw = key.encode() if isinstance(key, str) else key
    assert key_slot(key) == redis_crc.key_slot(raw)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=40), st.text(max_size=30),
                 st.builds(lambda a, b, c: a + "{" + b + "}" + c, st.text(max_size=5),
                           st.text(max_size=5), st.text(max_size=5))))
def test_random_keys_match_redis_py(key):
    raw = key.encode() if isinstance(key, str) else key
    assert key_slot(key) == redis_crc.key_slot(raw)


def test_spec_reference_values():
    assert crc16(b"123456789") == 0x31C3          # the spec's CRC16 test vector
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers")
    assert key_slot("{}x") != key_slot("{}y")     # an empty tag hashes the whole key


def test_bad_key_type_is_rejected():
    with pytest.raises(ValueError, match="str or bytes"):
        key_slot(42)


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(0, 16383), max_size=200))
def test_ranges_round_trip(slots):
    r = ranges(slots)
    assert expand(r) == slots
    assert all(a <= b for a, b in r) and all(r[i][1] + 1 < r[i + 1][0] for i in range(len(r) - 1))
