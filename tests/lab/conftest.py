"""The lab suite: the chapters in a real JupyterLab, in Debian's Chromium (Playwright for Python).

One JupyterLab server (a free loopback port, no token, a temporary root holding copies of
the chapters) and one Chromium serve every test of a pytest process; both are stopped at
the end (the server by its process id). ``DSCOURSE_LAB_PYTHON`` names the Python whose
JupyterLab and kernel to test (default: this one); ``make binder-check`` points it at a
fresh venv built from ``requirements.txt`` alone.

On a reader's machine without Chromium or Playwright the module skips with one line; in CI
(``DSCOURSE_REAL_SERVERS=1``, exported by ``.ci/run``) that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .labserver import LabServer, copy_book, start

CHROMIUM = os.environ.get("DSCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MANDATORY = os.environ.get("DSCOURSE_REAL_SERVERS", "") == "1"
LAB_PYTHON = Path(os.environ.get("DSCOURSE_LAB_PYTHON", sys.executable))


def missing() -> str | None:
    """Why the suite cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not LAB_PYTHON.exists():
        return f"DSCOURSE_LAB_PYTHON={LAB_PYTHON} does not exist"
    return None


def skip_or_fail_module() -> None:
    """Call at the top of a test module: one skip line for the whole module on a reader's
    machine, a failure in CI."""
    reason = missing()
    if reason is None:
        return
    if MANDATORY:
        pytest.fail(f"the lab suite is mandatory here (DSCOURSE_REAL_SERVERS=1): {reason}", pytrace=False)
    pytest.skip(f"lab suite skipped: {reason}", allow_module_level=True)


@pytest.fixture(scope="session")
def lab_server() -> Iterator[LabServer]:
    work = Path(tempfile.mkdtemp(prefix="dscourse-lab-"))
    root = work / "root"
    copy_book(root)
    server = start(LAB_PYTHON, root, work)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium (a fresh profile) for the session; only loopback requests go out."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="dscourse-lab-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 1000}, service_workers="block")

        def only_local(route: object) -> None:
            url = route.request.url
            if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:", "about:")):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", only_local)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def lab_page(lab_server: LabServer, chromium: object) -> Iterator[object]:
    """JupyterLab loaded once; each test opens its notebook in it and closes it after."""
    page = chromium.new_page()
    page.set_default_timeout(30_000)
    page.goto(lab_server.url + "lab", wait_until="load")
    page.wait_for_function("() => window.jupyterapp && jupyterapp.started && jupyterapp.restored", timeout=180_000)
    page.evaluate("() => jupyterapp.restored")
    yield page
    page.close()
