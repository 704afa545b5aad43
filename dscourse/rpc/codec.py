"""Serialization (Dubbo's ``serialize`` layer): five codecs behind one interface.

``encode(obj) -> bytes`` and ``decode(bytes) -> obj`` for the data an RPC carries: None, bool,
int, float, str, bytes, lists (tuples travel as lists), and dicts with str keys.

* :class:`JsonCodec` -- text, self-describing, cross-language, large and slow to parse.
* :class:`PickleCodec` -- Python's native format, the stand-in for JDK serialization: not
  cross-language, and *unsafe on untrusted bytes* (unpickling can call any importable
  function). Its ``decode`` therefore refuses every global not on an allow-list (the fix Dubbo
  3.2+ applies to Hessian2 with class allow-lists, Dubbo docs "Serialization Security");
  :func:`pickle_gadget` builds a hostile payload that is only ever *inspected*, never loaded.
* :class:`MsgpackCodec` -- MessagePack through the real ``msgpack`` library.
* :class:`ProtobufCodec` -- protobuf through the real ``google.protobuf`` library: the
  well-known ``google.protobuf.Value`` for free-form data, or a schema message class
  (:func:`order_message_class`, built at run time from a descriptor, no ``protoc`` step).
* :class:`HessianLikeCodec` -- a self-describing binary format in Hessian 2's spirit: one tag
  byte per value, small ints in the tag byte itself (Hessian 2 packs -16..47 into 0x80..0xbf),
  varint lengths.
"""

from __future__ import annotations

import io
import json
import pickle
import pickletools
import struct
from abc import ABC, abstractmethod
from typing import Any

from ..errors import DscourseError, allowed


class CodecError(DscourseError, ValueError):
    """Bytes a codec cannot decode, or a value it cannot encode."""


class Codec(ABC):
    """``name``, ``content_type``, ``encode(obj) -> bytes``, ``decode(data) -> obj``."""

    name = "codec"
    cross_language = True
    self_describing = True

    @abstractmethod
    def encode(self, obj: Any) -> bytes:
        """``obj`` as bytes on the wire."""

    @abstractmethod
    def decode(self, data: bytes) -> Any:
        """The object ``data`` encodes."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class JsonCodec(Codec):
    name = "json"

    def encode(self, obj: Any) -> bytes:
        try:
            return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as e:
            raise CodecError(f"json cannot encode {obj!r}: {e}") from None

    def decode(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise CodecError(f"json cannot decode {bytes(data[:20])!r}...: {e}") from None


SAFE_GLOBALS = frozenset({("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex")})


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in SAFE_GLOBALS:
            raise CodecError(f"pickle payload refers to {module}.{name}: refused "
                             f"(allowed globals: {sorted(f'{m}.{n}' for m, n in SAFE_GLOBALS)})")
        return super().find_class(module, name)


class PickleCodec(Codec):
    """Pickle protocol 5; ``decode`` goes through an allow-list :class:`pickle.Unpickler`."""

    name = "pickle"
    cross_language = False

    def encode(self, obj: Any) -> bytes:
        try:
            return pickle.dumps(obj, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            raise CodecError(f"pickle cannot encode {obj!r}: {e}") from None

    def decode(self, data: bytes) -> Any:
        try:
            return _AllowListUnpickler(io.BytesIO(data)).load()
        except CodecError:
            raise
        except Exception as e:  # noqa: BLE001 - any malformed pickle must surface as CodecError
            raise CodecError(f"pickle cannot decode {bytes(data[:20])!r}...: {e}") from None


class _Gadget:
    """A class whose pickle asks the *unpickler* to call ``os.system``: dumping it is harmless."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        import os
        return (os.system, ("echo this would run on the provider",))


def pickle_gadget() -> bytes:
    """A hostile pickle (it calls ``os.system`` when loaded by plain ``pickle.loads``). Inspect
    it with :func:`pickle_globals`; :meth:`PickleCodec.decode` refuses it."""
    return pickle.dumps(_Gadget(), protocol=5)


def pickle_globals(data: bytes) -> list[str]:
    """The callables a pickle would import when loaded, read from its opcodes without loading it."""
    out, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            out.append(f"{strings[-2]}.{strings[-1]}")
        elif op.name == "GLOBAL":
            out.append(str(arg).replace(" ", "."))
    return out


class MsgpackCodec(Codec):
    name = "msgpack"

    def encode(self, obj: Any) -> bytes:
        import msgpack
        try:
            return msgpack.packb(obj, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as e:
            raise CodecError(f"msgpack cannot encode {obj!r}: {e}") from None

    def decode(self, data: bytes) -> Any:
        import msgpack
        try:
            return msgpack.unpackb(data, raw=False)
        except Exception as e:  # noqa: BLE001 - msgpack raises several unrelated classes on bad input
            raise CodecError(f"msgpack cannot decode {bytes(data[:20])!r}...: {e}") from None


def _to_value(obj: Any, value: Any) -> None:
    if obj is None:
        value.null_value = 0
    elif isinstance(obj, bool):
        value.bool_value = obj
    elif isinstance(obj, (int, float)):
        if isinstance(obj, int) and abs(obj) > 2 ** 53:
            raise CodecError(f"protobuf Value holds numbers as doubles: {obj} does not fit exactly")
        value.number_value = obj
    elif isinstance(obj, str):
        value.string_value = obj
    elif isinstance(obj, (list, tuple)):
        lst = value.list_value
        lst.SetInParent()
        for item in obj:
            _to_value(item, lst.values.add())
    elif isinstance(obj, dict):
        st = value.struct_value
        st.SetInParent()
        for k, v in obj.items():
            if not isinstance(k, str):
                raise CodecError(f"protobuf Struct keys are strings, not {k!r}")
            _to_value(v, st.fields[k])
    else:
        raise CodecError(f"protobuf Value cannot hold {type(obj).__name__} {obj!r}")


def _from_value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "null_value" or kind is None:
        return None
    if kind == "number_value":
        n = value.number_value
        return int(n) if n.is_integer() else n
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    if kind == "struct_value":
        return {k: _from_value(v) for k, v in value.struct_value.fields.items()}
    return getattr(value, kind)


class ProtobufCodec(Codec):
    """Free-form data as ``google.protobuf.Value`` (numbers are doubles: integral values come
    back as ints), or, with ``message_class``, a schema message: dict in, dict out."""

    name = "protobuf"

    def __init__(self, message_class: Any = None) -> None:
        self.message_class = message_class

    def encode(self, obj: Any) -> bytes:
        if self.message_class is not None:
            if not isinstance(obj, dict):
                raise CodecError(f"a schema message encodes a dict of its fields, not {obj!r}")
            try:
                return self.message_class(**obj).SerializeToString(deterministic=True)
            except (TypeError, ValueError) as e:
                raise CodecError(f"protobuf cannot encode {obj!r}: {e}") from None
        from google.protobuf import struct_pb2
        v = struct_pb2.Value()
        _to_value(obj, v)
        return v.SerializeToString(deterministic=True)  # a Struct is a map: sorted keys, same bytes in every process

    def decode(self, data: bytes) -> Any:
        from google.protobuf.message import DecodeError
        try:
            if self.message_class is not None:
                m = self.message_class()
                m.ParseFromString(data)
                return {f.name: (list(getattr(m, f.name)) if f.is_repeated else getattr(m, f.name))
                        for f in m.DESCRIPTOR.fields}
            from google.protobuf import struct_pb2
            v = struct_pb2.Value()
            v.ParseFromString(data)
            return _from_value(v)
        except DecodeError as e:
            raise CodecError(f"protobuf cannot decode {bytes(data[:20])!r}...: {e}") from None


def order_message_class() -> Any:
    """``message PlaceOrder { int64 user_id = 1; string item = 2; int32 quantity = 3;
    double price = 4; repeated string tags = 5; }``, built from a descriptor at run time."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="dscourse_rpc_demo.proto", package="dscourse.rpc", syntax="proto3")
    m = fdp.message_type.add(name="PlaceOrder")
    f = descriptor_pb2.FieldDescriptorProto
    for number, (name, ftype, label) in enumerate([
        ("user_id", f.TYPE_INT64, f.LABEL_OPTIONAL), ("item", f.TYPE_STRING, f.LABEL_OPTIONAL),
        ("quantity", f.TYPE_INT32, f.LABEL_OPTIONAL), ("price", f.TYPE_DOUBLE, f.LABEL_OPTIONAL),
        ("tags", f.TYPE_STRING, f.LABEL_REPEATED)], 1):
        m.field.add(name=name, number=number, type=ftype, label=label)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("dscourse.rpc.PlaceOrder"))


def write_varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def read_varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if i >= len(data):
            raise CodecError("truncated varint")
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, i
        shift += 7
        if shift > 70:
            raise CodecError("varint longer than 10 bytes")


class HessianLikeCodec(Codec):
    """Tags: ``N`` None, ``T``/``F`` bools, 0x80..0xbf an int in -16..47 (Hessian 2's compact
    int), ``I`` + zigzag varint, ``D`` + 8-byte double, ``S``/``B`` + varint length + UTF-8 /
    raw bytes, ``V`` + count + values (a list), ``H`` + count + key/value pairs (a map)."""

    name = "hessianlike"

    def encode(self, obj: Any) -> bytes:
        out = bytearray()
        self._write(obj, out)
        return bytes(out)

    def _write(self, obj: Any, out: bytearray) -> None:
        if obj is None:
            out.append(0x4E)
        elif obj is True:
            out.append(0x54)
        elif obj is False:
            out.append(0x46)
        elif isinstance(obj, int):
            if -16 <= obj <= 47:
                out.append(0x90 + obj)
            else:
                out.append(0x49)
                write_varint(out, (obj << 1) if obj >= 0 else ((-obj) << 1) - 1)
        elif isinstance(obj, float):
            out.append(0x44)
            out += struct.pack(">d", obj)
        elif isinstance(obj, str):
            raw = obj.encode("utf-8")
            out.append(0x53)
            write_varint(out, len(raw))
            out += raw
        elif isinstance(obj, (bytes, bytearray)):
            out.append(0x42)
            write_varint(out, len(obj))
            out += obj
        elif isinstance(obj, (list, tuple)):
            out.append(0x56)
            write_varint(out, len(obj))
            for item in obj:
                self._write(item, out)
        elif isinstance(obj, dict):
            out.append(0x48)
            write_varint(out, len(obj))
            for k, v in obj.items():
                self._write(k, out)
                self._write(v, out)
        else:
            raise CodecError(f"hessianlike cannot encode {type(obj).__name__} {obj!r}")

    def decode(self, data: bytes) -> Any:
        value, i = self._read(bytes(data), 0)
        if i != len(data):
            raise CodecError(f"hessianlike: {len(data) - i} trailing bytes")
        return value

    def _read(self, data: bytes, i: int) -> tuple[Any, int]:
        if i >= len(data):
            raise CodecError("hessianlike: truncated input")
        tag = data[i]
        i += 1
        if 0x80 <= tag <= 0xBF:
            return tag - 0x90, i
        if tag == 0x4E:
            return None, i
        if tag in (0x54, 0x46):
            return tag == 0x54, i
        if tag == 0x49:
            z, i = read_varint(data, i)
            return (z >> 1) if not z & 1 else -((z + 1) >> 1), i
        if tag == 0x44:
            if i + 8 > len(data):
                raise CodecError("hessianlike: truncated double")
            return struct.unpack(">d", data[i:i + 8])[0], i + 8
        if tag in (0x53, 0x42):
            n, i = read_varint(data, i)
            if i + n > len(data):
                raise CodecError("hessianlike: truncated string")
            chunk = data[i:i + n]
            try:
                return (chunk.decode("utf-8") if tag == 0x53 else chunk), i + n
            except UnicodeDecodeError as e:
                raise CodecError(f"hessianlike: bad UTF-8: {e}") from None
        if tag == 0x56:
            n, i = read_varint(data, i)
            items = []
            for _ in range(n):
                v, i = self._read(data, i)
                items.append(v)
            return items, i
        if tag == 0x48:
            n, i = read_varint(data, i)
            d = {}
            for _ in range(n):
                k, i = self._read(data, i)
                v, i = self._read(data, i)
                try:
                    d[k] = v
                except TypeError:
                    raise CodecError(f"hessianlike: unhashable map key {k!r}") from None
            return d, i
        raise CodecError(f"hessianlike: unknown tag 0x{tag:02x} at byte {i - 1}")


CODECS: dict[str, type[Codec]] = {c.name: c for c in (JsonCodec, PickleCodec, MsgpackCodec, ProtobufCodec,
                                                      HessianLikeCodec)}


def codec(name: str) -> Codec:
    """A codec by name (json, pickle, msgpack, protobuf, hessianlike)."""
    if name not in CODECS:
        raise allowed("codec", name, f"one of {', '.join(CODECS)}")
    return CODECS[name]()
