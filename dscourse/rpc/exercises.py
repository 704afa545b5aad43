"""Trusted harnesses for Chapter 12's exercises (E12.1-E12.6).

Each exercise asks for a *variant* of a library algorithm as a plain function of plain data
(so it runs in the grader's sandbox, and the library's code cannot be pasted in): the harness
calls it, checks every result's shape before use, and returns a
:class:`~dscourse.checkers.trial.Trial` with one violation per failed property, so each test
can give credit per property.

* E12.1 ``wrr_pick(weights, current) -> [name, new_current]`` -- one step of smooth weighted
  round robin over dicts, ties to the alphabetically first name.
* E12.2 ``ring_build(nodes, vnodes) -> [[point, node], ...]`` and ``ring_lookup(ring, keys) ->
  [node, ...]`` -- a consistent-hash ring on SHA-1 (not Dubbo's MD5 layout).
* E12.3 ``least_active_pick(actives, weights, u) -> name`` -- least-active with ties broken by
  weighted random from a given uniform draw ``u``.
* E12.4 ``failover_next(providers, tried, idempotent, retries, tokens) -> provider or None``
  -- the decision rule of a Failover invoker with a retry budget, driven through real calls on
  the simulated RPC system, whose providers count duplicate side effects.
* E12.5 ``extension_chain(files, spi, name, url) -> [class, ...] or None`` -- Dubbo's
  ExtensionLoader on resource texts: named extensions, the ``@SPI`` default, ``@Adaptive`` by
  URL parameter, wrapper chains, duplicate names; a conformance table and random files against
  :class:`~dscourse.rpc.spi.ExtensionLoader` (:mod:`.exercises_spi`).
* E12.6 ``encode(schema, message) -> bytes`` and ``decode(schema, data) -> message`` -- a
  schema-based varint codec in protobuf's wire format: round trip, both directions against the
  reference, unknown fields skipped, at most half of JSON's size, bad input refused
  (:mod:`.exercises_codec`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..sim import Constant, stream
from .exercises_codec import CODEC_PROPERTIES, codec_trial, reference_decode, reference_encode
from .exercises_spi import SPI_PROPERTIES, reference_extension_chain, spi_trial
from .model import Invocation, Provider
from .system import cluster

__all__ = ["CODEC_PROPERTIES", "FAILOVER_PROPERTIES", "LEAST_ACTIVE_PROPERTIES", "RING_PROPERTIES",
           "SPI_PROPERTIES", "WRR_PROPERTIES", "codec_trial", "failover_trial", "least_active_trial",
           "reference_decode", "reference_encode", "reference_extension_chain", "reference_least_active",
           "reference_lookup", "reference_ring", "reference_wrr_pick", "ring_trial", "sha1_point", "spi_trial",
           "wrr_trial"]

Fn = Callable[..., Any]


def _names(rng: Any, n: int) -> list[str]:
    pool = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    return sorted(pool[int(i)] for i in rng.permutation(len(pool))[:n])


# -- E12.1 smooth weighted round robin --------------------------------------------------------
WRR_PROPERTIES = ("cycle", "counts", "smooth", "reference")


def reference_wrr_pick(weights: dict[str, int], current: dict[str, int]) -> list[Any]:
    cur = {k: current.get(k, 0) + w for k, w in weights.items()}
    best = min(cur, key=lambda k: (-cur[k], k))
    cur[best] -= sum(weights.values())
    return [best, cur]


def _wrr_run(wrr_pick: Fn, weights: dict[str, int], steps: int) -> tuple[list[str], str | None]:
    current = dict.fromkeys(weights, 0)
    out: list[str] = []
    for _ in range(steps):
        res = wrr_pick(dict(weights), dict(current))
        if not isinstance(res, (list, tuple)) or len(res) != 2 or res[0] not in weights \
                or not isinstance(res[1], dict) or set(res[1]) != set(weights) \
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in res[1].values()):
            return out, (f"wrr_pick({weights}, {current}) returned {res!r}: expected [name, new_current] "
                         "with new_current a dict of ints for every name")
        out.append(res[0])
        current = dict(res[1])
    return out, None


def wrr_trial(wrr_pick: Fn, seed: int, *, sets: int = 10, properties: Iterable[str] = WRR_PROPERTIES) -> Trial:
    """``cycle``: weights a=5, b=1, c=1 give ``a a b a c a a``; ``counts``: every cycle of
    ``sum(weights)`` picks has each name exactly its weight times; ``smooth``: after n picks
    each name's count is within one of ``n * w / total``; ``reference``: the exact sequence."""
    props = selected(properties, WRR_PROPERTIES)
    trial = Trial(seed)
    if "cycle" in props:
        seq, err = _wrr_run(wrr_pick, {"a": 5, "b": 1, "c": 1}, 14)
        if err:
            return trial.fail(err)
        if "".join(seq) != "aabacaa" * 2:
            trial.violate(f"Cycle: weights a=5, b=1, c=1 gave {' '.join(seq)}; expected a a b a c a a, twice")
    rng = stream(seed, "E12.1")
    problems: dict[str, str] = {}
    for _ in range(sets):
        names = _names(rng, int(rng.integers(2, 6)))
        weights = {k: int(rng.integers(1, 10)) for k in names}
        total = sum(weights.values())
        seq, err = _wrr_run(wrr_pick, weights, 2 * total)
        if err:
            return trial.fail(err)
        counts = dict.fromkeys(weights, 0)
        for n, name in enumerate(seq, 1):
            counts[name] += 1
            if any(abs(c - n * weights[k] / total) >= 1 for k, c in counts.items()):
                problems.setdefault("smooth", f"Smooth: weights {weights}: after {n} picks the counts are {counts}, "
                                              "more than one pick away from the weighted share")
            if n % total == 0 and counts != {k: w * n // total for k, w in weights.items()}:
                problems.setdefault("counts", f"Counts: weights {weights}: after {n} picks (whole cycles) the "
                                              f"counts are {counts}")
        ref, _ = _wrr_run(reference_wrr_pick, weights, 2 * total)
        if seq != ref:
            first = next(i for i, (a, b) in enumerate(zip(seq, ref, strict=True)) if a != b)
            problems.setdefault("reference", f"Reference: weights {weights}: pick {first + 1} was {seq[first]}, "
                                             f"expected {ref[first]} (sequence so far: {' '.join(ref[:first + 1])})")
    for p in ("counts", "smooth", "reference"):
        if p in props and p in problems:
            trial.violate(problems[p])
    return trial


# -- E12.2 consistent hashing on SHA-1 --------------------------------------------------------
RING_PROPERTIES = ("points", "lookup", "order", "remap")


def sha1_point(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)


def reference_ring(nodes: list[str], vnodes: int) -> list[list[Any]]:
    return sorted([sha1_point(f"{n}#{i}"), n] for n in nodes for i in range(vnodes))


def reference_lookup(ring: list[list[Any]], keys: list[str]) -> list[str]:
    import bisect
    points = [p for p, _ in ring]
    out = []
    for k in keys:
        i = bisect.bisect_left(points, sha1_point(k))
        out.append(ring[i if i < len(ring) else 0][1])
    return out


def _ring(ring_build: Fn, nodes: list[str], vnodes: int) -> list[list[Any]]:
    ring = ring_build(list(nodes), vnodes)
    if not isinstance(ring, (list, tuple)) or not all(
            isinstance(e, (list, tuple)) and len(e) == 2 and isinstance(e[0], int) and e[1] in nodes for e in ring):
        raise _Shape(f"ring_build({nodes}, {vnodes}) returned {str(ring)[:80]}...: expected a list of "
                     "[point, node] pairs")
    return [[int(p), n] for p, n in ring]


class _Shape(Exception):
    pass


def _lookup(ring_lookup: Fn, ring: list[list[Any]], keys: list[str], nodes: list[str]) -> list[str]:
    out = ring_lookup([list(e) for e in ring], list(keys))
    if not isinstance(out, (list, tuple)) or len(out) != len(keys) or not all(o in nodes for o in out):
        raise _Shape(f"ring_lookup(ring, {len(keys)} keys) returned {str(out)[:80]}: expected one node per key")
    return list(out)


def ring_trial(ring_build: Fn, ring_lookup: Fn, seed: int, *, keys: int = 4000,
               properties: Iterable[str] = RING_PROPERTIES) -> Trial:
    """``points``: the ring equals SHA-1 of ``node#i`` (first 8 hex digits), sorted; ``lookup``:
    each key goes to the first point at or after its own, wrapping; ``order``: the mapping does
    not depend on the order of ``nodes``; ``remap``: a join moves 1/(n+1) ± 0.05 of the keys,
    all to the newcomer."""
    props = selected(properties, RING_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E12.2")
    n = int(rng.integers(3, 7))
    nodes = [f"10.0.{int(rng.integers(0, 255))}.{i}:20880" for i in range(n + 1)]
    vnodes = int(rng.integers(60, 160))
    names = [f"user-{int(rng.integers(0, 10**9))}" for _ in range(keys)]
    try:
        ring = _ring(ring_build, nodes[:n], vnodes)
        ref = reference_ring(nodes[:n], vnodes)
        if "points" in props and ring != ref:
            trial.violate(f"Points: the ring of {n} nodes x {vnodes} virtual nodes has {len(ring)} entries; "
                          f"expected {len(ref)}, first {ref[:2]}; got first {ring[:2]}")
        got = _lookup(ring_lookup, ring, names, nodes)
        want = reference_lookup(ring, names)
        wrong = [(k, g, w) for k, g, w in zip(names, got, want, strict=True) if g != w]
        if "lookup" in props and wrong:
            trial.violate(f"Lookup: {len(wrong)} of {keys} keys on the wrong node, e.g. {wrong[0][0]!r} -> "
                          f"{wrong[0][1]} (expected {wrong[0][2]}, the first point at or after SHA-1 of the key)")
        if "order" in props:
            shuffled = [nodes[:n][int(i)] for i in rng.permutation(n)]
            again = _lookup(ring_lookup, _ring(ring_build, shuffled, vnodes), names, nodes)
            if again != got:
                trial.violate("Order: listing the same nodes in another order moved some keys")
        if "remap" in props:
            after = _lookup(ring_lookup, _ring(ring_build, nodes, vnodes), names, nodes)
            moved = [(a, b) for a, b in zip(got, after, strict=True) if a != b]
            share = len(moved) / keys
            if any(b != nodes[n] for _a, b in moved):
                trial.violate("Remap: a join moved keys between old nodes; only the newcomer may take keys")
            elif abs(share - 1 / (n + 1)) > 0.05:
                trial.violate(f"Remap: a join to {n} nodes moved {share:.1%} of the keys; expected about "
                              f"{1 / (n + 1):.1%}")
    except _Shape as e:
        return trial.fail(str(e))
    return trial


# -- E12.3 least active ----------------------------------------------------------------------------
LEAST_ACTIVE_PROPERTIES = ("minimum", "reference", "weights")


def reference_least_active(actives: dict[str, int], weights: dict[str, int], u: float) -> str:
    least = min(actives.values())
    tied = sorted(k for k, a in actives.items() if a == least)
    total = sum(weights[k] for k in tied)
    if len({weights[k] for k in tied}) > 1 and total > 0:
        offset = int(u * total)
        for k in tied:
            offset -= weights[k]
            if offset < 0:
                return k
    return tied[int(u * len(tied))]


def least_active_trial(least_active_pick: Fn, seed: int, *, cases: int = 300,
                       properties: Iterable[str] = LEAST_ACTIVE_PROPERTIES) -> Trial:
    """``minimum``: the pick has the fewest active calls; ``reference``: the exact pick for
    random cases; ``weights``: over a grid of draws ``u``, tied names are picked in proportion
    to their weights (uniformly when the weights are equal)."""
    props = selected(properties, LEAST_ACTIVE_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E12.3")
    problems: dict[str, str] = {}
    for _ in range(cases):
        names = _names(rng, int(rng.integers(2, 7)))
        actives = {k: int(rng.integers(0, 4)) for k in names}
        same = rng.random() < 0.3
        weights = {k: 100 if same else int(rng.integers(1, 6)) for k in names}
        u = float(rng.random())
        got = least_active_pick(dict(actives), dict(weights), u)
        if got not in actives:
            return trial.fail(f"least_active_pick({actives}, {weights}, {u:.3f}) returned {got!r}: expected a name")
        if actives[got] != min(actives.values()):
            problems.setdefault("minimum", f"Minimum: actives {actives}: picked {got} with {actives[got]} in flight")
        want = reference_least_active(actives, weights, u)
        if got != want:
            problems.setdefault("reference", f"Reference: least_active_pick({actives}, {weights}, u={u:.4f}) "
                                             f"returned {got}; expected {want}")
    if "weights" in props:
        for actives, weights in (({"a": 0, "b": 0, "c": 1}, {"a": 3, "b": 1, "c": 9}),
                                 ({"a": 2, "b": 1, "c": 1, "d": 1}, {"a": 1, "b": 5, "c": 5, "d": 5})):
            grid = [(i + 0.5) / 1000 for i in range(1000)]
            picks = [least_active_pick(dict(actives), dict(weights), u) for u in grid]
            least = min(actives.values())
            tied = [k for k in actives if actives[k] == least]
            total = sum(weights[k] for k in tied)
            for k in tied:
                share = picks.count(k) / len(picks)
                if abs(share - weights[k] / total) > 0.01:
                    problems.setdefault("weights", f"Weights: actives {actives}, weights {weights}: {k} got "
                                                   f"{share:.1%} of the draws; expected {weights[k] / total:.1%}")
    for p in ("minimum", "reference", "weights"):
        if p in props and p in problems:
            trial.violate(problems[p])
    return trial


# -- E12.4 a failover invoker with a retry budget ------------------------------------------------
FAILOVER_PROPERTIES = ("stops", "retries", "order", "budget")
TOKENS_MAX, TOKEN_REFILL = 10.0, 0.1


def failover_trial(failover_next: Fn, seed: int, *, calls: int = 40,
                   properties: Iterable[str] = FAILOVER_PROPERTIES) -> Trial:
    """Run ``calls`` calls through the student's decision rule on a simulated system of four
    providers (some slower than the 200 ms timeout, one crashed). ``stops``: no attempt after
    ``ok`` or ``biz``, none after the first for a non-idempotent call (and no duplicate order);
    ``retries``: after a timeout or network error an idempotent call retries while it has
    retries, budget and an untried provider; ``order``: each attempt goes to the first untried
    provider in the given order; ``budget``: a retry only with ``tokens >= 1``."""
    props = selected(properties, FAILOVER_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E12.4")
    slow_ms = 600.0
    latencies = [Constant(slow_ms if rng.random() < 0.5 else 10.0) for _ in range(4)]
    latencies[int(rng.integers(0, 4))] = Constant(10.0)
    c = cluster([{"latency": lat} for lat in latencies], seed=seed, registry=False, cluster="failfast", timeout=200)
    addresses = list(c.providers)
    down = addresses[int(rng.integers(0, 4))]
    c.crash(down)
    trial.trace = c.sim.trace
    tokens = float(rng.integers(2, 6))
    problems: dict[str, str] = {}
    for n in range(calls):
        method = ["sayHello", "placeOrder", "fail"][int(rng.integers(0, 3))]
        idempotent = method != "placeOrder"
        retries = int(rng.integers(0, 4))
        order = [addresses[int(i)] for i in rng.permutation(4)]
        tried: list[list[str]] = []
        while True:
            choice = failover_next(list(order), [list(t) for t in tried], idempotent, retries, tokens)
            if choice is not None and choice not in order:
                return trial.fail(f"failover_next returned {choice!r}: expected one of the providers or None")
            last = tried[-1][1] if tried else None
            untried = [p for p in order if p not in [t[0] for t in tried]]
            can_retry = idempotent and len(tried) <= retries and tokens >= 1 and bool(untried)
            if tried and choice is not None:
                if last in ("ok", "biz") or not idempotent:
                    problems.setdefault("stops", f"Stops: call {n} ({method}, idempotent={idempotent}) was "
                                                 f"tried again after {tried}")
                    break
                if len(tried) > retries:
                    problems.setdefault("retries", f"Retries: call {n} made attempt {len(tried) + 1} with "
                                                   f"retries={retries}")
                    break
                if tokens < 1:
                    problems.setdefault("budget", f"Budget: call {n} retried with {tokens:.1f} tokens left")
                    break
            if choice is None:
                if not tried:
                    problems.setdefault("retries", f"Retries: call {n} was never attempted")
                elif last in ("timeout", "network") and can_retry:
                    problems.setdefault("retries", f"Retries: call {n} ({method}) stopped after {tried} with "
                                                   f"retries={retries}, {tokens:.1f} tokens and {untried} untried")
                break
            if untried and choice != untried[0]:
                problems.setdefault("order", f"Order: call {n} tried {choice} before {untried[0]} (order {order}, "
                                             f"tried {tried})")
            if tried:
                tokens -= 1
            done: list[Any] = []
            arg = f"o{n}" if method == "placeOrder" else f"u{n}"
            c.consumer.call(Provider(choice), Invocation("DemoService", method, (arg,)), done.append)
            c.run_until(lambda done=done: bool(done), 5_000)
            r = done[0]
            outcome = "ok" if r.ok else r.error.code
            if outcome == "ok":
                tokens = min(TOKENS_MAX, tokens + TOKEN_REFILL)
            tried.append([choice, outcome])
    dup = c.duplicates()
    if dup:
        problems.setdefault("stops", f"Stops: {dup} order(s) placed twice: a non-idempotent call was retried")
    for p in FAILOVER_PROPERTIES:
        if p in props and p in problems:
            trial.violate(problems[p], at=c.now)
    return trial
