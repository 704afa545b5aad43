"""Checks of the repository itself: table of contents, notebooks, glossary, setup commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from build_book import toc_files  # noqa: E402 - importable only after the sys.path line above

CURRICULUM = ROOT.parent / "shared" / "curriculum.md"
SNAPSHOT = ROOT / "tests" / "data" / "curriculum_glossary.tsv"


def notebooks() -> list[Path]:
    """Notebooks readers and students open: book/ and exercises/ (not the instructors' masters)."""
    found = sorted((ROOT / "book").rglob("*.ipynb")) + sorted((ROOT / "exercises").rglob("*.ipynb"))
    return [p for p in found if "source" not in p.relative_to(ROOT).parts and ".ipynb_checkpoints" not in p.parts]


def toc_entries() -> list[str]:
    return toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))


def test_every_notebook_is_in_the_toc():
    listed = set(toc_entries())
    missing = [str(nb.relative_to(ROOT)) for nb in notebooks()
               if nb.relative_to(ROOT).with_suffix("").as_posix() not in listed]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


def test_every_toc_entry_exists():
    absent = [e for e in toc_entries() if not any((ROOT / f"{e}{ext}").is_file() for ext in (".md", ".ipynb"))]
    assert not absent, f"_toc.yml entries with no .md or .ipynb file: {absent}"


def test_toc_has_no_duplicates():
    entries = toc_entries()
    assert len(entries) == len(set(entries)), entries


def test_config_builds_only_toc_files():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["execute"]["timeout"] > 0


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_valid_and_clean(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernel must be python3"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code and all(c.get("execution_count") for c in code), "commit notebooks executed"
    for cell in code:
        if "raises-exception" in cell.metadata.get("tags", []):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"error output in an untagged cell: {cell.source[:80]!r}"


def curriculum_glossary() -> list[tuple[str, str, str]]:
    rows = [line.split("\t") for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    return [tuple(r) for r in rows]


def test_glossary_snapshot_matches_the_curriculum():
    if not CURRICULUM.exists():
        pytest.skip(f"{CURRICULUM} is not beside this clone; the committed snapshot is checked instead")
    section = CURRICULUM.read_text(encoding="utf-8").split("## 5. Glossary", 1)[1]
    live = [
        tuple(c.strip() for c in line.strip().strip("|").split("|"))
        for line in section.splitlines()
        if line.startswith("|") and not line.startswith("|---") and "English term" not in line
    ]
    assert live == curriculum_glossary(), "re-snapshot tests/data/curriculum_glossary.tsv and update book/glossary.md"


def test_glossary_page_has_every_term():
    page = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    body = page.split("```{glossary}", 1)[1]
    terms = set(re.findall(r"^(\S.*)$", body, flags=re.M)) - {"```", ":sorted:"}
    rows = curriculum_glossary()
    assert len(rows) >= 100
    for english, chinese, definition in rows:
        term = english.replace("†", "").strip()
        assert term in terms, f"glossary term missing: {term}"
        assert chinese.replace("†", "").strip() in body, f"Chinese term missing for {term}"
        assert definition in body, f"definition missing for {term}"


def glossary_terms() -> set[str]:
    """The glossary's entries, lower-cased as Sphinx matches ``{term}`` targets."""
    body = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8").split("```{glossary}", 1)[1]
    body = body.split("\n```", 1)[0]
    return {t.strip().lower() for t in re.findall(r"^(\S.*)$", body, flags=re.M)} - {":sorted:"}


def term_targets(text: str) -> list[str]:
    """The targets of every ``{term}`` role: ``{term}`Paxos``` and ``{term}`text <Paxos>```."""
    found = []
    for content in re.findall(r"(?<!`)\{term\}`([^`]+)`", text):
        explicit = re.match(r"^.*<([^<>]+)>\s*$", content, flags=re.S)
        found.append(" ".join((explicit.group(1) if explicit else content).split()))
    return found


def page_text(page: Path) -> str:
    """A page's MyST: a Markdown file, or a notebook's Markdown cells (not its JSON escapes)."""
    if page.suffix != ".ipynb":
        return page.read_text(encoding="utf-8")
    nb = nbformat.read(page, as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_term_targets_parse_both_forms():
    text = "a {term}`Raft` and {term}`leaders <Leader election>` and {term}`x\ny <Quorum\n node>`"
    assert term_targets(text + " (the `{term}` role)") == ["Raft", "Leader election", "Quorum node"]


def test_every_term_link_names_a_glossary_entry():
    """A ``{term}`` link to a missing entry is a build warning, which fails the book build late
    and far from the edit; this names the page and the term at once."""
    terms = glossary_terms()
    pages = list((ROOT / "book").rglob("*.md")) + notebooks() + sorted((ROOT / "exercises" / "source").glob("*.ipynb"))
    missing = sorted(
        (str(page.relative_to(ROOT)), target)
        for page in pages
        for target in term_targets(page_text(page))
        if target.lower() not in terms
    )
    assert not missing, f"{{term}} links to terms not in book/glossary.md: {missing}"


def test_readme_promises_two_setup_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make book" in readme and "make test" in readme
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert any(ln.strip().endswith("make test") for ln in ci), ci


def test_console_script_reports_the_version():
    import dscourse

    exe = Path(sys.executable).with_name("dscourse")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"dscourse {dscourse.__version__}"


def test_widget_lab_extensions_are_enabled():
    exe = Path(sys.executable).with_name("jupyter")
    result = subprocess.run([str(exe), "labextension", "list"], capture_output=True, text=True, check=True)
    listing = result.stdout + result.stderr
    for ext in ("@jupyter-widgets/jupyterlab-manager", "jupyter-cytoscape"):
        line = next((ln for ln in listing.splitlines() if ext in ln), "")
        assert "enabled" in line and "OK" in line, f"{ext} not enabled:\n{listing}"


def test_bibliography_has_every_cited_key():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    cited: set[str] = set()
    for page in list((ROOT / "book").rglob("*.md")) + notebooks():
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text(encoding="utf-8")):
            cited.update(k.strip() for k in group.split(","))
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"


def test_test_modules_have_unique_basenames():
    """pytest imports test files without an ``__init__.py`` by basename: two folders holding a
    ``test_labs.py`` would make the whole-suite run fail to collect one of them."""
    seen: dict[str, Path] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if (path.parent / "__init__.py").exists():
            continue
        assert path.name not in seen, f"{path.relative_to(ROOT)} and {seen[path.name].relative_to(ROOT)}"
        seen[path.name] = path


def prose(markdown: str) -> str:
    """Markdown without its code (fenced and inline) and math, where ``**`` means itself."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return re.sub(r"\$[^$\n]*\$", "", re.sub(r"`[^`\n]*`", "", text))


def test_prose_strips_code_and_math_only():
    assert prose("a `2**64` b ```\nx**y\n``` $2**3$ c**d") == "a  b   c**d"


@pytest.mark.parametrize("path", notebooks() + sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.name)
def test_no_power_sign_in_prose(path: Path):
    """``2**64`` outside code renders as bold text running to the next ``**``."""
    found = [m.group(0) for m in re.finditer(r"\w\*\*\w", prose(page_text(path)))]
    assert not found, f"write powers as code (`2**64`) or math: {found}"
