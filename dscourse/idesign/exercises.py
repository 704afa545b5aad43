"""Test harnesses for Chapter 11's graded exercises (E11.1-E11.4), run by the trusted grader.

Each ``*_trial`` drives the student's functions with inputs derived from the seed and
returns a :class:`~dscourse.checkers.trial.Trial`; only plain data crosses to the student.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from ..checkers.trial import Trial
from ..sim.rng import stream
from .callgraph import call_graph, reconstruct
from .coupon import ALPHABET, LENGTH
from .orders import OPAQUE
from .tracing import SEQ_START, SEQ_WRAP, child_span_id, next_sibling, parse_trace_id

KEY = "grader-key"


# -- E11.1 coupons ------------------------------------------------------------------------
def coupon_trial(coupon_encode: Callable, coupon_decode: Callable, coupon_decode_all: Callable,
                 seed: int, *, n: int = 200, tamper: int = 100, forge: int = 0) -> Trial:
    trial = Trial(seed)
    rng = stream(seed, "E11.1")
    key = f"{KEY}-{seed}"
    codes = []
    for _ in range(n):
        scheme, serial = int(rng.integers(10_000, 1 << 15)), int(rng.integers(0, 1 << 30))
        code = coupon_encode(scheme, serial, key)
        if not isinstance(code, str) or len(code) != LENGTH or not set(code) <= set(ALPHABET):
            return trial.fail(f"coupon_encode({scheme}, {serial}) returned {code!r}: expected "
                              "10 characters from the 60-character alphabet")
        back = coupon_decode(code, key)
        if back is None or tuple(back) != (scheme, serial):
            return trial.fail(f"coupon_decode({code!r}) returned {back!r}, expected {(scheme, serial)}")
        codes.append(code)
    tampered = []
    for code in codes[:tamper]:
        for pos in range(LENGTH):
            c = ALPHABET[(ALPHABET.index(code[pos]) + 1 + int(rng.integers(59))) % 60]
            tampered.append(code[:pos] + c + code[pos + 1:])
    results = coupon_decode_all(tampered, key)
    if not isinstance(results, list) or len(results) != len(tampered):
        return trial.fail("coupon_decode_all must return one result per code, in order")
    accepted = sum(r is not None for r in results)
    if accepted > 0.001 * len(tampered):
        return trial.fail(f"{accepted} of {len(tampered)} codes with one character changed were "
                          "accepted (at most 0.1% may be)")
    run = [coupon_encode(10_001, s, key) for s in range(100)]
    if run == sorted(run) or sum(a[:3] == b[:3] for a, b in itertools.pairwise(run)) > 5:
        return trial.fail("codes of consecutive serials look consecutive: permute the serial under the key")
    other = coupon_decode_all(codes, key + "-other")
    if sum(r is not None for r in other) > 0.01 * len(codes) + 1:
        return trial.fail("codes made with one key are accepted under another key: the check "
                          "code must depend on the key (a keyed MAC)")
    if forge:
        guesses = ["".join(ALPHABET[int(i)] for i in rng.integers(0, 60, LENGTH)) for _ in range(forge)]
        hits = sum(r is not None for r in coupon_decode_all(guesses, key))
        if hits > 3 * forge / 2 ** 13 + 3:
            return trial.fail(f"{hits} of {forge} random strings were accepted: expected about "
                              f"{forge / 2 ** 13:.1f} or fewer with a 13-bit check code")
    return trial


# -- E11.2 trace ids and span ids ----------------------------------------------------------
def trace_trial(trace_id: Callable, parse_trace_id_: Callable, next_seq: Callable,
                seed: int, *, n: int = 50) -> Trial:
    trial = Trial(seed)
    rng = stream(seed, "E11.2")
    for _ in range(n):
        ip = ".".join(str(int(x)) for x in rng.integers(0, 256, 4))
        ms = int(rng.integers(10**12, 10**13))
        seq = int(rng.integers(1000, 9002))
        pid = int(rng.integers(1, 10 ** int(rng.integers(1, 8))))
        want = "".join(f"{int(p):02x}" for p in ip.split(".")) + f"{ms:013d}{seq}{pid}"
        got = trace_id(ip, ms, seq, pid)
        if got != want:
            return trial.fail(f"trace_id({ip!r}, {ms}, {seq}, {pid}) returned {got!r}, expected {want!r}")
        parsed = parse_trace_id_(want)
        if parsed is None or tuple(parsed) != (ip, ms, seq, pid):
            return trial.fail(f"parse_trace_id({want!r}) returned {parsed!r}")
    if trace_id(None, 1764115200000, 1001, 7) != "ffffffff176411520000010017":
        return trial.fail("with no IPv4 address (ip=None) the trace id starts with ffffffff")
    if tuple(parse_trace_id("ffffffff176411520000010017")) != tuple(parse_trace_id_("ffffffff176411520000010017")):
        return trial.fail("parse_trace_id of an ffffffff trace id should give ip None")
    cur, want_seq, got_seq = SEQ_START, [], []
    for _ in range(8003):
        cur = SEQ_START if cur > SEQ_WRAP else cur + 1
        want_seq.append(cur)
    cur = SEQ_START
    for _ in range(8003):
        cur = next_seq(cur)
        got_seq.append(cur)
    if got_seq != want_seq:
        i = next(i for i, (a, b) in enumerate(zip(got_seq, want_seq, strict=False)) if a != b)
        return trial.fail(f"the counter's step {i + 1} gave {got_seq[i]}, SOFATracer gives {want_seq[i]} "
                          "(start at 1000; next = 1000 if current > 9000 else current + 1)")
    return trial


def span_trial(child_span_id_: Callable, next_sibling_: Callable, build_tree: Callable,
               seed: int, *, requests: int = 3) -> Trial:
    trial = Trial(seed)
    rng = stream(seed, "E11.2/spans")
    for _ in range(20):
        path = "0" + "".join(f".{int(x)}" for x in rng.integers(1, 9, int(rng.integers(0, 4))))
        k = int(rng.integers(1, 6))
        if child_span_id_(path, k) != child_span_id(path, k):
            return trial.fail(f"child_span_id({path!r}, {k}) returned {child_span_id_(path, k)!r}")
        if path != "0" and next_sibling_(path) != next_sibling(path):
            return trial.fail(f"next_sibling({path!r}) returned {next_sibling_(path)!r}")
    graph = {"A": ["B", "C", "D"], "C": ["E", "F"], "D": ["G"], "G": ["H", "I"]}
    _, log = call_graph(graph, requests=requests, seed=seed)
    shuffled = [tuple(log[i]) for i in rng.permutation(len(log))]
    want = reconstruct(log)
    got = build_tree(shuffled)
    if not isinstance(got, dict) or {t: dict(v) for t, v in got.items()} != want:
        return trial.fail(f"build_tree returned {got!r}, expected {want!r}")
    return trial


# -- E11.3 short URLs ---------------------------------------------------------------------
def shorturl_trial(short_code: Callable, expand: Callable, seed: int, *, n: int = 300,
                   run: int = 1000) -> Trial:
    trial = Trial(seed)
    rng = stream(seed, "E11.3")
    key = f"{KEY}-{seed}"
    for _ in range(n):
        ident = int(rng.integers(0, 62 ** 7))
        code = short_code(ident, key)
        if not isinstance(code, str) or not 1 <= len(code) <= 7 or not code.isalnum() or not code.isascii():
            return trial.fail(f"short_code({ident}) returned {code!r}: expected at most 7 characters of 0-9a-zA-Z")
        if expand(code, key) != ident:
            return trial.fail(f"expand({code!r}) returned {expand(code, key)!r}, expected {ident}")
    start = int(rng.integers(0, 10**9))
    codes = [short_code(start + i, key) for i in range(run)]
    if len(set(codes)) != run:
        return trial.fail(f"two of {run} consecutive ids got the same code")
    shared = sum(a[:4] == b[:4] for a, b in itertools.pairwise(codes))
    if shared > 0.01 * (run - 1):
        return trial.fail(f"{shared} of {run - 1} consecutive codes share their first 4 characters: "
                          "scramble the id with a keyed bijection before encoding")
    return trial


# -- E11.4 order numbers ------------------------------------------------------------------
def order_trial(order_number: Callable, seed: int, *, per_node: int = 300, day_volume: int = 3000) -> Trial:
    trial = Trial(seed)
    rng = stream(seed, "E11.4")
    key = f"{KEY}-{seed}"
    day = f"{int(rng.integers(24, 40)):02d}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
    biz = int(rng.integers(0, 10))
    seen: set[int] = set()
    for node in range(8):
        for counter in range(per_node):
            n = order_number(day, biz, node, counter, key)
            if not isinstance(n, int) or isinstance(n, bool) or not 0 < n < 2 ** 63:
                return trial.fail(f"order_number returned {n!r}: expected a positive int below 2**63")
            s = str(n)
            if len(s) != 19 or s[:6] != day or s[6] != str(biz) or s[7] != str(node):
                return trial.fail(f"order number {n} should be 19 digits: {day}, business type {biz}, "
                                  f"node {node}, then 11 digits")
            if n in seen:
                return trial.fail(f"order number {n} issued twice")
            seen.add(n)
    numbers = [order_number(day, biz, 1, c, key) for c in range(day_volume)]
    sample = rng.choice(numbers, 30, replace=False).tolist()
    m = max(x % OPAQUE for x in sample) + 1
    estimate = m * (1 + 1 / len(sample)) - 1
    if abs(estimate - day_volume) / day_volume <= 0.5:
        return trial.fail(f"from 30 of a day's {day_volume} order numbers the German tank estimator "
                          f"guesses {estimate:,.0f} orders: the numbers leak the daily volume")
    return trial


__all__ = ["coupon_trial", "order_trial", "shorturl_trial", "span_trial", "trace_trial"]
