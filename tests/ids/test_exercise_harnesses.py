"""The exercise harnesses accept the reference behaviour and reject typical wrong answers."""

import pytest

from dscourse.idesign import exercises as ex11
from dscourse.ids import exercises as ex10
from dscourse.ids import leaf_next_step, objectid, tinyid_segment, uuid7_from

EPOCH = ex10.EPOCH_MS


def encode(fields, layout):
    out = 0
    for k, b in layout.items():
        out = (out << b) | fields[k]
    return out


def decode(ident, layout):
    out = {}
    for k, b in reversed(list(layout.items())):
        out[k] = ident & ((1 << b) - 1)
        ident >>= b
    return {k: out[k] for k in layout}


def next_id(state, now_ms, worker, layout, policy, *, wait_ok=True):
    ts, last, seq = now_ms - EPOCH, state.get("last", -1), state.get("seq", 0)
    if ts < last:
        off = last - ts
        if wait_ok and policy == "wait" and off <= 5 and not state.get("waited"):
            return ("wait", 2 * off), dict(state, waited=True)
        return ("error", "rollback"), dict(state, waited=False)
    if ts == last:
        seq = (seq + 1) & 4095
        if seq == 0:
            return ("wait", 1), dict(state, waited=False)
    else:
        seq = 0
    return encode({"timestamp": ts, "worker": worker, "sequence": seq}, layout), {"last": ts, "seq": seq}


def ignores_rollback(state, now_ms, worker, layout, policy):
    ts = now_ms - EPOCH
    seq = state.get("seq", -1) + 1 if state.get("last") == ts else 0
    return encode({"timestamp": ts, "worker": worker, "sequence": seq}, layout), {"last": ts, "seq": seq}


def prefetch(v, m, s):
    return m - v < 0.9 * s


def test_snowflake_harness():
    assert ex10.layout_trial(encode, decode, 1).ok
    assert ex10.exhaustion_trial(next_id, decode, 1).ok
    for policy in ("wait", "raise"):
        assert ex10.snowflake_trial(next_id, decode, 1, policy=policy).ok
    assert ex10.snowflake_trial(next_id, decode, 2, workers=1024, per_worker=8).ok
    assert not ex10.snowflake_trial(ignores_rollback, decode, 1).ok

    def no_wait(*a):
        return next_id(*a, wait_ok=False)

    assert "Leaf waits" in ex10.snowflake_trial(no_wait, decode, 1).violations[0]


def test_segment_harnesses():
    assert ex10.leaf_rule_trial(leaf_next_step, prefetch, 1).ok
    assert ex10.leaf_trial(leaf_next_step, prefetch, 1).ok
    assert not ex10.leaf_trial(leaf_next_step, lambda v, m, s: False, 1, db_latency_ms=5, outage=False).ok
    assert not ex10.leaf_rule_trial(lambda s, m, d: s * 2, prefetch, 1).ok
    assert ex10.tinyid_trial(tinyid_segment, 1).ok and ex10.tinyid_rule_trial(tinyid_segment, 1).ok
    assert not ex10.tinyid_trial(lambda o, s, d, r, p: (o, o + s, o + s * p // 100), 1).ok


@pytest.mark.parametrize("seed", [1, 2])
def test_stall_case_needs_a_case_the_late_rule_fails_and_an_early_enough_rule(seed):
    early = prefetch
    assert ex10.stall_trial(lambda: {"step": 1000, "db_latency_ms": 60}, early, seed).ok
    fast_db = ex10.stall_trial(lambda: {"step": 100, "db_latency_ms": 1}, early, seed)
    assert "does not break it" in fast_db.violations[0]
    half = ex10.stall_trial(lambda: {"step": 1000, "db_latency_ms": 60}, ex10.late_prefetch, seed)
    assert any("your needs_prefetch made requests wait" in v for v in half.violations)
    for bad in ({"step": 10, "db_latency_ms": 60}, {"step": 1000, "db_latency_ms": 0}, {"step": 1000}, [1000, 60]):
        assert not ex10.stall_trial(lambda bad=bad: bad, early, seed).ok
    assert ex10.slow_database_trial(early, seed).ok
    assert ex10.slow_database_trial(lambda v, m, s: m - v < 0.5 * s, seed).ok  # 100 ms left > 60 ms round trip
    assert not ex10.slow_database_trial(ex10.late_prefetch, seed).ok


def test_breaking_row_and_unaligned_databases():
    def naive(o, s, d, r, p=20):
        return ex10.aligned_first_id(o, s, d, r), o + s, o + s * p // 100

    assert ex10.breaking_row_trial(lambda: (5, 10, 2, 1)).ok
    assert ex10.breaking_row_trial(lambda: (6, 12, 4, 0)).ok  # old_max not a multiple of delta
    assert not ex10.breaking_row_trial(lambda: (4, 10, 2, 1)).ok  # aligned rows: the naive start is right
    assert not ex10.breaking_row_trial(lambda: (5, 10, 1, 0)).ok  # delta 1 is not multi-DB
    assert not ex10.breaking_row_trial(lambda: "row").ok
    assert len(ex10.tinyid_rule_trial(naive, 1).violations) > 5  # every wrong row listed
    assert ex10.tinyid_trial(naive, 1).ok  # aligned rows: the quick test passes...
    assert not ex10.tinyid_unaligned_trial(naive, 1).ok  # ...rows that start apart do not
    assert ex10.tinyid_unaligned_trial(tinyid_segment, 1).ok


def test_codec_harnesses():
    assert ex10.objectid_trial(lambda s, r, c: objectid.encode(s, r, c).hex(), objectid.decode,
                               objectid.decode_legacy, 1).ok

    def batch(readings, randoms, monotonic=True):
        out, last, ctr = [], -1, 0
        for ms, r in zip(readings, randoms, strict=True):
            if ms > last or not monotonic:
                ctr, last = r >> 33, ms
            else:
                ctr += 1
            out.append(str(uuid7_from(last, ctr >> 30, ((ctr & (2**30 - 1)) << 32) | (r & 0xFFFFFFFF))))
        return out

    def fields(a, b, c):
        return str(uuid7_from(a, b, c))

    assert ex10.uuid7_trial(fields, batch, 1).ok
    assert not ex10.uuid7_trial(fields, lambda r, x: batch(r, x, monotonic=False), 1).ok


@pytest.mark.parametrize("scramble, ok", [(True, True), (False, False)])
def test_idesign_harnesses(scramble, ok):
    from dscourse.idesign import ShortUrlService
    from dscourse.idesign.orders import OPAQUE, FeistelPermutation

    perm = FeistelPermutation(OPAQUE, "k")

    def order(d, b, n, c, k):
        return int(f"{d}{b}{n}{(perm.forward(c, n) if scramble else c):011d}")

    assert ex11.order_trial(order, 1).ok is ok
    svc = {}

    def short(i, key):
        s = svc.setdefault(key, ShortUrlService(key, scramble=scramble))
        return s.encode_id(i)

    assert ex11.shorturl_trial(short, lambda c, key: svc[key].decode_code(c), 1).ok is ok


def test_trace_and_coupon_harnesses():
    from dscourse.idesign import CouponCodec, InvalidCode, callgraph, tracing

    def tid(ip, ms, seq, pid):
        return tracing.ip_hex(ip) + f"{ms:013d}{seq}{pid}"

    def nxt(c):
        return 1000 if c > 9000 else c + 1

    assert ex11.trace_trial(tid, lambda t: tuple(tracing.parse_trace_id(t)), nxt, 1).ok
    assert not ex11.trace_trial(tid, lambda t: tuple(tracing.parse_trace_id(t)),
                                lambda c: 1000 if c >= 9000 else c + 1, 1).ok

    def tree(lines):
        return callgraph.reconstruct([callgraph.LogLine(*x) for x in lines])

    assert ex11.span_trial(tracing.child_span_id, tracing.next_sibling, tree, 1).ok
    codecs = {}

    def dec(code, key):
        try:
            return tuple(codecs.setdefault(key, CouponCodec(key)).decode(code))
        except InvalidCode:
            return None

    def enc(s, n, key):
        return codecs.setdefault(key, CouponCodec(key)).encode(s, n)

    assert ex11.coupon_trial(enc, dec, lambda cs, k: [dec(c, k) for c in cs], 1, forge=5000).ok

    def crc(s, n, key):  # not keyed
        return CouponCodec("fixed").encode(s, n)

    def crc_dec(c, key):
        return dec(c, "fixed")

    assert not ex11.coupon_trial(crc, crc_dec, lambda cs, k: [crc_dec(c, k) for c in cs], 1).ok
