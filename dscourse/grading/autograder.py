"""``dscourse autograder``: a Gradescope autograder bundle for one exercise set.

Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
a zip holding ``setup.sh`` (run once, as root, when the image is built) and ``run_autograder``
(run for every submission, in ``/autograder``); the zip's contents land in
``/autograder/source``, the student's files in ``/autograder/submission``, and the run must
write ``/autograder/results/results.json`` (``score``, ``output`` and per-test ``score``,
``max_score``, ``name``, ``output``, ``visibility``).

The bundle carries the master, the instructor's secret and the exact source of this
package (installed by ``setup.sh``, so the image grades with the same code that built the
bundle). ``run_autograder`` grades the one notebook in ``submission/`` with the same worker,
sandbox and judge as ``dscourse grade`` (:func:`.grader._supervise`): the same scores, the same
feedback. The secret is read from the bundle only, never from the environment or the
student's side. ``DSCOURSE_AUTOGRADER_ROOT`` replaces ``/autograder`` (for tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConfigError, allowed
from . import cells as fmt
from .grader import (
    STUDENT_ID,
    Master,
    Result,
    _supervise,
    check_master,
    load_master,
    resolve_secret,
    results_json,
    seed_digest,
)
from .report import Progress
from .sandbox import ISOLATIONS, detect

ROOT_ENV = "DSCOURSE_AUTOGRADER_ROOT"
CONFIG = "dscourse-autograder.json"
SECRET_FILE = "secret.txt"
MASTER_FILE = "master.ipynb"
SOURCE_DIR = "dscourse-src"
PACKAGE = Path(__file__).resolve().parents[1]        # the dscourse package folder

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# It installs the exact dscourse source this bundle was built from ({pin}).
set -euo pipefail
apt-get install -y --no-install-recommends python3 python3-pip util-linux >/dev/null
python3 -m pip install --no-cache-dir {target}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission (working directory /autograder).
# Everything it needs (master, secret, settings) is in /autograder/source, from the bundle.
set -u
exec python3 -m dscourse.grading.autograder --root "${DSCOURSE_AUTOGRADER_ROOT:-/autograder}"
"""


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(PACKAGE.parent), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and len(out) == 40 else None


def _package_files() -> list[tuple[Path, str]]:
    """``(file, name in the zip)`` for the package source: ``dscourse/`` (no caches) and the
    project files pip needs to install it."""
    out: list[tuple[Path, str]] = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            out.append((path, f"{SOURCE_DIR}/dscourse/{path.relative_to(PACKAGE).as_posix()}"))
    for name in ("pyproject.toml", "README.md"):
        project = PACKAGE.parent / name
        if not project.is_file():
            raise ConfigError(f"cannot bundle the dscourse source: {project} is missing (build the "
                              "bundle from a source checkout, or pass --pip with a version to install)")
        out.append((project, f"{SOURCE_DIR}/{name}"))
    return out


def build(master_path: str | Path, output: str | Path, *, secret: str | None = None,
          timeout: float = 30.0, isolation: str = "auto", public_only: bool = False,
          pip: str | None = None) -> Path:
    """Write the bundle for ``master_path`` to ``output`` (see the module docstring).

    ``pip``: install this requirement (e.g. ``"dscourse==0.1.0"``) instead of the bundled
    source. The master is checked first (``load_master``, and hidden tests unless
    ``public_only``), so a broken master fails here, not on Gradescope."""
    key = resolve_secret(secret)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        raise allowed("timeout", timeout, "seconds in (0, 3600]")
    if isolation not in ISOLATIONS:
        raise allowed("isolation", isolation, f"one of {ISOLATIONS}")
    master = load_master(master_path)
    check_master(master, public_only)
    out = Path(output)
    if out.suffix != ".zip" or not out.resolve().parent.is_dir():
        raise allowed("output", str(output), "a .zip file in an existing folder")
    commit = _git_commit()
    config = {"exercise_set": master.exercise_set, "timeout": float(timeout), "isolation": isolation,
              "public_only": public_only, "dscourse_version": __version__, "commit": commit,
              "max_score": master.total_max}
    if pip is None:
        files = _package_files()
        target = f"/autograder/source/{SOURCE_DIR}"
        pin = f"dscourse {__version__}" + (f", commit {commit[:12]}" if commit else "")
    else:
        if not pip.strip() or any(ch in pip for ch in "'\"`$;&|<>\n\\"):
            raise allowed("pip", pip, "a plain requirement such as 'dscourse==0.1.0'")
        files, target, pin = [], f"'{pip}'", pip
    fixed = (1980, 1, 1, 0, 0, 0)                  # same inputs, same bytes

    def put(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
        info = zipfile.ZipInfo(name, fixed)
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, data)

    with zipfile.ZipFile(out, "w") as zf:
        put(zf, "setup.sh", SETUP_SH.format(pin=pin, target=target).encode(), 0o755)
        put(zf, "run_autograder", RUN_AUTOGRADER.encode(), 0o755)
        put(zf, MASTER_FILE, Path(master_path).read_bytes())
        put(zf, SECRET_FILE, key, 0o600)
        put(zf, CONFIG, (json.dumps(config, indent=1, sort_keys=True) + "\n").encode())
        for path, name in files:
            put(zf, name, path.read_bytes())
    return out


# ---- run_autograder ---------------------------------------------------------------------------


def student_id(root: Path) -> str:
    """The student id hidden seeds are salted with: the first submitter's e-mail (or Gradescope
    user id) from ``submission_metadata.json``, else ``student``."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        user = meta["users"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return "student"
    if type(user) is dict:
        email = user.get("email")
        if type(email) is str and STUDENT_ID.fullmatch(email):
            return email
        uid = user.get("id")
        if type(uid) is int and not isinstance(uid, bool):
            return f"user{uid}"
    return "student"


def find_submission(folder: Path, exercise_set: str) -> Path:
    """The one notebook in ``folder`` (searched recursively; checkpoints ignored). With
    several, the one whose metadata names this exercise set; a ``ConfigError`` otherwise."""
    found = sorted(p for p in folder.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and not p.name.startswith("."))
    if not found:
        raise ConfigError("no .ipynb notebook was submitted (upload the exercise notebook itself)")
    if len(found) == 1:
        return found[0]
    mine = []
    for p in found:
        try:
            if not p.is_symlink() and fmt.exercise_set(fmt.read_notebook(p)) == exercise_set:
                mine.append(p)
        except (ConfigError, OSError):
            continue
    if len(mine) != 1:
        names = ", ".join(p.name for p in found[:5])
        raise ConfigError(f"several notebooks were submitted ({names}); submit only the "
                          f"{exercise_set} exercise notebook")
    return mine[0]


def _invalid(student: str, master: Master, reason: str) -> Result:
    result = Result(student, "graded", scores={ex: 0 for ex in master.exercises})
    result.worsen("invalid", reason)
    return result


def run(root: str | Path) -> dict[str, Any]:
    """Grade ``root/submission`` and write ``root/results/results.json``; returns it."""
    started = time.monotonic()
    root = Path(root)
    source = root / "source"
    config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
    key = (source / SECRET_FILE).read_bytes().strip()
    if not key:
        raise ConfigError(f"the bundle's {SECRET_FILE} is empty: rebuild it with --secret")
    master = load_master(source / MASTER_FILE)
    if master.exercise_set != config["exercise_set"]:
        raise ConfigError("the bundle's master and settings disagree: rebuild the bundle")
    isolation = config["isolation"]
    mode = detect() if isolation == "auto" else isolation
    student = student_id(root)
    with tempfile.TemporaryDirectory(prefix="dscourse-autograder-") as tmp:
        try:
            found = find_submission(root / "submission", master.exercise_set)
            if found.is_symlink():
                raise ConfigError("a symbolic link, not a submitted file")
            if found.stat().st_size > fmt.MAX_NOTEBOOK:
                raise ConfigError(f"{found.name} is larger than {fmt.MAX_NOTEBOOK >> 20} MiB")
            copy = Path(tmp) / f"{student}.ipynb"
            shutil.copyfile(found, copy)
            os.chmod(copy, 0o644)
            result = _supervise([copy], master, key, float(config["timeout"]), isolation, 1,
                                Progress(1, False))[0]
        except (ConfigError, OSError) as exc:
            result = _invalid(student, master, str(exc))
    data = results_json(result, master)
    data["execution_time"] = round(time.monotonic() - started)
    data["extra_data"].update(isolation=mode, seed_digest=seed_digest(key))
    out = root / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"dscourse {__version__}: graded {student} ({result.status}, {result.total}/{master.total_max}, "
          f"isolation {mode})" + (f": {result.reason}" if result.reason else ""))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dscourse.grading.autograder",
                                     description="Gradescope's run_autograder for a dscourse bundle.")
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, "/autograder"),
                        help="the autograder root (default /autograder)")
    args = parser.parse_args(argv)
    try:
        run(args.root)
    except (ConfigError, OSError, ValueError, KeyError) as exc:
        print(f"dscourse autograder: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
