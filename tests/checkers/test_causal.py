"""ds.checkers.causal: each bad pattern by hand, agreement with the definitions of causal
consistency (CC) and causal memory (CM) by brute force over serializations, the model
hierarchy (linearizable => sequential => CM => CC => the four session guarantees), and the
store of Chapter 3."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.checkers import causal as cc
from dscourse.checkers import linearizability as lin
from dscourse.checkers import sequential as sc
from dscourse.checkers import session as ss
from dscourse.checkers.models import Operation
from dscourse.replication import Workload, cluster


def W(client, call, value, key="x"):
    return Operation(client, call, call + 1, ("put", key, value), None)


def R(client, call, value, key="x"):
    return Operation(client, call, call + 1, ("get", key), value)


def patterns(result):
    return [v.pattern for v in result.violations]


# -- the bad patterns, by hand --------------------------------------------------------------
def test_write_co_init_read_through_a_chain_of_sessions():
    h = [W("a", 0, "a1"), R("b", 2, "a1"), W("b", 4, "b1", "y"), R("c", 6, "b1", "y"), R("c", 8, "")]
    r = cc.check(h)
    assert patterns(r) == ["WriteCOInitRead"]
    assert r.core == (0, 4)
    # the explanation walks the causal chain, step by step
    assert "read by" in r.explain() and "c get('y') -> 'b1'" in r.explain()
    assert ss.check(h).ok          # each session alone keeps its guarantees


def test_write_co_read():
    h = [W("a", 0, "a1"), W("a", 2, "a2"), R("b", 4, "a2"), R("b", 6, "a1")]
    r = cc.check(h)
    assert patterns(r) == ["WriteCORead"]
    assert r.core == (0, 1, 3)


def test_thin_air_read():
    r = cc.check([W("a", 0, "a1"), R("b", 2, "zz")])
    assert patterns(r) == ["ThinAirRead"] and r.core == (1,)


def test_cyclic_co():
    h = [R("a", 0, "b1"), W("a", 2, "a1"), R("b", 0, "a1"), W("b", 2, "b1")]
    r = cc.check(h)
    assert patterns(r) == ["CyclicCO"]
    assert r.core == (0, 1, 2, 3)


def test_cc_lets_a_session_flip_between_concurrent_writes_and_cm_does_not():
    h = [W("a", 0, "a1"), W("b", 0, "b1"), R("c", 4, "a1"), R("c", 6, "b1"), R("c", 8, "a1")]
    assert cc.check(h, "CC").ok
    r = cc.check(h, "CM")
    assert patterns(r) == ["CyclicHB"] and "'c'" in r.explain()


def test_write_hb_init_read():
    """c reads b1 after a1 entered its causal past (through d), so in c's view a1, and a's
    y-write a0 before it, come before b1, which c's read of y follows (b2 told it): that read
    cannot return the initial value. No write to y is in its *causal* past, so CC allows it."""
    h = [W("a", 0, "a0", "y"), W("a", 2, "a1", "k"), R("d", 4, "a1", "k"), W("d", 6, "d1", "q"),
         W("b", 0, "b1", "k"), W("b", 2, "b2", "z"),
         R("c", 4, "b2", "z"), R("c", 6, "", "y"), R("c", 8, "d1", "q"), R("c", 10, "b1", "k")]
    assert cc.check(h, "CC").ok
    r = cc.check(h, "CM")
    assert patterns(r) == ["WriteHBInitRead"]
    assert r.core == (0, 7)
    assert "overwritten in c's view" in r.explain()


def test_opposite_orders_of_concurrent_writes_are_causal_but_not_sequential():
    h = [W("a", 0, "a1"), W("b", 0, "b1"),
         R("c", 4, "a1"), R("c", 6, "b1"), R("d", 4, "b1"), R("d", 6, "a1")]
    assert cc.check(h, "CM").ok
    assert not sc.check(h, sc.kv_store()).ok


def test_bad_model_and_bad_history():
    with pytest.raises(ValueError, match="'CC' or 'CM'"):
        cc.check([], "causal")
    with pytest.raises(ValueError, match="unique per key"):
        cc.check([W("a", 0, "1"), W("b", 0, "1")])


# -- agreement with the definitions -----------------------------------------------------------
def _co(h):
    """Program order and reads-from, transitively closed: a -> the set of operations after a."""
    n = len(h.operations)
    after = {i: set() for i in range(n)}
    for mine in h.sessions.values():
        for a, b in itertools.combinations(mine, 2):
            after[a].add(b)
    for r, w in h.source.items():
        if w is not ss.INIT and w >= 0:
            after[w].add(r)
    for k in range(n):          # Floyd-Warshall style closure
        for i in range(n):
            if k in after[i]:
                after[i] |= after[k]
    return after


def _serializable(h, ops, after, judged):
    """Some order of ``ops`` that respects ``after`` in which every read of ``judged`` returns
    the last value written before it."""
    for perm in itertools.permutations(ops):
        pos = {o: i for i, o in enumerate(perm)}
        if any(b in pos and pos[a] > pos[b] for a in ops for b in after[a]):
            continue
        state, good = {}, True
        for o in perm:
            if h.is_write[o]:
                state[h.key[o]] = h.value[o]
            elif o in judged and state.get(h.key[o], h.init) != h.value[o]:
                good = False
                break
        if good:
            return True
    return False


def _arbitrated(h, after, writes):
    """CCv: some order of all writes extending the causal order in which every read returns
    the last write to its key among the writes in its causal past."""
    for perm in itertools.permutations(writes):
        pos = {w: i for i, w in enumerate(perm)}
        if any(b in pos and pos[a] > pos[b] for a in writes for b in after[a]):
            continue
        last = {}
        for r in h.source:
            past = [w for w in writes if r in after[w] and h.key[w] == h.key[r]]
            last[r] = max(past, key=pos.__getitem__) if past else ss.INIT
        if all(last[r] == src for r, src in h.source.items()):
            return True
    return False


def brute_force(h, model):
    """CC: every read has a serialization of its causal past's writes, itself last (Bouajjani
    et al. 2017); CM: every session has one serialization of all writes and its own reads
    (Ahamad et al. 1995); CCv: :func:`_arbitrated`. The causal order is program order and
    reads-from, closed."""
    if any(src == -1 for src in h.source.values()):
        return False
    after = _co(h)
    if any(a in after[a] for a in after):
        return False
    writes = [i for i in range(len(h.operations)) if h.is_write[i]]
    if model == "CCv":
        return _arbitrated(h, after, writes)
    if model == "CC":
        return all(_serializable(h, [w for w in writes if r in after[w]] + [r], after, {r})
                   for r in h.source)
    return all(_serializable(h, sorted(set(writes) | set(mine)), after, set(mine))
               for mine in h.sessions.values())


@st.composite
def small_history(draw):
    """Small kv histories: writes with unique values, reads of any written value or the
    initial one (mostly written ones, so that not every history fails early)."""
    n_clients = draw(st.integers(2, 3))
    keys = draw(st.sampled_from([("x",), ("x", "y")]))
    n = draw(st.integers(2, 7))
    plan = [(draw(st.integers(0, n_clients - 1)), draw(st.sampled_from(keys)), draw(st.integers(0, 9)) < 4)
            for _ in range(n)]
    written = {k: [f"c{c}.{i}" for i, (c, key, w) in enumerate(plan) if w and key == k] for k in keys}
    ops, clock = [], [0] * n_clients
    for i, (c, key, is_write) in enumerate(plan):
        clock[c] += 2
        if is_write:
            ops.append(W(f"c{c}", clock[c], f"c{c}.{i}", key))
        else:
            fresh = written[key] and draw(st.integers(0, 9)) < 8
            ops.append(R(f"c{c}", clock[c], draw(st.sampled_from(written[key] if fresh else ["", *written[key]])), key))
    return ops


@settings(max_examples=300, deadline=None)
@given(small_history(), st.sampled_from(cc.MODELS))
def test_the_bad_patterns_agree_with_the_definition(ops, model):
    h = ss.differentiated(ops)
    result = cc.check(ops, model)
    assert result.ok == brute_force(h, model)
    assert result.ok == (not result.core)


@settings(max_examples=200, deadline=None)
@given(small_history())
def test_the_hierarchy_on_small_histories(ops):
    """sequential => CM => CC and sequential => CCv => CC; CCv => all four session guarantees
    (its arbitration is one version order for them all)."""
    seq = sc.check(ops, sc.kv_store()).ok
    cm, ccv, cc_ = (cc.check(ops, m).ok for m in ("CM", "CCv", "CC"))
    assert not seq or (cm and ccv)
    assert not (cm or ccv) or cc_
    assert not ccv or ss.check(ops).ok


def test_causal_memory_does_not_give_one_version_order():
    """c0 sees its own writes before c1's, c1 sees c0's after its own: causal (even a causal
    memory: each session has its own order), but no single version order explains both."""
    h = [W("c1", 0, "c1.0"), R("c1", 4, "c0.1"), W("c0", 0, "c0.1"), R("c0", 4, "c1.0")]
    assert cc.check(h, "CM").ok
    assert patterns(cc.check(h, "CCv")) == ["CyclicCF"]
    assert not ss.read_your_writes(h).ok


@st.composite
def atomic_run(draw):
    """A run of an atomic store: random clients take turns, operations may overlap their
    neighbours in time, each takes effect at one point in its interval (linearizable)."""
    n = draw(st.integers(1, 16))
    state, ops, t = {}, [], 0.0
    for i in range(n):
        client, key = f"c{draw(st.integers(0, 2))}", draw(st.sampled_from(["x", "y"]))
        t += 1
        if draw(st.booleans()):
            state[key] = f"{client}.{i}"
            ops.append(Operation(client, t, t + 1, ("put", key, state[key]), None))
        else:
            ops.append(Operation(client, t, t + 1, ("get", key), state.get(key, "")))
        t += 1
    return ops


@settings(max_examples=100, deadline=None)
@given(atomic_run())
def test_an_atomic_store_is_a_causal_memory(ops):
    assert lin.check(ops, lin.kv()).ok
    assert cc.check(ops, "CM").ok


def test_the_ap_store_is_not_causal_on_some_seeds_and_the_cp_store_always_is():
    def run(mode, seed):
        c = cluster(mode, replicas=3, clients=3, seed=seed, latency=(1, 20),
                    workload=Workload(ops=10, keys=("x", "y"), reads=0.5, gap_ms=(0, 5)))
        c.run(until=2000)
        return c
    ap = [cc.check(run("ap", s), "CM").ok for s in range(8)]
    assert not all(ap)
    for s in range(4):
        c = run("cp", s)
        assert lin.check(c.operations(), lin.kv()).ok and cc.check(c, "CM").ok
