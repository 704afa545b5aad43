"""The test build of the book: clean, every notebook re-executed, warnings are errors.

Run by ``make test`` after pytest. It builds into a temporary folder (so ``make book``'s cache
is untouched) with ``execute_notebooks: force``, runs ``jupyter-book build . -W -n --keep-going``,
then fails if any entry of ``_toc.yml`` has no HTML page. It prints the build time and each
page's weight (its HTML and the images it shows; the theme's shared assets are not counted),
then runs the browser suite (``tests/browser``, Chromium) against this same build, so the
book is built once. ``--no-browser`` skips that suite; ``--keep`` keeps the build and prints
its path. Exit status 0 means the book is good.
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

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc: dict) -> list[str]:
    """Every ``file:`` entry of a jb-book TOC, root first, in reading order."""
    found = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return found


PLAYER = re.compile(r'<div data-dscourse-player="1"[\s\S]*?<script>DSCoursePlayer\.mount\([^<]*</script></div>')


def page_weights(html: Path, pages: list[str]) -> list[tuple[str, int, int, int, int]]:
    """``(page, html_bytes, image_bytes, players, player_bytes)`` for each built page."""
    rows = []
    for page in pages:
        path = html / f"{Path(page).with_suffix('')}.html"
        text = path.read_text(encoding="utf-8")
        images = 0
        for src in sorted(set(re.findall(r'<img[^>]+src="([^"#?]+)"', text))):
            target = (path.parent / src).resolve()
            if "://" not in src and target.is_file():
                images += target.stat().st_size
        players = PLAYER.findall(text)
        rows.append((page, len(text.encode("utf-8")), images, len(players),
                     sum(len(p.encode("utf-8")) for p in players)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="skip the browser suite (tests/browser)")
    parser.add_argument("--keep", action="store_true", help="keep the build and print its path")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["execute_notebooks"] = "force"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    out = Path(tempfile.mkdtemp(prefix="dscourse-book-"))
    try:
        test_config = out / "_config.yml"
        test_config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        cmd = [
            str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT),
            "--config", str(test_config), "--path-output", str(out),
            "--all", "-W", "-n", "--keep-going",
        ]
        print("+", " ".join(cmd), flush=True)
        started = time.monotonic()
        built = subprocess.run(cmd, cwd=ROOT).returncode
        seconds = time.monotonic() - started
        if built != 0:
            print("book build failed (warnings are errors in the test build)", file=sys.stderr)
            return 1
        html = out / "_build" / "html"
        missing = [f for f in toc_files(toc) if not (html / f"{Path(f).with_suffix('')}.html").is_file()]
        if missing:
            print(f"TOC entries without an HTML page: {missing}", file=sys.stderr)
            return 1
        print(f"book OK: {len(toc_files(toc))} pages built, no warnings, in {seconds:.0f} s")
        total = 0
        in_players = 0
        for page, html_bytes, image_bytes, players, player_bytes in page_weights(html, toc_files(toc)):
            total += html_bytes + image_bytes
            in_players += player_bytes
            print(f"  {page}: {(html_bytes + image_bytes) / 1000:.0f} KB (HTML {html_bytes / 1000:.0f} KB, "
                  f"images {image_bytes / 1000:.0f} KB, {players} players {player_bytes / 1000:.0f} KB)")
        print(f"  all pages: {total / 1000:.0f} KB, of which trace players {in_players / 1000:.0f} KB")
        if args.no_browser:
            return 0
        browser = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "browser"), "-q", "-rs", "-p", "no:randomly"]
        print("+", " ".join(browser), flush=True)
        return subprocess.run(browser, cwd=ROOT, env={**os.environ, "DSCOURSE_BOOK_HTML": str(html)}).returncode
    finally:
        if args.keep:
            print(f"the test build is kept at {out / '_build' / 'html'}")
        else:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
