"""Order numbers, TraceId/SpanId, traceparent, the call-graph trace tree, short URLs, one-code-pay."""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.idesign import (
    OrderNumberGenerator,
    ShortUrlService,
    TraceIdGenerator,
    base62_decode,
    base62_encode,
    call_graph,
    child_span_id,
    detect_channel,
    estimate_daily_volume,
    new_traceparent,
    next_sibling,
    parent_span_id,
    parse_order_number,
    parse_trace_id,
    parse_traceparent,
    reconstruct,
    route,
    shared_prefix_rate,
)
from dscourse.idesign.tracing import SpanContext
from dscourse.ids import FakeClock

DAY = 1_764_115_200_000  # 2025-11-26T00:00Z


def test_order_numbers_unique_across_8_nodes_and_fit_bigint():
    clock = FakeClock(DAY)
    gens = [OrderNumberGenerator(node=n, biz=2, clock=clock, key="k") for n in range(8)]
    numbers = [g.next() for _ in range(500) for g in gens]
    assert len(set(numbers)) == len(numbers)
    assert all(len(str(x)) == 19 and x < 2**63 for x in numbers)
    p = parse_order_number(numbers[3])
    assert (str(p.date), p.biz, p.node) == ("2025-11-26", 2, 3)


def test_scrambled_numbers_do_not_leak_daily_volume():
    clock = FakeClock(DAY)
    rng = np.random.default_rng(0)
    for scramble, leaks in ((False, True), (True, False)):
        g = OrderNumberGenerator(node=1, biz=1, clock=clock, key="k", scramble=scramble)
        numbers = [g.next() for _ in range(3000)]
        sample = rng.choice(numbers, 30, replace=False).tolist()
        error = abs(estimate_daily_volume(sample) - 3000) / 3000
        assert (error < 0.2) if leaks else (error > 0.5)


def test_trace_id_layout_and_counter_wrap():
    clock = FakeClock(DAY)
    gen = TraceIdGenerator(ip="10.209.52.143", pid=123456, clock=clock)
    first = gen.next()
    assert first.startswith("0ad1348f") and first[8:21] == str(DAY) and first[21:25] == "1001"
    assert parse_trace_id(first) == ("10.209.52.143", DAY, 1001, 123456)  # 6-digit pid
    seqs = [parse_trace_id(gen.next()).seq for _ in range(8001)]
    assert seqs[0] == 1002 and seqs[7999] == 9001 and seqs[8000] == 1000
    assert parse_trace_id(TraceIdGenerator(ip=None, pid=7, clock=clock).next()).ip is None


def test_span_ids():
    root = SpanContext("t")
    b, c = root.child(), root.child()
    e = c.child()
    assert (b.span_id, c.span_id, e.span_id) == ("0.1", "0.2", "0.2.1")
    assert next_sibling("0.2.1") == "0.2.2" and parent_span_id("0.2.1") == "0.2"
    assert child_span_id("0", 3) == "0.3" and parent_span_id("0") is None


def test_call_tree_reconstructed_from_shuffled_logs():
    _sim, log = call_graph(requests=3, seed=5)
    truth = {"0": "A", "0.1": "B", "0.2": "C", "0.2.1": "E", "0.2.2": "F", "0.3": "D"}
    shuffled = [log[i] for i in np.random.default_rng(1).permutation(len(log))]
    trees = reconstruct(shuffled)
    assert len(trees) == 3 and all(t == truth for t in trees.values())
    # client and server log the same span id
    assert {(x.span_id, x.peer) for x in log if x.kind == "cs"} >= {("0.2.1", "E"), ("0.3", "D")}


@given(seed=st.integers(0, 2**32 - 1), sampled=st.booleans())
def test_traceparent_round_trip(seed, sampled):
    tp = new_traceparent(np.random.default_rng(seed), sampled)
    assert parse_traceparent(str(tp)) == tp and tp.sampled == sampled
    assert len(str(tp)) == 55


@given(ident=st.integers(0, 62**7 - 1))
def test_short_url_codes_are_inverse_and_at_most_7_characters(ident):
    s = ShortUrlService("k")
    code = s.encode_id(ident)
    assert len(code) == 7 and s.decode_code(code) == ident
    assert base62_decode(base62_encode(ident)) == ident and len(base62_encode(ident)) <= 7


def test_short_urls_no_collisions_and_no_shared_prefixes():
    s = ShortUrlService("k")
    codes = [s.shorten(f"https://example.com/item/{i}") for i in range(3000)]
    assert len(set(codes)) == 3000
    assert s.shorten("https://example.com/item/5") == codes[5]
    assert s.resolve(codes[7]) == "https://example.com/item/7" and s.resolve("zzzzzzz") is None
    assert shared_prefix_rate(codes) < 0.01
    naive = ShortUrlService("k", scramble=False)
    assert shared_prefix_rate([naive.encode_id(i) for i in range(3000)]) > 0.9


def test_one_code_pay_router():
    assert detect_channel("Mozilla/5.0 (iPhone) MicroMessenger/8.0.40 NetType/WIFI") == "wechat"
    assert detect_channel("Mozilla/5.0 AlipayClient/10.5.36") == "alipay"
    assert route("Mozilla/5.0 QQ/8.9.63", "X1").channel == "qq"
    assert route("Mozilla/5.0 Safari/605.1", "X1").channel == "unsupported"


@pytest.mark.parametrize("call, match", [
    (lambda: OrderNumberGenerator(node=10, biz=1, clock=FakeClock(), key="k"), "node=10"),
    (lambda: OrderNumberGenerator(node=1, biz=-1, clock=FakeClock(), key="k"), "biz=-1"),
    (lambda: parse_order_number(12), "yymmdd"),
    (lambda: estimate_daily_volume([]), "numbers=\\[\\]"),
    (lambda: TraceIdGenerator(ip="::1", pid=1, clock=FakeClock()), "ip='::1'"),
    (lambda: TraceIdGenerator(ip="1.2.3.4", pid=-1, clock=FakeClock()), "pid=-1"),
    (lambda: parse_trace_id("xyz"), "trace id='xyz'"),
    (lambda: next_sibling("0"), "'0' has no sibling"),
    (lambda: child_span_id("0.0", 1), "span id='0.0'"),
    (lambda: parse_traceparent("00-" + "0" * 32 + "-" + "1" * 16 + "-01"), "non-zero"),
    (lambda: parse_traceparent("ff-" + "1" * 32 + "-" + "1" * 16 + "-01"), "version='ff'"),
    (lambda: parse_traceparent("00-ABC"), "traceparent='00-ABC'"),
    (lambda: ShortUrlService("k", width=0), "width=0"),
    (lambda: ShortUrlService("k").encode_id(62**7), "id="),
    (lambda: base62_decode("a-b"), "base-62"),
    (lambda: detect_channel(None), "user_agent=None"),
    (lambda: call_graph({}), "graph={}"),
])
def test_bad_input(call, match):
    with pytest.raises(ds.ConfigError, match=match):
        call()
