"""MiniMall (Chapter 16): determinism, the six invariants under the combined nemesis with every
defence on, each invariant failing when its defence is removed, the plug point, bad input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.capstone import DEFENCES, DEFENDS, INVARIANTS, OrderService, minimall, trial
from dscourse.capstone.trial import Run, critical_pause, shrink

CRASH_ORDER2 = [(800.0, ("crash", "order2")), (6_800.0, ("recover", "order2"))]


def judged(seed: int, **kw: object) -> Run:
    r = trial(seed, **kw)  # type: ignore[arg-type]
    assert isinstance(r, Run)
    return r


def test_same_seed_same_digest_and_verdicts() -> None:
    a, b = judged(3), judged(3)
    assert a.digest == b.digest
    assert a.schedule == b.schedule and a.schedule, "the combined nemesis drew no fault"
    assert {k: v.ok for k, v in a.verdicts.items()} == {k: v.ok for k, v in b.verdicts.items()}
    assert judged(4).digest != a.digest


def test_a_fault_free_run_completes_orders_and_every_invariant_holds() -> None:
    r = judged(1, kinds=(), loss=0.0, duplicate=0.0)
    assert r.ok, [str(v) for v in r.verdicts.values()]
    assert r.summary["orders"].get("completed", 0) > 0
    assert r.summary["purchases"] == {"ok": 24}
    assert all(r.verdicts[n].examined > 0 for n in INVARIANTS)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_every_invariant_holds_under_the_combined_nemesis_with_every_defence(seed: int) -> None:
    r = judged(seed, loss=0.03, duplicate=0.03)
    assert r.ok, (seed, r.schedule, [str(r.verdicts[f]) for f in r.failed()])


@pytest.mark.parametrize("seed", [100, 101, 102])
def test_long_crashes_expire_sessions_and_still_every_invariant_holds(seed: int) -> None:
    r = judged(seed, mean_duration=1_500.0, loss=0.03, duplicate=0.03)
    assert r.ok, (seed, r.schedule, [str(r.verdicts[f]) for f in r.failed()])


def test_each_defence_protects_a_different_invariant() -> None:
    assert sorted(DEFENDS) == sorted(DEFENCES)
    assert sorted(DEFENDS.values()) == sorted(INVARIANTS)


def test_without_fencing_a_pause_in_the_lock_oversells() -> None:
    for seed in (0, 1, 2):
        schedule = critical_pause(seed)
        broken = judged(seed, without=("fencing",), schedule=schedule, loss=0.0, duplicate=0.0)
        fenced = judged(seed, schedule=schedule, loss=0.0, duplicate=0.0)
        assert broken.failed() == ["no_oversell"], (seed, broken.failed())
        assert fenced.ok, (seed, [str(fenced.verdicts[f]) for f in fenced.failed()])


def test_without_compensation_money_is_left_frozen() -> None:
    failing = [s for s in range(6) if "money_conserved" in judged(s, without=("compensation",)).failed()]
    assert failing, "no seed in 0..5 broke money_conserved without compensation"
    assert judged(failing[0]).ok


def test_without_the_saga_log_a_crash_forgets_orders() -> None:
    failing = [s for s in range(12)
               if "orders_resolved" in judged(s, without=("saga_log",), kinds=("crash",)).failed()]
    assert failing, "no seed in 0..11 lost an order without the saga log"
    assert judged(failing[0], kinds=("crash",)).ok


def test_without_leaf_two_instances_hand_out_the_same_order_numbers() -> None:
    r = judged(0, without=("leaf_ids",), kinds=(), loss=0.0, duplicate=0.0)
    assert "unique_order_numbers" in r.failed()


def test_without_stable_hashing_users_flip_cohorts() -> None:
    r = judged(0, without=("stable_gray",), kinds=(), loss=0.0, duplicate=0.0)
    assert r.failed() == ["stable_cohorts"]


def test_without_the_registry_watch_the_gateway_calls_an_expired_provider() -> None:
    broken = judged(3, without=("registry_watch",), schedule=CRASH_ORDER2)
    assert broken.failed() == ["registry_routing"]
    assert judged(3, schedule=CRASH_ORDER2).ok


def test_a_restarted_provider_registers_again() -> None:
    _, mall = trial(3, schedule=CRASH_ORDER2, keep=True)  # type: ignore[misc]
    try:
        seen = [regs for t, regs in mall.monitor.samples]
        gone = next(i for i, regs in enumerate(seen) if "order2:20880" not in regs)
        assert any("order2:20880" in regs for regs in seen[gone:]), "order2 never came back after its restart"
    finally:
        mall.close()


def test_shrinking_keeps_only_the_fault_that_matters() -> None:
    noisy = [(500.0, ("clock_jump", "leafdb", 40)), *CRASH_ORDER2, (1_200.0, ("pause", "config", 100))]
    r = judged(3, without=("registry_watch",), schedule=noisy)
    small = shrink(r, "registry_routing")
    assert not small.verdicts["registry_routing"].ok
    assert (800.0, ("crash", "order2")) in small.schedule and len(small.schedule) <= 2


def test_a_replacement_order_service_is_plugged_into_every_provider() -> None:
    class Greedy(OrderService):
        """Never compensates: a failure abandons the order."""

        def fail(self, order_no: int) -> None:
            self.set_state(order_no, "abandoned")

    mall = minimall(2, order_service=Greedy)
    try:
        assert all(type(p.service) is Greedy for p in mall.providers.values())
    finally:
        mall.close()
    failing = [s for s in range(6) if "money_conserved" in judged(s, order_service=Greedy).failed()]
    assert failing


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"without": ("nope",)}, "nope"),
    ({"providers": 0}, "providers"),
    ({"order_service": int}, "order_service"),
    ({"stock": {"book": -1}}, "stock"),
    ({"users": True}, "users"),
])
def test_bad_builder_input_is_a_value_error_naming_it(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        minimall(1, **kwargs)  # type: ignore[arg-type]


def test_bad_schedules_and_arguments_are_refused() -> None:
    mall = minimall(1)
    try:
        with pytest.raises(ValueError, match="process"):
            mall.schedule([(500, ("crash", "nosuch"))])
        with pytest.raises(ValueError, match="nemesis action"):
            mall.schedule([(500, ("explode", "order1"))])
        with pytest.raises(ValueError, match="process"):
            mall.random_nemesis(1_000, targets=["nosuch"])
    finally:
        mall.close()
    with pytest.raises(ValueError, match="seed"):
        trial(-1)
    with pytest.raises(ValueError, match="process"):
        critical_pause(1, process="gateway")
    with pytest.raises(ValueError, match="invariant"):
        shrink(judged(1, kinds=()), "no_such_invariant")
    with pytest.raises(ValueError, match="run"):
        shrink(judged(1, kinds=()), "no_oversell")
    assert isinstance(ds.capstone.DEFENCES, tuple)
