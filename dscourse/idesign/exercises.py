"""Test harnesses for Chapter 11's graded exercises (E11.1-E11.4), run by the trusted grader.

Each ``*_trial`` drives the student's functions with inputs derived from the seed and
returns a :class:`~dscourse.checkers.trial.Trial`; only plain data crosses to the student.
Every trial judges a tuple of named ``properties`` (all by default), so a test cell can give
one point per property; a failing trial lists *every* selected property that failed, each
with an example, not only the first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import cast

from ..checkers.trial import Trial, selected
from ..sim.rng import stream
from .callgraph import call_graph, reconstruct
from .coupon import ALPHABET, LENGTH
from .orders import OPAQUE
from .tracing import SEQ_START, SEQ_WRAP, child_span_id, next_sibling, parse_trace_id

KEY = "grader-key"


# -- E11.1 coupons ------------------------------------------------------------------------
COUPON_PROPERTIES = ("round trip", "tampering", "scrambled", "keyed", "forgery")
SCRAMBLE_RUN = 100
SCRAMBLED_BITS = 38


def changing_bits(codes: list[str]) -> int:
    """How many bit positions of the codes' 58-bit values take both values across ``codes``,
    the smaller count of the two digit orders (most significant character first or last).

    Codes of one scheme and consecutive serials: the 15 scheme bits never change and the 13
    check bits always do. An unpermuted serial changes only its low bits (about 7 over 100
    serials: some 20 bits in all), whatever the check code does to the characters; a serial
    mapped by a keyed bijection changes all 30 (43 in all). Counting characters that differ
    would not tell them apart: in base 60 the check bits alter every character."""
    def value(code: str, order: str) -> int:
        v = 0
        for c in (code if order == "msb" else reversed(code)):
            v = v * 60 + ALPHABET.index(c)
        return v

    counts = []
    for order in ("msb", "lsb"):
        ones, zeros = 0, 0
        for code in codes:
            v = value(code, order)
            ones, zeros = ones | v, zeros | ~v
        counts.append(bin(ones & zeros & ((1 << 60) - 1)).count("1"))
    return min(counts)


def coupon_trial(coupon_encode: Callable, coupon_decode: Callable, coupon_decode_all: Callable,
                 seed: int, *, n: int = 200, tamper: int = 100, forge: int = 0,
                 properties: Iterable[str] = COUPON_PROPERTIES) -> Trial:
    """``round trip``: 10 characters of the alphabet, decoded back (``n`` random inputs);
    ``tampering``: at most 0.1% of single-character changes accepted; ``scrambled``: over
    100 consecutive serials from a random start, at least 38 bits of the codes change
    (:func:`changing_bits`: the serial field changes in all its bits, not only its low
    ones); ``keyed``: another key rejects the codes; ``forgery`` (with ``forge`` > 0 random
    strings): accepted no more often than a 13-bit check allows."""
    props = selected(properties, COUPON_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E11.1")
    key = f"{KEY}-{seed}"
    inputs = [(int(rng.integers(10_000, 1 << 15)), int(rng.integers(0, 1 << 30))) for _ in range(n)]
    codes: list[str] = []
    bad: list[str] = []
    for scheme, serial in inputs:
        code = coupon_encode(scheme, serial, key)
        if not isinstance(code, str) or len(code) != LENGTH or not set(code) <= set(ALPHABET):
            bad.append(f"coupon_encode({scheme}, {serial}) returned {code!r}: expected 10 "
                       "characters from the 60-character alphabet")
            continue
        back = coupon_decode(code, key)
        if back is None or tuple(back) != (scheme, serial):
            bad.append(f"coupon_decode({code!r}) returned {back!r}, expected {(scheme, serial)}")
        codes.append(code)
    if "round trip" in props and bad:
        trial.violate(f"Round trip: {len(bad)} of {n} codes wrong; e.g. " + "; ".join(bad[:2]))
    if not codes:
        return trial.fail("no code to go on: coupon_encode must return 10-character strings")
    if "tampering" in props:
        tampered = []
        for code in codes[:tamper]:
            for pos in range(LENGTH):
                c = ALPHABET[(ALPHABET.index(code[pos]) + 1 + int(rng.integers(59))) % 60]
                tampered.append(code[:pos] + c + code[pos + 1:])
        results = coupon_decode_all(tampered, key)
        if not isinstance(results, list) or len(results) != len(tampered):
            trial.violate("coupon_decode_all must return one result per code, in order")
        else:
            accepted = [t for t, r in zip(tampered, results, strict=True) if r is not None]
            if len(accepted) > 0.001 * len(tampered):
                trial.violate(f"Tampering: {len(accepted)} of {len(tampered)} codes with one "
                              f"character changed were accepted (at most 0.1% may be), e.g. "
                              f"{accepted[0]!r}")
    if "scrambled" in props:
        start = int(rng.integers(0, (1 << 30) - SCRAMBLE_RUN))
        run = [coupon_encode(10_001, s, key) for s in range(start, start + SCRAMBLE_RUN)]
        valid = [c for c in run if isinstance(c, str) and len(c) == LENGTH and set(c) <= set(ALPHABET)]
        changing = changing_bits(valid) if len(valid) == len(run) else 0
        if len(valid) < len(run):
            trial.violate(f"Scrambled: {len(run) - len(valid)} of {SCRAMBLE_RUN} codes are not 10 "
                          "characters of the alphabet")
        elif changing < SCRAMBLED_BITS:
            trial.violate(f"Scrambled: over {SCRAMBLE_RUN} consecutive serials ({start}..."
                          f"{start + SCRAMBLE_RUN - 1}, scheme 10001) only {changing} bits of the "
                          f"codes change; the 13 check bits and a serial mapped by a keyed bijection "
                          f"change about 43 (at least {SCRAMBLED_BITS} needed): the serial is not "
                          "permuted under the key")
    if "keyed" in props:
        other = coupon_decode_all(codes, key + "-other")
        if not isinstance(other, list) or sum(r is not None for r in other) > 0.01 * len(codes) + 1:
            trial.violate("Keyed: codes made with one key are accepted under another key: the "
                          "check code must depend on the key (a keyed MAC)")
    if "forgery" in props and forge:
        guesses = ["".join(ALPHABET[int(i)] for i in rng.integers(0, 60, LENGTH)) for _ in range(forge)]
        found = coupon_decode_all(guesses, key)
        hits = sum(r is not None for r in found) if isinstance(found, list) else forge
        if hits > 3 * forge / 2 ** 13 + 3:
            trial.violate(f"Forgery: {hits} of {forge} random strings were accepted: expected "
                          f"about {forge / 2 ** 13:.1f} or fewer with a 13-bit check code")
    return trial


# -- E11.2 trace ids and span ids ----------------------------------------------------------
TRACE_PROPERTIES = ("format", "parse", "counter")
SPAN_PROPERTIES = ("span ids", "tree")


def trace_trial(trace_id: Callable, parse_trace_id_: Callable, next_seq: Callable,
                seed: int, *, n: int = 50, properties: Iterable[str] = TRACE_PROPERTIES) -> Trial:
    """``format``: ``trace_id`` gives SOFATracer's layout (with ``ffffffff`` for no IPv4);
    ``parse``: ``parse_trace_id`` recovers the fields (variable-length pid, ip None);
    ``counter``: ``next_seq`` wraps as SOFATracer's does."""
    props = selected(properties, TRACE_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E11.2")
    wrong_format: list[str] = []
    wrong_parse: list[str] = []
    for _ in range(n):
        ip = ".".join(str(int(x)) for x in rng.integers(0, 256, 4))
        ms = int(rng.integers(10**12, 10**13))
        seq = int(rng.integers(1000, 9002))
        pid = int(rng.integers(1, 10 ** int(rng.integers(1, 8))))
        want = "".join(f"{int(p):02x}" for p in ip.split(".")) + f"{ms:013d}{seq}{pid}"
        if "format" in props:
            got = trace_id(ip, ms, seq, pid)
            if got != want:
                wrong_format.append(f"trace_id({ip!r}, {ms}, {seq}, {pid}) returned {got!r}, "
                                    f"expected {want!r}")
        if "parse" in props:
            parsed = parse_trace_id_(want)
            if parsed is None or tuple(parsed) != (ip, ms, seq, pid):
                wrong_parse.append(f"parse_trace_id({want!r}) returned {parsed!r}, expected "
                                   f"{(ip, ms, seq, pid)}")
    none_id = "ffffffff176411520000010017"
    if "format" in props and trace_id(None, 1764115200000, 1001, 7) != none_id:
        wrong_format.append("with no IPv4 address (ip=None) the trace id starts with ffffffff")
    if "parse" in props:
        parsed = parse_trace_id_(none_id)
        if parsed is None or tuple(parsed) != tuple(parse_trace_id(none_id)):
            wrong_parse.append(f"parse_trace_id({none_id!r}) returned {parsed!r}; expected "
                               f"{tuple(parse_trace_id(none_id))} (ip None)")
    for name, wrong in (("Format", wrong_format), ("Parse", wrong_parse)):
        if wrong:
            trial.violate(f"{name}: {len(wrong)} wrong; e.g. " + "; ".join(wrong[:2]))
    if "counter" in props:
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
            trial.violate(f"Counter: step {i + 1} gave {got_seq[i]}, SOFATracer gives "
                          f"{want_seq[i]} (start at 1000; next = 1000 if current > 9000 else "
                          "current + 1)")
    return trial


def span_trial(child_span_id_: Callable, next_sibling_: Callable, build_tree: Callable,
               seed: int, *, requests: int = 3, properties: Iterable[str] = SPAN_PROPERTIES) -> Trial:
    """``span ids``: ``child_span_id`` and ``next_sibling`` on random span ids; ``tree``: the
    call trees ``build_tree`` rebuilds from the shuffled logs of a simulated call graph."""
    props = selected(properties, SPAN_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E11.2/spans")
    wrong: list[str] = []
    for _ in range(20):
        path = "0" + "".join(f".{int(x)}" for x in rng.integers(1, 9, int(rng.integers(0, 4))))
        k = int(rng.integers(1, 6))
        if "span ids" not in props:
            continue
        if child_span_id_(path, k) != child_span_id(path, k):
            wrong.append(f"child_span_id({path!r}, {k}) returned {child_span_id_(path, k)!r}, "
                         f"expected {child_span_id(path, k)!r}")
        if path != "0" and next_sibling_(path) != next_sibling(path):
            wrong.append(f"next_sibling({path!r}) returned {next_sibling_(path)!r}, expected "
                         f"{next_sibling(path)!r}")
    if wrong:
        trial.violate(f"Span ids: {len(wrong)} wrong; e.g. " + "; ".join(wrong[:2]))
    if "tree" in props:
        graph = {"A": ["B", "C", "D"], "C": ["E", "F"], "D": ["G"], "G": ["H", "I"]}
        _, log = call_graph(graph, requests=requests, seed=seed)
        shuffled = [tuple(log[i]) for i in rng.permutation(len(log))]
        want = reconstruct(log)
        got = build_tree(shuffled)
        if not isinstance(got, dict) or {t: dict(v) for t, v in got.items()} != want:
            trial.violate(f"Tree: build_tree returned {got!r}, expected {want!r}"[:600])
    return trial


# -- E11.3 a keyed permutation and short URLs ---------------------------------------------
PERMUTATION_PROPERTIES = ("bijection", "keyed", "scrambled")
SHORTURL_PROPERTIES = ("codes", "prefixes")
DOMAINS = (2, 3, 10, 97, 1000)  # small enough to check every value (calls cross the sandbox)


def permutation_trial(keyed_permutation: Callable, seed: int, *,
                      domains: tuple[int, ...] | None = DOMAINS,
                      properties: Iterable[str] = PERMUTATION_PROPERTIES) -> Trial:
    """Judge ``keyed_permutation(x, domain, key, inverse=False)`` by what it must be, not by
    how it is built. ``bijection``: on each of ``domains`` (every value checked; ``None``
    draws four from the seed) and on 100
    random values of ``62**7``, it maps ``range(domain)`` onto itself with no repeats and
    ``inverse=True`` undoes it; ``keyed``: another key gives another permutation (at most
    1% of 500 values agree), and none is (nearly) the identity; ``scrambled``: consecutive
    inputs land far apart (in three windows of 100, at most 20 of 300 steps move less than 1/100 of the domain; a
    random permutation gives about 6) and the outputs are not monotone."""
    props = selected(properties, PERMUTATION_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E11.3/permutation")
    key, other = f"{KEY}-{seed}", f"{KEY}-{seed}-other"
    if domains is None:  # drawn from the seed: 2, one tiny, two up to 600
        domains = (2, int(rng.integers(3, 20)), *(int(d) for d in rng.integers(20, 600, 2)))

    def call(x: int, domain: int, k: str, inverse: bool = False) -> int | None:
        y = keyed_permutation(x, domain, k, inverse)  # positional: the sandbox proxy takes no keywords
        return y if type(y) is int else None

    if "bijection" in props:
        wrong = []
        for domain in domains:
            ys = [call(x, domain, key) for x in range(domain)]
            outside = [(x, y) for x, y in enumerate(ys) if y is None or not 0 <= y < domain]
            if outside:
                x, y = outside[0]
                wrong.append(f"domain {domain}: keyed_permutation({x}) = {y!r}, outside range({domain})")
                continue
            first: dict[int | None, int] = {}
            twice = next(((first[y], x, y) for x, y in enumerate(ys) if first.setdefault(y, x) != x), None)
            if twice is not None:
                wrong.append(f"domain {domain}: {twice[0]} and {twice[1]} both map to {twice[2]} "
                             "(not a bijection)")
                continue
            back = [(y, x) for x, y in enumerate(ys) if y is not None and call(y, domain, key, True) != x]
            if back:
                y, x = back[0]
                wrong.append(f"domain {domain}: keyed_permutation({y}, inverse=True) is not {x}")
        big = 62 ** 7
        for x in (int(v) for v in rng.integers(0, big, 100)):
            y = call(x, big, key)
            if y is None or not 0 <= y < big or call(y, big, key, True) != x:
                wrong.append(f"domain 62**7: {x} -> {y!r} does not come back with inverse=True")
                break
        if wrong:
            trial.violate(f"Bijection: {len(wrong)} problem(s): " + "; ".join(wrong[:3]))
    if "keyed" in props:
        domain = 10 ** 6
        xs = [int(v) for v in rng.integers(0, domain, 500)]
        ys = [call(x, domain, key) for x in xs]
        agree = sum(y == call(x, domain, other) for x, y in zip(xs, ys, strict=True))
        fixed = sum(x == y for x, y in zip(xs, ys, strict=True))
        if agree > 5:
            trial.violate(f"Keyed: keys {key!r} and {other!r} agree on {agree} of 500 values: "
                          "the rounds must depend on the key")
        if fixed > 5:
            trial.violate(f"Keyed: {fixed} of 500 values map to themselves: that is close to "
                          "the identity, not a permutation chosen by the key")
    if "scrambled" in props:  # three windows of 100: one window may dodge a weak network
        big = 62 ** 7
        starts = [int(v) for v in rng.integers(0, big - 101, 3)]
        windows = [[call(start + i, big, key) for i in range(101)] for start in starts]
        if any(y is None for w in windows for y in w):
            trial.violate("Scrambled: keyed_permutation must return an int")
        else:
            outs = [cast(list[int], w) for w in windows]
            near = sum(abs(b - a) < big // 100 for w in outs for a, b in itertools.pairwise(w))
            monotone = any(w in (sorted(w), sorted(w, reverse=True)) for w in outs)
            if near > 20 or monotone:
                trial.violate(f"Scrambled: {near} of 300 steps between consecutive inputs (from "
                              f"{starts[0]}, {starts[1]} and {starts[2]}) land within 1/100 of the "
                              f"domain (outputs {outs[0][:3]}...): a few rounds that mix every "
                              "bit are needed")
    return trial


def shorturl_trial(short_code: Callable, expand: Callable, seed: int, *, n: int = 300,
                   run: int = 1000, properties: Iterable[str] = SHORTURL_PROPERTIES) -> Trial:
    """``codes``: at most 7 characters of 0-9a-zA-Z for ids below ``62**7``, ``expand``
    inverts ``short_code``, no two of ``run`` consecutive ids share a code; ``prefixes``:
    codes of consecutive ids share their first 4 characters in at most 1% of cases."""
    props = selected(properties, SHORTURL_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E11.3")
    key = f"{KEY}-{seed}"
    wrong = []
    for _ in range(n):
        ident = int(rng.integers(0, 62 ** 7))
        if "codes" not in props:
            continue
        code = short_code(ident, key)
        if not isinstance(code, str) or not 1 <= len(code) <= 7 or not code.isalnum() or not code.isascii():
            wrong.append(f"short_code({ident}) returned {code!r}: expected at most 7 characters "
                         "of 0-9a-zA-Z")
        elif (back := expand(code, key)) != ident:
            wrong.append(f"expand({code!r}) returned {back!r}, expected {ident}")
    start = int(rng.integers(0, 10**9))
    codes = [short_code(start + i, key) for i in range(run)]
    if "codes" in props and len(set(codes)) != run:
        wrong.append(f"{run - len(set(codes))} of {run} consecutive ids share a code with another")
    if wrong:
        trial.violate(f"Codes: {len(wrong)} problem(s); e.g. " + "; ".join(wrong[:2]))
    if "prefixes" in props:
        shared = [(a, b) for a, b in itertools.pairwise(codes) if str(a)[:4] == str(b)[:4]]
        if len(shared) > 0.01 * (run - 1):
            trial.violate(f"Prefixes: {len(shared)} of {run - 1} consecutive codes share their "
                          f"first 4 characters, e.g. {shared[0][0]!r} and {shared[0][1]!r}: "
                          "scramble the id with the keyed permutation before encoding")
    return trial


# -- E11.4 order numbers ------------------------------------------------------------------
ORDER_PROPERTIES = ("layout", "unique", "volume")


def order_trial(order_number: Callable, seed: int, *, per_node: int = 300, day_volume: int = 3000,
                properties: Iterable[str] = ORDER_PROPERTIES) -> Trial:
    """``layout``: 19 digits, below ``2**63``: day, business type, node, 11 digits;
    ``unique``: no number twice over 8 nodes; ``volume``: the German tank estimator on 30 of
    a node's ``day_volume`` numbers is off by more than 50%."""
    props = selected(properties, ORDER_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E11.4")
    key = f"{KEY}-{seed}"
    day = f"{int(rng.integers(24, 40)):02d}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
    biz = int(rng.integers(0, 10))
    seen: set[int] = set()
    layout: list[str] = []
    repeats: list[int] = []
    if "layout" in props or "unique" in props:
        for node in range(8):
            for counter in range(per_node):
                n = order_number(day, biz, node, counter, key)
                if not isinstance(n, int) or isinstance(n, bool) or not 0 < n < 2 ** 63:
                    layout.append(f"order_number returned {n!r}: expected a positive int below 2**63")
                    continue
                s = str(n)
                if len(s) != 19 or s[:6] != day or s[6] != str(biz) or s[7] != str(node):
                    layout.append(f"order number {n} should be 19 digits: {day}, business type "
                                  f"{biz}, node {node}, then 11 digits")
                if n in seen:
                    repeats.append(n)
                seen.add(n)
    if "layout" in props and layout:
        trial.violate(f"Layout: {len(layout)} of {8 * per_node} numbers wrong; e.g. {layout[0]}")
    if "unique" in props and repeats:
        trial.violate(f"Unique: {len(repeats)} numbers issued twice, e.g. {repeats[0]}")
    if "volume" in props:
        numbers = [order_number(day, biz, 1, c, key) for c in range(day_volume)]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in numbers):
            return trial.fail("Volume: order_number must return ints")
        sample = rng.choice(numbers, 30, replace=False).tolist()
        m = max(x % OPAQUE for x in sample) + 1
        estimate = m * (1 + 1 / len(sample)) - 1
        if abs(estimate - day_volume) / day_volume <= 0.5:
            trial.violate(f"Volume: from 30 of a day's {day_volume} order numbers the German tank "
                          f"estimator guesses {estimate:,.0f} orders: the numbers leak the daily volume")
    return trial


__all__ = ["coupon_trial", "order_trial", "permutation_trial", "shorturl_trial", "span_trial",
           "trace_trial"]
