"""ds.checkers.session: hand-written violations of each guarantee, the histories it refuses,
a linearizable register (always satisfies all four), mutations that break one guarantee
(caught by that guarantee's check), agreement with the definitions by brute force, and the
replicated store of Chapter 3 under sticky and non-sticky routing."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dscourse.checkers import session as ss
from dscourse.checkers.models import UNKNOWN, Operation
from dscourse.history import Recorder
from dscourse.replication import Workload, cluster
from dscourse.sim import Uniform

RYW, MR, WFR, MW = ss.RYW, ss.MR, ss.WFR, ss.MW


def W(client, call, value, key=None):
    inp = ("write", value) if key is None else ("put", key, value)
    return Operation(client, call, call + 1, inp, None)


def R(client, call, value, key=None):
    inp = ("read", None) if key is None else ("get", key)
    return Operation(client, call, call + 1, inp, value)


def failing(history, **kw):
    return {g for g, r in ss.check_each(history, **kw).items() if not r.ok}


# -- one violation of each guarantee, by hand ------------------------------------------------
def test_read_your_writes_violated_alone():
    h = [W("a", 0, 1), R("a", 5, None), W("b", 0, 2), R("b", 5, 2)]
    assert failing(h) == {RYW}
    assert failing(h, order={None: [1, 2]}) == {RYW}
    r = ss.read_your_writes(h)
    assert [h.index(op) for op in r.offending()] == [0, 1]      # a's write and its read
    assert "read your writes" in r.explain() and "a write(1)" in r.explain()


def test_read_your_writes_sees_a_newer_version():
    h = [W("a", 0, 1), W("b", 2, 2), R("a", 5, 2)]
    assert ss.read_your_writes(h, order={None: [1, 2]}).ok
    assert not ss.read_your_writes(h, order={None: [2, 1]}).ok    # 2 is older than a's own write


def test_monotonic_reads_violated_with_the_store_order():
    h = [W("w", 0, 1), W("w", 2, 2), R("o", 5, 2), R("o", 7, 1)]
    assert failing(h, order={None: [1, 2]}) == {MR}
    r = ss.monotonic_reads(h, order={None: [1, 2]})
    assert r.core == (0, 1, 2, 3)          # both reads and the two writes they returned
    assert "read 1, an older version" in r.explain()


def test_without_the_order_a_lone_guarantee_needs_a_conflict():
    """o reads 2 then 1: alone, monotonic reads is satisfied by the order 2 < 1; the writer's
    monotonic writes (1 < 2) pins the order and the two together fail, as a named cycle."""
    h = [W("w", 0, 1), W("w", 2, 2), R("o", 5, 2), R("o", 7, 1)]
    assert ss.monotonic_reads(h).ok and ss.monotonic_writes(h).ok
    both = ss.check(h, [MR, MW])
    assert not both.ok
    [v] = both.violations
    assert v.guarantees == (MR, MW) and v.operations == (0, 1, 2, 3)
    assert "MW needs 1 < 2" in v.explanation and "MR needs 2 <= 1" in v.explanation


def test_two_sessions_reading_two_writes_in_opposite_orders_break_monotonic_reads():
    h = [W("w", 0, 1), W("v", 0, 2), R("a", 5, 1), R("a", 7, 2), R("b", 5, 2), R("b", 7, 1)]
    assert failing(h) == {MR}


def test_writes_follow_reads_violated():
    h = [W("a", 0, 1), R("b", 3, 1), W("b", 5, 2)]
    assert failing(h, order={None: [2, 1]}) == {WFR}
    assert failing(h, order={None: [1, 2]}) == set()
    # without the order: b then reads back a's 1, so its own write 2 was put before 1
    h2 = [*h, R("b", 8, 1)]
    assert failing(h2) == set()                            # each alone is satisfiable
    assert not ss.check(h2, [RYW, WFR]).ok


def test_a_read_from_the_future_breaks_writes_follow_reads():
    h = [R("a", 0, 1), W("a", 5, 1)]             # a read its own later write
    assert failing(h) == {WFR}


def test_monotonic_writes_violated():
    h = [W("a", 0, 1), W("a", 5, 2)]
    assert failing(h, order={None: [2, 1]}) == {MW}
    assert ss.monotonic_writes(h, order={None: [2, 1]}).core == (0, 1)


def test_monotonic_writes_and_read_your_writes_catch_a_lost_write_together():
    h = [W("a", 0, 1), W("a", 5, 2), R("a", 10, 1)]     # a's second write lost to its first
    assert failing(h) == set()
    assert not ss.check(h, [RYW, MW]).ok
    assert failing(h, order={None: [2, 1]}) == {MW}


def test_keys_are_separate_registers():
    h = [W("a", 0, "1", "x"), R("a", 5, "", "y"), R("a", 6, "1", "x")]
    assert ss.check(h).ok
    assert ss.check(h, order={"x": ["1"]}).ok
    assert ss.read_your_writes([W("a", 0, "1", "x"), R("a", 5, "", "x")]).ok is False


def test_a_thin_air_read_fails_every_guarantee():
    h = [W("a", 0, 1), R("b", 5, 7)]
    assert failing(h) == set(ss.GUARANTEES)
    assert "thin-air" in ss.monotonic_writes(h).explain()


def test_writes_of_unknown_outcome_count_only_when_read():
    unread = [Operation("a", 0, math.inf, ("write", 1), UNKNOWN), R("a", 5, None)]
    assert ss.read_your_writes(unread).ok                   # it may never have happened
    read = [Operation("a", 0, math.inf, ("write", 1), UNKNOWN), R("b", 5, 1), R("b", 6, None)]
    assert not ss.monotonic_reads(read).ok                  # b saw it, then lost it
    reads_unknown = [W("a", 0, 1), Operation("a", 5, math.inf, ("read", None), UNKNOWN)]
    assert ss.check(reads_unknown).ok


def test_the_found_order_satisfies_the_guarantees():
    h = [W("a", 0, 1), R("b", 3, 1), W("b", 5, 2), W("c", 0, 3), R("c", 4, 2)]
    r = ss.check(h)
    assert r.ok
    assert ss.check(h, order=r.order).ok
    assert r.order[None].index(1) < r.order[None].index(2)


# -- histories it cannot judge ---------------------------------------------------------------
@pytest.mark.parametrize("history, words", [
    ([W("a", 0, 1), W("b", 3, 1)], ["1", "unique per key", "'a'", "'b'"]),
    ([W("a", 0, None)], ["None", "initial value"]),
    ([W("a", 0, "", "x")], ["''", "initial value"]),
    ([Operation("a", 0, 1, ("cas", (1, 2)), True)], ["cas", '("read", None)']),
    ([Operation("a", 0, 1, ("append", "x", "1"), None)], ["append"]),
    ([W("a", 0, 1), Operation("a", 0.5, 3, ("read", None), 1)], ["one at a time"]),
    ([W("a", 0, 1), R("b", 0, "", "x")], ["mixed"]),
    ([W("a", 0, [1, 2])], ["[1, 2]", "hashable"]),
    ([R("a", 0, [1])], ["[1]", "hashable"]),
])
def test_histories_it_cannot_judge_are_refused_by_name(history, words):
    with pytest.raises(ValueError) as err:
        ss.check(history)
    for word in words:
        assert word in str(err.value)


def test_bad_arguments():
    h = [W("a", 0, 1)]
    with pytest.raises(ValueError, match="monotonic-reads"):
        ss.check(h, "monotone")
    with pytest.raises(ValueError, match="missing 1"):
        ss.check(h, order={None: [2]})
    with pytest.raises(ValueError, match="each written key"):
        ss.check(h, order={"x": [1]})
    with pytest.raises(ValueError, match="one or more"):
        ss.check(h, [])


def test_a_recorder_is_read_as_key_value_operations():
    rec = Recorder()
    rec.invoke("c0", "put", ("x", "c0.1"), 0)
    rec.ok("c0", None, 2)
    rec.invoke("c0", "get", "x", 3)
    rec.ok("c0", "", 4)
    r = ss.read_your_writes(rec)
    assert not r.ok and r.operations[0].input == ("put", "x", "c0.1")


# -- a linearizable register, and mutations ------------------------------------------------
@st.composite
def linearizable(draw, max_ops=14):
    """A linearizable history of 1-2 registers with unique values, and its version order
    (writes in linearization order)."""
    n_clients = draw(st.integers(1, 3))
    keys = draw(st.sampled_from([(None,), ("x",), ("x", "y")]))
    n = draw(st.integers(1, max_ops))
    free = [0.0] * n_clients
    raw = []
    for k in range(n):
        c = draw(st.integers(0, n_clients - 1))
        call = free[c] + draw(st.integers(1, 3))
        ret = call + draw(st.integers(0, 12))
        free[c] = ret
        point = draw(st.floats(call, ret))
        key = draw(st.sampled_from(keys))
        raw.append((point, k, c, call, ret, key, draw(st.booleans())))
    init = None if keys == (None,) else ""
    state: dict = {}
    order: dict = {key: [] for key in keys}
    ops = []
    for _point, k, c, call, ret, key, is_write in sorted(raw):
        if is_write:
            value = f"c{c}.{k}"
            state[key] = value
            order[key].append(value)
            ops.append(Operation(f"c{c}", call, ret, ("write", value) if key is None else ("put", key, value)))
        else:
            ops.append(Operation(f"c{c}", call, ret, ("read", None) if key is None else ("get", key),
                                 state.get(key, init)))
    ops.sort(key=lambda op: (op.call, str(op.client)))
    return ops, order


@settings(max_examples=150, deadline=None)
@given(linearizable())
def test_a_linearizable_register_satisfies_all_four(history):
    ops, order = history
    assert ss.check(ops, order=order).ok
    assert ss.check(ops).ok
    for r in ss.check_each(ops, order=order).values():
        assert r.ok


def _pairs(h, first_write, then_write):
    """(i, j) indices into ``h.operations``: i before j in one session, same key, with the
    kinds asked for."""
    for mine in h.sessions.values():
        for a, b in itertools.combinations(mine, 2):
            if h.key[a] == h.key[b] and h.is_write[a] == first_write and h.is_write[b] == then_write:
                yield a, b


def _older(versions, than):
    """The versions strictly older than ``than`` (``versions``: the initial value first)."""
    return versions[:versions.index(than)]


@settings(max_examples=200, deadline=None)
@given(linearizable(), st.sampled_from(ss.GUARANTEES), st.data())
def test_a_mutation_that_breaks_one_guarantee_is_caught_by_its_check(history, guarantee, data):
    ops, order = history
    h = ss.differentiated(ops)
    ops = list(h.operations)
    init = h.init

    def set_output(i, value):
        op = ops[i]
        ops[i] = Operation(op.client, op.call, op.ret, op.input, value)

    versions = {k: [init, *v] for k, v in order.items()}
    if guarantee in (RYW, MR):
        pairs = list(_pairs(h, guarantee == RYW, False))
        if guarantee == MR:
            pairs = [(a, b) for a, b in pairs if h.source[a] is not ss.INIT]
        assume(pairs)
        a, b = data.draw(st.sampled_from(pairs))
        seen = h.value[a]
        set_output(b, data.draw(st.sampled_from(_older(versions[h.key[a]], seen))))
        mutated_order = order
    else:
        pairs = list(_pairs(h, guarantee == MW, True))
        if guarantee == WFR:
            pairs = [(a, b) for a, b in pairs if h.source[a] is not ss.INIT]
        assume(pairs)
        a, b = data.draw(st.sampled_from(pairs))
        first = h.value[h.source[a]] if guarantee == WFR else h.value[a]
        later = h.value[b]
        key = h.key[b]
        values = [v for v in order[key] if v != later]
        values.insert(values.index(first), later)          # the later write now comes first
        mutated_order = {**order, key: values}
    result = ss.check(ops, guarantee, order=mutated_order)
    assert not result.ok
    assert b in result.core                        # the mutated session operation is named
    assert all(v.guarantees == (guarantee,) for v in result.violations)


# -- agreement with the definitions, by brute force -------------------------------------------
def _definitions_hold(h, rank, wanted):
    """Every guarantee of ``wanted`` straight from its definition (every pair, not just
    neighbours) under the version ranks ``rank`` (write index -> rank; INIT -> -1)."""
    if any(src == -1 for src in h.source.values()):
        return False
    for mine in h.sessions.values():
        for a, b in itertools.combinations(mine, 2):
            if h.key[a] != h.key[b]:
                continue
            wa, wb = h.is_write[a], h.is_write[b]
            va = rank[a] if wa else rank[h.source[a]]
            vb = rank[b] if wb else rank[h.source[b]]
            if wa and not wb and RYW in wanted and not va <= vb:
                return False
            if not wa and not wb and MR in wanted and not va <= vb:
                return False
            if not wa and wb and WFR in wanted and not va < vb:
                return False
            if wa and wb and MW in wanted and not va < vb:
                return False
    return True


def _every_order(h):
    keys = sorted({h.key[w] for w in h.writes.values()}, key=repr)
    per_key = [[w for w in sorted(h.writes.values()) if h.key[w] == k] for k in keys]
    for perms in itertools.product(*(itertools.permutations(ws) for ws in per_key)):
        rank = {ss.INIT: -1}
        for perm in perms:
            rank.update({w: i for i, w in enumerate(perm)})
        yield rank


@st.composite
def small_history(draw):
    """Any small differentiated register history (reads return any written value, the
    initial one, or now and then a value nobody wrote)."""
    n_clients = draw(st.integers(1, 3))
    keys = draw(st.sampled_from([("x",), ("x", "y")]))
    n = draw(st.integers(1, 7))
    plan = [(draw(st.integers(0, n_clients - 1)), draw(st.sampled_from(keys)), draw(st.booleans()))
            for _ in range(n)]
    written = {k: [f"c{c}.{i}" for i, (c, key, w) in enumerate(plan) if w and key == k] for k in keys}
    ops, clock = [], [0] * n_clients
    for i, (c, key, is_write) in enumerate(plan):
        clock[c] += 2
        if is_write:
            ops.append(W(f"c{c}", clock[c], f"c{c}.{i}", key))
        else:
            choices = ["", *written[key]] + (["thin"] if draw(st.integers(0, 9)) == 0 else [])
            ops.append(R(f"c{c}", clock[c], draw(st.sampled_from(choices)), key))
    return ops


SUBSETS = [(g,) for g in ss.GUARANTEES] + [(MR, MW), (RYW, WFR), ss.GUARANTEES]


@settings(max_examples=300, deadline=None)
@given(small_history(), st.sampled_from(SUBSETS))
def test_the_inferred_verdict_agrees_with_every_version_order(ops, wanted):
    h = ss.differentiated(ops)
    brute = any(_definitions_hold(h, rank, wanted) for rank in _every_order(h))
    result = ss.check(ops, wanted)
    assert result.ok == brute
    if result.ok:                    # the order it found is a witness
        assert ss.check(ops, wanted, order=result.order).ok
    else:
        assert result.core


@settings(max_examples=300, deadline=None)
@given(small_history(), st.sampled_from(SUBSETS), st.randoms(use_true_random=False))
def test_the_direct_verdict_agrees_with_the_definitions(ops, wanted, rnd):
    h = ss.differentiated(ops)
    orders = list(itertools.islice(_every_order(h), 50))
    rank = rnd.choice(orders)
    order: dict = {}
    for w in sorted(h.writes.values(), key=lambda w: rank[w]):
        order.setdefault(h.key[w], []).append(h.value[w])
    assert ss.check(ops, wanted, order=order).ok == _definitions_hold(h, rank, wanted)


# -- the replicated store of Chapter 3 ---------------------------------------------------------
def _store(seed, mode="ap", sticky=False, jump_ms=0.0):
    c = cluster(mode, replicas=3, clients=3, seed=seed, latency=(1, 20),
                workload=Workload(ops=12, keys=("x",), reads=0.5, gap_ms=(0, 5), start_ms=100))
    if sticky:        # each client next to "its" replica, far from the others
        for j, i in itertools.product(range(3), range(3)):
            lat = 0.5 if i == j else Uniform(5, 20)
            c.sim.set_link(f"c{j}", f"r{i}", latency=lat)
            c.sim.set_link(f"r{i}", f"c{j}", latency=lat)
    c.run(until=130)
    if jump_ms:
        c.sim.clock_jump("c1", -jump_ms)
    c.run(until=2000)
    return c


@pytest.mark.parametrize("seed", range(6))
def test_sticky_sessions_on_the_ap_store_keep_all_four(seed):
    c = _store(seed, sticky=True)
    assert ss.check(c, order=c.version_order()).ok


@pytest.mark.parametrize("seed", range(6))
def test_the_cp_store_keeps_all_four_even_when_a_clock_jumps_back(seed):
    c = _store(seed, mode="cp", jump_ms=30)
    assert ss.check(c, order=c.version_order()).ok


def test_reading_from_any_replica_breaks_read_your_writes_on_some_seeds():
    stores = [_store(s) for s in range(12)]
    broken = [c for c in stores if not ss.read_your_writes(c, order=c.version_order()).ok]
    assert broken
    assert all(ss.check(c, order=c.version_order()).ok is False for c in broken)


def test_a_clock_jumping_back_breaks_monotonic_writes_under_last_writer_wins():
    broken = [s for s in range(6) if not ss.monotonic_writes((c := _store(s, sticky=True, jump_ms=30)),
                                                              order=c.version_order()).ok]
    assert len(broken) >= 4


def test_version_order_follows_the_timestamps():
    c = _store(1)
    order = c.version_order()["x"]
    written = [op.input[1] for op in c.history.ops() if op.f == "put"]
    assert sorted(order) == sorted(written)
    final = max(c.replicas[r].get("x") for r in c.replicas)
    assert final[1] == order[-1]             # the newest timestamp is what the replicas keep
