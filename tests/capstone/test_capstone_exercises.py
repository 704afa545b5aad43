"""E16.1 harness (MiniMall's order service under a nemesis): the master's answer (read from the
master notebook) keeps every invariant on many seeds; typical wrong answers lose the invariant
they break, and not the ones their mistake cannot touch."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.capstone import exercises as E

MASTER = Path(__file__).resolve().parents[2] / "exercises" / "source" / "ch16.ipynb"


def _answers() -> dict:
    ns: dict = {"ds": ds}
    for cell in json.loads(MASTER.read_text())["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and src.startswith("# ANSWER E16."):
            exec(compile(src, str(MASTER), "exec"), ns)  # noqa: S102 - the master's own answer
    return ns


OrderService = _answers()["OrderService"]


def failing(cls, seeds=range(1, 7)) -> dict[str, list[int]]:
    """property -> the seeds on which it failed."""
    out: dict[str, list[int]] = {}
    for seed in seeds:
        trial = E.order_trial(cls, seed)
        assert trial.error is None
        for v in trial.violations:
            out.setdefault(v.split(":")[0], []).append(seed)
    return out


# -- the master ------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_master_keeps_every_invariant(seed):
    t = E.order_trial(OrderService, seed)
    assert t.ok, t.violations
    assert t.facts["answered"] == 30 and t.facts["completed"] > 0 and t.facts["restarts"] >= 2


def test_runs_are_deterministic_and_the_nemesis_is_combined():
    a, b = E.order_trial(OrderService, 7), E.order_trial(OrderService, 7)
    assert a.trace.digest() == b.trace.digest()
    kinds = {action[0] for seed in range(1, 6) for _, action in E.combined_nemesis(E.Platform(seed, 30))}
    assert {"pause", "crash", "recover", "slow_link", "partition", "clock_jump"} <= kinds
    for seed in range(1, 20):          # one fault at a time per instance: every action applies
        schedule = E.combined_nemesis(E.Platform(seed, 30))
        assert all(t < E.GST_MS for t, _ in schedule)
        assert sum(a[0] == "crash" for _, a in schedule) >= 2


def test_without_faults_everything_sells_or_is_refused_cleanly():
    world, _, history = E.run(OrderService, 3, nemesis=False)
    assert len(world.answers) == 30 and not any(world.problems.values())
    sold = {s: world.completed_units(s) for s in E.SKUS}
    assert all(world.stock[s] + sold[s] == world.stock0[s] for s in E.SKUS)
    assert sum(world.balance.values()) + sum(world.net.values()) == sum(world.balance0.values())
    assert len(history) >= 60


# -- typical wrong answers ---------------------------------------------------------------------------
class NoFence(OrderService):
    """Reads and writes the stock without the fencing token."""

    def on_message(self, src, msg):
        if msg["type"] == "stock":
            req = self.by_number.get(msg["order"])
            msg = {**msg, "token": self.stable["orders"][req]["token"] if req else None}
        super().on_message(src, msg)

    def send(self, dst, msg):
        if msg["type"] in ("read", "write"):
            msg = {k: v for k, v in msg.items() if k != "token"}
        return super().send(dst, msg)


class NoCompensation(OrderService):
    """Out of stock: answers rejected without refunding the charge."""

    def step(self, req):
        o = self.stable["orders"][req]
        if o["state"] == "refund":
            o["state"], o["status"] = "done", "rejected"
        return super().step(req)


class NoKey(OrderService):
    """Retries charges and refunds without an idempotency key."""

    def send(self, dst, msg):
        if msg["type"] in ("charge", "refund"):
            msg = {k: v for k, v in msg.items() if k != "key"}
        return super().send(dst, msg)


class ReuseIds(OrderService):
    """Keeps its segment in stable storage but its position in memory: a restart hands the
    segment's numbers out again."""

    def on_start(self):
        if "segment" in self.stable:
            self.stable["ids"] = list(self.stable["segment"])
        super().on_start()

    def on_message(self, src, msg):
        if msg["type"] == "range" and msg["lo"] >= self.stable["ids"][1]:
            self.stable["segment"] = [msg["lo"], msg["hi"]]
        super().on_message(src, msg)


class RetryStorm(OrderService):
    RETRY_MS = 1


class SegmentPerOrder(OrderService):
    """Asks the id service for a new segment for every order."""

    def step(self, req):
        o = self.stable["orders"][req]
        if o["state"] == "id" and not o.get("asked"):
            o["asked"] = True
            self.stable["ids"] = [self.stable["ids"][1]] * 2
        return super().step(req)


def test_no_fencing_token_oversells_and_breaks_nothing_else():
    bad = failing(NoFence)
    assert set(bad) == {"no oversell"} and len(bad["no oversell"]) >= 2


def test_no_compensation_fails_completed_or_compensated_only():
    bad = failing(NoCompensation, range(1, 4))
    assert bad == {"completed or compensated": [1, 2, 3]}


def test_no_idempotency_key_double_charges():
    bad = failing(NoKey, range(1, 4))
    assert bad["money conserved"] == [1, 2, 3]
    # a retried charge that is declined loses the first one's money: also not compensated
    assert set(bad) <= {"money conserved", "completed or compensated"}


def test_reusing_order_numbers_after_a_restart_fails_uniqueness():
    bad = failing(ReuseIds, range(1, 5))
    assert len(bad["unique order numbers"]) >= 3
    assert "efficiency" not in bad        # the rest may follow: keys made of a reused number collide


@pytest.mark.parametrize("cls", [RetryStorm, SegmentPerOrder])
def test_wasteful_answers_fail_efficiency_only(cls):
    assert failing(cls, range(1, 3)) == {"efficiency": [1, 2]}


class RejectAll(ds.sim.Node):
    """Answers every request "rejected" at once: nothing to oversell, charge or number twice."""

    def on_message(self, src, msg):
        if msg["type"] == "place":
            self.send(src, {"type": "placed", "req": msg["req"], "order": int(msg["req"][1:]),
                            "status": "rejected", "reason": "sold out"})


class Idle(ds.sim.Node):
    """Never answers."""


@pytest.mark.parametrize("cls", [RejectAll, Idle])
def test_doing_nothing_earns_nothing(cls):
    bad = failing(cls, range(1, 3))
    assert set(bad) == set(E.PROPERTIES)
    t = E.order_trial(cls, 1, properties=("no oversell",))
    assert "held only vacuously" in t.violations[0]
    t = E.order_trial(cls, 1, properties=("completed or compensated",))
    why = "never declined it" if cls is RejectAll else "never answered"
    assert why in t.violations[0], t.violations


def test_failure_names_the_invariant_the_seed_and_a_replay_line():
    t = E.order_trial(NoCompensation, 2, properties=("completed or compensated",))
    msg = t.violations[0]
    assert msg.startswith("completed or compensated: seed 2,") and "refunded 0 time(s)" in msg
    assert "print(ds.capstone.exercises.story(OrderService, seed=2))" in msg and t.trace is not None
    story = E.story(NoCompensation, 2).splitlines()    # follows the uncompensated request
    req = msg.split(" was rejected")[0].split()[-1]
    assert story[-1].startswith("completed or compensated: at t=") and f"place(req={req}," in story[0]
    assert any("-> pay  charge(" in line for line in story) and not any("refund(" in line for line in story)
    quiet = E.story(OrderService, 2, req="r3").splitlines()
    assert quiet[-1] == "every property held" and "place(req=r3," in quiet[0]
    paused = E.story(NoFence, 2)                     # a safety failure: the window before it
    assert "** " in paused and paused.splitlines()[-1].startswith("no oversell: at t=")


# -- bad answers and bad input -----------------------------------------------------------------------
def test_the_stub_is_reported_as_not_implemented():
    class Stub(ds.sim.Node):
        def on_start(self):
            raise NotImplementedError("E16.1: write OrderService.on_start()")

    with pytest.raises(NotImplementedError):
        E.order_trial(Stub, 1)


@pytest.mark.parametrize("msg, words", [
    ("hello", "not a dict with a 'type'"),
    ({"type": "charge", "order": 1, "req": "r1", "user": "nobody", "amount": 5}, "not that request's user"),
    ({"type": "write", "sku": "sku-9", "order": 1, "stock": 3}, "the SKUs are"),
    ({"type": "shout"}, "understands ('charge', 'refund')"),
    ({"type": "lock", "sku": "sku-1", "owner": "me"}, "needs 'owner' (int)"),
])
def test_unusable_messages_are_named(msg, words):
    dst = {"charge": "pay", "write": "stock", "shout": "pay", "lock": "lock"}.get(
        msg["type"] if isinstance(msg, dict) else "", "pay")

    class Sender(ds.sim.Node):
        def on_start(self):
            self.send(dst, msg)

    t = E.order_trial(Sender, 1)
    assert not t.ok and t.violations[0].startswith("unusable message") and words in t.violations[0]


def test_wire_records_from_the_sandbox_read_as_plain_data():
    assert E.plain({"type": "write", "wire": {"type": "write", "k": {"$t": [1, 2]}}}, "x") == \
        {"type": "write", "k": [1, 2]}
    with pytest.raises(E.AnswerError, match="plain data"):
        E.plain({"type": "x", "wire": {"type": "x", "v": {"$c": "Obj", "f": {}}}}, "x")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="properties"):
        E.order_trial(OrderService, 1, properties=("no bugs",))
    with pytest.raises(ValueError, match="requests"):
        E.order_trial(OrderService, 1, requests=0)


# -- the sandbox -----------------------------------------------------------------------------------
def _answer_source() -> str:
    return next("".join(c["source"]) for c in json.loads(MASTER.read_text())["cells"]
                if "".join(c["source"]).startswith("# ANSWER E16."))


@pytest.mark.parametrize("variant", ["master", "no fencing"])
def test_a_sandboxed_service_is_judged_as_the_same_class_in_the_kernel(variant):
    """In the grader the node runs in its own process and its messages cross as tagged JSON:
    the platform must see the same plain data (same violations, same counts) as locally."""
    from dscourse.grading.remote import RemoteClass, Sandboxes, make_node

    src = _answer_source()
    if variant == "no fencing":
        src = src.replace(', "token": o["token"]})', "})").replace(
            '"token": o["token"], "key": f"{n}/stock"', '"key": f"{n}/stock"').replace(
            ' and msg["token"] == o["token"]', "")
        assert src != _answer_source()
    ns: dict = {"ds": ds}
    exec(compile(src, "answer", "exec"), ns)  # noqa: S102 - the master's answer (or a planted bug)
    with Sandboxes([["E16.1", src]], ["OrderService"], timeout=60) as boxes:
        boxes.start()
        remote = RemoteClass(boxes, "OrderService")
        for seed in (2, 3):
            here = E.order_trial(ns["OrderService"], seed)
            there = E.order_trial(remote, seed, make=make_node)
            assert there.error is None and there.violations == here.violations
            assert there.facts == here.facts
            assert (variant == "master") == here.ok
