"""UUIDs against RFC 9562 Appendix A/B vectors and Python's uuid; ObjectId layouts."""

import uuid

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.ids import (
    NAMESPACE_DNS,
    FakeClock,
    ObjectIdGenerator,
    TimeUUID,
    UUIDv7,
    objectid,
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

RFC_TS = 0x1EC9414C232AB00          # Tuesday, February 22, 2022 2:22:22.00 PM GMT-05:00
RFC_MS = 1_645_557_742_000


def test_rfc9562_appendix_vectors():
    assert str(uuid1_from(RFC_TS, 0x33C8, 0x9F6BDECED846)).upper() == "C232AB00-9414-11EC-B3C8-9F6BDECED846"
    assert str(uuid6_from(RFC_TS, 0x33C8, 0x9F6BDECED846)).upper() == "1EC9414C-232A-6B00-B3C8-9F6BDECED846"
    assert str(uuid7_from(0x017F22E279B0, 0xCC3, 0x18C4DC0C0C07398F)).upper() == \
        "017F22E2-79B0-7CC3-98C4-DC0C0C07398F"
    assert str(uuid8(0x2489E9AD2EE2, 0xE00, 0x0EC932D5F69181C0)).upper() == \
        "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0"
    assert str(uuid8_name(NAMESPACE_DNS, "www.example.com")) == "5c146b14-3c52-8afd-938a-375d0df1fbf6"
    assert str(uuid3(NAMESPACE_DNS, "www.example.com")) == "5df41881-3aed-3515-88a7-2f4a814cf09e"
    assert str(uuid5(NAMESPACE_DNS, "www.example.com")) == "2ed6657d-e927-568b-95e1-2665a8aea6a2"
    for u in (uuid1_from(RFC_TS, 0x33C8, 0x9F6BDECED846), uuid6_from(RFC_TS, 0x33C8, 0x9F6BDECED846),
              uuid7_from(0x017F22E279B0, 0xCC3, 0x18C4DC0C0C07398F)):
        assert timestamp_ms(u) == RFC_MS
    assert timestamp_ms(uuid3(NAMESPACE_DNS, "x")) is None


@given(name=st.text(max_size=40), ns=st.sampled_from([uuid.NAMESPACE_DNS, uuid.NAMESPACE_URL,
                                                      uuid.NAMESPACE_OID]))
def test_name_based_agree_with_python(name, ns):
    assert uuid3(ns, name) == uuid.uuid3(ns, name)
    assert uuid5(ns, name) == uuid.uuid5(ns, name)


@given(ts=st.integers(0, 2**60 - 1), cs=st.integers(0, 2**14 - 1), node=st.integers(0, 2**48 - 1))
def test_v1_agrees_with_python_fields(ts, cs, node):
    ours = uuid1_from(ts, cs, node)
    theirs = uuid.UUID(fields=(ts & 0xFFFFFFFF, (ts >> 32) & 0xFFFF, (ts >> 48) & 0x0FFF,
                               (cs >> 8) & 0x3F, cs & 0xFF, node), version=1)
    assert ours == theirs
    assert (ours.time, ours.clock_seq, ours.node, ours.version, ours.variant) == \
        (ts, cs, node, 1, uuid.RFC_4122)
    v6 = uuid6_from(ts, cs, node)
    assert version(v6) == 6 and v6.variant == uuid.RFC_4122 and timestamp_ms(v6) == timestamp_ms(ours)


@given(seed=st.integers(0, 2**32 - 1))
def test_v4_is_python_v4_of_the_same_bits(seed):
    u = uuid4(np.random.default_rng(seed))
    assert u == uuid.UUID(int=ds.ids.uuids.random_bits(np.random.default_rng(seed), 128), version=4)
    assert u.version == 4 and u.variant == uuid.RFC_4122 and len(str(u)) == 36 and len(u.bytes) == 16


@given(seed=st.integers(0, 2**32 - 1), steps=st.lists(st.integers(-3, 3), max_size=40))
def test_v7_monotonic_per_generator_even_under_rollback(seed, steps):
    clock = FakeClock(RFC_MS)
    gen = UUIDv7(clock, np.random.default_rng(seed))
    out = []
    for s in steps:
        if s > 0:
            clock.advance(s)
        elif s < 0:
            clock.step_back(-s)
        out += [gen.next() for _ in range(3)]
    assert out == sorted(out) and len(set(out)) == len(out)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in out)


def test_v7_timestamp_matches_clock_and_rfc_vector_prefix():
    gen = UUIDv7(FakeClock(RFC_MS), np.random.default_rng(0))
    u = gen.next()
    assert str(u).upper().startswith("017F22E2-79B0-7")
    assert timestamp_ms(u) == RFC_MS


@pytest.mark.parametrize("v", [1, 6])
def test_time_uuids_survive_clock_rollback_with_a_new_clock_seq(v):
    clock = FakeClock(RFC_MS)
    gen = TimeUUID(clock, np.random.default_rng(3), version=v)
    seen = [gen.next() for _ in range(50)]
    clock.step_back(2)
    seen += [gen.next() for _ in range(50)]
    assert len(set(seen)) == 100
    assert all(u.version == v and (u.node >> 40) & 1 for u in seen)  # multicast bit: not a MAC
    if v == 6:
        assert seen[:50] == sorted(seen[:50])


def test_objectid_current_layout_round_trip():
    clock = FakeClock(RFC_MS)
    gen = ObjectIdGenerator(clock, np.random.default_rng(1))
    a, b = gen.next(), gen.next()
    pa, pb = objectid.decode(a), objectid.decode(b.hex())
    assert len(a) == 12 and pa.seconds == RFC_MS // 1000
    assert pa.process_random == pb.process_random < 2**40
    assert pb.counter == (pa.counter + 1) % 2**24
    assert objectid.encode(*pa) == a
    gen.counter = 2**24 - 1
    assert objectid.decode(gen.next()).counter == 2**24 - 1 and gen.counter == 0


@given(s=st.integers(0, 2**32 - 1), r=st.integers(0, 2**40 - 1), c=st.integers(0, 2**24 - 1))
def test_objectid_codec_round_trips(s, r, c):
    raw = objectid.encode(s, r, c)
    assert objectid.decode(raw) == (s, r, c) == objectid.decode(raw.hex())
    legacy = objectid.decode_legacy(raw)
    assert legacy.seconds == s and (legacy.machine << 16 | legacy.pid) == r and legacy.counter == c


def test_objectid_legacy_decoder_on_the_manual_example():
    parts = objectid.decode_legacy("507f1f77bcf86cd799439011")
    assert parts == (0x507F1F77, 0xBCF86C, 0xD799, 0x439011)
    assert objectid.decode("507f1f77bcf86cd799439011").process_random == 0xBCF86CD799


@pytest.mark.parametrize("call, match", [
    (lambda: uuid1_from(2**60, 0, 0), "timestamp=.*2\\*\\*60"),
    (lambda: uuid6_from(0, 2**14, 0), "clock_seq=16384"),
    (lambda: uuid7_from(0, 4096, 0), "rand_a=4096"),
    (lambda: uuid8(0, 0, 2**62), "custom_c"),
    (lambda: uuid3("dns", "x"), "namespace='dns'"),
    (lambda: uuid5(NAMESPACE_DNS, 5), "name=5"),
    (lambda: uuid8_name(NAMESPACE_DNS, "x", "crc32"), "algorithm='crc32'"),
    (lambda: uuid4(42), "rng=42"),
    (lambda: TimeUUID(FakeClock(), np.random.default_rng(0), version=7), "version=7"),
    (lambda: objectid.decode("xyz"), "12 bytes or 24 hex"),
    (lambda: objectid.decode(b"short"), "12 bytes"),
    (lambda: objectid.encode(2**32, 0, 0), "seconds="),
    (lambda: FakeClock(1.5), "start_ms=1.5"),
    (lambda: FakeClock().step_back(0), "step_back ms=0"),
    (lambda: FakeClock().advance(-1), "advance ms=-1"),
])
def test_bad_input(call, match):
    with pytest.raises(ds.ConfigError, match=match):
        call()
