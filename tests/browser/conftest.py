"""The browser suite: the built HTML book in Debian's Chromium, driven by Playwright for Python.

It runs against a book that is already built: ``tests/build_book.py`` (run by ``make test``)
builds the book once and then runs this suite with ``DSCOURSE_BOOK_HTML`` set to the
build's ``_build/html``; after ``make book`` you can run it yourself with
``DSCOURSE_BOOK_HTML=_build/html .venv/bin/python -m pytest tests/browser``.

Chromium comes from the distribution (``apt-get install chromium``), never from
``playwright install``. On a reader's machine without it the suite skips with one line; in CI
(``DSCOURSE_REAL_SERVERS=1``, exported by ``.ci/run``) a missing browser or book is a failure.
The pages are served from a loopback HTTP server; every request to another host is aborted,
so the check also proves the book needs no network.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DSCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MANDATORY = os.environ.get("DSCOURSE_REAL_SERVERS", "") not in ("", "0")

sys.path.insert(0, str(ROOT / "tests"))
from build_book import toc_files  # noqa: E402


def _missing() -> str | None:
    """Why the suite cannot run here (no Chromium, no Playwright), or None."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium (or Playwright) on a reader's machine, set the whole suite aside and
    say so in one line at the end of the run; in CI the fixtures fail instead."""
    reason = _missing()
    if reason is None or MANDATORY:
        return
    ours = [i for i in items if HERE in Path(str(i.path)).resolve().parents]
    if ours:
        items[:] = [i for i in items if i not in ours]
        config.hook.pytest_deselected(items=ours)
        config.stash[_SKIPPED] = f"browser suite skipped ({len(ours)} tests): {reason}"


_SKIPPED = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: pytest.Config) -> None:
    if _SKIPPED in config.stash:
        terminalreporter.write_line(config.stash[_SKIPPED])


def _unavailable(reason: str) -> None:
    if MANDATORY:
        pytest.fail(f"browser suite is mandatory here (DSCOURSE_REAL_SERVERS=1): {reason}", pytrace=False)
    pytest.skip(f"browser suite skipped: {reason}")


def book_html() -> Path | None:
    value = os.environ.get("DSCOURSE_BOOK_HTML")
    return Path(value).resolve() if value else None


def pages() -> list[str]:
    """The book's pages in reading order, as paths relative to the HTML root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{Path(f).with_suffix('')}.html" for f in toc_files(toc)]


def chapters() -> list[str]:
    return [p for p in pages() if Path(p).name.startswith("ch") and p.startswith("book/")]


@pytest.fixture(scope="session")
def html_root() -> Path:
    root = book_html()
    if root is None:
        if MANDATORY:
            pytest.fail("DSCOURSE_BOOK_HTML is unset: tests/build_book.py runs this suite after the build",
                        pytrace=False)
        pytest.skip("browser suite runs after the book build (tests/build_book.py sets DSCOURSE_BOOK_HTML)")
    if not (root / "index.html").is_file() and not any(root.glob("book/*.html")):
        pytest.fail(f"DSCOURSE_BOOK_HTML={root} holds no built book", pytrace=False)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def server(html_root: Path) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", _free_port()), partial(_Quiet, directory=str(html_root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser_context() -> Iterator[object]:
    """One Chromium (a fresh profile) for the session; only loopback requests go out."""
    reason = _missing()
    if reason is not None:
        _unavailable(reason)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="dscourse-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 900}, service_workers="block")

        def only_local(route):
            url = route.request.url
            if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:", "about:")):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", only_local)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


# Errors the book's toolchain raises on every page, not our assets (each with its cause):
FOREIGN_ERRORS = (
    # jupyter-book 1.x emits sphinx-thebe's configuration <script> (const THEBE_JS_URL = ...)
    # twice in every page's head; the second declaration throws. Thebe is off in _config.yml.
    "Identifier 'THEBE_JS_URL' has already been declared",
)


class Visit:
    """One loaded page and the problems it reported. ``errors`` are ours: uncaught
    exceptions (except the toolchain's, :data:`FOREIGN_ERRORS`), console errors from the
    page's own inline scripts (the players), failed or 4xx/5xx requests to the book's own
    server, and players that failed to mount. ``foreign`` holds what the theme's own files
    in ``_static/`` report. Requests to other hosts are aborted on purpose and not counted."""

    def __init__(self, context: object, server: str, path: str) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("pageerror", self._uncaught)
        self.page.on("console", self._console)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)
        self.server = server
        self.page.goto(server + path, wait_until="load")
        self.page.wait_for_timeout(150)   # deferred scripts
        unmounted = self.page.evaluate(
            "() => Array.from(document.querySelectorAll('[data-dscourse-player]'))"
            ".filter(r => !r.querySelector('.dsp-controls') || r.hasAttribute('data-dscourse-error'))"
            ".map(r => r.id + ': ' + (r.getAttribute('data-dscourse-error') || 'not mounted'))")
        self.errors.extend(f"player {u}" for u in unmounted)

    def _ours(self, url: str) -> bool:
        return url.startswith(self.server)

    def _uncaught(self, exc: object) -> None:
        text = str(exc)
        (self.foreign if any(f in text for f in FOREIGN_ERRORS) else self.errors).append(f"uncaught: {text}")

    def _console(self, msg: object) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if not self._ours(where):
            return   # a blocked request to another host, or a script from another host
        if "/_static/" in where:
            self.foreign.append(f"console: {msg.text} ({where})")
        else:
            self.errors.append(f"console: {msg.text} ({where})")

    def _failed(self, request: object) -> None:
        if self._ours(request.url):
            self.errors.append(f"request failed: {request.url}")

    def _response(self, response: object) -> None:
        if self._ours(response.url) and response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def visit(browser_context: object, server: str) -> Iterator[object]:
    opened: list[Visit] = []

    def open_page(path: str) -> Visit:
        v = Visit(browser_context, server, path)
        opened.append(v)
        return v

    yield open_page
    for v in opened:
        v.close()


_CLICKABLE_MESSAGE = """r => {
  for (const line of r.querySelectorAll('.dsp-spacetime .dsp-hit, .dsp-cluster .dsp-flying')) {
    line.scrollIntoView({block: 'center', inline: 'center'});
    const b = line.getBoundingClientRect();
    if (document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2) === line) return line;
  }
  return null;
}"""


def click_a_message(root: object) -> str | None:
    """Really click (mouse, not a synthetic event) a message of a player: the first arrow of
    the space-time diagram (or dot of the cluster view) that nothing covers. Returns the
    detail pane's text afterwards, or None if no message is visible at the cursor."""
    target = root.evaluate_handle(_CLICKABLE_MESSAGE).as_element()
    if target is None:
        return None
    target.click()
    return root.locator(".dsp-detail").inner_text()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that set the whole suite aside is not a failure (pytest would exit 5: no tests)."""
    if _SKIPPED in session.config.stash and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
