"""Issue 23, item 5: the parent reads the children's lines with orjson, exactly as ``json.loads``.

``sandbox.parse_line`` must give the same value (same types: 1, 1.0 and True differ) or the
same refusal as ``json.loads`` on any line a child could write, hostile ones included; and
``sandbox.encode_line`` must write what the child reads back as the request the parent meant.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.grading.sandbox import encode_line, parse_line


def same(a, b) -> bool:
    """Equal with exact types (and NaN equal to NaN, -0.0 not equal to 0.0); iterative, since
    the lines tested nest deeper than Python's recursion limit."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if type(x) is float:
            if not ((math.isnan(x) and math.isnan(y)) or
                    (x == y and math.copysign(1, x) == math.copysign(1, y))):
                return False
        elif type(x) is list:
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif type(x) is dict:
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


def outcome(fn, line: bytes):
    try:
        return ("value", fn(line))
    except (ValueError, RecursionError) as exc:        # JSONDecodeError is a ValueError
        return ("refused", type(exc) is RecursionError)


def agree(line: bytes) -> None:
    mine, ref = outcome(parse_line, line), outcome(json.loads, line)
    assert mine[0] == ref[0], line[:200]
    if mine[0] == "value":
        assert same(mine[1], ref[1]), line[:200]
    else:
        assert mine[1] == ref[1], line[:200]


values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans())
def test_parse_line_reads_what_json_writes_as_json_loads_does(value, ascii_only):
    agree(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None)
@given(values, st.data())
def test_parse_line_agrees_on_damaged_lines(value, data):
    line = bytearray(json.dumps(value).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        if not line:
            break
        at = data.draw(st.integers(0, len(line) - 1))
        line[at] = data.draw(st.sampled_from(b'[]{}",:0123456789-+eE.\\ntruefalsenul\x00\xff\xed\xa0\x80 '))
    agree(bytes(line))


@pytest.mark.parametrize("line", [
    b"NaN", b"[Infinity, -Infinity]", b"[1e400]", b"123456789012345678901234567890",
    b"-9223372036854775809", b"18446744073709551616", b'"\\ud800"', b'"\xed\xa0\x80"',
    b'{"a": 1, "a": 2.0}', b"-0", b"-0.0", b"1E5", b'"\\u0000"', b"\xef\xbb\xbf[1]", b"[1]\n",
    b"[" * 950 + b"]" * 950, b"[" * 1010 + b"]" * 1010, b"[" * 5000 + b"]" * 5000,
    b'"\x01"', b"", b"[1,]", b"01", b'{"n": "x", "i": 3}',
    '"\u00e9\U0001f600"'.encode(), '"\u00e9"'.encode("utf-16"),
])
def test_parse_line_agrees_on_hostile_lines(line):
    agree(line)


@settings(max_examples=300, deadline=None)
@given(values.filter(lambda v: "NaN" not in json.dumps(v) and "Infinity" not in json.dumps(v)))
def test_encode_line_is_read_back_as_the_request(value):
    payload = {"op": "call", "args": [value], "now": 1.5}
    line = encode_line(payload)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert same(json.loads(line), json.loads(json.dumps(payload)))


# ---- the child writes with orjson where it writes what json would ----------------------------

ODD_TIMERS = """
import enum

class Level(enum.Enum):
    LOW = 1

class Odd(ds.sim.Node):
    def __init__(self, node_id, delay, name):
        super().__init__(node_id)
        self.delay, self.name, self.fired = delay, name, 0

    def on_start(self):
        self.set_timer(self.delay, self.name if self.name != "enum" else Level.LOW)

    def on_timer(self, name, payload):
        self.fired += 1
"""


def _run_odd(delay, name) -> str:
    from dscourse import sim as dsim
    from dscourse.grading.registry import StudentError
    from dscourse.grading.remote import RemoteClass, Sandboxes, make_node
    from dscourse.grading.sandbox import ChildError

    with Sandboxes([["E1.1", ODD_TIMERS]], ["Odd"], timeout=20) as boxes:
        boxes.start()
        s = dsim.Simulation(seed=1)
        node = make_node(RemoteClass(boxes, "Odd"), "a", delay, name, observe=("fired",))
        s.add_node(node)
        try:
            s.run(until=50)
            return f"fired {node.fired}"
        except ChildError as exc:
            return exc.status
        except StudentError as exc:
            return f"{exc.kind}: {exc.message}"


@pytest.mark.parametrize(("delay", "name"), [
    (5.0, "t"), (5, "t"), (True, "t"), (float("nan"), "t"), (float("inf"), "t"), (-float("inf"), "t"),
    (2**70, "t"), (5.0, "enum"), (1e300, "t"),
])
def test_odd_timer_values_end_as_with_the_json_child(delay, name, tmp_path, monkeypatch):
    """The same outcome as a child without orjson (the runtime copied with its import broken)."""
    from dscourse.grading import sandbox

    fast = _run_odd(delay, name)
    plain = tmp_path / "runtime"
    shutil.copytree(sandbox.RUNTIME, plain, ignore=shutil.ignore_patterns("__pycache__"))
    runner = plain / "runner.py"
    text = runner.read_text()
    assert text.count("        import orjson\n") == 1
    runner.write_text(text.replace("        import orjson\n", "        import orjson_absent as orjson\n"))
    monkeypatch.setattr(sandbox, "RUNTIME", plain)
    assert _run_odd(delay, name) == fast
    if delay == 5.0 and name == "t":
        assert fast == "fired 1"
