"""The Gradescope bundle end to end, under an emulated ``/autograder`` root: the master's
solutions (full marks), the stubs (zero) and a cheat from the corpus (its honest score), each
scored exactly as ``dscourse grade`` scores the same file, with results that follow
Gradescope's documented ``results.json`` format."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from cheat_corpus import CHEATS
from gradekit import MASTER, SOL, STUDENT, submission, write

from dscourse import cli
from dscourse.errors import ConfigError
from dscourse.grading import autograder, grader

SECRET = "bundle-secret"

# Gradescope's autograder specification, "Output format" (results.json), as a schema: the
# fields it documents, their types, and the four visibility values.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
RESULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"}, "number": {"type": "string"},
                "output": {"type": "string"}, "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY, "extra_data": {"type": "object"},
            },
            "required": ["score", "max_score", "name", "output", "visibility"],
            "additionalProperties": False,
        }},
        "leaderboard": {"type": "array"},
    },
    "required": ["score", "tests"],
    "additionalProperties": False,
}

CHEAT = "monkeypatch_grader"
TOTAL = grader.load_master(MASTER).total_max
SUBMISSIONS = {
    "master": ({"E1.1": SOL, "E1.2": SOL, "E1.3": SOL}, TOTAL),
    "stubs": ({}, 0),
    CHEAT: (CHEATS[CHEAT][0], sum(CHEATS[CHEAT][1].values())),
}


def _emulated_root(bundle: Path, folder: Path, nb: dict, student: str) -> Path:
    """An ``/autograder`` as Gradescope lays it out: the bundle in source/, the notebook in
    submission/, the metadata file, an empty results/."""
    root = folder / student
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    write(root / "submission", "ch01_done.ipynb", nb)
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 1, "users": [{"email": student, "id": 7, "name": "A Student"}]}))
    return root


def _run_autograder(root: Path) -> dict:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           autograder.ROOT_ENV: str(root),
           grader.SECRET_ENV: "not-the-bundle-secret"}          # must not be used
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, cwd=root,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert cli.main(["autograder", str(MASTER), "-o", str(out), "--secret", SECRET,
                     "--timeout", "20"]) == 0
    return out


@pytest.fixture(scope="module")
def graded(bundle, tmp_path_factory):
    """Each submission through run_autograder, and all of them through ``dscourse grade``."""
    subs = tmp_path_factory.mktemp("subs")
    roots = tmp_path_factory.mktemp("roots")
    out: dict[str, dict] = {}
    for name, (answers, _) in SUBMISSIONS.items():
        nb = submission(answers)
        write(subs, f"{name}.ipynb", nb)
        out[name] = _run_autograder(_emulated_root(bundle, roots, nb, name))
    book = tmp_path_factory.mktemp("book") / "g.csv"
    res = book.parent / "results"
    grader.grade_all(MASTER, subs, book, results=res, secret=SECRET, timeout=20, jobs=2,
                     progress=False)
    with book.open() as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    local = {name: json.loads((res / name / "results.json").read_text()) for name in SUBMISSIONS}
    return out, rows, local


def test_bundle_layout(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "master.ipynb", "secret.txt",
                "dscourse-autograder.json", "dscourse-src/pyproject.toml",
                "dscourse-src/dscourse/grading/grader.py"} <= names
        assert not any("__pycache__" in n for n in names)
        mode = zf.getinfo("run_autograder").external_attr >> 16
        assert mode & stat.S_IXUSR
        setup = zf.read("setup.sh").decode()
        assert "pip install" in setup and "/autograder/source/dscourse-src" in setup
        config = json.loads(zf.read("dscourse-autograder.json"))
        assert config["exercise_set"] == "ch01" and config["max_score"] == TOTAL
        assert zf.read("secret.txt") == SECRET.encode()
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(bundle) as zf:
            text = zf.read(script).decode()
        assert subprocess.run(["bash", "-n"], input=text, text=True, check=False).returncode == 0


def test_same_inputs_same_bundle(tmp_path):
    """Built twice, back to back (other people edit the tree the source is bundled from)."""
    one, two = tmp_path / "one.zip", tmp_path / "two.zip"
    autograder.build(MASTER, one, secret=SECRET, timeout=20)
    autograder.build(MASTER, two, secret=SECRET, timeout=20)
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as zf:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in zf.infolist())


def test_results_follow_gradescopes_schema(graded):
    out, _, _ = graded
    for name, data in out.items():
        jsonschema.validate(data, RESULTS_SCHEMA)
        for test in data["tests"]:
            if test["visibility"] != "visible":
                assert test["visibility"] == "after_published" and test["output"] == "", name


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_scores_equal_dscourse_grade(graded, name):
    out, rows, local = graded
    expected = SUBMISSIONS[name][1]
    assert out[name]["score"] == expected
    assert int(rows[name]["total"]) == expected
    assert [(t["name"], t["score"]) for t in out[name]["tests"]] == \
        [(t["name"], t["score"]) for t in local[name]["tests"]]
    assert out[name]["extra_data"]["status"] == rows[name]["status"]


def test_the_secret_comes_from_the_bundle(graded):
    """run_autograder ran with another secret in its environment, and ignored it."""
    out, rows, _ = graded
    for data in out.values():
        assert data["extra_data"]["seed_digest"] == grader.seed_digest(SECRET.encode())
        assert data["extra_data"]["seed_digest"] == rows["master"]["seed_digest"]
        assert SECRET not in json.dumps(data)


def test_no_notebook_or_two_notebooks_are_invalid(bundle, tmp_path):
    root = _emulated_root(bundle, tmp_path, submission({}), "ann")
    (root / "submission" / "ch01_done.ipynb").unlink()
    (root / "submission" / "notes.txt").write_text("hello")
    data = autograder.run(root)
    assert data["score"] == 0 and data["extra_data"]["status"] == "invalid"
    assert "no .ipynb notebook" in data["output"]
    write(root / "submission", "a.ipynb", submission({}))
    write(root / "submission", "b.ipynb", submission({}))
    data = autograder.run(root)
    assert "several notebooks" in data["output"]
    os.symlink(root / "source" / "master.ipynb", root / "submission" / "c.ipynb")
    for p in ("a.ipynb", "b.ipynb"):
        (root / "submission" / p).unlink()
    data = autograder.run(root)
    assert data["extra_data"]["status"] == "invalid" and "symbolic link" in data["output"]


def test_student_ids_from_the_metadata(tmp_path):
    assert autograder.student_id(tmp_path) == "student"
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "a b", "id": 12}]}))
    assert autograder.student_id(tmp_path) == "user12"
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "ann@x.edu"}]}))
    assert autograder.student_id(tmp_path) == "ann@x.edu"


def test_a_master_without_hidden_tests_is_refused(tmp_path, capsys):
    with pytest.raises(ConfigError, match="no hidden tests"):
        autograder.build(STUDENT, tmp_path / "a.zip", secret="k")
    assert cli.main(["grade", str(STUDENT), str(tmp_path), "-o", str(tmp_path / "g.csv"),
                     "--secret", "k"]) == 2
    assert "--public-only" in capsys.readouterr().err
    assert autograder.build(STUDENT, tmp_path / "a.zip", secret="k", public_only=True).exists()
    with pytest.raises(ConfigError, match="pip"):
        autograder.build(MASTER, tmp_path / "b.zip", secret="k", pip="x; rm -rf /")
