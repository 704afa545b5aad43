"""``dscourse grade``: grade a folder of submissions against a master notebook.

Per submission: only its answer cells are taken; for each exercise fresh sandboxed children
(:mod:`.sandbox`; one per node instance, see :class:`.remote.Sandboxes`) load them, and the
master's tests run **in a trusted grading worker**, driving the student's definitions through
proxies (:mod:`.remote`) and judging raw observations with exact type checks. Hidden tests
draw their seeds from the instructor's secret, the student id and the submission's answers.
Each submission is graded in a worker process of its own, with a memory limit, a per-exercise
alarm on the worker's own clock and a per-submission watchdog in the supervising process, so
whatever happens, each file gets exactly one gradebook row (``graded``, ``timeout``,
``crashed`` or ``invalid``); with ``--results`` also a Gradescope ``results.json`` and a
Markdown feedback file holding public messages only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checkers.trial import sharing_runs
from ..errors import ConfigError, allowed
from . import cells as fmt
from . import rules, shrink
from .registry import Outcome, StudentError, TestCase, collecting, run_test
from .remote import RemoteClass, RemoteFunction, Sandboxes
from .report import Progress, class_summary_html, feedback_html
from .sandbox import (
    CGROUP_PREFIX,
    MAX_BYTES,
    PARENT_FACTOR,
    ChildError,
    cgroup_base,
    kill_cgroup,
    self_test,
)

SECRET_ENV = "DSCOURSE_GRADING_SECRET"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
STATUS_ORDER = ("graded", "crashed", "timeout", "invalid")
WORKER_MEMORY = 3 << 30      # address space a grading worker may add to what it inherits
EXERCISE_SLACK = 15.0        # seconds beyond PARENT_FACTOR x timeout before the alarm rings
MAX_NOTES = 12
MAX_SVG = 2 << 20            # bytes of one counterexample diagram
FORMULA = ("=", "+", "-", "@", "\t", "\r")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,79}$")


class Overtime(BaseException):
    """The grading worker's own clock ran out for one exercise (a ``BaseException``, so that
    harness code catching ``Exception`` cannot swallow it)."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`Overtime` in this (main) thread after ``seconds`` of wall-clock time."""
    def ring(signum: int, frame: Any) -> None:
        raise Overtime()

    if threading.current_thread() is not threading.main_thread():
        yield                                    # signals reach only the main thread
        return
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def exercise_limit(timeout: float) -> float:
    """Wall-clock seconds one exercise may take in the grading worker, all included."""
    return PARENT_FACTOR * timeout + EXERCISE_SLACK


def submission_limit(master: Master, timeout: float) -> float:
    """Wall-clock seconds the watchdog allows one submission before killing its worker."""
    return len(master.exercises) * exercise_limit(timeout) + 30.0


_LIBRARY: set[str] = set()


def library_modules() -> set[str]:
    """Every module name of the real ``dscourse`` package (blocked-import flags must be one)."""
    if not _LIBRARY:
        root = Path(__file__).resolve().parents[1]
        for path in root.rglob("*.py"):
            parts = path.relative_to(root.parent).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if all(_IDENT.fullmatch(p) for p in parts):
                _LIBRARY.add(".".join(parts))
    return _LIBRARY


def printable(text: str, limit: int = 150) -> str:
    """``text`` with every unprintable character escaped (a file name is data)."""
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                  for ch in text)
    return out[:limit]


def cell(value: str) -> str:
    """A gradebook cell a spreadsheet shows as text: printable, formulas defused with ``'``."""
    value = printable(value, 300)
    return "'" + value if value.startswith(FORMULA) else value


def row_key(name: str) -> str:
    """The gradebook key of submission file ``name``: the student id (``alice`` for
    ``alice.ipynb``), else the full file name, marked `` (file)`` when it could pass for a
    student id, so no file can take over a student's row."""
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix == "ipynb" and STUDENT_ID.fullmatch(stem):
        return stem
    key = printable(name)
    return key + " (file)" if STUDENT_ID.fullmatch(key) else key


def _add(items: list[str], item: str, cap: int = MAX_NOTES) -> None:
    if len(items) < cap and item not in items:
        items.append(item)


# ---- the master ------------------------------------------------------------------------------------


@dataclass
class Master:
    """The exercise set: its id and, per exercise in notebook order, its tests."""

    exercise_set: str
    exercises: dict[str, list[TestCase]]
    protocol: frozenset[str] = frozenset()   # exercises whose answer defines a ds.sim.Node (rules.py)

    def max_points(self, exercise: str) -> int:
        return sum(c.points for c in self.exercises[exercise])

    @property
    def total_max(self) -> int:
        return sum(self.max_points(e) for e in self.exercises)


def load_master(path: str | Path) -> Master:
    """Read a master notebook and collect its tests by running its test cells (trusted code)."""
    nb = fmt.read_notebook(path)
    set_id = fmt.exercise_set(nb)
    if set_id is None:
        raise ConfigError(f"{Path(path).name} has no metadata.dscourse.exercise_set")
    import dscourse as ds

    exercises: dict[str, list[TestCase]] = {}
    protocol: set[str] = set()
    for ex, src in fmt.answer_cells(nb):
        exercises.setdefault(ex, [])
        if rules.is_protocol(src):
            protocol.add(ex)
    for tc in fmt.test_cells(nb):
        with collecting() as cases:
            exec(compile(tc.source, f"<master test cell {tc.index}>", "exec"), {"ds": ds})  # noqa: S102
        for case in cases:
            if case.exercise not in exercises:
                raise ConfigError(f"test {case.name} is for {case.exercise}, which has no answer cell")
            if any(c.name == case.name for c in exercises[case.exercise]):
                raise ConfigError(f"two tests of {case.exercise} are named {case.name}")
            exercises[case.exercise].append(case)
    for ex, cases in exercises.items():
        if not cases:
            raise ConfigError(f"exercise {ex} has an answer cell but no tests")
    return Master(set_id, exercises, frozenset(protocol))


def check_master(master: Master, public_only: bool = False) -> None:
    """Refuse a master without hidden tests (most likely the *student* notebook given as the
    master by mistake) unless the instructor says so with ``public_only``."""
    if public_only or any(c.hidden for cases in master.exercises.values() for c in cases):
        return
    raise ConfigError(f"this notebook ({master.exercise_set}) has no hidden tests: is it the "
                      "student notebook? Give the master from exercises/source/, or pass "
                      "--public-only to grade with the public tests alone")


# ---- one submission ----------------------------------------------------------------------------------


@dataclass
class Result:
    """The outcome of grading one submission."""

    student: str
    status: str
    reason: str = ""
    scores: dict[str, int] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    #: shrunk counterexamples of failing public tests, as plain data (see :func:`_counterexample`)
    counterexamples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.scores.values())

    def worsen(self, status: str, reason: str) -> None:
        if STATUS_ORDER.index(status) > STATUS_ORDER.index(self.status):
            self.status, self.reason = status, reason


def seed_digest(secret: bytes) -> str:
    """What the gradebook records about the hidden seeds: a digest, never the secret."""
    return hashlib.sha256(b"dscourse hidden seeds:" + secret).hexdigest()[:16]


def read_submission(path: Path, master: Master) -> list[tuple[str, str]]:
    """The submission's answer cells, or a ``ConfigError`` saying why it is invalid."""
    nb = fmt.read_notebook(path)
    set_id = fmt.exercise_set(nb)
    if set_id is not None and set_id != master.exercise_set:
        raise ConfigError(f"this notebook is for exercise set {set_id!r}, not {master.exercise_set!r}")
    cells = [(ex, src) for ex, src in fmt.answer_cells(nb) if ex in master.exercises]
    if not cells:
        raise ConfigError("the notebook has no answer cells of this exercise set "
                          "(cells starting with '# ANSWER E…')")
    return cells


def submission_salt(student: str, cells: list[tuple[str, str]]) -> str:
    """What hidden seeds are derived from besides the secret: the student id and a digest of
    the answers, so a leaked hidden input is worth nothing to anyone else or to a changed
    resubmission (the same submission still gets the same seeds)."""
    digest = hashlib.sha256(json.dumps(cells).encode()).hexdigest()[:16]
    return f"{student}/{digest}"


def grade_submission(path: Path, master: Master, secret: bytes, *, timeout: float = 30.0,
                     isolation: str = "auto", slot: int = 0,
                     shrink_cpu: float = shrink.SHRINK_CPU) -> Result:
    """Grade one submission file; never raises for anything the submission does."""
    student = row_key(path.name)
    result = Result(student, "graded", scores={ex: 0 for ex in master.exercises})
    if path.suffix == ".ipynb" and not STUDENT_ID.fullmatch(path.stem):
        result.worsen("invalid", "the file name is not a usable student id")
        return result
    if path.is_symlink():
        result.worsen("invalid", "a symbolic link, not a submitted file")
        return result
    try:
        cells = read_submission(path, master)
    except (ConfigError, OSError) as exc:
        result.worsen("invalid", str(exc))
        return result
    salt = submission_salt(student, cells)
    quota = [MAX_BYTES]
    shrinking = shrink.Budget(shrink_cpu)
    _note_syntax(cells, result)
    for exercise, cases in master.exercises.items():
        ordered = sorted(cases, key=lambda c: c.hidden)      # public first: see _grade_exercise
        forbid = None
        if exercise in master.protocol:
            if _breaks_rules(exercise, ordered, cells, result):
                continue
            forbid = {"modules": sorted(rules.FORBIDDEN_MODULES),
                      "cells": [i for i, (ex, _) in enumerate(cells) if ex == exercise]}
        _grade_exercise(exercise, ordered, cells, secret, result, timeout, isolation, slot,
                        salt, quota, forbid)
        result.scores[exercise] = sum(o.score for o in result.outcomes if o.case.exercise == exercise)
        _shrink_failures(exercise, cells, result, timeout, isolation, slot, quota, forbid, shrinking)
    return result


def _shrink_failures(exercise: str, cells: list[tuple[str, str]], result: Result, timeout: float,
                     isolation: str, slot: int, quota: list[int], forbid: dict | None,
                     budget: shrink.Budget) -> None:
    """Shrink each failing public protocol test of ``exercise`` (:mod:`.shrink`) in fresh
    sandboxes that have seen no hidden input, within the submission's CPU budget. Scores are
    already final: whatever happens here (a sandbox dies, the time runs out) only means a
    less useful counterexample."""
    failing = [o for o in result.outcomes if o.case.exercise == exercise and not o.case.hidden
               and o.status == "failed" and o.seed is not None and o.trace is not None]
    if not failing or budget.left <= 0 or result.status == "invalid":
        return
    names = sorted({n for o in failing for n in o.case.names})
    try:
        with alarm(exercise_limit(timeout)), Sandboxes(cells, names, timeout=timeout, isolation=isolation,
                                                      slot=slot, quota=quota, forbid=forbid) as boxes:
            bindings = _bindings(boxes, boxes.start(), names)
            for o in failing:
                cx = shrink.shrink(o.case, bindings, o, budget, reraise=(ChildError,))
                if cx is not None:
                    result.counterexamples.append(_counterexample(cx))
    except (ChildError, StudentError, Overtime):
        return


def _counterexample(cx: shrink.Counterexample) -> dict[str, Any]:
    """A counterexample as plain data, with its space-time diagram rendered here (the trace
    stays in the grading worker): SVG text, or "" if it cannot be drawn."""
    return {"exercise": cx.exercise, "test": cx.test, "seed": cx.seed, "original": list(cx.original),
            "keep": list(cx.keep), "message": cx.message, "at": cx.at, "lines": cx.lines(),
            "replay": cx.replay_line, "svg": _svg(cx)}


def _svg(cx: shrink.Counterexample) -> str:
    if cx.trace is None or not len(cx.trace):
        return ""
    try:
        from .. import viz

        end = (cx.at if cx.at is not None else 0.0) + 10.0
        window = (max(0.0, end - 310.0), end) if cx.at is not None else None
        fig = viz.spacetime(cx.trace, window=window,
                            title=f"{cx.exercise} {cx.test}, seed {cx.seed}: the shrunk failing run")
        buf = io.StringIO()
        fig.savefig(buf, format="svg")   # viz figures are not pyplot's: nothing to close
    except Exception:  # noqa: BLE001 - a diagram is a courtesy; the text says what failed
        return ""
    text = buf.getvalue()
    return text if len(text) < MAX_SVG else ""


def _note_syntax(cells: list[tuple[str, str]], result: Result) -> None:
    """Syntax errors, found by the parent itself (``ast.parse``, nothing runs): a flag and the
    row's reason, so the instructor sees them in the gradebook, not only in the feedback."""
    for exercise, src in cells:
        found = rules.syntax_error(src)
        if found is None:
            continue
        line, msg = found
        _add(result.flags, f"syntax-error:{exercise}", 4)
        if not result.reason:
            result.reason = f"{exercise}: syntax error on line {line} of the answer cell ({printable(msg, 80)})"


def _breaks_rules(exercise: str, cases: list[TestCase], cells: list[tuple[str, str]],
                  result: Result) -> bool:
    """The randomness and time rules (:mod:`.rules`), checked on the source before anything
    runs: a protocol answer that uses ``random``, ``time``, threads, ... is ``invalid`` for
    this exercise (every test fails with the line that breaks the rule); True if so."""
    found = [b for ex, src in cells if ex == exercise for b in rules.breaches(src)]
    if not found:
        return False
    first = found[0]
    message = "invalid: " + first.message(exercise)
    result.worsen("invalid", f"{exercise}: line {first.line} uses {first.name}, which a protocol "
                             "answer may not use")
    for b in found:
        _add(result.flags, f"forbidden:{exercise}:{b.name}", 4)
    _add(result.notes, message)
    result.outcomes.extend(Outcome(c, "failed", message) for c in cases)
    result.scores[exercise] = 0
    return True


def _refused_at_run_time(exercise: str, boxes: Sandboxes, result: Result) -> None:
    """What the sandbox refused (an import hidden from the source check): the exercise is
    ``invalid`` and scores 0, as if the check had found it."""
    names = sorted(boxes.refused)
    if not names:
        return
    message = (f"invalid: the answer of {exercise} tried to use {', '.join(names)} while it ran, "
               "which a protocol answer may not use (its runs must replay from their seed)")
    result.worsen("invalid", f"{exercise}: used {', '.join(names)} at run time (refused in the sandbox)")
    for name in names:
        _add(result.flags, f"forbidden:{exercise}:{name}", 4)
    _add(result.notes, message)
    result.outcomes[:] = [o if o.case.exercise != exercise else Outcome(o.case, "failed", message)
                          for o in result.outcomes]


def _grade_exercise(exercise: str, cases: list[TestCase], cells: list[tuple[str, str]],
                    secret: bytes, result: Result, timeout: float, isolation: str, slot: int,
                    salt: str = "", quota: list[int] | None = None,
                    forbid: dict | None = None) -> None:
    """Run ``cases`` in fresh sandboxes: a crash costs the test it happened in (then new
    sandboxes, at most twice); a timeout, or a crash while loading, costs every remaining test.

    Public tests run before hidden ones, so no process that has seen a hidden input ever
    reports free text (an error message) into public feedback. The whole exercise runs under
    :func:`alarm`: the grader's own work on the submission's behalf is bounded too."""
    names = sorted({n for c in cases for n in c.names})
    pending = list(cases)
    restarts = 0
    opened: list[Sandboxes] = []
    try:
        with alarm(exercise_limit(timeout)):
            while pending:
                boxes = Sandboxes(cells, names, timeout=timeout, isolation=isolation, slot=slot,
                                  quota=quota, forbid=forbid)
                opened.append(boxes)
                loaded = False
                try:
                    answer = boxes.start()
                    _note_load(answer, result, cells)
                    bindings = _bindings(boxes, answer, names)
                    loaded = True
                    with sharing_runs():      # these sandboxes' code: one run judged per property
                        while pending:
                            result.outcomes.append(run_test(pending[0], bindings, secret,
                                                            reraise=(ChildError,), salt=salt))
                            pending.pop(0)
                except ChildError as exc:
                    result.worsen(exc.status, f"{exercise}: {exc.reason}")
                    message = _child_message(exc)
                    if exc.status == "timeout" or not loaded or restarts >= 2:
                        result.outcomes.extend(Outcome(c, "failed", message) for c in pending)
                        pending = []
                    else:
                        result.outcomes.append(Outcome(pending.pop(0), "failed", message))
                        restarts += 1
                finally:
                    _flag_blocked(boxes, result)
                    boxes.close()
    except Overtime:
        reason = (f"grading this exercise took over {exercise_limit(timeout):g} s of the "
                  "grader's time (the submission made the simulation huge)")
        result.worsen("timeout", f"{exercise}: {reason}")
        result.outcomes.extend(Outcome(c, "failed", f"stopped: {reason}") for c in pending)
    finally:
        for boxes in opened:
            boxes.close()
    if forbid is not None:
        for boxes in opened:
            _refused_at_run_time(exercise, boxes, result)


def _child_message(exc: ChildError) -> str:
    if exc.status == "timeout":
        return f"stopped: {exc.reason} (an infinite loop, or far too slow)"
    return f"stopped: {exc.reason}"


def _note_load(loaded: dict, result: Result, sent: list[tuple[str, str]]) -> None:
    """Notes for answer cells that raised while loading: at most one per cell sent, named by
    the parent's own list (never by the child), deduplicated and capped."""
    cells = loaded.get("cells")
    if type(cells) is not list:
        raise ChildError("crashed", "the sandbox answered the load request with malformed data")
    for (exercise, _), cell in zip(sent, cells[:len(sent)], strict=False):   # extra entries ignored
        if type(cell) is not dict or type(cell.get("error")) is not dict:
            continue
        err = cell["error"]
        if err.get("not_implemented") is True:
            continue
        kind = err.get("type") if type(err.get("type")) is str and _IDENT.fullmatch(err["type"]) else "Error"
        msg = err.get("msg") if type(err.get("msg")) is str else ""
        _add(result.notes, f"the answer cell of {exercise} raised {kind}: {printable(msg, 200)}")


def _bindings(boxes: Sandboxes, loaded: dict, names: list[str]) -> dict[str, Any]:
    kinds = loaded.get("names")
    if type(kinds) is not dict:
        raise ChildError("crashed", "the sandbox answered the load request with malformed data")
    out: dict[str, Any] = {}
    for name in names:
        kind = kinds.get(name)
        if kind == "node":
            out[name] = RemoteClass(boxes, name)
        elif kind in ("function", "other") and boxes.main is not None:  # "other": calling it
            out[name] = RemoteFunction(boxes.main, name)                 # reports the TypeError
    return out


def _flag_blocked(boxes: Sandboxes, result: Result) -> None:
    """Flag attempts to import the library: only names of real ``dscourse`` modules count (a
    child could put anything in its report), at most a few, in a fixed order."""
    for name in sorted(boxes.blocked & library_modules()):
        flag = f"blocked-import:{name}"
        if flag not in result.flags:
            _add(result.flags, flag, 4)
            _add(result.notes, f"importing {name} is not allowed while grading (blocked and "
                               "reported to the instructor)")


# ---- outputs ------------------------------------------------------------------------------------------


def columns(master: Master) -> list[str]:
    return ["student", "status", *master.exercises, "total", "max", "seed_digest", "flags", "reason"]


def row(result: Result, master: Master, digest: str) -> dict[str, str]:
    out = {"student": result.student, "status": result.status}
    for ex in master.exercises:
        out[ex] = str(result.scores.get(ex, 0))
    out.update(total=str(result.total), max=str(master.total_max), seed_digest=digest,
               flags=";".join(sorted(result.flags)), reason=result.reason[:300])
    return {k: cell(v) for k, v in out.items()}


def write_gradebook(path: Path, rows: list[dict[str, str]], master: Master) -> None:
    """Merge ``rows`` into the gradebook at ``path`` (replacing those students' rows), sorted."""
    header = columns(master)
    merged: dict[str, dict[str, str]] = {}
    if path.exists():
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != header:
                raise ConfigError(f"{path} has other columns ({reader.fieldnames}); "
                                  "write this exercise set's grades to another file")
            for old in reader:
                merged[old["student"]] = old
    for new in rows:
        merged[new["student"]] = new
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for student in sorted(merged):
        writer.writerow(merged[student])
    path.write_text(buf.getvalue(), encoding="utf-8")


def results_json(result: Result, master: Master) -> dict[str, Any]:
    """Gradescope's ``results.json`` (its autograder specification): the total, the student's
    feedback as the top-level output, one entry per test. Hidden tests carry their title and
    score only, visible once the instructor publishes grades (``after_published``)."""
    tests = []
    for number, o in enumerate(result.outcomes, 1):
        tests.append({
            "name": f"{o.case.exercise} {o.case.title}",
            "number": f"{o.case.exercise}.{number}",
            "score": o.score, "max_score": o.case.points,
            "status": "passed" if o.status == "passed" else "failed",
            "output": "" if o.case.hidden else _public_message(o, result),
            "visibility": "after_published" if o.case.hidden else "visible",
        })
    return {"score": result.total, "output": feedback_markdown(result, master), "output_format": "md",
            "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"status": result.status, "max": master.total_max,
                           "flags": sorted(result.flags)}}


def _public_message(o: Outcome, result: Result | None = None) -> str:
    """A public test's message: the property that failed, the seed and, for a protocol run,
    its shrunk counterexample and the line that replays it."""
    if o.status == "passed":
        return "passed"
    seed = f" (seed {o.seed})" if o.seed is not None else ""
    cx = _counterexample_of(result, o) if result is not None else None
    more = "".join("\n" + line for line in cx["lines"]) if cx else ""
    return f"{o.message}{seed}{more}"


def _counterexample_of(result: Result, o: Outcome) -> dict[str, Any] | None:
    return next((cx for cx in result.counterexamples
                 if cx["exercise"] == o.case.exercise and cx["test"] == o.case.name), None)


def diagram_name(cx: dict[str, Any]) -> str:
    """The file name of a counterexample's diagram beside ``feedback.md``."""
    return f"{cx['exercise']}-{cx['test']}.svg"


def feedback_markdown(result: Result, master: Master) -> str:
    """The student's feedback: public tests' messages; hidden tests only as counts."""
    lines = [f"# Feedback for {result.student}: {master.exercise_set}", "",
             f"Score: **{result.total} / {master.total_max}** (status: {result.status})", ""]
    if result.status == "invalid":
        lines += [f"Your notebook could not be graded: {result.reason}", ""]
    for note in result.notes:
        lines.append(f"- Note: {note}")
    if result.notes:
        lines.append("")
    for ex in master.exercises:
        mine = [o for o in result.outcomes if o.case.exercise == ex]
        if not mine:                  # not graded at all (an invalid file): no empty heading
            continue
        lines += [f"## {ex}: {result.scores.get(ex, 0)} / {master.max_points(ex)}", ""]
        for o in mine:
            if not o.case.hidden:
                mark = "passed" if o.status == "passed" else "failed"
                lines.append(f"- {mark}: {o.case.title} ({o.score}/{o.case.points})")
                if o.status != "passed":
                    seed = f" (seed {o.seed})" if o.seed is not None else ""
                    lines.append(f"  - {o.message}{seed}")
                    cx = _counterexample_of(result, o)
                    if cx is not None:
                        head, *schedule, replay = cx["lines"]
                        lines.append(f"  - {head}")
                        lines += ["", "    ```", *(f"    {x.strip()}" for x in schedule), "    ```", ""]
                        lines.append(f"  - {replay}")
                        if cx["svg"]:
                            lines.append(f"  - space-time diagram of the shrunk run: "
                                         f"![{diagram_name(cx)}]({diagram_name(cx)})")
        hidden = [o for o in mine if o.case.hidden]
        if hidden:
            ok = sum(o.status == "passed" for o in hidden)
            pts = sum(o.score for o in hidden)
            lines.append(f"- hidden tests: {ok} of {len(hidden)} passed "
                         f"({pts}/{sum(o.case.points for o in hidden)} points)")
        lines.append("")
    return "\n".join(lines)


def write_results(result: Result, master: Master, results_dir: Path) -> None:
    if not STUDENT_ID.fullmatch(result.student):
        return
    folder = results_dir / result.student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(result, master), indent=1,
                                                    sort_keys=True) + "\n", encoding="utf-8")
    (folder / "feedback.md").write_text(feedback_markdown(result, master), encoding="utf-8")
    (folder / "feedback.html").write_text(feedback_html(result, master), encoding="utf-8")
    for cx in result.counterexamples:
        if cx["svg"]:
            (folder / diagram_name(cx)).write_text(cx["svg"], encoding="utf-8")


# ---- the batch ----------------------------------------------------------------------------------------


def summary_path(gradebook: str | Path) -> Path:
    """The class summary page beside the gradebook: ``grades.csv`` -> ``grades.summary.html``."""
    return Path(gradebook).with_suffix(".summary.html")


def resolve_secret(secret: str | None) -> bytes:
    """``--secret`` or the ``DSCOURSE_GRADING_SECRET`` environment variable (required)."""
    value = secret if secret is not None else os.environ.get(SECRET_ENV)
    if not value:
        raise allowed("secret", value, f"a non-empty --secret or ${SECRET_ENV} (hidden tests "
                      "derive their seeds from it)")
    return value.encode()


def _pack(r: Result) -> dict:
    outcomes = [(o.case.exercise, o.case.name, o.status, o.message, o.seed) for o in r.outcomes]
    return {"student": r.student, "status": r.status, "reason": r.reason, "scores": r.scores,
            "notes": r.notes, "flags": r.flags, "outcomes": outcomes,
            "counterexamples": r.counterexamples}


def _restore(data: dict, master: Master) -> Result:
    cases = {(c.exercise, c.name): c for cs in master.exercises.values() for c in cs}
    outcomes = [Outcome(cases[(ex, name)], status, message, seed)
                for ex, name, status, message, seed in data["outcomes"]]
    return Result(data["student"], data["status"], data["reason"], data["scores"], outcomes,
                  data["notes"], data["flags"], data.get("counterexamples", []))


def _address_space() -> int:
    """This process's virtual memory size in bytes (``VmSize``)."""
    with open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) << 10
    return 0  # pragma: no cover


def _work(conn: Any, path: str, master: Master, secret: bytes, timeout: float, isolation: str,
          slot: int) -> None:
    """A grading worker (a forked process): grade one file, send the result as plain data."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        limit = _address_space() + WORKER_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # pragma: no cover - a lower hard limit is already in place
        pass
    try:
        data = _pack(grade_submission(Path(path), master, secret, timeout=timeout,
                                      isolation=isolation, slot=slot))
    except BaseException as exc:  # noqa: BLE001 - report, the supervisor writes the row
        data = {"error": type(exc).__name__}
    try:
        conn.send(data)
    finally:
        conn.close()


_MASTERS: dict[str, Master] = {}


def _cached_master(path: str) -> Master:
    if path not in _MASTERS:
        _MASTERS[path] = load_master(path)
    return _MASTERS[path]


def submissions(folder: Path) -> list[Path]:
    """Every non-hidden file of ``folder``, sorted (non-notebooks and symbolic links become
    invalid rows: a link could point at the master)."""
    if not folder.is_dir():
        raise allowed("submissions folder", str(folder), "an existing folder")
    return sorted(p for p in folder.iterdir()
                  if (p.is_file() or p.is_symlink()) and not p.name.startswith("."))


def _sweep(worker: int) -> None:
    """Kill whatever the dead or killed worker with pid ``worker`` left: its sandboxes'
    cgroups (named by it). Without cgroups, its sandboxes die with it through their
    parent-death signals (see docs/grading.md for the one escape)."""
    base = cgroup_base()
    if base is not None:
        prefix = f"{CGROUP_PREFIX}{os.getpid()}-{worker}-"
        for entry in os.listdir(base):
            if entry.startswith(prefix):
                kill_cgroup(os.path.join(base, entry))


def _supervise(paths: list[Path], master: Master, key: bytes, timeout: float, isolation: str,
               jobs: int, bar: Progress) -> list[Result]:
    """Grade ``paths`` in at most ``jobs`` worker processes, one per submission; a worker
    that dies, or outlives :func:`submission_limit`, is killed with its sandboxes and its
    submission still gets a row."""
    ctx = multiprocessing.get_context("fork")
    limit = submission_limit(master, timeout)
    pending = list(paths)
    free = list(range(jobs))
    running: dict[int, tuple[Any, Any, Path, float]] = {}
    done: list[Result] = []

    def failed(path: Path, status: str, reason: str) -> Result:
        return Result(row_key(path.name), status, reason, scores={ex: 0 for ex in master.exercises})

    while pending or running:
        while pending and free:
            slot, path = free.pop(0), pending.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_work, args=(send, str(path), master, key, timeout,
                                                   isolation, slot), daemon=True)
            proc.start()
            send.close()
            bar.start(row_key(path.name))
            running[slot] = (proc, recv, path, time.monotonic() + limit)
        soonest = min(deadline for _, _, _, deadline in running.values())
        waitables = [w for proc, recv, _, _ in running.values() for w in (recv, proc.sentinel)]
        multiprocessing.connection.wait(waitables, max(0.0, soonest - time.monotonic()))
        for slot, (proc, recv, path, deadline) in list(running.items()):
            result = None
            if recv.poll():
                try:
                    data = recv.recv()
                    if "error" in data:
                        result = failed(path, "crashed", f"grader error: {data['error']}")
                    else:
                        result = _restore(data, master)
                except (EOFError, OSError, KeyError, TypeError, ValueError):
                    result = failed(path, "crashed", "the grading worker died")
            elif not proc.is_alive():
                result = failed(path, "crashed", f"the grading worker died (exit code {proc.exitcode}; "
                                                 "out of memory?)")
            elif time.monotonic() > deadline:
                proc.kill()
                result = failed(path, "timeout", f"grading this submission took over {limit:g} s "
                                                 "(stopped by the watchdog)")
            if result is None:
                continue
            proc.join(5)
            if proc.is_alive():           # pragma: no cover - a worker ignoring its result
                proc.kill()
                proc.join(5)
            if proc.exitcode != 0:
                _sweep(proc.pid)
            recv.close()
            del running[slot]
            free.append(slot)
            free.sort()
            done.append(result)
            bar.tick(row_key(path.name), result, master.total_max)
    return done


def grade_all(master_path: str | Path, folder: str | Path, gradebook: str | Path, *,
              results: str | Path | None = None, secret: str | None = None,
              timeout: float = 30.0, jobs: int | None = None, isolation: str = "auto",
              progress: bool = True, public_only: bool = False) -> list[Result]:
    """Grade every submission in ``folder`` into ``gradebook`` (see the module docstring);
    a master without hidden tests is refused unless ``public_only``."""
    key = resolve_secret(secret)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        raise allowed("timeout", timeout, "seconds in (0, 3600]")
    jobs = jobs or os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise allowed("jobs", jobs, "a positive int")
    if not Path(gradebook).resolve().parent.is_dir():
        raise allowed("gradebook", str(gradebook), "a file in an existing folder")
    master_path = str(Path(master_path).resolve())
    master = _cached_master(master_path)
    check_master(master, public_only)
    paths = submissions(Path(folder))
    self_test(isolation)
    bar = Progress(len(paths), progress)
    done = _supervise(paths, master, key, float(timeout), isolation, min(jobs, max(1, len(paths))), bar)
    bar.close()
    done.sort(key=lambda r: r.student)
    digest = seed_digest(key)
    write_gradebook(Path(gradebook), [row(r, master, digest) for r in done], master)
    summary_path(gradebook).write_text(class_summary_html(done, master), encoding="utf-8")
    if results is not None:
        for r in done:
            write_results(r, master, Path(results))
    return done
