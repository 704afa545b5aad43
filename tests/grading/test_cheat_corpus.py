"""The cheat corpus, graded in one batch: every submission gets its row and its honest score.

Needs the full sandbox (root and ``unshare``): without it the child could read the master,
so the attacks that read files would (correctly) not be stopped and the test is skipped.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cheat_corpus import CHEATS, FILE_NAMES, LINGER, MALFORMED, NET_PORT, PWNED, ZIP_SLIP_NAME
from gradekit import MASTER, SOL, submission, write

from dscourse.grading import cells as fmt
from dscourse.grading import grader, sandbox

pytestmark = pytest.mark.skipif(sandbox.detect() != "full",
                                reason="the cheat corpus needs the full sandbox (root + unshare)")
SECRET = "corpus-secret"
TIMEOUT = 20      # per sandbox: generous, so that honest code passes on a loaded machine


def _still_there(probe: Callable[[], Any], wait: float = 10.0) -> Any:
    """What ``probe()`` finds ``wait`` seconds on, or as soon as it finds nothing (SIGKILLed
    processes on a loaded machine take a moment to exit; anything still there has survived)."""
    deadline = time.monotonic() + wait
    while (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _lingering() -> dict[int, str]:
    """Processes that fork_and_linger left (they carry a marker as argv[0]): pid -> their
    state, uid, parent and cgroup, for the failure message (a survivor sleeps an hour)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and LINGER.encode() in (entry / "cmdline").read_bytes():
                status = (entry / "status").read_text().splitlines()
                found[int(entry.name)] = "; ".join(
                    [line for line in status if line.split(":")[0] in ("State", "Uid", "PPid")]
                    + [(entry / "cgroup").read_text().strip()])
        except OSError:
            continue
    return found


def _sandbox_processes() -> list[int]:
    """Host processes running as any sandbox uid, in this batch's sandboxes (other batches may
    run on the same machine)."""
    return sandbox.batch_processes(range(sandbox.UID_BASE, sandbox.UID_BASE
                                         + sandbox.UID_SLOTS * sandbox.UID_SLOT_SPAN), os.getpid())


def _sysvipc() -> dict[str, list[str]]:
    out = {}
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as fh:
            out[kind] = fh.read().splitlines()[1:]
    return out


ALL_SOL = {"E1.1": SOL, "E1.2": SOL, "E1.3": SOL}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("subs")
    out = tmp_path_factory.mktemp("out")
    for fname, _, _, _ in FILE_NAMES.values():
        write(subs, fname, submission(ALL_SOL))
    ipc_before = _sysvipc()
    for name, (answers, _, _, _) in CHEATS.items():
        attachment = ZIP_SLIP_NAME if name == "zip_slip_attachment" else None
        write(subs, f"{name}.ipynb", submission(answers, attachment=attachment))
    for fname, content, _ in MALFORMED.values():
        if content == "no_answers":
            nb = submission({})
            nb["cells"] = [c for c in nb["cells"] if fmt.answer_id(c) is None]
            for c in nb["cells"]:
                c["metadata"].pop("dscourse", None)
            content = json.dumps(nb).encode()
        elif content == "wrong_set":
            content = json.dumps(submission({}, exercise_set="ch99")).encode()
        elif content == "symlink":
            (subs / fname).symlink_to(MASTER)
            continue
        write(subs, fname, content)
    if os.path.exists(PWNED):
        os.remove(PWNED)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", NET_PORT))
    listener.listen(8)
    listener.setblocking(False)
    try:
        results = grader.grade_all(MASTER, subs, out / "gradebook.csv", results=out / "results",
                                   secret=SECRET, timeout=TIMEOUT, jobs=2, progress=False)
        try:
            conn, _ = listener.accept()
            conn.close()
            connected = True
        except BlockingIOError:
            connected = False
    finally:
        listener.close()
    text = (out / "gradebook.csv").read_text()
    with (out / "gradebook.csv").open(newline="") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return {"rows": rows, "results": results, "out": out, "subs": subs, "connected": connected,
            "text": text, "ipc_before": ipc_before, "ipc_after": _sysvipc(),
            "left": _still_there(_sandbox_processes),
            "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss << 10}


def _key(fname: str) -> str:
    return grader.row_key(fname)


def test_every_submission_gets_exactly_one_row(graded):
    names = set(CHEATS) | {_key(f) for f, _, _ in MALFORMED.values()} | \
        {key for _, _, key, _ in FILE_NAMES.values()}
    assert set(graded["rows"]) == names
    assert len(graded["text"].splitlines()) == len(names) + 1    # no file name made a row of its own
    assert len(CHEATS) >= 26


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_cheat_scores_exactly_its_honest_score(graded, name):
    _, expected, status, flags = CHEATS[name]
    row = graded["rows"][name]
    got = {ex: int(row[ex]) for ex in ("E1.1", "E1.2", "E1.3")}
    want = {ex: expected.get(ex, 0) for ex in got}
    assert got == want, (name, row)
    assert int(row["total"]) == sum(want.values())
    assert row["max"] == "20"
    assert row["status"] == status, (name, row["reason"])
    for flag in flags:
        assert any(f.startswith(flag) for f in row["flags"].split(";")), row["flags"]


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_an_invalid_row(graded, name):
    fname, _, fragment = MALFORMED[name]
    row = graded["rows"][_key(fname)]
    assert row["status"] == "invalid"
    assert fragment in row["reason"]
    assert row["total"] == "0"


def test_attacks_leave_nothing_behind(graded):
    assert not os.path.exists(PWNED), "a submission wrote to the host (zip-slip, pickle or files)"
    assert not graded["connected"], "a submission reached the host's network"
    assert _still_there(_lingering) == {}, "a submission's process outlived its sandbox"
    assert graded["left"] == [], "processes of a sandbox uid outlived grading"
    assert graded["ipc_after"] == graded["ipc_before"], "a SysV IPC object was created on the host"
    assert sorted(p.name for p in graded["out"].iterdir()) == ["gradebook.csv", "gradebook.summary.html",
                                                               "results"]


def test_import_of_the_reference_is_reported(graded):
    row = graded["rows"]["import_reference"]
    assert "blocked-import:dscourse.fundamentals.reliable_channel" in row["flags"].split(";")
    feedback = (graded["out"] / "results" / "import_reference" / "feedback.md").read_text()
    assert "dscourse.fundamentals.reliable_channel" in feedback


def test_feedback_never_shows_hidden_tests_or_their_seeds(graded):
    master = json.loads(MASTER.read_text())
    hidden = [tc for tc in fmt.test_cells(master) if tc.hidden]
    secret_lines = {line.strip() for tc in hidden for line in tc.source.splitlines()
                    if len(line.strip()) > 25}
    master = grader.load_master(MASTER)
    cases = [c for cs in master.exercises.values() for c in cs if c.hidden]
    from dscourse.grading.registry import Context
    for folder in (graded["out"] / "results").iterdir():
        path = graded["subs"] / f"{folder.name}.ipynb"
        try:
            salt = grader.submission_salt(folder.name, grader.read_submission(path, master))
        except Exception:                               # noqa: BLE001 - invalid: no hidden tests ran
            salt = ""
        seeds = {str(s) for c in cases for s in Context(c, SECRET.encode(), salt).seeds(3)}
        feedback = (folder / "feedback.md").read_text()
        results = json.loads((folder / "results.json").read_text())
        text = feedback + json.dumps(results)
        assert not any(line in text for line in secret_lines), folder.name
        assert not any(seed in text for seed in seeds), folder.name
        for test in results["tests"]:
            if test["visibility"] != "visible":
                assert test["output"] == ""


def test_results_json_is_gradescope_shaped(graded):
    results = json.loads((graded["out"] / "results" / "master_solutions" / "results.json").read_text())
    assert results["score"] == 20
    assert sum(t["max_score"] for t in results["tests"]) == 20
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "status"}
        assert test["visibility"] in ("visible", "after_published")


# ---- issue 12 -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FILE_NAMES))
def test_file_names_are_data(graded, name):
    _, _, key, status = FILE_NAMES[name]
    row = graded["rows"][key]
    assert row["status"] == status, row
    assert row["total"] == ("20" if status == "graded" else "0")
    for line in graded["text"].splitlines():
        for value in line.split(","):
            assert not value.startswith(("=", "+", "-", "@")), line


def test_leaked_hidden_inputs_reach_no_output(graded):
    """The leaking submission's imports name no real module: no flag, no note, no input."""
    row = graded["rows"]["leak_hidden_inputs"]
    assert row["flags"] == ""
    feedback = (graded["out"] / "results" / "leak_hidden_inputs" / "feedback.md").read_text()
    results = (graded["out"] / "results" / "leak_hidden_inputs" / "results.json").read_text()
    assert "dscourse.leak" not in feedback + results + graded["text"]


def test_hidden_seeds_differ_per_student_and_per_submission():
    master = grader.load_master(MASTER)
    case = next(c for c in master.exercises["E1.1"] if c.hidden)
    from dscourse.grading.registry import Context

    cells = [("E1.1", "x = 1")]
    salts = [grader.submission_salt("alice", cells), grader.submission_salt("bob", cells),
             grader.submission_salt("alice", [("E1.1", "x = 2")])]
    seeds = [tuple(Context(case, SECRET.encode(), salt).seeds(5)) for salt in salts]
    assert len(set(seeds)) == 3
    assert seeds[0] == tuple(Context(case, SECRET.encode(), salts[0]).seeds(5))


def test_child_reports_are_bounded(graded):
    """Forged notes and names stay a few lines: feedback is small for every submission."""
    for folder in (graded["out"] / "results").iterdir():
        feedback = (folder / "feedback.md").read_text()
        assert len(feedback) < 16_000, folder.name
        assert feedback.count("- Note:") <= grader.MAX_NOTES


def test_the_grader_memory_stayed_bounded(graded):
    """Every grading worker and sandbox stayed under the worker's address-space budget."""
    assert graded["maxrss"] < grader.WORKER_MEMORY
