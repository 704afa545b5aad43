"""The exercise notebook format, and ``dscourse assign`` (master -> student notebook).

A **master** notebook (``exercises/source/chNN.ipynb``) holds, besides prose:

* **answer cells**: code cells whose first line is ``# ANSWER E1.1``; the solution sits
  between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines (several regions per cell are
  fine; put them inside ``def`` bodies so that the generated stub cell still runs);
* **test cells**: code cells defining functions decorated with
  ``@ds.grading.test("E1.1", points=2)`` (public) or ``@ds.grading.test("E1.1", points=3,
  hidden=True)`` (hidden); a cell holds only public or only hidden tests. Arguments must be
  literals, because ``assign`` and ``grade`` read them without running the cell;
* notebook metadata ``{"dscourse": {"exercise_set": "ch01"}}``.

:func:`assign` writes the **student** notebook: each solution region becomes a stub that
raises ``NotImplementedError`` with a helpful message, hidden test cells are removed, outputs
are cleared, and answer cells get the cell metadata ``{"dscourse": {"answer": "E1.1"}}``.
The result depends only on the master (sorted JSON keys, stable cell ids), so it is
deterministic.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, allowed

ANSWER = re.compile(r"^#\s*ANSWER\s+(E\d+\.\d+)\s*$")
BEGIN = re.compile(r"^(\s*)#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
MAX_NOTEBOOK = 20 << 20


@dataclass(frozen=True)
class TestCell:
    """A test cell: its source, exercise id(s), and whether it is hidden."""

    index: int
    source: str
    exercises: tuple[str, ...]
    hidden: bool


def read_notebook(path: str | Path) -> dict:
    """Load a notebook as JSON with basic shape checks (raises ``ConfigError``)."""
    p = Path(path)
    if p.suffix != ".ipynb":
        raise ConfigError(f"{p.name} is not a .ipynb notebook")
    if p.stat().st_size > MAX_NOTEBOOK:
        raise ConfigError(f"{p.name} is larger than {MAX_NOTEBOOK >> 20} MiB")
    try:
        nb = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{p.name} is not a notebook (not valid JSON: {str(exc)[:80]})") from None
    except RecursionError:
        raise ConfigError(f"{p.name} is not a notebook (its JSON is nested too deeply)") from None
    if type(nb) is not dict or type(nb.get("cells")) is not list or nb.get("nbformat") != 4:
        raise ConfigError(f"{p.name} is not a Jupyter notebook in format 4")
    return nb


def source(cell: Any) -> str:
    """A cell's source as one string ('' for anything malformed)."""
    if type(cell) is not dict:
        return ""
    src = cell.get("source", "")
    if type(src) is list and all(type(s) is str for s in src):
        return "".join(src)
    return src if type(src) is str else ""


def exercise_set(nb: dict) -> str | None:
    """The notebook's exercise set id (``metadata.dscourse.exercise_set``), if any."""
    meta = nb.get("metadata")
    ds = meta.get("dscourse") if type(meta) is dict else None
    value = ds.get("exercise_set") if type(ds) is dict else None
    return value if type(value) is str else None


def answer_id(cell: Any) -> str | None:
    """The exercise an answer cell belongs to (header line or cell metadata), else None."""
    if type(cell) is not dict or cell.get("cell_type") != "code":
        return None
    first = source(cell).split("\n", 1)[0]
    m = ANSWER.match(first)
    if m:
        return m.group(1)
    meta = cell.get("metadata")
    ds = meta.get("dscourse") if type(meta) is dict else None
    value = ds.get("answer") if type(ds) is dict else None
    return value if type(value) is str and re.fullmatch(r"E\d+\.\d+", value) else None


def answer_cells(nb: dict) -> list[tuple[str, str]]:
    """``(exercise, source)`` of every answer cell, in notebook order."""
    return [(ex, source(c)) for c in nb["cells"] if (ex := answer_id(c)) is not None]


def test_cell(index: int, cell: Any) -> TestCell | None:
    """Parse a code cell's ``@ds.grading.test(...)`` decorators without running it."""
    if type(cell) is not dict or cell.get("cell_type") != "code":
        return None
    src = source(cell)
    if "test" not in src:
        return None
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return None
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and _is_test_decorator(dec.func)):
                continue
            if not dec.args or not isinstance(dec.args[0], ast.Constant) or \
                    not isinstance(dec.args[0].value, str):
                raise allowed(f"test {node.name} exercise id", ast.unparse(dec),
                              "a literal id as the first argument")
            hidden = False
            for kw in dec.keywords:
                if kw.arg == "hidden":
                    if not isinstance(kw.value, ast.Constant) or not isinstance(kw.value.value, bool):
                        raise allowed(f"test {node.name} hidden", ast.unparse(kw.value), "True or False")
                    hidden = kw.value.value
            found.append((dec.args[0].value, hidden))
    if not found:
        return None
    kinds = {h for _, h in found}
    if len(kinds) > 1:
        raise ConfigError(f"cell {index} mixes public and hidden tests: put them in separate cells")
    return TestCell(index, src, tuple(dict.fromkeys(ex for ex, _ in found)), kinds.pop())


def _is_test_decorator(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "test"
    return isinstance(func, ast.Name) and func.id == "test"


def test_cells(nb: dict) -> list[TestCell]:
    """Every test cell of a notebook, in order."""
    return [tc for i, c in enumerate(nb["cells"]) if (tc := test_cell(i, c)) is not None]


# ---- assign ---------------------------------------------------------------------------------------


def stub(src: str, exercise: str) -> str:
    """Replace each solution region of an answer cell by a ``NotImplementedError`` stub."""
    lines = src.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if END.match(lines[i]):
                raise ConfigError(f"answer cell {exercise}: '# END SOLUTION' without a BEGIN")
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ConfigError(f"answer cell {exercise}: '# BEGIN SOLUTION' without an END")
        indent = m.group(1)
        where = _enclosing(lines[:i], len(indent))
        out.append(f"{indent}# YOUR CODE HERE")
        out.append(f'{indent}raise NotImplementedError("{exercise}: write {where} '
                   '(see the exercise text above)")')
        i = j + 1
    return "\n".join(out)


def _enclosing(before: list[str], indent: int) -> str:
    """``Class.method`` (or ``function``) around a line at ``indent``, from the lines above."""
    names: list[str] = []
    level = indent
    for line in reversed(before):
        m = re.match(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)", line)
        if m and len(m.group(1)) < level:
            names.append(m.group(3) + ("()" if m.group(2) == "def" and not names else ""))
            level = len(m.group(1))
            if level == 0:
                break
    return ".".join(reversed(names)) if names else "your code"


def _cell_id(kind: str, index: int, text: str) -> str:
    return f"{kind}-{index}-" + hashlib.sha256(text.encode()).hexdigest()[:8]


def assign(master: dict) -> dict:
    """The student notebook for ``master`` (a new dict; the master is not modified)."""
    if exercise_set(master) is None:
        raise ConfigError("the master has no metadata.dscourse.exercise_set (e.g. 'ch01')")
    answers = [ex for ex, _ in answer_cells(master)]
    if not answers:
        raise ConfigError("the master has no answer cells ('# ANSWER E1.1' first lines)")
    hidden = {tc.index for tc in test_cells(master) if tc.hidden}
    cells: list[dict] = []
    for i, cell in enumerate(master["cells"]):
        if i in hidden:
            continue
        kind = cell.get("cell_type")
        text = source(cell)
        new: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": text}
        ex = answer_id(cell)
        if ex is not None:
            if not BEGIN.search(text) and "BEGIN SOLUTION" not in text:
                raise ConfigError(f"answer cell {ex} has no '# BEGIN SOLUTION' region")
            new["source"] = stub(text, ex)
            new["metadata"] = {"dscourse": {"answer": ex}}
        tags = cell.get("metadata", {}).get("tags")
        if tags:
            new["metadata"]["tags"] = list(tags)
        if kind == "code":
            new.update(execution_count=None, outputs=[])
        new["id"] = _cell_id(kind, len(cells), new["source"])
        cells.append(new)
    meta = {k: v for k, v in master.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    meta["dscourse"] = {"exercise_set": exercise_set(master), "role": "student"}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def dumps(nb: dict) -> str:
    """Serialize a notebook the way Jupyter does (indent 1, sorted keys, trailing newline)."""
    out = dict(nb)
    out["cells"] = [dict(c, source=_lines(c["source"])) if type(c.get("source")) is str else c
                    for c in nb["cells"]]
    return json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def assign_file(master_path: str | Path, out_path: str | Path | None = None) -> Path:
    """``dscourse assign``: write the student notebook (default: the master's parent's parent)."""
    master_path = Path(master_path)
    master = read_notebook(master_path)
    out = Path(out_path) if out_path else master_path.parent.parent / master_path.name
    if out.resolve() == master_path.resolve():
        raise allowed("output", str(out), "a path other than the master")
    out.write_text(dumps(assign(master)), encoding="utf-8")
    return out
