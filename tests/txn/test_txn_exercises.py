"""E14.1-E14.4 harnesses: the master's answers (read from the master notebook) pass on many
seeds; typical wrong answers lose the properties they break, and the other ones where the
fault does not touch them."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.txn import exercises as E
from dscourse.txn import exercises_commit as C

MASTER = Path(__file__).resolve().parents[2] / "exercises" / "source" / "ch14.ipynb"


def _answers() -> dict:
    ns: dict = {}
    for cell in json.loads(MASTER.read_text())["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and src.startswith("# ANSWER E14."):
            exec(compile(src, str(MASTER), "exec"), ns)  # noqa: S102 - the master's own answers
    return ns


A = _answers()


def failed(trial_fn, props, *args, seeds=(1, 2, 3)):
    """The properties that fail on at least one of ``seeds``."""
    return {p for p in props for s in seeds if not trial_fn(*args, s, properties=(p,)).ok}


# -- E14.1 ---------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_master_2pc_passes_every_crash_point(seed):
    t = E.two_pc_trial(A["coordinator"], A["participant"], seed)
    assert t.ok, t.violations
    assert t.facts["schedules"] >= 30 and t.facts["blocking_ms"] > 0


def _heuristic(log, state, event):
    if event[0] == "timeout" and C.state_of(log, event[1]) == "prepared":
        return [state, [["log", ["aborted", event[1]]]]]
    return A["participant"](log, state, event)


def _forgetful(log, state, event):
    st_, acts = A["coordinator"](log, state, event)
    return [st_, [a for a in acts if not (a[0] == "log" and a[1][0] == "commit")]]


def _no_recovery(log, state, event):
    return [state, []] if event[0] == "recover" else A["participant"](log, state, event)


def _vote_before_log(log, state, event):
    st_, acts = A["participant"](log, state, event)
    return [st_, sorted(acts, key=lambda a: a[0] != "send")]


def test_participant_aborting_after_yes_fails_no_abort_after_yes():
    bad = failed(E.two_pc_trial, E.TWO_PC_PROPERTIES, A["coordinator"], _heuristic)
    assert "no abort after yes" in bad and "resolved" not in bad


def test_coordinator_that_does_not_log_commit_breaks_atomicity():
    assert "atomicity" in failed(E.two_pc_trial, E.TWO_PC_PROPERTIES, _forgetful, A["participant"])


def test_participant_without_recovery_fails_resolved_only():
    assert failed(E.two_pc_trial, E.TWO_PC_PROPERTIES, A["coordinator"], _no_recovery) == {"resolved"}


def test_voting_before_logging_fails_no_abort_after_yes_only():
    assert failed(E.two_pc_trial, E.TWO_PC_PROPERTIES, A["coordinator"], _vote_before_log) == {"no abort after yes"}


def test_failure_lists_every_schedule_and_reports_blocking():
    t = E.two_pc_trial(A["coordinator"], _heuristic, 1)
    msg = t.violations[0]
    assert msg.count("\n  - ") >= 2 and "schedules failed" in msg and "crashes after its step" in msg
    assert "longest time a participant stayed prepared" in msg and t.trace is not None
    assert "seed 1" in E.blocking_report(A["coordinator"], A["participant"], seeds=(1,))


def test_unusable_actions_are_named():
    t = E.two_pc_trial(lambda log, state, event: [state, [["shout"]]], A["participant"], 1)
    assert not t.ok and "expected ['log', record]" in t.violations[0]
    with pytest.raises(ValueError, match="properties"):
        E.two_pc_trial(A["coordinator"], A["participant"], 1, properties=("nope",))


# -- E14.2 ---------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_master_terminate_is_atomic_and_non_blocking(seed):
    t = E.three_pc_trial(A["terminate"], seed)
    assert t.ok, t.violations


def _no_termination(states):
    return None


def _commit_if_any_precommitted(states):
    seen = set(states.values())
    if seen & {"aborted", "initial"}:
        return "abort"
    return "commit" if seen & {"committed", "precommitted"} else "abort"


def _commit_unless_aborted(states):
    return "abort" if "aborted" in states.values() else "commit"


def test_3pc_without_termination_blocks():
    assert failed(E.three_pc_trial, E.THREE_PC_PROPERTIES, _no_termination) == {"non-blocking"}


@pytest.mark.parametrize("rule", [_commit_if_any_precommitted, _commit_unless_aborted])
def test_unsafe_termination_rules_break_atomicity(rule):
    assert failed(E.three_pc_trial, E.THREE_PC_PROPERTIES, rule) == {"atomicity"}


def test_the_partition_breaks_the_textbook_rule():
    plan, sim = E.partition_search(A["terminate"])
    assert plan is not None and plan.partition_after is not None
    states = {n: sim.nodes[n].stable["state"] for n in ("c", "p1", "p2", "p3")}
    assert {"committed", "aborted"} <= set(states.values())
    assert E.partition_answer_trial(A["partition_answer"], A["terminate"]).ok


def test_each_wrong_part_of_the_answer_fails_alone():
    right = A["partition_answer"]()
    for part, wrong in [("assumption", "durable-log"), ("remedy", "longer-timeouts"),
                        ("run", {"committed": ["p2"], "aborted": ["c", "p1", "p3"]})]:
        ans = {**right, **(wrong if isinstance(wrong, dict) else {part: wrong})}
        bad = {p for p in E.ANSWER_PROPERTIES
               if not E.partition_answer_trial(lambda a=ans: a, A["terminate"], properties=(p,)).ok}
        assert bad == {part}, (part, bad)
    t = E.partition_answer_trial(lambda: {"assumption": "x"}, A["terminate"], properties=("format",))
    assert not t.ok and "exactly the keys" in t.violations[0]


def test_a_blocking_rule_is_graded_on_the_textbook_run():
    assert E.partition_answer_trial(A["partition_answer"], _no_termination, properties=("run",)).ok


# -- E14.3 ---------------------------------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_master_tcc_passes(seed):
    t = E.tcc_trial(A["tcc"], seed)
    assert t.ok, t.violations


def _no_fence(db, call):
    op, acct, d = call["op"], call["account"], call["delta"]
    row = db["accounts"][acct]
    if op == "try" and d < 0:
        if row["balance"] < -d:
            return [db, False]
        row["balance"] += d
        row["frozen"] -= d
    elif op == "confirm":
        row["frozen" if d < 0 else "balance"] += d
    elif op == "cancel" and d < 0:
        row["frozen"] += d
        row["balance"] -= d
    return [db, True]


def _no_suspended_row(db, call):
    if call["op"] == "cancel" and f"{call['xid']}:{call['account']}" not in db["fence"]:
        return [db, True]
    return A["tcc"](db, call)


def _confirm_not_idempotent(db, call):
    key = f"{call['xid']}:{call['account']}"
    if call["op"] == "confirm" and db["fence"].get(key) == "committed":
        db["fence"][key] = "tried"
    return A["tcc"](db, call)


def test_tcc_without_a_fence_fails_empty_rollback_and_hanging():
    bad = failed(E.tcc_trial, E.TCC_PROPERTIES, _no_fence, seeds=(1, 2))
    assert {"empty rollback", "hanging", "idempotent", "no leak"} <= bad


def test_forgetting_the_suspended_row_lets_a_try_hang():
    assert failed(E.tcc_trial, E.TCC_PROPERTIES, _no_suspended_row, seeds=(1, 2)) == {"hanging", "no leak"}


def test_a_non_idempotent_confirm_fails_idempotent():
    bad = failed(E.tcc_trial, E.TCC_PROPERTIES, _confirm_not_idempotent, seeds=(1, 2))
    assert "idempotent" in bad and not bad & {"empty rollback", "hanging"}


def test_tcc_failure_gives_a_replay_line_that_replays():
    t = E.tcc_trial(_no_suspended_row, 1, properties=("no leak",))
    assert "ds.txn.exercises.tcc_replay(tcc, seed=" in t.violations[0]
    log = E.tcc_replay(_no_suspended_row, 100)
    assert "cancel" in log and "end: total" in log


# -- E14.4 ---------------------------------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_master_saga_passes(seed):
    t = E.saga_trial(A["saga_next"], A["relay"], A["consume"], seed)
    assert t.ok, t.violations


def _compensate_failed_step(steps, log):
    if log and log[-1][0] in ("do", "undo"):
        return list(log[-1])
    last = {s: k for k, s in log}
    if "failed" in last.values():
        for s in reversed(steps):
            if last.get(s) in ("ok", "failed"):
                return ["undo", s]
    return A["saga_next"](steps, log)


def _unknown_is_failed(steps, log):
    if log and log[-1][0] == "do":
        log = [*log, ["failed", log[-1][1]]]
    return A["saga_next"](steps, log)


def _mark_on_send(rows):
    ids = [r["id"] for r in rows if not r["published"]]
    return [ids, ids]


def _no_dedupe(processed, message):
    return [processed, True]


def _saga(saga_next=None, relay=None, consume=None):
    return (saga_next or A["saga_next"], relay or A["relay"], consume or A["consume"])


def test_compensating_a_failed_step_is_a_phantom_compensation():
    assert "no phantom compensation" in failed(E.saga_trial, E.SAGA_PROPERTIES, *_saga(_compensate_failed_step))


def test_treating_a_lost_reply_as_a_failure_leaves_orders_half_done():
    assert failed(E.saga_trial, E.SAGA_PROPERTIES, *_saga(_unknown_is_failed)) == {"outcome"}


def test_marking_rows_published_on_send_loses_events():
    assert failed(E.saga_trial, E.SAGA_PROPERTIES, *_saga(relay=_mark_on_send)) == {"published"}


def test_consumer_without_dedupe_applies_twice():
    assert failed(E.saga_trial, E.SAGA_PROPERTIES, *_saga(consume=_no_dedupe)) == {"exactly once"}
    t = E.saga_trial(*_saga(consume=_no_dedupe), 1, properties=("exactly once",))
    assert "saga_replay(saga_next, relay, consume, seed=" in t.violations[0]


def test_runs_replay_from_their_seed():
    a = E.two_pc_trial(A["coordinator"], _heuristic, 5)
    b = E.two_pc_trial(A["coordinator"], _heuristic, 5)
    assert a.trace.digest() == b.trace.digest() and a.violations == b.violations
    c = E.three_pc_trial(_commit_unless_aborted, 1)
    d = E.three_pc_trial(_commit_unless_aborted, 1)
    assert c.trace.digest() == d.trace.digest() and c.violations == d.violations
    assert E.tcc_replay(_no_suspended_row, 7) == E.tcc_replay(_no_suspended_row, 7)
    assert E.saga_replay(*_saga(consume=_no_dedupe), 7) == E.saga_replay(*_saga(consume=_no_dedupe), 7)
