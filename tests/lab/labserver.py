"""A JupyterLab server for the lab suite: a free loopback port, no token, a temporary root.

The server runs from a given Python environment (the project's ``.venv`` by default; the
Binder check passes a fresh venv built from ``requirements.txt`` alone), so its kernel,
widgets and lab extensions are that environment's. Every Jupyter, JupyterLab and IPython
directory points into a temporary folder, so a reader's own settings, kernels and
workspaces cannot change what the test sees. Notebook windowing is off (every cell is in
the page, so every markdown cell is rendered). It is stopped by its process id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "real"))
import realservers  # noqa: E402  (the free-port and stop-by-pid helpers of the real-server fixtures)

# Lab settings for the test: all cells rendered (no virtual scrolling), no news or update checks.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


@dataclass
class LabServer:
    url: str
    root: Path
    proc: subprocess.Popen
    log: IO[str]
    log_path: Path

    def stop(self) -> None:
        realservers.stop(self.proc, self.log)


def copy_book(root: Path) -> list[str]:
    """Copy the chapters (and what they read: the bibliography) into ``root/book``; returns
    the chapter notebooks' paths relative to ``root``."""
    (root / "book").mkdir(parents=True)
    for path in sorted((ROOT / "book").iterdir()):
        if path.is_file():
            shutil.copy2(path, root / "book" / path.name)
    return [f"book/{p.name}" for p in sorted((root / "book").glob("ch*.ipynb"))]


def start(python: Path, root: Path, work: Path, timeout: float = 180) -> LabServer:
    """Start ``python -m jupyterlab`` serving ``root``; return once its API answers."""
    for name, values in SETTINGS.items():
        target = work / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.pop("DSCOURSE_STATIC", None)   # live widgets, not static figures
    env.update(JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_DATA_DIR=str(work / "data"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"), IPYTHONDIR=str(work / "ipython"))
    port = realservers.free_port()
    cmd = [str(python), "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.extension_manager=readonly"]
    log_path = work / "jupyterlab.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}/"
    server = LabServer(url, root, proc, log, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "api/status", timeout=5) as reply:
                if reply.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.3)
