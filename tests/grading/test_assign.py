"""The exercise format and ``dscourse assign``: deterministic, no hidden test survives."""

from __future__ import annotations

import inspect
import json
import re

import pytest
from gradekit import MASTER, STUDENT

from dscourse.errors import ConfigError
from dscourse.fundamentals import reliable_channel, timeout_fd
from dscourse.grading import cells as fmt


def _master() -> dict:
    return json.loads(MASTER.read_text())


def test_assign_is_deterministic(tmp_path):
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    fmt.assign_file(MASTER, a)
    fmt.assign_file(MASTER, b)
    assert a.read_bytes() == b.read_bytes()


def test_committed_student_notebook_is_the_generated_one(tmp_path):
    fresh = json.loads(fmt.dumps(fmt.assign(_master())))
    committed = json.loads(STUDENT.read_text())
    assert [fmt.source(c) for c in committed["cells"]] == [fmt.source(c) for c in fresh["cells"]]
    assert committed["metadata"]["kernelspec"]["name"] == "python3"


def test_no_hidden_test_text_survives():
    master = _master()
    hidden = [tc for tc in fmt.test_cells(master) if tc.hidden]
    assert {ex for tc in hidden for ex in tc.exercises} == {"E1.1", "E1.2", "E1.3"}
    text = STUDENT.read_text()
    for tc in hidden:
        for line in tc.source.splitlines():
            if line.strip() and not line.strip().startswith(("@ds.grading", "for seed", "t.expect",
                                                             "schedule = ", ")")):
                assert line.strip() not in text, line
        for name in re.findall(r"def (\w+)", tc.source):
            assert name not in text
    assert "hidden=True" not in text
    assert "BEGIN SOLUTION" not in text


def test_public_tests_and_answer_cells_are_kept():
    student = json.loads(STUDENT.read_text())
    public = [tc for tc in fmt.test_cells(_master()) if not tc.hidden]
    assert [tc.source for tc in fmt.test_cells(student)] == [tc.source for tc in public]
    answers = fmt.answer_cells(student)
    assert [ex for ex, _ in answers] == ["E1.1", "E1.2", "E1.3"]
    for cell in student["cells"]:
        if fmt.answer_id(cell):
            assert cell["metadata"]["dscourse"]["answer"] == fmt.answer_id(cell)


def test_stubs_run_and_raise_a_helpful_not_implemented_error():
    import dscourse as ds

    for ex, src in fmt.answer_cells(json.loads(STUDENT.read_text())):
        ns = {"ds": ds}
        exec(compile(src, ex, "exec"), ns)  # noqa: S102 - the generated stub cell itself runs cleanly
        assert f'raise NotImplementedError("{ex}: write' in src
    assert "write ReliableChannel.on_message()" in STUDENT.read_text()


def test_master_solutions_are_the_library_reference():
    """The master's solution cells and the library's reference modules are one text."""
    answers = dict(fmt.answer_cells(_master()))
    for ex, module, cls in (("E1.1", reliable_channel, "ReliableChannel"),
                            ("E1.2", timeout_fd, "TimeoutFD")):
        cell = "\n".join(line for line in answers[ex].splitlines()
                         if not re.match(r"^\s*# (BEGIN|END) SOLUTION$", line))
        assert inspect.getsource(getattr(module, cls)).rstrip() in cell


@pytest.mark.parametrize("src, message", [
    ("# ANSWER E1.1\ndef f():\n    # BEGIN SOLUTION\n    return 1\n", "without an END"),
    ("# ANSWER E1.1\ndef f():\n    return 1\n    # END SOLUTION\n", "without a BEGIN"),
])
def test_unbalanced_markers_are_errors(src, message):
    with pytest.raises(ConfigError, match=message):
        fmt.stub(src, "E1.1")


def test_bad_masters_are_errors(tmp_path):
    master = _master()
    no_set = dict(master, metadata={})
    with pytest.raises(ConfigError, match="exercise_set"):
        fmt.assign(no_set)
    mixed = json.loads(json.dumps(master))
    mixed["cells"].append({"cell_type": "code", "metadata": {}, "source":
                           '@ds.grading.test("E1.1", points=1)\ndef a(t): pass\n'
                           '@ds.grading.test("E1.1", points=1, hidden=True)\ndef b(t): pass\n'})
    with pytest.raises(ConfigError, match="mixes public and hidden"):
        fmt.assign(mixed)
    with pytest.raises(ConfigError, match=r"not a \.ipynb"):
        fmt.read_notebook(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="a path other than the master"):
        fmt.assign_file(MASTER, MASTER)
