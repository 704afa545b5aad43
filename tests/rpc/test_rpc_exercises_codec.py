"""E12.6 harness: the reference is protobuf's wire format (checked against google.protobuf), a
right answer passes every property on many seeds, each typical wrong answer fails exactly the
property it breaks, the stub is not implemented, bad shapes give a clear message."""

import json

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from dscourse.rpc import exercises_codec as C
from dscourse.rpc.codec import CodecError, codec
from dscourse.sim import stream

# -- the master's answer (as in exercises/source/ch12.ipynb), and wrong ones ---------------------------


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def is_len(t):
    return isinstance(t, list) or t in ("string", "bytes")


def value_bytes(t, v, how):
    if isinstance(t, list):
        body = encode(t, v, **how)
        return prefix(len(body), how) + body
    if t == "uint64":
        if type(v) is not int or not 0 <= v < 2 ** 64:
            raise ValueError(f"uint64 needs an int in [0, 2**64), not {v!r}")
        return varint(v)
    if t == "sint64":
        if type(v) is not int or not -2 ** 63 <= v < 2 ** 63:
            raise ValueError(f"sint64 needs an int in [-2**63, 2**63), not {v!r}")
        return varint((v << 1) ^ (v >> 63) if how.get("zigzag", True) else v % 2 ** 64)
    if t == "bool":
        if type(v) is not bool:
            raise ValueError(f"bool needs True or False, not {v!r}")
        return varint(int(v))
    if t == "string":
        if type(v) is not str:
            raise ValueError(f"string needs a str, not {v!r}")
        v = v.encode("utf-8")
    elif type(v) is not bytes:
        raise ValueError(f"bytes needs bytes, not {v!r}")
    return prefix(len(v), how) + v


def prefix(n, how):
    return n.to_bytes(4, "little") if how.get("fixed_length") else varint(n)


def encode(schema, message, **how):
    if type(message) is not dict:
        raise ValueError(f"a message is a dict, not {message!r}")
    fields = {f["name"]: f for f in schema}
    for name in message:
        if name not in fields:
            raise ValueError(f"unknown field {name!r}")
    out = bytearray()
    for f in sorted(schema, key=lambda f: f["number"]):
        if f["name"] not in message:
            continue
        v = message[f["name"]]
        if f.get("repeated") and type(v) is not list:
            raise ValueError(f"{f['name']} is repeated: give a list")
        for item in v if f.get("repeated") else [v]:
            out += varint(f["number"] << 3 | (2 if is_len(f["type"]) else 0))
            out += value_bytes(f["type"], item, how)
    return bytes(out)


def read_varint(data, i):
    n = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        n |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return n, i
        shift += 7


def decode(schema, data, **how):
    fields = {f["number"]: f for f in schema}
    out = {f["name"]: [] for f in schema if f.get("repeated")}
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        f, wire = fields.get(key >> 3), key & 7
        if wire == 0:
            n, i = read_varint(data, i)
        elif wire == 2:
            if how.get("fixed_length"):
                size, i = int.from_bytes(data[i:i + 4], "little"), i + 4
            else:
                size, i = read_varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated field")
            raw, i = data[i:i + size], i + size
        elif wire in (1, 5) and f is None and how.get("skip", True):
            i += 8 if wire == 1 else 4
            continue
        else:
            raise ValueError(f"wire type {wire}")
        if f is None:
            if not how.get("skip", True):
                raise ValueError(f"unknown field {key >> 3}")
            continue
        t = f["type"]
        if isinstance(t, list):
            v = decode(t, raw, **how)
        elif t == "string":
            v = raw.decode("utf-8")
        elif t == "bytes":
            v = raw
        elif t == "bool":
            v = n != 0
        elif t == "sint64":
            v = (n >> 1) ^ -(n & 1) if how.get("zigzag", True) else (n - 2 ** 64 if n >= 2 ** 63 else n)
        else:
            v = n
        if f.get("repeated"):
            out[f["name"]].append(v)
        else:
            out[f["name"]] = v
    if not how.get("keep_empty", True):
        out = {k: v for k, v in out.items() if v != []}
    return out


def encode_no_zigzag(schema, message):       # sint64 as two's complement: right numbers, wrong bytes
    return encode(schema, message, zigzag=False)


def decode_no_zigzag(schema, data):
    return decode(schema, data, zigzag=False)


def decode_no_skip(schema, data):            # refuses fields it does not know
    return decode(schema, data, skip=False)


def decode_drops_empty(schema, data):        # leaves out repeated fields with no elements
    return decode(schema, data, keep_empty=False)


def encode_fixed_length(schema, message):    # length prefixes as 4 fixed bytes, not a varint
    return encode(schema, message, fixed_length=True)


def decode_fixed_length(schema, data):
    return decode(schema, data, fixed_length=True)


def encode_json(schema, message):            # self-describing text: round trips, but large and not protobuf
    encode(schema, message)
    return json.dumps(message, default=lambda b: {"$b": b.hex()}).encode()


def decode_json(schema, data):
    def fix(o):
        if isinstance(o, dict):
            return bytes.fromhex(o["$b"]) if set(o) == {"$b"} else {k: fix(v) for k, v in o.items()}
        return [fix(x) for x in o] if isinstance(o, list) else o
    return fix(json.loads(data))


def encode_lenient(schema, message):         # encodes whatever it is given
    try:
        return encode(schema, message)
    except ValueError:
        return b""


def decode_lenient(schema, data):            # Python slices never fail: truncated data decodes "fine"
    try:
        return decode(schema, data)
    except ValueError:
        return {}


# -- the reference is protobuf ----------------------------------------------------------------------


def protobuf_class(schema):
    """A proto2 message class for ``schema`` (every field optional or repeated), built at run time."""
    types = {"uint64": descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
             "sint64": descriptor_pb2.FieldDescriptorProto.TYPE_SINT64,
             "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
             "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
             "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES}
    fdp = descriptor_pb2.FileDescriptorProto(name="e12_6.proto", package="e126", syntax="proto2")
    counter = [0]

    def add(container, sch, path):
        counter[0] += 1
        m = container.add(name=f"M{counter[0]}")
        full = f"{path}.{m.name}"
        for f in sch:
            label = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED if f.get("repeated") else \
                descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
            if isinstance(f["type"], list):
                m.field.add(name=f["name"], number=f["number"], label=label,
                            type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                            type_name=add(m.nested_type, f["type"], full))
            else:
                m.field.add(name=f["name"], number=f["number"], label=label, type=types[f["type"]])
        return full

    top = add(fdp.message_type, schema, ".e126")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(top[1:]))


def fill(pb, schema, message):
    for f in schema:
        if f["name"] not in message:
            continue
        v = message[f["name"]]
        if isinstance(f["type"], list):
            if f.get("repeated"):
                for item in v:
                    fill(getattr(pb, f["name"]).add(), f["type"], item)
            else:
                sub = getattr(pb, f["name"])
                sub.SetInParent()
                fill(sub, f["type"], v)
        elif f.get("repeated"):
            getattr(pb, f["name"]).extend(v)
        else:
            setattr(pb, f["name"], v)


def unfill(pb, schema):
    out = {}
    for f in schema:
        nested = isinstance(f["type"], list)
        if f.get("repeated"):
            out[f["name"]] = [unfill(x, f["type"]) if nested else x for x in getattr(pb, f["name"])]
        elif pb.HasField(f["name"]):
            v = getattr(pb, f["name"])
            out[f["name"]] = unfill(v, f["type"]) if nested else v
    return out


@pytest.mark.parametrize("seed", range(1, 6))
def test_reference_is_protobuf_wire_format(seed):
    rng = stream(seed, "test E12.6 protobuf")
    for _ in range(60):
        schema = C.random_schema(rng)
        m = C.random_message(rng, schema)
        cls = protobuf_class(schema)
        pb = cls()
        fill(pb, schema, m)
        ours = C.reference_encode(schema, m)
        assert ours == pb.SerializeToString(deterministic=True)
        back = cls()
        back.ParseFromString(ours)
        assert C.same(unfill(back, schema), m)
        assert C.same(C.reference_decode(schema, ours), m)


def test_reference_reads_packed_and_refuses_bad_bytes():
    schema = [{"name": "xs", "number": 4, "type": "sint64", "repeated": True}]
    packed = bytes([0x22, 3, 0x01, 0x02, 0x03])        # field 4, LEN, zigzag -1, 1, -2
    assert C.reference_decode(schema, packed) == {"xs": [-1, 1, -2]}
    for bad in (b"\x22\x05\x01", b"\x08", b"\x20\x80", b"\x00\x01", b"\x0b"):
        with pytest.raises(CodecError):
            C.reference_decode(schema, bad)
    with pytest.raises(CodecError, match="not a field"):
        C.reference_encode(schema, {"ys": []})


def test_reference_meets_the_size_bound_and_json_does_not():
    ours = sum(len(C.reference_encode(s, m)) for _w, s, m in C.CORPUS)
    js = sum(C.json_size(m) for _w, _s, m in C.CORPUS)
    assert ours <= 0.35 * js                  # 478 of 1686 bytes when written: well inside the 50% bound
    assert C.codec_trial(encode_json, decode_json, 1, properties=("size",)).violations[0].startswith("size:")
    msgpack = codec("msgpack")                # self-describing binary: field names on the wire, 73% of JSON
    assert sum(len(msgpack.encode(m)) for _w, _s, m in C.CORPUS) > 0.5 * js


# -- the harness -------------------------------------------------------------------------------------


def failed(trial):
    return sorted(v.split(":")[0] for v in trial.violations)


@pytest.mark.parametrize("seed", range(1, 9))
def test_master_answer_passes_every_property(seed):
    trial = C.codec_trial(encode, decode, seed)
    assert trial.ok, trial.violations


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_wrong_answers_fail_their_property_only(seed):
    assert failed(C.codec_trial(encode_no_zigzag, decode_no_zigzag, seed)) == ["reads", "skips", "writes"]
    assert failed(C.codec_trial(encode, decode_no_skip, seed)) == ["skips"]
    assert failed(C.codec_trial(encode, decode_drops_empty, seed)) == ["reads", "roundtrip", "skips"]
    assert failed(C.codec_trial(encode_fixed_length, decode_fixed_length, seed)) == ["reads", "skips", "writes"]
    assert failed(C.codec_trial(encode_json, decode_json, seed)) == ["reads", "size", "skips", "writes"]
    assert failed(C.codec_trial(encode_lenient, decode, seed)) == ["rejects"]
    assert failed(C.codec_trial(encode, decode_lenient, seed)) == ["rejects"]


def test_each_property_alone_judges_only_itself():
    for p in C.CODEC_PROPERTIES:
        got = failed(C.codec_trial(encode_json, decode_json, 1, properties=(p,)))
        assert got == ([p] if p in ("reads", "size", "skips", "writes") else [])


def test_stub_is_not_implemented_and_bad_shapes_are_clear():
    def stub(*args):
        raise NotImplementedError("write encode")
    for p in C.CODEC_PROPERTIES:
        with pytest.raises(NotImplementedError):
            C.codec_trial(stub, stub, 1, properties=(p,))
    trial = C.codec_trial(lambda s, m: bytearray(encode(s, m)), decode, 1)
    assert "expected bytes (return bytes(out)" in trial.violations[0] and len(trial.violations) == 1
    trial = C.codec_trial(encode, lambda s, d: list(decode(s, d).items()), 1, properties=("reads",))
    assert "expected a dict" in trial.violations[0]
    raising = C.codec_trial(encode, lambda s, d: 1 / 0, 1, properties=("roundtrip", "reads"))
    assert failed(raising) == ["reads", "roundtrip"]            # an exception is the property's violation
    assert "your code raised ZeroDivisionError: division by zero (line" in raising.violations[0]


def test_refusing_everything_is_not_rejecting():
    def refuse(schema, message):
        raise ValueError("no")
    message = C.codec_trial(refuse, decode, 1, properties=("rejects",)).violations[0]
    assert "refused a valid message" in message and "it raised ValueError: no (line" in message


def test_sandboxed_errors_keep_their_kind_and_place():
    class StudentError(Exception):            # the shape of ds.grading's, which rpc may not import
        kind, message, where, not_implemented = "KeyError", "41", " (in decode)", False

    def sandboxed(schema, data):
        raise StudentError()
    assert "your code raised KeyError: 41 (in decode)" in \
        C.codec_trial(encode, sandboxed, 1, properties=("reads",)).violations[0]
    StudentError.not_implemented = True
    with pytest.raises(StudentError):
        C.codec_trial(encode, sandboxed, 1, properties=("reads",))


def test_same_seed_same_trial():
    a = C.codec_trial(encode_no_zigzag, decode_no_zigzag, 4)
    b = C.codec_trial(encode_no_zigzag, decode_no_zigzag, 4)
    assert a.violations == b.violations
