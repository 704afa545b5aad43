"""The test build of the book: clean, every notebook re-executed, warnings are errors.

Run by ``make test`` after pytest. It builds into a temporary folder (so ``make book``'s cache
is untouched) with ``execute_notebooks: force``, runs ``jupyter-book build . -W -n --keep-going``,
then fails if any entry of ``_toc.yml`` has no HTML page. Exit status 0 means the book is good.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
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


def main() -> int:
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
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            print("book build failed (warnings are errors in the test build)", file=sys.stderr)
            return 1
        html = out / "_build" / "html"
        missing = [f for f in toc_files(toc) if not (html / f"{Path(f).with_suffix('')}.html").is_file()]
        if missing:
            print(f"TOC entries without an HTML page: {missing}", file=sys.stderr)
            return 1
        print(f"book OK: {len(toc_files(toc))} pages built, no warnings")
        return 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
