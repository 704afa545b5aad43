"""E3.2 and E3.4 grading: the multi-writer ABD harnesses judge each property and catch each
wrong answer (no write-back, clock timestamps, no writer id), and E3.4 gives one point per
scenario (one hidden test each), as the exercise promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dscourse as ds
from dscourse.grading import cells as fmt
from dscourse.grading import ch03 as E32
from dscourse.grading.registry import collecting, run_test

MASTER = Path(__file__).resolve().parents[2] / "exercises" / "source" / "ch03.ipynb"
NB = json.loads(MASTER.read_text())


def _answers(exercise: str) -> dict:
    """The master's answer cell of ``exercise``, run as a student's would be."""
    ns: dict = {"ds": ds}
    exec(compile(dict(fmt.answer_cells(NB))[exercise], f"<{exercise}>", "exec"), ns)  # noqa: S102
    return ns


def _tests(exercise: str, hidden: bool) -> list:
    """The master's tests of ``exercise`` (public or hidden), collected without registering."""
    with collecting() as cases:
        for tc in fmt.test_cells(NB):
            if exercise in tc.exercises and tc.hidden == hidden:
                exec(compile(tc.source, "<test cell>", "exec"), {"ds": ds})  # noqa: S102
    return [c for c in cases if c.exercise == exercise]


# -- E3.2 --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def abd() -> type:
    return _answers("E3.2")["ABDClient"]


@pytest.fixture(scope="module")
def wrong(abd: type) -> dict[str, type]:
    """Three wrong answers, one per trap: no read write-back, clock timestamps, no writer id."""
    class NoWriteBack(abd):  # type: ignore[misc, valid-type]
        def on_query_quorum(self, f, key, value, ts, newest):
            if f == "get":
                self.complete(newest)
            else:
                self.store((ts[0] + 1, self.id), value)

    class ClockTags(abd):  # type: ignore[misc, valid-type]
        def begin(self, f, key, value):
            if f == "get":
                self.query()
            else:
                self.store((self.clock(), self.id), value)

    class NoWriterId(abd):  # type: ignore[misc, valid-type]
        def on_query_quorum(self, f, key, value, ts, newest):
            self.store(ts if f == "get" else (ts[0] + 1, ""), newest if f == "get" else value)

    return {"no write-back": NoWriteBack, "clock tags": ClockTags, "no writer id": NoWriterId}


def test_slow_write_scenario_separates_abd_from_plain_quorums(abd, wrong):
    assert E32.abd_slow_write_trial(abd).ok
    t = E32.abd_slow_write_trial(wrong["no write-back"])
    assert not t.ok and "['new', 'old']" in t.violations[0] and "Linearizability" in t.violations[0]
    assert t.trace is not None


@pytest.mark.parametrize("seed", [1, 2, 3, 17, 2**31 + 7])
def test_skewed_clocks_catch_clock_timestamps(abd, wrong, seed):
    assert E32.abd_skew_trial(abd, seed).ok
    assert E32.abd_skew_trial(abd, seed, writes=6, skew_ms=300.0, fastest_first=False).ok
    t = E32.abd_skew_trial(wrong["clock tags"], seed)
    assert not t.ok and "returned 'v1', but the last completed put wrote 'v2'" in t.violations[0]
    assert E32.abd_skew_trial(wrong["no write-back"], seed).ok   # each scenario tests one idea


def test_two_writers_catch_a_missing_writer_id(abd, wrong):
    assert E32.abd_tie_trial(abd).ok
    t = E32.abd_tie_trial(wrong["no writer id"])
    assert not t.ok and "under one tag" in t.violations[0]
    assert E32.abd_tie_trial(wrong["clock tags"]).ok


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partitions_with_skew_catch_clock_timestamps(wrong, seed):
    t = E32.abd_partition_trial(wrong["clock tags"], seed, clients=5, keys=("x", "y"),
                                skew_ms=200.0, properties=("linearizable",))
    assert not t.ok and "not linearizable" in t.violations[0]


def test_expect_all_lists_every_failing_run(wrong):
    from dscourse.grading.registry import Context, TestCase, TestFailure

    t = Context(TestCase("E3.2", "x", 1, False, lambda: None, ()))
    trials = [E32.abd_skew_trial(wrong["clock tags"], seed) for seed in (1, 2, 3)]
    with pytest.raises(TestFailure) as info:
        E32.expect_all(t, trials)
    n = sum(len(tr.violations) for tr in trials)
    assert info.value.message.startswith(f"{n} problem(s) in 3 of 3 run(s)")
    assert all(f"seed {s}:" in info.value.message for s in (1, 2, 3))
    assert info.value.seed == 1 and info.value.trace is trials[0].trace


def test_unknown_property_is_a_config_error(abd):
    with pytest.raises(ValueError, match="properties"):
        E32.abd_partition_trial(abd, 1, properties=("fast",))


def test_public_e32_cells_hold_no_sandbox_plumbing():
    """The public test cells read as documentation: the harness does the plumbing."""
    for tc in fmt.test_cells(NB):
        if "E3.2" in tc.exercises:
            for word in ("make_node", "RemoteNode", "wire"):
                assert word not in tc.source


def test_e32_master_tests_pass_on_the_reference(abd):
    for case in _tests("E3.2", hidden=False) + _tests("E3.2", hidden=True):
        outcome = run_test(case, {"ABDClient": abd}, secret=b"k", salt="s")
        assert outcome.status == "passed", (case.name, outcome.message)


@pytest.mark.parametrize("trap", ["no write-back", "clock tags", "no writer id"])
def test_each_wrong_answer_loses_public_points(wrong, trap):
    """Every trap costs points in the public tests already, so a student can find it."""
    cases = _tests("E3.2", hidden=False)
    lost = [c.name for c in cases if run_test(c, {"ABDClient": wrong[trap]}).status != "passed"]
    assert lost, trap


# -- E3.4 --------------------------------------------------------------------------------------
def test_e34_gives_one_point_per_scenario():
    right = _answers("E3.4")["partition_behaviour"]()
    hidden = _tests("E3.4", hidden=True)
    assert len(hidden) == len(right) == 9 and all(c.points == 1 for c in hidden)
    keys = sorted(right)
    for n_wrong in range(len(keys) + 1):
        answers = dict(right)
        for k in keys[:n_wrong]:
            answers[k] = "a wrong option"
        score = sum(run_test(c, {"partition_behaviour": lambda a=answers: a}, secret=b"k").score
                    for c in hidden)
        assert score == len(keys) - n_wrong
    assert sum(run_test(c, {"partition_behaviour": lambda: ["no"]}, secret=b"k").score
               for c in hidden) == 0


def test_e34_hidden_titles_do_not_give_the_answers():
    """Hidden titles reach results.json: they name the scenario, never an option."""
    options = {v for v in _answers("E3.4")["partition_behaviour"]().values()}
    for case in _tests("E3.4", hidden=True):
        assert not any(opt in case.title for opt in options), case.title
