"""``dscourse grade``: grade a folder of submissions against a master notebook.

Per submission: only its answer cells are taken; for each exercise a fresh sandboxed child
(:mod:`.sandbox`) loads them, and the master's tests run **in this trusted process**, driving
the student's definitions through proxies (:mod:`.remote`) and judging raw observations with
exact type checks. Hidden tests draw their seeds from the instructor's secret. Whatever
happens, each submission gets exactly one gradebook row (``graded``, ``timeout``, ``crashed``
or ``invalid``); with ``--results`` also a Gradescope ``results.json`` and a Markdown
feedback file holding public messages only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, allowed
from . import cells as fmt
from .registry import MISSING, Outcome, TestCase, collecting, run_test
from .remote import RemoteClass, RemoteFunction
from .sandbox import Child, ChildError, self_test

SECRET_ENV = "DSCOURSE_GRADING_SECRET"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
STATUS_ORDER = ("graded", "crashed", "timeout", "invalid")
REFERENCE_MODULES = ("dscourse.fundamentals", "dscourse.grading")


# ---- the master ------------------------------------------------------------------------------------


@dataclass
class Master:
    """The exercise set: its id and, per exercise in notebook order, its tests."""

    exercise_set: str
    exercises: dict[str, list[TestCase]]

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
    for ex, _ in fmt.answer_cells(nb):
        exercises.setdefault(ex, [])
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
    return Master(set_id, exercises)


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


def grade_submission(path: Path, master: Master, secret: bytes, *, timeout: float = 30.0,
                     isolation: str = "auto", slot: int = 0) -> Result:
    """Grade one submission file; never raises for anything the submission does."""
    student = path.stem
    result = Result(student, "graded", scores={ex: 0 for ex in master.exercises})
    if not STUDENT_ID.match(student):
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
    for exercise, cases in master.exercises.items():
        _grade_exercise(exercise, cases, cells, secret, result, timeout, isolation, slot)
        result.scores[exercise] = sum(o.score for o in result.outcomes if o.case.exercise == exercise)
    return result


def _grade_exercise(exercise: str, cases: list[TestCase], cells: list[tuple[str, str]],
                    secret: bytes, result: Result, timeout: float, isolation: str, slot: int) -> None:
    """Run ``cases`` in fresh children: a crash costs the test it happened in (then a new
    child, at most twice); a timeout, or a crash while loading, costs every remaining test."""
    names = sorted({n for c in cases for n in c.names})
    pending = list(cases)
    restarts = 0
    while pending:
        child = Child(timeout=timeout, isolation=isolation, slot=slot,
                      files={"answers.json": json.dumps(cells)})
        loaded = False
        try:
            child.start()
            answer = child.request({"op": "load", "cells": cells, "names": names})
            _note_load(answer, result)
            bindings = _bindings(child, answer, names)
            loaded = True
            while pending:
                result.outcomes.append(run_test(pending[0], bindings, secret, reraise=(ChildError,)))
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
            _flag_blocked(child, result)
            child.close()


def _child_message(exc: ChildError) -> str:
    if exc.status == "timeout":
        return f"stopped: {exc.reason} (an infinite loop, or far too slow)"
    return f"stopped: {exc.reason}"


def _note_load(loaded: dict, result: Result) -> None:
    cells = loaded.get("cells")
    if type(cells) is not list:
        raise ChildError("crashed", "the sandbox answered the load request with malformed data")
    for cell in cells:
        if type(cell) is not dict or type(cell.get("error")) is not dict:
            continue
        err = cell["error"]
        if err.get("not_implemented") is True:
            continue
        kind = err.get("type") if type(err.get("type")) is str else "Error"
        msg = err.get("msg") if type(err.get("msg")) is str else ""
        note = f"the answer cell of {cell.get('exercise')} raised {kind[:80]}: {msg[:200]}"
        if note not in result.notes:
            result.notes.append(note)


def _bindings(child: Child, loaded: dict, names: list[str]) -> dict[str, Any]:
    kinds = loaded.get("names")
    if type(kinds) is not dict:
        raise ChildError("crashed", "the sandbox answered the load request with malformed data")
    out: dict[str, Any] = {}
    for name in names:
        kind = kinds.get(name)
        if kind == "node":
            out[name] = RemoteClass(child, name)
        elif kind == "function":
            out[name] = RemoteFunction(child, name)
        elif kind == "other":
            out[name] = RemoteFunction(child, name)   # calling it reports the student's TypeError
        else:
            out[name] = MISSING
    return {k: v for k, v in out.items() if v is not MISSING}


def _flag_blocked(child: Child, result: Result) -> None:
    for name in child.blocked:
        flag = f"blocked-import:{name}"
        if flag not in result.flags:
            result.flags.append(flag)
            result.notes.append(f"importing {name} is not allowed while grading (blocked and "
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
    return out


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
    """Gradescope's autograder ``results.json`` (hidden tests: pass/fail only, after publishing)."""
    tests = []
    for o in result.outcomes:
        tests.append({
            "name": f"{o.case.exercise} {o.case.title}",
            "score": o.score, "max_score": o.case.points,
            "status": "passed" if o.status == "passed" else "failed",
            "output": "" if o.case.hidden else _public_message(o),
            "visibility": "after_published" if o.case.hidden else "visible",
        })
    output = [f"Status: {result.status}" + (f" ({result.reason})" if result.reason else ""), *result.notes]
    return {"score": result.total, "output": "\n".join(output), "tests": tests,
            "extra_data": {"status": result.status, "max": master.total_max}}


def _public_message(o: Outcome) -> str:
    if o.status == "passed":
        return "passed"
    seed = f" (seed {o.seed})" if o.seed is not None else ""
    return f"{o.message}{seed}"


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
    for ex, cases in master.exercises.items():
        lines += [f"## {ex}: {result.scores.get(ex, 0)} / {master.max_points(ex)}", ""]
        mine = [o for o in result.outcomes if o.case.exercise == ex]
        for o in mine:
            if not o.case.hidden:
                mark = "passed" if o.status == "passed" else "failed"
                lines.append(f"- {mark}: {o.case.title} ({o.score}/{o.case.points})")
                if o.status != "passed":
                    lines.append(f"  - {_public_message(o)}")
        hidden = [o for o in mine if o.case.hidden]
        if hidden:
            ok = sum(o.status == "passed" for o in hidden)
            pts = sum(o.score for o in hidden)
            lines.append(f"- hidden tests: {ok} of {len(hidden)} passed "
                         f"({pts}/{sum(o.case.points for o in hidden)} points)")
        lines.append("")
    return "\n".join(lines)


def write_results(result: Result, master: Master, results_dir: Path) -> None:
    if not STUDENT_ID.match(result.student):
        return
    folder = results_dir / result.student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(result, master), indent=1,
                                                    sort_keys=True) + "\n", encoding="utf-8")
    (folder / "feedback.md").write_text(feedback_markdown(result, master), encoding="utf-8")


# ---- the batch ----------------------------------------------------------------------------------------


def resolve_secret(secret: str | None) -> bytes:
    """``--secret`` or the ``DSCOURSE_GRADING_SECRET`` environment variable (required)."""
    value = secret if secret is not None else os.environ.get(SECRET_ENV)
    if not value:
        raise allowed("secret", value, f"a non-empty --secret or ${SECRET_ENV} (hidden tests "
                      "derive their seeds from it)")
    return value.encode()


_SLOT: dict[str, int] = {}


def _init_worker(slots: Any) -> None:
    _SLOT["slot"] = slots.get()


def _work(path: str, master_path: str, secret: bytes, timeout: float, isolation: str) -> dict:
    """Grade in a worker process; the result travels back as plain data (tests hold code)."""
    master = _cached_master(master_path)
    r = grade_submission(Path(path), master, secret, timeout=timeout, isolation=isolation,
                         slot=_SLOT.get("slot", 0))
    outcomes = [(o.case.exercise, o.case.name, o.status, o.message, o.seed) for o in r.outcomes]
    return {"student": r.student, "status": r.status, "reason": r.reason, "scores": r.scores,
            "notes": r.notes, "flags": r.flags, "outcomes": outcomes}


def _restore(data: dict, master: Master) -> Result:
    cases = {(c.exercise, c.name): c for cs in master.exercises.values() for c in cs}
    outcomes = [Outcome(cases[(ex, name)], status, message, seed)
                for ex, name, status, message, seed in data["outcomes"]]
    return Result(data["student"], data["status"], data["reason"], data["scores"], outcomes,
                  data["notes"], data["flags"])


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


def grade_all(master_path: str | Path, folder: str | Path, gradebook: str | Path, *,
              results: str | Path | None = None, secret: str | None = None,
              timeout: float = 30.0, jobs: int | None = None, isolation: str = "auto",
              progress: bool = True) -> list[Result]:
    """Grade every submission in ``folder`` into ``gradebook`` (see the module docstring)."""
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
    paths = submissions(Path(folder))
    self_test(isolation)
    done: list[Result] = []
    bar = _Progress(len(paths), progress)
    if jobs == 1 or len(paths) <= 1:
        for p in paths:
            done.append(grade_submission(p, master, key, timeout=timeout, isolation=isolation))
            bar.tick()
    else:
        ctx = multiprocessing.get_context("fork")
        slots = ctx.Queue()
        for i in range(jobs):
            slots.put(i)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                 initargs=(slots,)) as pool:
            futures = {pool.submit(_work, str(p), master_path, key, timeout, isolation): p
                       for p in paths}
            for fut in as_completed(futures):
                try:
                    done.append(_restore(fut.result(), master))
                except Exception as exc:  # noqa: BLE001 - one broken worker must not stop the batch
                    done.append(Result(futures[fut].stem, "crashed", f"grader error: {exc}"[:300],
                                       scores={ex: 0 for ex in master.exercises}))
                bar.tick()
    bar.close()
    done.sort(key=lambda r: r.student)
    digest = seed_digest(key)
    write_gradebook(Path(gradebook), [row(r, master, digest) for r in done], master)
    if results is not None:
        for r in done:
            write_results(r, master, Path(results))
    return done


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.n, self.enabled = total, 0, enabled and total > 0

    def tick(self) -> None:
        self.n += 1
        if self.enabled:
            width = 30
            filled = width * self.n // self.total
            sys.stderr.write(f"\rgrading [{'#' * filled}{'.' * (width - filled)}] {self.n}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
