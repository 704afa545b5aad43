"""Codecs: lossless round trips, clear errors on bad bytes, pickle's hazard refused."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.rpc.codec import (
    CODECS,
    CodecError,
    HessianLikeCodec,
    PickleCodec,
    ProtobufCodec,
    codec,
    order_message_class,
    pickle_gadget,
    pickle_globals,
)

scalars = st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | st.text(max_size=20) | \
    st.floats(allow_nan=False, allow_infinity=False)
data = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids,
                                                                                      max_size=4), max_leaves=15)


@settings(max_examples=150, deadline=None)
@given(data)
@pytest.mark.parametrize("name", ["json", "pickle", "msgpack", "hessianlike"])
def test_round_trip(name, value):
    c = codec(name)
    assert c.decode(c.encode(value)) == value


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-(2 ** 53), 2 ** 53) | st.text(max_size=10),
                    lambda k: st.lists(k, max_size=3) | st.dictionaries(st.text(max_size=5), k, max_size=3),
                    max_leaves=10))
def test_protobuf_value_round_trip(value):
    c = ProtobufCodec()
    assert c.decode(c.encode(value)) == value


def test_hessianlike_compact_ints_and_bytes():
    c = HessianLikeCodec()
    assert [len(c.encode(n)) for n in (-16, 0, 47, 48, -17)] == [1, 1, 1, 2, 2]
    assert c.decode(c.encode(b"\x00\xff")) == b"\x00\xff"


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=30))
@pytest.mark.parametrize("name", list(CODECS))
def test_garbage_is_a_codec_error_or_a_value(name, raw):
    try:
        codec(name).decode(raw)
    except CodecError:
        pass


def test_pickle_gadget_is_refused_without_running():
    gadget = pickle_gadget()
    assert pickle_globals(gadget) in (["posix.system"], ["nt.system"])
    with pytest.raises(CodecError, match="refused"):
        PickleCodec().decode(gadget)


def test_schema_protobuf_is_smallest_on_the_order():
    order = {"user_id": 1234567, "item": "book", "quantity": 2, "price": 19.99, "tags": ["gift", "prime"]}
    sizes = {n: len(codec(n).encode(order)) for n in CODECS}
    schema = len(ProtobufCodec(order_message_class()).encode(order))
    assert schema < min(sizes.values())
    assert sizes["hessianlike"] < sizes["json"] and sizes["msgpack"] < sizes["json"]
    assert ProtobufCodec(order_message_class()).decode(ProtobufCodec(order_message_class()).encode(order)) == order


def test_unknown_codec_and_unencodable_values():
    with pytest.raises(ValueError, match="hessianlike"):
        codec("kryo")
    with pytest.raises(CodecError):
        codec("hessianlike").encode(object())
    with pytest.raises(CodecError):
        codec("json").encode(float("nan"))


@pytest.mark.parametrize("name", ["json", "msgpack", "protobuf", "hessianlike", "pickle"])
def test_encoding_does_not_depend_on_the_hash_seed(name):
    """The same value encodes to the same bytes in every process: protobuf's Struct is a map,
    whose wire order followed Python's per-process string hashing until the codec asked for
    deterministic serialization."""
    import os
    import subprocess
    import sys

    script = ("from dscourse.rpc.codec import codec\n"
              "v = {'service': 'DemoService', 'method': 'sayHello', 'args': ['alice', 1, 2.5, None],\n"
              "     'attachments': {'k%d' % i: str(i) for i in range(12)}}\n"
              f"print(codec({name!r}).encode(v).hex())")
    outputs = set()
    for seed in ("1", "2", "3", "4"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.add(run.stdout)
    assert len(outputs) == 1, f"{name}: {len(outputs)} different encodings for 4 hash seeds"
