"""The randomness and time rules, and the instructor-facing faults of issue 23 (item 6): a
protocol answer that imports random (or time, threads, sockets, ...) is refused with its line,
in ``check()`` and by the grader (source check and sandbox); syntax errors reach the
gradebook row; an invalid file's feedback has no empty exercise headings."""

from __future__ import annotations

import csv

import pytest
from gradekit import MASTER, SOL, solutions, submission, write
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.grading import grader, rules, selfcheck

ALLOWED = ["math", "collections", "dataclasses", "hashlib", "itertools", "os", "numpy", "heapq"]


@settings(max_examples=60, deadline=None)
@given(module=st.sampled_from(sorted(rules.FORBIDDEN_MODULES)), before=st.integers(0, 6),
       form=st.sampled_from(["import {m}", "import {m} as alias", "from {m} import x",
                             "    import {m}", "x = __import__('{m}')",
                             "import importlib; importlib.import_module('{m}')"]))
def test_a_forbidden_module_is_found_on_its_line(module, before, form):
    line = form.format(m=module)
    body = "class P(ds.sim.Node):\n    def on_start(self):\n        pass\n" if line.startswith(" ") else ""
    if line.startswith(" "):
        line = "    def go(self):\n    " + line
    src = "# ANSWER E1.1\n" + "# a comment\n" * before + body + line + "\n"
    found = rules.breaches(src)
    assert [b.name for b in found] == [module]
    assert found[0].line == src.split("\n").index(line.split("\n")[-1]) + 1
    assert f"line {found[0].line}" in found[0].message("E1.1")


@settings(max_examples=30, deadline=None)
@given(module=st.sampled_from(ALLOWED), alias=st.booleans())
def test_allowed_modules_pass(module, alias):
    src = f"import {module}" + (" as m" if alias else "") + "\nfrom collections import deque\n"
    assert rules.breaches(src) == []


def test_os_urandom_and_numpy_random_through_aliases():
    src = "import os as o\nimport numpy as np\nx = o.urandom(4)\ny = np.random.rand()\n" \
          "from os import urandom\nz = os.getcwd()\nself_rng = 1\n"
    assert [(b.line, b.name) for b in rules.breaches(src)] == [(3, "os.urandom"), (4, "numpy.random"),
                                                              (5, "os.urandom")]
    assert rules.breaches("def f(self):\n    return self.rng.random()\n") == []   # the node's stream
    assert rules.breaches("def f(:\n") == []                                       # syntax: reported apart
    assert rules.syntax_error("def f(:\n")[0] == 1
    assert rules.syntax_error("x = 1\n") is None


def test_protocol_answers_are_those_that_define_a_node():
    assert rules.is_protocol("class A(ds.sim.Node):\n    pass\n")
    assert rules.is_protocol("from dscourse.sim import Node\nclass A(Node):\n    pass\n")
    assert not rules.is_protocol("def nemesis_schedule():\n    return []\n")
    master = grader.load_master(MASTER)
    assert master.protocol == frozenset({"E1.1", "E1.2"})


# ---- the grader ------------------------------------------------------------------------------


EVADE = "try:\n    _r = __import__('ran' + 'dom')\nexcept ImportError:\n    pass\n"
EVADE_IMPORTLIB = ("import importlib\ntry:\n    importlib.import_module('ti' + 'me')\n"
                   "except ImportError:\n    pass\n")
LIBRARY = "import statistics\n_middle = statistics.median([3, 1, 2])\n"   # statistics imports random


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    subs = tmp_path_factory.mktemp("rules")
    write(subs, "ann.ipynb", submission({"E1.1": (SOL, "import random\n"), "E1.3": SOL}))
    write(subs, "ben.ipynb", submission({"E1.1": (SOL, EVADE), "E1.3": SOL}))
    write(subs, "cat.ipynb", submission({"E1.2": "# ANSWER E1.2\nclass Broken(:\n    pass\n",
                                         "E1.3": SOL}))
    write(subs, "dan.ipynb", b"not a notebook")
    write(subs, "eve.ipynb", submission({"E1.1": (SOL, LIBRARY)}))
    write(subs, "fay.ipynb", submission({"E1.1": (SOL, EVADE_IMPORTLIB)}))
    out = tmp_path_factory.mktemp("out")
    grader.grade_all(MASTER, subs, out / "g.csv", results=out / "res", secret="k", jobs=2,
                     progress=False, timeout=20)
    with (out / "g.csv").open() as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return rows, out / "res"


def test_importing_random_in_a_protocol_node_is_invalid_with_its_line(batch):
    rows, res = batch
    line = len((solutions()["E1.1"] + "\n").split("\n"))       # the appended import's line
    row = rows["ann"]
    assert row["status"] == "invalid"
    assert row["reason"] == f"E1.1: line {line} uses random, which a protocol answer may not use"
    assert row["flags"] == "forbidden:E1.1:random"
    assert row["E1.1"] == "0" and row["E1.3"] == "6"          # the other exercises are graded
    feedback = (res / "ann" / "feedback.md").read_text()
    assert f"line {line} of the answer cell of E1.1 uses random" in feedback
    assert "self.rng" in feedback


def test_the_sandbox_refuses_an_import_hidden_from_the_source_check(batch):
    rows, _ = batch
    row = rows["ben"]
    assert rules.breaches(solutions()["E1.1"] + "\n" + EVADE) == []   # the source check misses it
    assert row["status"] == "invalid" and "refused in the sandbox" in row["reason"]
    assert "forbidden:E1.1:random" in row["flags"]
    assert row["E1.1"] == "0" and row["E1.3"] == "6"


def test_importlib_is_refused_too_but_a_library_may_import_what_it_needs(batch):
    rows, _ = batch
    assert rows["fay"]["status"] == "invalid" and "forbidden:E1.1:time" in rows["fay"]["flags"]
    full = str(grader.load_master(MASTER).max_points("E1.1"))
    assert rows["eve"]["status"] == "graded" and rows["eve"]["E1.1"] == full, rows["eve"]
    assert rows["eve"]["flags"] == ""


def test_a_syntax_error_reaches_the_gradebook_row(batch):
    rows, _ = batch
    row = rows["cat"]
    assert row["status"] == "graded"
    assert row["flags"] == "syntax-error:E1.2"
    assert row["reason"].startswith("E1.2: syntax error on line 2 of the answer cell")
    assert row["E1.3"] == "6"


def test_an_invalid_file_has_no_empty_exercise_headings(batch):
    rows, res = batch
    assert rows["dan"]["status"] == "invalid"
    feedback = (res / "dan" / "feedback.md").read_text()
    assert "could not be graded" in feedback
    assert "## E1." not in feedback


# ---- check() in the student's kernel -----------------------------------------------------------


class Fine(ds.sim.Node):
    def reliable_send(self, dst, data):
        self.deliver(self.id, data)


@ds.grading.test("E9.21", points=1)
def registered_for_rules(t, ReliableChannel):
    """Sends one message."""
    t.expect(ds.grading.ch01.channel_trial(ReliableChannel, 1))


def test_check_refuses_a_node_that_imports_random(monkeypatch, capsys):
    src = "# ANSWER E9.21\nimport random\nclass ReliableChannel(ds.sim.Node):\n    pass\n"
    monkeypatch.setattr(selfcheck, "_namespace", lambda: {"In": ["", src], "ReliableChannel": Fine})
    ds.grading.check("E9.21")
    out = capsys.readouterr().out
    assert "E9.21 is invalid: line 2 of the answer cell of E9.21 uses random" in out
    assert "0 points" in out and "NotImplementedError" not in out


def test_check_says_the_cell_failed_on_a_syntax_error(monkeypatch, capsys):
    src = "# ANSWER E9.21\nclass ReliableChannel(ds.sim.Node:\n    pass\n"
    monkeypatch.setattr(selfcheck, "_namespace", lambda: {"In": ["", src]})
    ds.grading.check("E9.21")
    out = capsys.readouterr().out
    assert "the answer cell failed to run: SyntaxError on line 2" in out
    assert "NotImplementedError" not in out and "not implemented" not in out
