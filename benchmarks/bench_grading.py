"""Benchmark: grade 30 Chapter 1 submissions (issue 23's target: under 60 s with --jobs 2).

The batch is the worst case for time: every submission solves all three exercises, so every
test runs every seed (a stub or a crash is much cheaper). It is graded, in the same run,
alternately (``--repeat`` rounds), with ``--jobs`` = the number of cores (what instructors
run): by this tree's grader, and by the grader as it was before issue 23's item 5 (the named
peer: the library and the Chapter 1 master notebook at commit ``BEFORE``, extracted with ``git
archive`` into a temporary folder and run from there on the same batch: each grader with its
own master, whose answers are the same, since the master's tests are part of what is timed).
Both run in fresh interpreters. Unless ``--skip-peers``, also (in this tree): the uid scans and
``rm`` processes of before issue 23's first change, every node of an exercise in one process
(the design before issue 12), ``--jobs 1`` and ``--isolation none`` (what the jail itself
costs). The machine is shared, so compare the ratios printed, not the seconds; the load average
is printed beside each time.

Last measured (2026-12-04, fifth session, after one run judged per property set; load
1.9-4.9): ``--n 30 --skip-peers``: **35.9 s now against 99.8 s at c695dbe (x2.78)**, grading
processes' CPU 35.5 s against 103.6 s, the same gradebook rows: under the 60 s target.

Fourth session (docs/grading.md section 6 has the rest): ``--n 10
--repeat 2 --isolation none --skip-peers --before 6cef96f`` (load 7.3-9.7): process-tree CPU
54.1 and 60.5 s now against 67.7 and 64.3 s at the session's start (x1.25, x1.06); ``--n 30
--skip-peers`` with the jail: 192.4 s now against 253.0 s at c695dbe (x1.31; load 6.9-8.1),
the grading processes' own CPU 100.9 s against 129.3 s. Nearly idle (load 3.5, most of it
this benchmark): 71.9 s now against 107.1 s (x1.49), and `dscourse grade` alone 65.4 s. Still
over the 60 s target, by about 10% when idle.

    .venv/bin/python benchmarks/bench_grading.py [--n 30] [--repeat 1] [--before REV] [--skip-peers]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dscourse.grading import cells as fmt  # noqa: E402
from dscourse.grading import grader, remote, sandbox  # noqa: E402

MASTER = ROOT / "exercises" / "source" / "ch01.ipynb"
STUDENT = ROOT / "exercises" / "ch01.ipynb"
#: The last commit before issue 23's item 5 (the lean sandbox protocol: peers and observed
#: names sent once, observed values only when changed, numpy imported only by nodes that use
#: their rng, size checks only for lines that could hold an oversized value, E1.2's harness
#: re-observing only the nodes that changed).
BEFORE = "c695dbe"

#: Grades the batch in a fresh interpreter with the library found in argv[1]; prints JSON.
RUN = """
import json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from dscourse.grading import grader
assert grader.__file__.startswith(sys.argv[1]), grader.__file__
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    rows = grader.grade_all(Path(sys.argv[2]), Path(sys.argv[3]), Path(out) / "gradebook.csv",
                            secret="bench", jobs=int(sys.argv[4]), isolation=sys.argv[5])
    took = time.perf_counter() - start
t = os.times()
print(json.dumps({"seconds": took, "cpu": t.user + t.system + t.children_user + t.children_system,
                  "rows": sorted([r.student, r.status, r.total] for r in rows)}))
"""


def make_batch(folder: Path, n: int) -> None:
    """``n`` submissions, each the student notebook with the master's solutions pasted in."""
    sol = dict(fmt.answer_cells(json.loads(MASTER.read_text())))
    student = json.loads(STUDENT.read_text())
    for i in range(n):
        nb = copy.deepcopy(student)
        for cell in nb["cells"]:
            ex = fmt.answer_id(cell)
            if ex:
                cell["source"] = sol[ex] + f"\n# student {i}\n"
        (folder / f"s{i:02d}.ipynb").write_text(json.dumps(nb))


def timed(folder: Path, jobs: int, isolation: str) -> tuple[float, list]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        results = grader.grade_all(MASTER, folder, Path(out) / "gradebook.csv", secret="bench",
                                   jobs=jobs, isolation=isolation, progress=True)
        return time.perf_counter() - start, results


def graded_by(tree: Path, folder: Path, jobs: int, isolation: str) -> tuple[float, float, list]:
    """Seconds, CPU seconds and ``[student, status, total]`` rows: the batch graded by the
    library and the master in ``tree``. The CPU is the grading process tree's; a jailed
    sandbox's interpreter is reaped by nobody of it, so only ``--isolation none`` counts the
    sandboxes' CPU too."""
    master = tree / MASTER.relative_to(ROOT)
    done = subprocess.run([sys.executable, "-c", RUN, str(tree), str(master), str(folder), str(jobs),
                           isolation], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"grading with {tree} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["seconds"], out["cpu"], out["rows"]


def extract(rev: str, dest: Path) -> Path:
    """The ``dscourse`` package and the Chapter 1 master as of commit ``rev``, in ``dest``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "dscourse",
                              str(MASTER.relative_to(ROOT))], capture_output=True, check=False)
    if archive.returncode:
        raise SystemExit(f"git archive {rev} failed (a shallow clone?): {archive.stderr.decode()[:300]}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def before(folder: Path, jobs: int) -> float:
    """The same batch graded as before issue 23's first change (uid scans, ``rm`` processes)."""
    def rm(top: str) -> None:
        subprocess.run(["rm", "-rf", "--one-file-system", top], check=False)

    saved = sandbox.remove_tree
    sandbox.SCAN_UIDS, sandbox.remove_tree = True, rm
    try:
        return timed(folder, jobs, "auto")[0]
    finally:
        sandbox.SCAN_UIDS, sandbox.remove_tree = False, saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of now / before, alternated")
    parser.add_argument("--before", default=BEFORE, help="the commit graded as the named peer")
    parser.add_argument("--isolation", default="auto", help="for now and before ('none' also "
                        "counts the sandboxes' CPU)")
    parser.add_argument("--skip-peers", action="store_true", help="only now against before")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as old:
        folder = Path(tmp)
        make_batch(folder, args.n)
        mode = sandbox.detect()
        peer = extract(args.before, Path(old))
        iso = mode if args.isolation == "auto" else args.isolation
        print(f"{args.n} fully correct Chapter 1 submissions, --jobs {cores}, isolation {iso}; "
              f"target < 60 s")
        nows, befores, cpus = [], [], []
        for _ in range(args.repeat):
            t_now, c_now, rows = graded_by(ROOT, folder, cores, args.isolation)
            lost = [r for r in rows if r[1] != "graded" or r[2] != 20]
            if lost:
                raise SystemExit(f"solutions lost points: {lost[:3]}")
            print(f"  now: {t_now:.1f} s ({t_now / args.n:.2f} s each), CPU {c_now:.1f} s; {load()}",
                  flush=True)
            t_old, c_old, old_rows = graded_by(peer, folder, cores, args.isolation)
            print(f"  before ({args.before}): {t_old:.1f} s ({t_old / args.n:.2f} s each), CPU "
                  f"{c_old:.1f} s; {load()}" + ("" if old_rows == rows else "; DIFFERENT RESULTS"),
                  flush=True)
            nows.append(t_now)
            befores.append(t_old)
            cpus.append(c_old / c_now)
        t_par = median(nows)
        print(f"median now {t_par:.1f} s, before {median(befores):.1f} s: "
              f"x{median(befores) / t_par:.2f} faster (per round: "
              + ", ".join(f"x{b / n:.2f}" for n, b in zip(nows, befores, strict=True))
              + "); CPU before / now per round: " + ", ".join(f"x{c:.2f}" for c in cpus))
        if args.skip_peers:
            return
        t_before = before(folder, cores)
        print(f"peer: uid scans, an rm process per sandbox (before issue 23's first change): "
              f"{t_before:.1f} s; x{t_before / t_par:.2f} of now; {load()}")
        remote.Sandboxes.PER_NODE = False          # the peer: all nodes in one process
        try:
            t_shared, _ = timed(folder, cores, "auto")
        finally:
            remote.Sandboxes.PER_NODE = True
        print(f"peer: one process for all nodes of an exercise: {t_shared:.1f} s "
              f"({t_shared / args.n:.2f} s each); a process per node instance costs "
              f"x{t_par / t_shared:.2f}")
        t_one, _ = timed(folder, 1, "auto")
        print(f"peer --jobs 1, isolation {mode}: {t_one:.1f} s; speed-up x{t_one / t_par:.2f}; {load()}")
        t_none, _ = timed(folder, cores, "none")
        print(f"peer --jobs {cores}, isolation none: {t_none:.1f} s; the sandbox costs "
              f"x{t_par / t_none:.2f}; {load()}")


if __name__ == "__main__":
    main()
