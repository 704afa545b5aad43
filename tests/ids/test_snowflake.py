"""Snowflake: layouts, decode round trips, rollback policies, exhaustion, 1,024 workers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.ids import (
    LEAF,
    SEATA,
    TWITTER,
    UIDGENERATOR,
    ClockRollbackError,
    FakeClock,
    Layout,
    Snowflake,
    Wait,
    layout,
)

START = 1_700_000_000_000
# A clock script: ("gen", n), ("adv", ms) or ("back", ms)
ops = st.lists(st.one_of(st.tuples(st.just("gen"), st.integers(1, 300)),
                         st.tuples(st.just("burst"), st.just(4100)),  # more than one ms holds
                         st.tuples(st.just("adv"), st.integers(0, 20)),
                         st.tuples(st.just("back"), st.integers(1, 12))), max_size=25)


def run_script(gen: Snowflake, clock: FakeClock, script) -> list[int]:
    out: list[int] = []
    gen.latest_clock = clock.ms()
    for op, k in script:
        gen.latest_clock = max(gen.latest_clock, clock.ms())
        if op == "burst":
            try:
                out.extend(gen.next_ids(k))
            except ClockRollbackError:
                assert gen.policy in ("raise", "wait")
        elif op == "gen":
            try:
                out.extend(gen.next_ids(k) if k % 2 else [gen.next_id() for _ in range(k)])
            except ClockRollbackError:
                assert gen.policy in ("raise", "wait")
        elif op == "adv":
            clock.advance(k)
        else:
            clock.step_back(k)
    gen.latest_clock = max(gen.latest_clock, clock.ms())
    return out


@pytest.mark.parametrize("preset", [TWITTER, LEAF, SEATA, UIDGENERATOR])
@given(script=ops, policy=st.sampled_from(["raise", "wait", "logical"]),
       worker=st.integers(0, 31), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25)
def test_unique_monotonic_and_decodable(preset, script, policy, worker, seed):
    import numpy as np
    clock = FakeClock(START)
    gen = Snowflake(preset, worker=worker, clock=clock, policy=policy,
                    random_start=100 if policy == "wait" else 0, rng=np.random.default_rng(seed))
    ids = run_script(gen, clock, script)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # monotonic per generator, even across rollbacks
    for ident in ids[:: max(1, len(ids) // 50)]:
        parts = preset.decode(ident)
        assert parts["worker"] == worker
        assert preset.encode(**{k: v for k, v in parts.items() if k != "time_ms"}) == ident
        if policy != "logical":  # logical time may run ahead ("borrowed"), never behind
            assert parts["time_ms"] <= gen.latest_clock


def test_no_duplicate_across_1024_workers_under_rollback_nemesis():
    import numpy as np
    rng = np.random.default_rng(7)
    seen: set[int] = set()
    total = 0
    for worker in range(1024):
        clock = FakeClock(START + int(rng.integers(0, 50)))  # clocks disagree
        policy = ("wait", "logical")[worker % 2]
        gen = Snowflake(LEAF, worker=worker, clock=clock, policy=policy, random_start=100,
                        rng=np.random.default_rng(worker))
        batch = []
        for step in range(6):
            batch += gen.next_ids(8)
            if step == 2:
                clock.step_back(int(rng.integers(1, 4)))  # within Leaf's 5 ms tolerance
            else:
                clock.advance(int(rng.integers(0, 2)))
        assert batch == sorted(batch)
        total += len(batch)
        seen.update(batch)
    assert len(seen) == total == 1024 * 48


def test_sequence_exhaustion_waits_for_the_next_millisecond():
    clock = FakeClock(START)
    gen = Snowflake(TWITTER, worker=1, clock=clock)
    ids = [gen.next_id() for _ in range(4097)]
    assert gen.decode(ids[4095])["sequence"] == 4095
    last = gen.decode(ids[4096])
    assert last["sequence"] == 0 and last["time_ms"] == START + 1
    assert clock.ms() == START + 1 and gen.waits["exhausted"] == 1


def test_batch_equals_one_by_one():
    g1, g2 = Snowflake(worker=5, clock=FakeClock(START)), Snowflake(worker=5, clock=FakeClock(START))
    assert g1.next_ids(9000) == [g2.next_id() for _ in range(9000)]


def test_raise_policy_refuses_any_rollback():
    clock = FakeClock(START)
    gen = Snowflake(clock=clock)
    gen.next_id()
    clock.step_back(1)
    with pytest.raises(ClockRollbackError, match="moved back 1 ms"):
        gen.next_id()


def test_leaf_wait_policy_waits_twice_the_offset_up_to_5_ms():
    clock = FakeClock(START)
    gen = Snowflake(LEAF, clock=clock, policy="wait")
    gen.next_id()
    clock.step_back(5)
    ident = gen.next_id()
    assert gen.waits["rollback"] == 1 and clock.slept == 10
    assert gen.decode(ident)["time_ms"] == START + 5
    assert gen.next_at(START, retried=False) == Wait(10, "rollback")
    clock.step_back(6 + 5)
    with pytest.raises(ClockRollbackError):
        gen.next_id()


def test_logical_policy_reads_the_clock_only_at_start():
    clock = FakeClock(START)
    gen = Snowflake(SEATA, worker=9, clock=clock, policy="logical")
    first = gen.next_id()
    assert clock.slept == 5  # Seata sleeps once when the counter has caught up
    clock.step_back(10_000)
    later = [gen.next_id() for _ in range(5000)]  # borrows future ms instead of failing
    assert later == sorted(later) and later[0] > first
    assert gen.decode(later[-1])["worker"] == 9
    assert gen.decode(later[-1])["time_ms"] > START  # ahead of the stepped-back clock


def test_presets_and_geometry():
    assert TWITTER.epoch_ms == 1_288_834_974_657
    assert TWITTER.max_workers == 1024 and TWITTER.ids_per_ms == 4096
    assert round(TWITTER.lifetime_years, 1) == 69.7
    assert round(UIDGENERATOR.lifetime_years, 1) == 8.5
    assert SEATA.shift("worker") == 53 and SEATA.shift("timestamp") == 12
    assert "workers" in layout(39, 12, 12).describe()
    assert Layout((("timestamp", 42), ("worker", 10), ("sequence", 12))).total_bits == 64


@pytest.mark.parametrize("kwargs, match", [
    (dict(fields=(("timestamp", 41), ("worker", 10), ("sequence", 11))), "62 is not allowed.*63"),
    (dict(fields=(("timestamp", 41), ("worker", 10), ("sequence", 14))), "65 is not allowed"),
    (dict(fields=(("timestamp", 51), ("machine", 12))), "'machine' is not allowed"),
    (dict(fields=(("timestamp", 41), ("worker", 22))), "'sequence' field"),
    (dict(fields=(("timestamp", 41), ("worker", 0), ("sequence", 22))), "at least 1 bit"),
    (dict(fields=(("timestamp", 30), ("worker", 3), ("worker", 3), ("sequence", 27))), "at most once"),
    (dict(fields=(("timestamp", 41), ("sequence", 22)), unit_ms=0), "unit_ms=0"),
    (dict(fields=5), "pairs"),
])
def test_bad_layouts(kwargs, match):
    with pytest.raises(ds.ConfigError, match=match):
        Layout(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(worker=1024, layout=LEAF), r"worker id=1024 .*0 <= worker < 1024"),
    (dict(worker=-1), "worker id=-1"),
    (dict(datacenter=32), "datacenter id=32"),
    (dict(business=1), "business id=1"),
    (dict(policy="ignore"), "policy='ignore'.*raise, wait, logical"),
    (dict(max_wait_ms=-1), "max_wait_ms"),
    (dict(random_start=100), "rng=None"),
    (dict(random_start=5000), "random_start=5000"),
    (dict(layout="twitter"), "ds.ids.Layout"),
    (dict(clock=object()), "clock="),
])
def test_bad_generator_arguments(kwargs, match):
    with pytest.raises(ds.ConfigError, match=match):
        Snowflake(**kwargs)


def test_bad_codec_and_driver_input():
    with pytest.raises(ds.ConfigError, match="sequence=4096"):
        TWITTER.encode(sequence=4096)
    with pytest.raises(ds.ConfigError, match="field='shard'"):
        TWITTER.encode(shard=1)
    with pytest.raises(ds.ConfigError, match="id=-1"):
        TWITTER.decode(-1)
    with pytest.raises(ds.ConfigError, match="clock=None"):
        Snowflake().next_id()
    with pytest.raises(ds.ConfigError, match="n=-1"):
        Snowflake(clock=FakeClock()).next_ids(-1)
    with pytest.raises(ds.ids.ExhaustedError):
        Snowflake(clock=FakeClock(0)).next_id()  # before Twitter's epoch
