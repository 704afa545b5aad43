"""Binder works as documented: the environment ``runtime.txt`` and ``requirements.txt`` give.

Run by ``make binder-check`` (not by ``make test``: building the environment takes minutes).
It builds a fresh venv with the Python version ``runtime.txt`` names, installs
``requirements.txt`` into it and nothing else (as Binder's repo2docker does; the repository
has no ``postBuild``), checks that its JupyterLab has the widget manager, ipycytoscape and
jupyterlab-myst, then runs the lab suite (``tests/lab``: every chapter, its MyST and its main
widget in Chromium) against a JupyterLab and kernel from that venv. It prints how long each
stage took. Exit status 0 means Binder's environment works.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "jupyter-cytoscape", "jupyterlab-myst")


def runtime_python() -> str:
    """The interpreter ``runtime.txt`` asks for (``python-3.11`` -> ``python3.11``)."""
    text = (ROOT / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    if match is None:
        raise SystemExit(f"runtime.txt says {text!r}; expected python-X.Y")
    exe = shutil.which(f"python{match.group(1)}")
    if exe is None:
        raise SystemExit(f"runtime.txt asks for Python {match.group(1)}, which is not installed here")
    return exe


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the venv and print its path")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. -k ch06)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dscourse-binder-"))
    venv = work / "venv"
    py = venv / "bin" / "python"
    try:
        started = time.monotonic()
        run([runtime_python(), "-m", "venv", str(venv)])
        run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([str(py), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"])
        built = time.monotonic() - started
        print(f"environment built from runtime.txt and requirements.txt in {built:.0f} s", flush=True)
        listing = subprocess.run([str(venv / "bin" / "jupyter"), "labextension", "list"], capture_output=True,
                                 text=True, check=True)
        text = listing.stdout + listing.stderr
        absent = [e for e in EXTENSIONS if not any(e in ln and "enabled" in ln for ln in text.splitlines())]
        if absent:
            print(f"lab extensions missing or disabled in Binder's environment: {absent}\n{text}", file=sys.stderr)
            return 1
        print(f"lab extensions enabled: {', '.join(EXTENSIONS)}")
        started = time.monotonic()
        cmd = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "lab"), "-q", "-rs", "-p", "no:randomly",
               *args.pytest_args]
        print("+", " ".join(cmd), flush=True)
        env = {**os.environ, "DSCOURSE_LAB_PYTHON": str(py), "DSCOURSE_REAL_SERVERS": "1"}
        code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        print(f"lab suite against Binder's environment: exit {code}, {time.monotonic() - started:.0f} s "
              f"(environment build {built:.0f} s)")
        return code
    finally:
        if args.keep:
            print(f"the venv is kept at {venv}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
