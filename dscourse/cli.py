"""The ``dscourse`` console script: ``assign``, ``grade`` and ``autograder`` for instructors,
``execute`` for authors."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import DscourseError


def merge_streams(cell: dict) -> None:
    """Join a code cell's consecutive stream outputs of the same name (stdout, stderr) into one,
    as the book renders them (``nb_merge_streams``): a cell that prints between slow steps is
    one output box, however the kernel flushed it."""
    merged: list = []
    for out in cell.get("outputs", []):
        last = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last.get("name") == out.get("name")):
            last["text"] = "".join(last["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    cell["outputs"] = merged


def execute_notebook(path: str | os.PathLike) -> None:
    """Execute a notebook in place, as notebooks are committed: in its own folder, with static
    figures instead of widget state (``DSCOURSE_STATIC=1``), each cell's consecutive prints in
    one output (:func:`merge_streams`) and no timing metadata."""
    import nbclient
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    previous = os.environ.get("DSCOURSE_STATIC")
    os.environ["DSCOURSE_STATIC"] = "1"  # inherited by the kernel
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if previous is None:
            del os.environ["DSCOURSE_STATIC"]
        else:
            os.environ["DSCOURSE_STATIC"] = previous
    for cell in nb.cells:
        if cell.cell_type == "code":
            merge_streams(cell)
    nbformat.write(nb, path)


def _assign(args: argparse.Namespace) -> int:
    from .grading.cells import assign_file

    out = assign_file(args.master, args.output)
    if args.execute:
        execute_notebook(out)
    print(f"wrote {out}")
    return 0


def _execute(args: argparse.Namespace) -> int:
    for path in args.notebooks:
        execute_notebook(path)
        print(f"executed {path}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grading.grader import grade_all
    from .grading.sandbox import cgroup_base, detect

    mode = detect() if args.isolation == "auto" else args.isolation
    if mode != "none" and cgroup_base() is None:
        print("dscourse: note: no writable cgroup v2 here: each sandbox is killed through its PID "
              "namespace's init and its uid instead of cgroup.kill (see docs/grading.md)",
              file=sys.stderr)
    if mode != "full":
        print(f"dscourse: warning: isolation {mode!r}: submissions can "
              + ("read your files and use the network" if mode == "none" else "not be dropped to "
                 "an unprivileged user") + " (see docs/grading.md)", file=sys.stderr)
    results = grade_all(args.master, args.submissions, args.output, results=args.results,
                        secret=args.secret, timeout=args.timeout, jobs=args.jobs,
                        isolation=args.isolation, progress=not args.quiet,
                        public_only=args.public_only)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"graded {len(results)} submission(s) into {args.output} (isolation {mode}): "
          f"{summary or 'none'}")
    return 0


def _autograder(args: argparse.Namespace) -> int:
    from .grading.autograder import build

    out = build(args.master, args.output, secret=args.secret, timeout=args.timeout,
                isolation=args.isolation, public_only=args.public_only, pip=args.pip)
    print(f"wrote {out}: upload it as the Gradescope autograder (docs/grading.md, section 2)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dscourse", description="Tools for the dscourse textbook.")
    parser.add_argument("--version", action="version", version=f"dscourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("assign", help="generate the student notebook from a master notebook")
    a.add_argument("master", help="master notebook, e.g. exercises/source/ch01.ipynb")
    a.add_argument("-o", "--output", default=None,
                   help="student notebook to write (default: the master's name one folder up)")
    a.add_argument("--execute", action="store_true",
                   help="also execute the student notebook (outputs stored, as committed)")
    a.set_defaults(func=_assign)

    x = sub.add_parser("execute", help="execute notebooks in place, as they are committed")
    x.add_argument("notebooks", nargs="+", help="notebooks to execute (outputs are stored)")
    x.set_defaults(func=_execute)

    g = sub.add_parser("grade", help="grade a folder of submitted notebooks in a sandbox")
    g.add_argument("master", help="master notebook with the hidden tests")
    g.add_argument("submissions", help="folder of submissions (<student id>.ipynb)")
    g.add_argument("-o", "--output", required=True, help="gradebook CSV (rows are merged)")
    g.add_argument("--results", default=None,
                   help="folder for <student>/results.json (Gradescope) and feedback.md")
    g.add_argument("--secret", default=None,
                   help="instructor secret for hidden seeds (default: $DSCOURSE_GRADING_SECRET)")
    g.add_argument("--timeout", type=float, default=30.0,
                   help="wall-clock seconds per exercise sandbox (default 30)")
    g.add_argument("--jobs", type=int, default=None, help="parallel graders (default: cores)")
    g.add_argument("--isolation", default="auto", choices=("auto", "full", "userns", "none"),
                   help="sandbox strength (default: the strongest this machine allows)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--public-only", action="store_true",
                   help="grade with a notebook that has no hidden tests (refused otherwise)")
    g.set_defaults(func=_grade)

    b = sub.add_parser("autograder", help="write a Gradescope autograder bundle for a master notebook")
    b.add_argument("master", help="master notebook with the hidden tests")
    b.add_argument("-o", "--output", default="autograder.zip", help="the zip to write (default autograder.zip)")
    b.add_argument("--secret", default=None,
                   help="instructor secret for hidden seeds, stored in the bundle "
                        "(default: $DSCOURSE_GRADING_SECRET)")
    b.add_argument("--timeout", type=float, default=30.0, help="seconds per sandbox (default 30)")
    b.add_argument("--isolation", default="auto", choices=("auto", "full", "userns", "none"),
                   help="sandbox strength on Gradescope (default: the strongest it allows)")
    b.add_argument("--public-only", action="store_true",
                   help="allow a notebook without hidden tests")
    b.add_argument("--pip", default=None,
                   help="install this requirement (e.g. 'dscourse==0.1.0') instead of the bundled source")
    b.set_defaults(func=_autograder)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (DscourseError, OSError) as exc:
        print(f"dscourse: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
