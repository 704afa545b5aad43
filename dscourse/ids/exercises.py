"""Test harnesses for Chapter 10's graded exercises (E10.1-E10.4), run by the trusted grader.

Each ``*_trial`` takes the student's functions (their own objects in the notebook, sandbox
proxies when grading) and a seed, drives them with inputs derived from the seed, compares
with this library's reference implementations, and returns a :class:`Trial` whose
``violations`` name the first things that went wrong. Inputs are plain data both ways.
"""

from __future__ import annotations

from collections.abc import Callable

from ..checkers.trial import Trial
from ..sim.rng import stream
from .cluster import cluster
from .layout import TWITTER_EPOCH_MS, Layout
from .segment import leaf_next_step as ref_leaf_next_step
from .segment import tinyid_segment as ref_tinyid_segment
from .uuids import random_bits, uuid7_from

EPOCH_MS = TWITTER_EPOCH_MS
LAYOUT = {"timestamp": 41, "worker": 10, "sequence": 12}
OTHER_LAYOUT = {"timestamp": 39, "datacenter": 5, "worker": 7, "sequence": 12}
START_MS = 1_700_000_000_000


def _ref_layout(layout: dict[str, int]) -> Layout:
    return Layout(tuple(layout.items()), epoch_ms=EPOCH_MS)


# -- E10.1 Snowflake ---------------------------------------------------------------------
def layout_trial(encode: Callable, decode: Callable, seed: int, n: int = 100) -> Trial:
    """``encode(fields, layout)`` and ``decode(id, layout)`` agree with the reference."""
    trial = Trial(seed)
    rng = stream(seed, "E10.1/layout")
    for layout in (LAYOUT, OTHER_LAYOUT):
        ref = _ref_layout(layout)
        for _ in range(n):
            fields = {k: int(rng.integers(0, 1 << b)) for k, b in layout.items()}
            want = ref.encode(**fields)
            got = encode(dict(fields), dict(layout))
            if got != want:
                return trial.fail(f"encode({fields}, {layout}) returned {got!r}, expected {want}")
            back = decode(want, dict(layout))
            if back != fields:
                return trial.fail(f"decode({want}, {layout}) returned {back!r}, expected {fields}")
    return trial


def snowflake_trial(next_id: Callable, decode: Callable, seed: int, *, workers: int = 16,
                    per_worker: int = 12, policy: str = "wait", max_back: int = 8) -> Trial:
    """Many workers with skewed clocks and NTP steps back; checks uniqueness, per-worker
    monotonicity, the decoded fields, and what the policy must do on a rollback."""
    trial = Trial(seed)
    rng = stream(seed, "E10.1/workers")
    seen: dict[int, int] = {}
    for w in range(workers):
        clock = START_MS + int(rng.integers(-20, 21))
        state: dict = {}
        last = -1
        last_ts = -1
        back_at = int(rng.integers(2, per_worker))
        for k in range(per_worker):
            if k == back_at:
                clock -= int(rng.integers(1, max_back + 1))
            clock += int(rng.integers(0, 2))
            waited = False
            for _attempt in range(4):
                result, state = next_id(state, clock, w, dict(LAYOUT), policy)
                offset = last_ts + EPOCH_MS - clock
                if isinstance(result, int) and not isinstance(result, bool):
                    break
                if not isinstance(result, (tuple, list)) or len(result) != 2:
                    return trial.fail(f"next_id returned {result!r}: expected an int id, ('wait', ms) "
                                      "or ('error', 'rollback')")
                kind, value = result
                if kind == "error":
                    if offset <= 0:
                        return trial.fail(f"worker {w}: error at clock {clock} although the clock "
                                          "did not go back")
                    if policy == "wait" and offset <= 5 and not waited:
                        return trial.fail(f"worker {w}: policy 'wait' failed a {offset} ms rollback "
                                          "(Leaf waits 2 x offset for rollbacks up to 5 ms)")
                    result = None
                    break
                if kind != "wait" or isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    return trial.fail(f"next_id returned {result!r}: a wait needs a positive int of ms")
                if policy == "raise" and offset > 0:
                    return trial.fail(f"worker {w}: policy 'raise' must fail a rollback, not wait")
                if offset > 0 and value != 2 * offset:
                    return trial.fail(f"worker {w}: waited {value} ms for a {offset} ms rollback "
                                      f"(Leaf waits 2 x offset = {2 * offset} ms)")
                if offset > 5:
                    return trial.fail(f"worker {w}: waited on a {offset} ms rollback; over 5 ms "
                                      "Leaf fails the request")
                waited = offset > 0
                clock += value
            else:
                return trial.fail(f"worker {w}: still no id after 4 attempts at clock {clock}")
            if result is None:
                continue
            if result in seen:
                return trial.fail(f"id {result} issued twice (workers {seen[result]} and {w})")
            seen[result] = w
            if result <= last:
                return trial.fail(f"worker {w}: id {result} is not above its previous id {last}")
            last = result
            parts = decode(result, dict(LAYOUT))
            want_ts = clock - EPOCH_MS
            if not isinstance(parts, dict) or parts.get("worker") != w:
                return trial.fail(f"decode({result}) gave {parts!r}: worker should be {w}")
            if parts.get("timestamp") != want_ts:
                return trial.fail(f"worker {w}: id {result} carries timestamp {parts.get('timestamp')}, "
                                  f"the clock read {want_ts} (ms since the epoch)")
            last_ts = parts["timestamp"]
    return trial


def exhaustion_trial(next_id: Callable, decode: Callable, seed: int) -> Trial:
    """4,097 ids at one clock reading: the last must wait for the next millisecond."""
    trial = Trial(seed)
    clock = START_MS + seed
    state: dict = {}
    seqs = []
    for _ in range(4096):
        result, state = next_id(state, clock, 5, dict(LAYOUT), "wait")
        if not isinstance(result, int) or isinstance(result, bool):
            return trial.fail(f"next_id returned {result!r} before 4096 ids in one ms were issued")
        seqs.append(decode(result, dict(LAYOUT))["sequence"])
    if seqs != list(range(4096)):
        return trial.fail("the sequence within one millisecond should count 0, 1, ..., 4095")
    result, state = next_id(state, clock, 5, dict(LAYOUT), "wait")
    if not (isinstance(result, (tuple, list)) and len(result) == 2 and result[0] == "wait"
            and isinstance(result[1], int) and result[1] >= 1):
        return trial.fail(f"the 4097th id in one ms returned {result!r}: expected ('wait', ms)")
    clock += result[1]
    result, state = next_id(state, clock, 5, dict(LAYOUT), "wait")
    if not isinstance(result, int):
        return trial.fail(f"after waiting, next_id returned {result!r}")
    parts = decode(result, dict(LAYOUT))
    if parts["timestamp"] != START_MS + seed + 1 - EPOCH_MS or parts["sequence"] != 0:
        return trial.fail(f"after the wait the id should be in the next ms with sequence 0, got {parts}")
    return trial


# -- E10.2 Leaf ---------------------------------------------------------------------------
def leaf_rule_trial(leaf_next_step: Callable, needs_prefetch: Callable | None = None, seed: int = 1,
                    n: int = 60) -> Trial:
    """Leaf's step rule, exactly, on boundary and random inputs; every wrong answer is listed.
    (``needs_prefetch`` is judged by what it does: :func:`leaf_trial`, :func:`stall_trial`.)"""
    trial = Trial(seed)
    rng = stream(seed, "E10.2/rules")
    minute = 60_000
    cases = [(1000, 1000, 15 * minute - 1), (1000, 1000, 15 * minute), (1000, 1000, 30 * minute),
             (4000, 1000, 30 * minute), (1000, 1000, 60 * minute), (600_000, 1000, minute),
             (500_000, 1000, minute), (3000, 2000, 31 * minute)]
    for _ in range(n):
        min_step = int(rng.choice([100, 1000, 2000]))
        step = min_step * int(rng.choice([1, 2, 3, 4, 8, 512]))
        cases.append((step, min_step, int(rng.integers(0, 50 * minute))))
    for step, min_step, d in cases:
        want = ref_leaf_next_step(step, min_step, d)
        got = leaf_next_step(step, min_step, d)
        if got != want:
            trial.violate(f"leaf_next_step({step}, {min_step}, {d}) returned {got!r}, expected {want}")
    return trial


def late_prefetch(value: int, max_id: int, step: int) -> bool:
    """The colleague's proposal in E10.2: start loading only once 90% of the segment is used."""
    return max_id - value < 0.1 * step


def _one_server(prefetch_rule: Callable, seed: int, step: int, db_latency_ms: float, ms: int = 3000) -> list:
    """One Leaf server, fixed step, one request per ms: the waits (ms) after its first segment."""
    c = cluster("leaf", allocators=1, seed=seed, step=step, db_latency_ms=db_latency_ms, adapt=False,
                prefetch_rule=prefetch_rule, stop_ms=ms, timeout_ms=4 * db_latency_ms + 50)
    c.run(until=ms + 10 * db_latency_ms + 100)
    warm = 4 * db_latency_ms + 5
    return [r.issued_ms - r.requested_ms for r in c.issued if r.requested_ms > warm]


def stall_trial(stall_case: Callable, needs_prefetch: Callable, seed: int) -> Trial:
    """``stall_case()`` -> ``{"step": int, "db_latency_ms": number}``: one server with that
    step and database must make requests wait with :func:`late_prefetch` and never with
    ``needs_prefetch``."""
    trial = Trial(seed)
    case = stall_case()
    if not isinstance(case, dict) or set(case) != {"step", "db_latency_ms"}:
        return trial.fail(f"stall_case() returned {case!r}: expected {{'step': int, 'db_latency_ms': number}}")
    step, lat = case["step"], case["db_latency_ms"]
    if isinstance(step, bool) or not isinstance(step, int) or not 50 <= step <= 2000:
        return trial.fail(f"step={step!r} is not allowed: expected an int from 50 to 2000")
    if isinstance(lat, bool) or not isinstance(lat, (int, float)) or not 1 <= lat <= 200:
        return trial.fail(f"db_latency_ms={lat!r} is not allowed: expected a number from 1 to 200")
    late = _one_server(late_prefetch, seed, step, lat)
    mine = _one_server(needs_prefetch, seed, step, lat)
    trial.facts.update(late_max_wait=max(late, default=0), your_max_wait=max(mine, default=0))
    if max(late, default=0) <= 1:
        trial.violate(f"with step {step} and a {lat:g} ms database the 90%-used rule never made a request wait "
                      f"(longest wait {max(late, default=0):g} ms): this case does not break it")
    if max(mine, default=0) > 1:
        trial.violate(f"with step {step} and a {lat:g} ms database your needs_prefetch made requests wait too "
                      f"(longest wait {max(mine):g} ms)")
    return trial


def slow_database_trial(needs_prefetch: Callable, seed: int) -> Trial:
    """A database whose round trip is well under a segment's lifetime (step 200 at one id per
    ms, a 30 ms database): a rule that starts loading early enough never makes a request wait."""
    trial = Trial(seed)
    waits = _one_server(needs_prefetch, seed, 200, 30)
    if max(waits, default=0) > 1:
        trial.violate(f"step 200 ids at one request per ms (a segment lasts 200 ms), a 30 ms database "
                      f"(60 ms round trip): requests waited up to {max(waits):g} ms")
    return trial


def leaf_trial(leaf_next_step: Callable, needs_prefetch: Callable, seed: int, *,
               db_latency_ms: float = 10.0, outage: bool = True) -> Trial:
    """Three Leaf servers with the student's rules share one database (lossy links, an outage):
    no duplicates, and with a fast database the p99 wait after warm-up stays below 1 ms."""
    trial = Trial(seed)
    c = cluster("leaf", allocators=3, seed=seed, step=100, db_latency_ms=db_latency_ms,
                segment_duration_ms=400, max_step=800, stop_ms=1500,
                step_rule=leaf_next_step, prefetch_rule=needs_prefetch)
    sink = c.issued
    if outage:
        c.run(until=600)
        c.crash("db0")
        c.run(until=700)
        c.recover("db0")
    c.run(until=1800)
    trial.trace = c.trace
    dup = c.duplicates()
    if dup:
        return trial.fail(f"id {dup[0]} was issued twice")
    if len(sink) < 4000:
        return trial.fail(f"only {len(sink)} of 4500 requests got an id")
    if not outage:
        waits = sorted(r.issued_ms - r.requested_ms for r in sink if r.requested_ms > 100)
        p99 = waits[int(0.99 * (len(waits) - 1))]
        if p99 > 1:
            return trial.fail(f"p99 wait {p99:g} ms with a {db_latency_ms:g} ms database: the next "
                              "segment should be prefetched before the current one runs out")
    return trial


# -- E10.3 Tinyid -------------------------------------------------------------------------
def tinyid_rule_trial(tinyid_segment: Callable, seed: int, n: int = 60) -> Trial:
    """Segment bounds on random rows (``old_max`` and ``step`` need not be multiples of
    ``delta``); every wrong answer is listed."""
    trial = Trial(seed)
    rng = stream(seed, "E10.3/rule")
    for _ in range(n):
        delta = int(rng.integers(1, 5))
        rem = int(rng.integers(0, delta))
        step = int(rng.integers(5, 1000))
        old = int(rng.integers(0, 10**9))
        loading = int(rng.choice([20, 20, 50, 80]))
        want = ref_tinyid_segment(old, step, delta, rem, loading)
        got = tinyid_segment(old, step, delta, rem, loading)
        if not isinstance(got, (tuple, list)) or tuple(got) != want:
            trial.violate(f"tinyid_segment({old}, {step}, {delta}, {rem}, {loading}) returned {got!r}, "
                          f"expected {want}")
    return trial


def aligned_first_id(old_max: int, step: int, delta: int, remainder: int) -> int:
    """The naive start in E10.3: assumes ``old_max`` is a multiple of ``delta``."""
    return old_max + (remainder if remainder else delta)


def _handed_out(first: int, last: int, delta: int) -> list[int]:
    return list(range(first, last + 1, delta))


def breaking_row_trial(breaking_row: Callable, seed: int = 1) -> Trial:
    """``breaking_row()`` -> ``(old_max, step, delta, remainder)``: a row on which
    :func:`aligned_first_id` hands out an id Tinyid must not (wrong residue, or one at or below
    ``old_max``) or skips one it must hand out."""
    trial = Trial(seed)
    row = breaking_row()
    ok = (isinstance(row, (tuple, list)) and len(row) == 4
          and all(isinstance(x, int) and not isinstance(x, bool) for x in row))
    if not ok:
        return trial.fail(f"breaking_row() returned {row!r}: expected (old_max, step, delta, remainder), four ints")
    old, step, delta, rem = row
    if not (0 <= old <= 10**12 and 2 <= delta <= 16 and 0 <= rem < delta and delta <= step <= 10**6):
        return trial.fail(f"row {tuple(row)} is not a Tinyid row: expected 0 <= old_max, 2 <= delta <= 16, "
                          "0 <= remainder < delta, delta <= step <= 1,000,000")
    first, last, _ = ref_tinyid_segment(old, step, delta, rem, 20)
    right = _handed_out(first, last, delta)
    naive = _handed_out(aligned_first_id(old, step, delta, rem), last, delta)
    trial.facts.update(right=right[:4], naive=naive[:4])
    if naive == right:
        trial.violate(f"on row {tuple(row)} the naive start hands out {naive[:4]}..., exactly the right ids: "
                      "it does not break here")
    return trial


def tinyid_unaligned_trial(tinyid_segment: Callable, seed: int) -> Trial:
    """Two databases (delta 2, remainders 0 and 1) whose rows do not start at the same
    ``max_id`` (1 and 4, as after a migration) and a step of 41: only segments that keep every
    id congruent to the database's remainder stay disjoint."""
    from ..sim import Constant, Simulation, reliable
    from .db import Database
    from .segment import TinyidAllocator
    trial = Trial(seed)
    sim = Simulation(seed=seed, network=reliable(Constant(1.0)))
    for i, start in enumerate((1, 4)):
        sim.add_node(Database(f"db{i}", rows={"order": {"max_id": start, "step": 41, "delta": 2, "remainder": i}}))
    sink: list = []
    for i in range(2):
        sim.add_node(TinyidAllocator(f"a{i}", dbs=["db0", "db1"], biz="order", sink=sink, stop_ms=800,
                                     timeout_ms=14.0, segment_rule=tinyid_segment))
    sim.run(until=1000)
    trial.trace = sim.trace
    seen: set[int] = set()
    for r in sink:
        if r.id in seen:
            trial.violate(f"id {r.id} was issued twice")
        seen.add(r.id)
    if len(sink) < 1200:
        trial.violate(f"only {len(sink)} of 1600 requests got an id")
    return trial


def tinyid_trial(tinyid_segment: Callable, seed: int) -> Trial:
    """Three generators, two databases (delta 2, remainders 0 and 1), db0 down for a while,
    version conflicts: disjoint residues, no duplicates, service continues."""
    trial = Trial(seed)
    c = cluster("tinyid", allocators=3, dbs=2, seed=seed, step=40, stop_ms=1200,
                segment_rule=tinyid_segment)
    sink = c.issued
    c.run(until=400)
    c.crash("db0")
    before = len(sink)
    c.run(until=800)
    during = len(sink) - before
    c.recover("db0")
    c.run(until=1500)
    trial.trace = c.trace
    dup = c.duplicates()
    if dup:
        return trial.fail(f"id {dup[0]} was issued twice")
    if during < 1000:
        return trial.fail(f"only {during} ids while db0 was down: db1 should keep the service up")
    for r in sink:
        if r.id <= 0:
            return trial.fail(f"id {r.id} is not positive")
    return trial


# -- E10.4 ObjectId and UUIDv7 ------------------------------------------------------------
def objectid_trial(objectid_encode: Callable, objectid_decode: Callable,
                   objectid_decode_legacy: Callable, seed: int, n: int = 50) -> Trial:
    from . import objectid as ref

    trial = Trial(seed)
    rng = stream(seed, "E10.4/oid")
    for _ in range(n):
        s, r, c = (random_bits(rng, 32), random_bits(rng, 40), random_bits(rng, 24))
        want = ref.encode(s, r, c).hex()
        got = objectid_encode(s, r, c)
        if got != want:
            return trial.fail(f"objectid_encode({s}, {r}, {c}) returned {got!r}, expected {want!r}")
        if tuple(objectid_decode(want)) != (s, r, c):
            return trial.fail(f"objectid_decode({want!r}) returned {objectid_decode(want)!r}")
        leg = tuple(ref.decode_legacy(want))
        if tuple(objectid_decode_legacy(want)) != leg:
            return trial.fail(f"objectid_decode_legacy({want!r}) returned "
                              f"{objectid_decode_legacy(want)!r}, expected {leg}")
    return trial


def uuid7_trial(uuid7_fields: Callable, uuid7_batch: Callable, seed: int, n: int = 300) -> Trial:
    """The RFC 9562 vector, version and variant bits, and monotonic batches within a ms."""
    import uuid

    trial = Trial(seed)
    got = uuid7_fields(0x017F22E279B0, 0xCC3, 0x18C4DC0C0C07398F)
    if str(got).lower() != "017f22e2-79b0-7cc3-98c4-dc0c0c07398f":
        return trial.fail(f"uuid7_fields on the RFC 9562 vector returned {got!r}")
    rng = stream(seed, "E10.4/uuid7")
    for _ in range(20):
        ms, a, b = random_bits(rng, 48), random_bits(rng, 12), random_bits(rng, 62)
        want = str(uuid7_from(ms, a, b))
        if str(uuid7_fields(ms, a, b)).lower() != want:
            return trial.fail(f"uuid7_fields({ms}, {a}, {b}) returned {uuid7_fields(ms, a, b)!r}, "
                              f"expected {want}")
    readings, t = [], START_MS + seed
    for _ in range(n):
        t += int(rng.choice([0, 0, 0, 1, 2]))
        readings.append(t)
    randoms = [random_bits(rng, 74) for _ in range(n)]
    out = uuid7_batch(readings, randoms)
    if not isinstance(out, list) or len(out) != n:
        return trial.fail(f"uuid7_batch returned {type(out).__name__} of length "
                          f"{len(out) if hasattr(out, '__len__') else '?'}, expected a list of {n}")
    try:
        us = [uuid.UUID(s) for s in out]
    except (ValueError, TypeError, AttributeError):
        return trial.fail("uuid7_batch must return UUID strings like 017f22e2-79b0-7cc3-98c4-dc0c0c07398f")
    for i, (u, ms) in enumerate(zip(us, readings, strict=False)):
        if u.version != 7 or u.variant != uuid.RFC_4122:
            return trial.fail(f"{out[i]} has version {u.version} / variant {u.variant!r}")
        if u.int >> 80 < ms:
            return trial.fail(f"{out[i]} carries timestamp {u.int >> 80}, before the clock reading {ms}")
        if i and u.int <= us[i - 1].int:
            return trial.fail(f"{out[i]} is not above the previous id {out[i - 1]} (same ms: "
                              f"{readings[i] == readings[i - 1]})")
    return trial
