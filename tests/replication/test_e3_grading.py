"""E3.2 and E3.4 grading: the ABD harness judges each property, and E3.4 gives one point per
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
def no_write_back(abd: type) -> type:
    class NoWriteBack(abd):  # type: ignore[misc, valid-type]
        def on_read_quorum(self, key, ts, value):
            self.complete(value)

    return NoWriteBack


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 2**31 + 7])
def test_reference_abd_passes_every_property(abd, seed):
    t = E32.abd_partition_trial(abd, seed, clients=5, keys=("x", "y"), start=10.0 + seed % 40)
    assert t.ok, t.violations
    assert t.trace is not None and len(t.trace) > 100


def test_slow_write_scenario_separates_abd_from_plain_quorums(abd, no_write_back):
    assert E32.abd_slow_write_trial(abd).ok
    t = E32.abd_slow_write_trial(no_write_back)
    assert not t.ok and "['new', 'old']" in t.violations[0] and "Linearizability" in t.violations[0]
    assert t.trace is not None


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
