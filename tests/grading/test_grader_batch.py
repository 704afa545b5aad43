"""The batch grader's bookkeeping: byte-identical gradebooks, regrading, the CLI, secrets."""

from __future__ import annotations

import csv
import json

import pytest
from gradekit import MASTER, submission, write

from dscourse import cli
from dscourse.errors import ConfigError
from dscourse.grading import grader, sandbox


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    subs = tmp_path_factory.mktemp("batch")
    write(subs, "ann.ipynb", submission({"E1.3": "SOL"}))
    write(subs, "ben.ipynb", submission({}))
    write(subs, "cat.ipynb", b"{not json")
    return subs


def _rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_same_inputs_give_a_byte_identical_gradebook(folder, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    grader.grade_all(MASTER, folder, a, secret="k", jobs=1, progress=False)
    grader.grade_all(MASTER, folder, b, secret="k", jobs=2, progress=False)
    assert a.read_bytes() == b.read_bytes()
    rows = _rows(a)
    assert [r["student"] for r in rows] == ["ann", "ben", "cat"]
    assert [r["status"] for r in rows] == ["graded", "graded", "invalid"]
    assert rows[0]["E1.3"] == "6" and rows[0]["total"] == "6" and rows[1]["total"] == "0"
    assert rows[0]["seed_digest"] == grader.seed_digest(b"k")
    assert "k" not in a.read_text().split("\n", 1)[1].replace("ok", "")  # the secret is not stored


def test_regrading_overwrites_rows_and_keeps_others(folder, tmp_path):
    book = tmp_path / "g.csv"
    grader.grade_all(MASTER, folder, book, secret="k", jobs=1, progress=False)
    rows = _rows(book)
    rows.append(dict(rows[1], student="zed", total="5"))
    with book.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    write(folder, "ben.ipynb", submission({"E1.3": "SOL"}))
    try:
        grader.grade_all(MASTER, folder, book, secret="k", jobs=1, progress=False)
    finally:
        write(folder, "ben.ipynb", submission({}))
    rows = _rows(book)
    assert [r["student"] for r in rows] == ["ann", "ben", "cat", "zed"]
    assert rows[1]["total"] == "6" and rows[3]["total"] == "5"


def test_a_gradebook_of_another_exercise_set_is_refused(folder, tmp_path):
    book = tmp_path / "other.csv"
    book.write_text("student,status,E2.1,total\n")
    with pytest.raises(ConfigError, match="other columns"):
        grader.grade_all(MASTER, folder, book, secret="k", jobs=1, progress=False)


def test_hidden_seeds_come_from_the_secret():
    master = grader.load_master(MASTER)
    case = next(c for c in master.exercises["E1.1"] if c.hidden)
    from dscourse.grading.registry import Context

    assert Context(case, b"a").seeds(5) != Context(case, b"b").seeds(5)
    assert Context(case, b"a").seeds(5) == Context(case, b"a").seeds(5)
    public = next(c for c in master.exercises["E1.1"] if not c.hidden)
    assert Context(public, b"a").seeds(3) == [1, 2, 3]
    with pytest.raises(ValueError, match="secret"):
        Context(case, None).seeds(1)


def test_cli_grade_and_assign(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(grader.SECRET_ENV, raising=False)
    book = tmp_path / "cli.csv"
    assert cli.main(["grade", str(MASTER), str(folder), "-o", str(book), "--jobs", "1"]) == 2
    assert "secret" in capsys.readouterr().err
    monkeypatch.setenv(grader.SECRET_ENV, "k")
    res = tmp_path / "res"
    assert cli.main(["grade", str(MASTER), str(folder), "-o", str(book), "--jobs", "1",
                     "--results", str(res), "--quiet"]) == 0
    assert "3 submission(s)" in capsys.readouterr().out
    assert sorted(p.name for p in res.iterdir()) == ["ann", "ben", "cat"]
    feedback = (res / "ann" / "feedback.md").read_text()
    assert "Score: **6 / 20**" in feedback
    assert json.loads((res / "cat" / "results.json").read_text())["score"] == 0
    out = tmp_path / "student.ipynb"
    assert cli.main(["assign", str(MASTER), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["metadata"]["dscourse"]["role"] == "student"
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert "dscourse" in capsys.readouterr().out


def test_bad_arguments_are_config_errors(folder, tmp_path):
    with pytest.raises(ConfigError, match="timeout"):
        grader.grade_all(MASTER, folder, tmp_path / "x.csv", secret="k", timeout=0)
    with pytest.raises(ConfigError, match="jobs"):
        grader.grade_all(MASTER, folder, tmp_path / "x.csv", secret="k", jobs=-1)
    with pytest.raises(ConfigError, match="submissions folder"):
        grader.grade_all(MASTER, tmp_path / "nope", tmp_path / "x.csv", secret="k")
    with pytest.raises(ConfigError, match="isolation"):
        sandbox.Child(timeout=1, isolation="docker")


def test_weaker_isolation_still_grades(folder, tmp_path):
    """Without namespaces the same submission gets the same score (isolation 'none')."""
    book = tmp_path / "none.csv"
    grader.grade_all(MASTER, folder, book, secret="k", jobs=1, isolation="none", progress=False)
    assert [r["total"] for r in _rows(book)] == ["6", "0", "0"]


@pytest.mark.parametrize("master", sorted((MASTER.parent).glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_master_scores_full_marks_and_its_stubs_zero(master, tmp_path):
    from dscourse.grading import cells as fmt

    subs = tmp_path / "subs"
    subs.mkdir()
    master_nb = json.loads(master.read_text())
    write(subs, "master.ipynb", master_nb)
    write(subs, "stubs.ipynb", fmt.assign(master_nb))
    # a generous budget: this checks scores, not speed, and the suite runs beside other tests
    grader.grade_all(master, subs, tmp_path / "g.csv", secret="every-master", jobs=2, progress=False,
                     timeout=180)
    rows = {r["student"]: r for r in _rows(tmp_path / "g.csv")}
    assert rows["master"]["status"] == "graded"
    assert rows["master"]["total"] == rows["master"]["max"], rows["master"]
    assert rows["stubs"]["total"] == "0"


# ---- issue 12: the worker, its alarm and the watchdog -----------------------------------------


def _sandbox_processes() -> list[int]:
    import os

    return sandbox.batch_processes(range(sandbox.UID_BASE, sandbox.UID_BASE
                                         + sandbox.UID_SLOTS * sandbox.UID_SLOT_SPAN), os.getpid())


@pytest.fixture
def solved(tmp_path):
    subs = tmp_path / "solved"
    subs.mkdir()
    write(subs, "ann.ipynb", submission({"E1.1": "SOL", "E1.2": "SOL", "E1.3": "SOL"}))
    write(subs, "ben.ipynb", submission({"E1.3": "SOL"}))
    return subs


def test_the_watchdog_kills_a_worker_and_still_writes_its_row(solved, tmp_path, monkeypatch):
    monkeypatch.setattr(grader, "submission_limit", lambda master, timeout: 0.3)   # far below a submission's time
    book = tmp_path / "w.csv"
    grader.grade_all(MASTER, solved, book, secret="k", jobs=2, progress=False)
    rows = {r["student"]: r for r in _rows(book)}
    assert rows["ann"]["status"] == "timeout" and "watchdog" in rows["ann"]["reason"]
    assert rows["ann"]["total"] == "0"
    assert set(rows) == {"ann", "ben"}
    if sandbox.detect() == "full":
        assert _sandbox_processes() == []


def test_the_alarm_stops_an_exercise_on_the_workers_own_clock(solved, tmp_path, monkeypatch):
    monkeypatch.setattr(grader, "exercise_limit", lambda timeout: 0.05)   # far below any exercise's time
    book = tmp_path / "a.csv"
    grader.grade_all(MASTER, solved, book, secret="k", jobs=1, progress=False)
    rows = {r["student"]: r for r in _rows(book)}
    assert rows["ann"]["status"] == "timeout"
    assert "grader's time" in rows["ann"]["reason"]
    # the exercise the alarm cut keeps what it earned before (the row is not lost); which of
    # E1.1 and E1.2 fits in the limit depends on the machine, so only "at least one" is asserted
    assert min(int(rows["ann"]["E1.1"]), int(rows["ann"]["E1.2"])) < 7


def test_a_dying_or_failing_worker_costs_only_its_own_row(solved, tmp_path, monkeypatch):
    real = grader.grade_submission

    def flaky(path, *args, **kwargs):
        if path.stem == "ann":
            os._exit(3)                              # the worker dies without a result
        if path.stem == "ben":
            raise RecursionError("a grader bug")
        return real(path, *args, **kwargs)

    import os

    write(solved, "cat.ipynb", submission({"E1.3": "SOL"}))
    monkeypatch.setattr(grader, "grade_submission", flaky)
    book = tmp_path / "d.csv"
    grader.grade_all(MASTER, solved, book, secret="k", jobs=1, progress=False)
    rows = {r["student"]: r for r in _rows(book)}
    assert rows["ann"]["status"] == "crashed" and "worker died" in rows["ann"]["reason"]
    assert rows["ben"]["status"] == "crashed" and rows["ben"]["reason"] == "grader error: RecursionError"
    assert rows["cat"]["status"] == "graded" and rows["cat"]["total"] == "6"
