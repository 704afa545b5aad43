"""Shrunk counterexamples: ddmin finds the culprits, a wrong Raft submission's feedback shows a
schedule no longer than the original that still fails, with its diagram and the line that
replays it; the gradebook gets the seed digest only."""

from __future__ import annotations

import csv
import json

import pytest
from gradekit import write
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.grading import cells as fmt
from dscourse.grading import grader, selfcheck, shrink


@settings(max_examples=80, deadline=None)
@given(n=st.integers(0, 40), data=st.data())
def test_ddmin_finds_exactly_the_culprits_of_a_monotone_failure(n, data):
    culprits = set(data.draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=min(n, 4)))) if n else set()
    calls = []

    def fails(keep):
        calls.append(len(keep))
        return culprits <= set(keep)

    assert set(shrink.ddmin(list(range(n)), fails)) == culprits


def test_ddmin_keeps_what_it_has_when_the_budget_ends():
    items = list(range(20))
    answers = iter([False, True, False])          # [] fails? no; one half fails; then out of budget
    got = shrink.ddmin(items, lambda keep: next(answers, False))
    assert got == list(range(10))


WRONG_VOTE = '''# ANSWER E6.1
def vote(state, request):
    """Grants a vote to every candidate of the current term: two leaders per term."""
    term, voted = state["term"], state["voted_for"]
    logs = state["log_terms"]
    up = (request["last_log_term"], request["last_log_index"]) >= (logs[-1] if logs else 0, len(logs))
    contact = state["leader_contact"]
    recent = contact is not None and contact < state["election_timeout_min"]
    if request["prevote"]:
        return {"term": term, "voted_for": voted}, request["term"] > term and not recent and up
    if recent or request["term"] < term:
        return {"term": term, "voted_for": voted}, False
    if request["term"] > term:
        term, voted = request["term"], None
    if not up:
        return {"term": term, "voted_for": voted}, False
    return {"term": term, "voted_for": request["candidate"]}, True
'''

TESTS = '''@ds.grading.test("E6.1", points=2)
def election_safety(t, vote):
    """Election Safety under partitions, crashes and pauses."""
    for seed in t.seeds(30):
        t.expect(ds.raft.exercises.election_trial(vote, seed))
'''

HIDDEN = '''@ds.grading.test("E6.1", points=1, hidden=True)
def election_hidden(t, vote):
    """Election Safety on hidden seeds."""
    for seed in t.seeds(2):
        t.expect(ds.raft.exercises.election_trial(vote, seed))
'''


def _master() -> dict:
    """A one-exercise Raft master (E6.1's harness, more public seeds than the chapter's)."""
    def code(src: str) -> dict:
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}

    solution = WRONG_VOTE.replace("    return {\"term\": term, \"voted_for\": request[\"candidate\"]}, True",
                                  "    # BEGIN SOLUTION\n    if voted not in (None, request[\"candidate\"]):\n"
                                  "        return {\"term\": term, \"voted_for\": voted}, False\n"
                                  "    return {\"term\": term, \"voted_for\": request[\"candidate\"]}, True\n"
                                  "    # END SOLUTION")
    return {"cells": [code(solution), code(TESTS), code(HIDDEN)], "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"dscourse": {"exercise_set": "ch06"}}}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("raft")
    master = root / "ch06.ipynb"
    master.write_text(json.dumps(_master()))
    subs = root / "subs"
    subs.mkdir()
    student = fmt.assign(_master())
    for cell in student["cells"]:
        if fmt.answer_id(cell) == "E6.1":
            cell["source"] = WRONG_VOTE
    write(subs, "wrong.ipynb", student)
    write(subs, "right.ipynb", _master())
    grader.grade_all(master, subs, root / "g.csv", results=root / "res", secret="k", jobs=2,
                     progress=False, timeout=30)
    with (root / "g.csv").open() as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return rows, root / "res", (root / "g.csv").read_text()


def _vote():
    ns: dict = {}
    exec(WRONG_VOTE, ns)                                 # noqa: S102 - the test's own code
    return ns["vote"]


def test_a_wrong_raft_submission_gets_a_shrunk_counterexample_that_still_fails(graded):
    rows, res, _ = graded
    assert rows["right"]["total"] == "3" and int(rows["wrong"]["E6.1"]) <= 1   # the public test fails
    data = json.loads((res / "wrong" / "results.json").read_text())
    public = next(t for t in data["tests"] if t["name"].endswith("partitions, crashes and pauses."))
    output = public["output"]
    assert "Election Safety" in output and "(seed " in output
    assert "counterexample: seed" in output
    assert 'ds.grading.replay("E6.1", test="election_safety", seed=' in output
    # the schedule kept is no longer than the one drawn, and the run still fails with it
    feedback = (res / "wrong" / "feedback.md").read_text()
    assert "shrunk from" in feedback and "](E6.1-election_safety.svg)" in feedback
    page = (res / "wrong" / "feedback.html").read_text()
    assert "data:image/svg+xml;base64," in page and "counterexample: seed" in page
    summary = (res.parent / "g.summary.html").read_text()
    assert "Election Safety" in summary
    svg = (res / "wrong" / "E6.1-election_safety.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    line = next(x for x in output.splitlines() if x.startswith("counterexample"))
    original, kept = (int(w) for w in line.split("shrunk from ")[1].split(" nemesis")[0].split(" to "))
    assert kept <= original
    replay = next(x for x in output.splitlines() if "ds.grading.replay(" in x)
    seed = int(replay.split("seed=")[1].split(",")[0])
    keep = json.loads(replay.split("keep=")[1].rstrip(")"))
    assert len(keep) == kept
    case = next(c for c in grader.load_master(res.parent / "ch06.ipynb").exercises["E6.1"] if not c.hidden)
    outcome, record = shrink.rerun(case, {"vote": _vote()}, seed, frozenset(keep))
    assert outcome.status == "failed" and "Election Safety" in outcome.message
    assert len(record) == original


def test_the_gradebook_gets_the_seed_digest_only(graded):
    rows, _, text = graded
    assert "counterexample" not in text and "replay" not in text
    assert rows["wrong"]["seed_digest"] == grader.seed_digest(b"k")


def test_the_replay_line_replays_in_the_students_kernel(graded, monkeypatch):
    _, res, _ = graded
    output = json.loads((res / "wrong" / "results.json").read_text())["tests"][0]["output"]
    replay = next(x for x in output.splitlines() if "ds.grading.replay(" in x).split(": ", 1)[1]

    @ds.grading.test("E6.1", points=2)
    def election_safety(t, vote):
        """Election Safety under partitions, crashes and pauses."""
        for seed in t.seeds(30):
            t.expect(ds.raft.exercises.election_trial(vote, seed))

    monkeypatch.setattr(selfcheck, "_namespace", lambda: {"vote": _vote()})
    player = eval(replay, {"ds": ds})                    # the line the feedback prints
    assert "data-dscourse-player" in player._repr_html_()
    with pytest.raises(ValueError, match="keep"):
        ds.grading.replay("E6.1", test="election_safety", seed=1, keep=[-1])
    with pytest.raises(ValueError, match=r"public tests of E6\.1"):
        ds.grading.replay("E6.1", test="nope", seed=1)


@pytest.mark.parametrize("original, keep, expected", [
    ((), (), "in a run with no scheduled faults"),
    (("crash n1 at 5 ms", "heal at 9 ms"), (), "shrunk from 2 to 0 nemesis action(s), still failing at 7 ms: "
                                               "it fails the same way with none of them, so no fault is needed"),
    (("crash n1 at 5 ms", "heal at 9 ms"), (0,), "shrunk from 2 to 1 nemesis action(s), still failing at 7 ms:"),
])
def test_counterexample_text_says_what_the_shrink_found(original, keep, expected):
    from dscourse.grading.shrink import Counterexample

    cx = Counterexample("E6.1", "safety", 3, original, keep, "broken", 7.0, 4)
    lines = cx.lines()
    assert expected in lines[0]
    assert lines[-1].endswith(f"keep={list(keep)})")
    # schedule lines (indented: a code block in the feedback) only when actions remain
    assert [ln.strip() for ln in lines[1:-1]] == [original[i] for i in keep]
