"""Benchmark: grade 30 Chapter 1 submissions (issue 23's target: under 60 s with --jobs 2).

The batch is the worst case for time: every submission solves all three exercises, so every
test runs every seed (a stub or a crash is much cheaper). It is graded, in the same run:
``--jobs`` = the number of cores (what instructors run) now; the same as before issue 23 (the
named peer for this issue's change: a ``/proc`` scan for every fresh sandbox uid and after
every kill, and a ``rm`` process per sandbox folder); and, unless ``--skip-peers``, with every
node of an exercise in one process (the design before issue 12), with ``--jobs 1`` and with
``--isolation none`` (what the jail itself costs). The machine is shared, so compare the
ratios printed, not the seconds.

    .venv/bin/python benchmarks/bench_grading.py [--n 30] [--skip-peers]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dscourse.grading import cells as fmt  # noqa: E402
from dscourse.grading import grader, remote, sandbox  # noqa: E402

MASTER = ROOT / "exercises" / "source" / "ch01.ipynb"
STUDENT = ROOT / "exercises" / "ch01.ipynb"


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


def before(folder: Path, jobs: int) -> float:
    """The same batch graded as before issue 23 (see the module docstring)."""
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
    parser.add_argument("--skip-peers", action="store_true", help="only the parallel run")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_batch(folder, args.n)
        mode = sandbox.detect()
        t_par, results = timed(folder, cores, "auto")
        lost = [(r.student, r.status, r.total, r.reason) for r in results
                if r.status != "graded" or r.total != 20]
        if lost:
            raise SystemExit(f"solutions lost points: {lost[:3]}")
        print(f"{args.n} submissions, --jobs {cores}, isolation {mode}: {t_par:.1f} s "
              f"({t_par / args.n:.2f} s each; target < 60 s); load average {os.getloadavg()[0]:.1f}")
        t_before = before(folder, cores)
        print(f"peer: as before issue 23 (uid scans, an rm process per sandbox): {t_before:.1f} s "
              f"({t_before / args.n:.2f} s each); now x{t_before / t_par:.2f} faster; "
              f"load average {os.getloadavg()[0]:.1f}")
        if args.skip_peers:
            return
        remote.Sandboxes.PER_NODE = False          # the peer: all nodes in one process
        try:
            t_shared, _ = timed(folder, cores, "auto")
        finally:
            remote.Sandboxes.PER_NODE = True
        print(f"peer: one process for all nodes of an exercise: {t_shared:.1f} s "
              f"({t_shared / args.n:.2f} s each); a process per node instance costs "
              f"x{t_par / t_shared:.2f}")
        t_one, _ = timed(folder, 1, "auto")
        print(f"peer --jobs 1, isolation {mode}: {t_one:.1f} s; speed-up x{t_one / t_par:.2f}")
        t_none, _ = timed(folder, cores, "none")
        print(f"peer --jobs {cores}, isolation none: {t_none:.1f} s; the sandbox costs "
              f"x{t_par / t_none:.2f}")


if __name__ == "__main__":
    main()
