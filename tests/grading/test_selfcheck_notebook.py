"""``ds.grading.check`` in a real kernel: the student notebook run with and without answers."""

from __future__ import annotations

import json

import nbclient
import nbformat
import pytest
from gradekit import MASTER, STUDENT, submission

BUGGY = "self.send(src, Ack(msg.seq))  "


def _run(nb: dict) -> list:
    node = nbformat.reads(json.dumps(nb), as_version=4)
    nbclient.NotebookClient(node, timeout=300, kernel_name="python3").execute()
    return node.cells


def _check_outputs(cells, exercise: str) -> tuple[str, list]:
    for cell in cells:
        if cell.cell_type == "code" and cell.source.strip() == f'ds.grading.check("{exercise}")':
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            return text, cell.outputs
    raise AssertionError(f"no check cell for {exercise}")


@pytest.fixture(scope="module")
def solved():
    return _run(submission({"E1.1": "SOL", "E1.2": "SOL", "E1.3": "SOL"}))


def test_committed_stub_notebook_says_not_implemented_without_errors():
    nb = json.loads(STUDENT.read_text())
    assert all(c.get("outputs") is not None for c in nb["cells"] if c["cell_type"] == "code")
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error"
    texts = ["".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])]
    for ex in ("E1.1", "E1.2", "E1.3"):
        assert any(t.startswith(f"{ex} is not implemented yet") for t in texts), ex
    # the stub's own message says what to write (the method, not just the class)
    assert any(t.startswith("E1.1 is not implemented yet: write ReliableChannel.") for t in texts), texts
    assert any("not implemented" in t and "Exercise" in t for t in texts)   # the summary table


def _public(ex: str) -> int:
    """How many public tests the master gives ``ex`` (one per property since E1.1/E1.2 were split)."""
    from dscourse.grading import grader

    return sum(not c.hidden for c in grader.load_master(MASTER).exercises[ex])


def test_check_passes_the_pasted_solutions(solved):
    for ex in ("E1.1", "E1.2", "E1.3"):
        text, outputs = _check_outputs(solved, ex)
        n = _public(ex)
        assert f"{ex}: {n} of {n} public tests passed" in text
        assert "Hidden tests run only when your instructor grades" in text
        assert "all tests passed" not in text.lower()
        assert all(o.output_type == "stream" for o in outputs)
    summary = next(c for c in solved if c.source.strip() == "ds.grading.summary()")
    assert summary.outputs[0]["text"].count("public tests pass") == 3


def test_a_failing_solution_gets_the_seed_and_a_space_time_diagram():
    sol = submission({"E1.1": "SOL"})
    for cell in sol["cells"]:
        if cell.get("metadata", {}).get("dscourse", {}).get("answer") == "E1.1":
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            assert BUGGY in src
            cell["source"] = src.replace(BUGGY, "self.send(src, Ack(msg.seq)); self.deliver(src, msg.data); return  ")
    text, outputs = _check_outputs(_run(sol), "E1.1")
    n = _public("E1.1")
    passed = int(text.split("E1.1: ", 1)[1].split(" of ", 1)[0])
    assert passed < n and f"{passed} of {n} public tests passed" in text
    assert "(seed 1)" in text and "again" in text
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outputs)
    assert not any(o.output_type == "error" for o in outputs)
