"""No chapter or student notebook gives away a master's solution or a hidden test's expected value.

* **Solution text.** Every line between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` in
  ``exercises/source/*.ipynb`` is normalised to its Python tokens (comments, whitespace,
  quotes, brackets, commas and colons dropped: ``(15, ("cut", "p", "b")),`` -> ``15 cut p b``).
  What must not appear is any two consecutive solution lines (as one token run) of which one
  is non-trivial, and any non-trivial line of :data:`LONG_LINE` tokens or more: a single
  short line (``if isinstance(msg, Heartbeat):``) is too common to prove a leak. A line is
  *non-trivial* when it keeps at least :data:`MIN_TOKENS` tokens, one of them a
  literal (number or string) or a name other than a keyword, and it does not also occur in
  the master outside its solution blocks, in code or in its text's code (a stub's
  ``return []``, or a call the exercise's own text names, gives nothing away).
  Chapters (``book/ch*.ipynb``) and student notebooks (``exercises/*.ipynb``) must not contain
  such a token run, contiguous, in any code cell, a code cell's text output (printed, or
  source shown with ``ds.show``) or any markdown cell's code (inline and fenced), however it
  is formatted.
* **Hidden expected values.** In the hidden test cells (``hidden=True``) of each master, the
  constants compared against (the right-hand side of ``==``/``!=``/``in`` or an argument of
  ``t.equal``/``t.expect``) that are specific (strings of 6+ characters, numbers of 3+ digits,
  containers of 2+ constants) and that appear in none of the master's public cells must not
  appear (as their ``repr``) in a chapter or a student notebook.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "exercises" / "source").glob("*.ipynb"))
READERS = sorted((ROOT / "book").glob("ch*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
MIN_TOKENS = 4
LONG_LINE = 10
_DROP = {"(", ")", "[", "]", "{", "}", ",", ":", ";"}


def tokens(code: str) -> list[str]:
    """``code``'s tokens, normalised (see the module docstring); tolerant of partial code."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.STRING:
                try:
                    value = ast.literal_eval(tok.string)
                except (ValueError, SyntaxError):
                    value = tok.string
                out.append(str(value))
            elif tok.type in (tokenize.NAME, tokenize.NUMBER) or (tok.type == tokenize.OP and tok.string not in _DROP):
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out.extend(t for t in re.findall(r"\w+|[^\w\s]", code) if t not in _DROP and t not in "'\"")
    return out


_COMMON = frozenset(dir(builtins)) | {"self", "cls"}


def _specific(toks: list[str]) -> bool:
    """At least MIN_TOKENS tokens, one a literal or a name that is not a keyword, a builtin or
    one letter (``for i in range(n):`` is not specific; ``self.write_back(ts, value)`` is)."""
    def telling(t: str) -> bool:
        if not t or keyword.iskeyword(t) or t in _COMMON:
            return False
        if t.isidentifier():
            return len(t) > 1
        return t[0].isdigit() or t[0] not in "+-*/%<>=!&|^~.@"
    return len(toks) >= MIN_TOKENS and any(telling(t) for t in toks)


def solution_lines(master: Path) -> list[tuple[str, tuple[str, ...]]]:
    """The master's give-aways: each pair of consecutive solution lines (blank and comment-only
    lines skipped) with a non-trivial line among them, and each non-trivial line of
    :data:`LONG_LINE` tokens or more, as (text, token sequence)."""
    nb = nbformat.read(master, as_version=4)
    blocks: list[list[str]] = []
    outside: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        active = False
        for line in cell.source.splitlines():
            if "# BEGIN SOLUTION" in line:
                active = True
                blocks.append([])
            elif "# END SOLUTION" in line:
                active = False
            elif active:
                if tokens(line):
                    blocks[-1].append(line)
            else:
                outside.append(line)
    public = [tokens(line) for line in outside]
    public += [seq for cell in nb.cells if cell.cell_type == "markdown" for seq in _markdown_code(cell.source)]

    def novel(toks: tuple[str, ...]) -> bool:
        return _specific(list(toks)) and not any(_contains(seq, toks) for seq in public)

    found = []
    for block in blocks:
        toks = [tuple(tokens(line)) for line in block]
        for k, line in enumerate(block):
            if len(toks[k]) >= LONG_LINE and novel(toks[k]):
                found.append((line.strip(), toks[k]))
            if k + 1 < len(block) and (novel(toks[k]) or novel(toks[k + 1])):
                found.append((line.strip() + " / " + block[k + 1].strip(), toks[k] + toks[k + 1]))
    return found


def _contains(haystack: list[str], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    first = needle[0]
    return any(haystack[i] == first and tuple(haystack[i:i + n]) == needle for i in range(len(haystack) - n + 1))


def reader_code(path: Path) -> list[list[str]]:
    """The token sequences a reader sees as code: code cells, and code inside markdown."""
    nb = nbformat.read(path, as_version=4)
    seqs = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            seqs.append(tokens(cell.source))
            for out in cell.get("outputs", []):       # printed text and shown source (ds.show)
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                if text:
                    seqs.append(tokens("".join(text)))
        elif cell.cell_type == "markdown":
            seqs.extend(_markdown_code(cell.source))
    return seqs


def _markdown_code(source: str) -> list[list[str]]:
    """Token sequences of a markdown cell's fenced blocks and inline code spans."""
    blocks = [tokens(b) for b in re.findall(r"```[^\n]*\n(.*?)```", source, re.S)]
    return blocks + [tokens(s) for s in re.findall(r"`([^`\n]+)`", source)]


def _constant(node: ast.AST) -> object | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value if len(value) >= 6 else None
    if isinstance(value, (int, float)):
        return value if len(re.sub(r"[^0-9]", "", repr(value)).lstrip("0")) >= 3 else None
    if isinstance(value, (tuple, list, set, frozenset, dict)):
        return value if len(value) >= 2 else None
    return None


def hidden_expected(master: Path) -> set[str]:
    """``repr`` of the specific constants hidden tests compare against and public cells never show."""
    nb = nbformat.read(master, as_version=4)
    public_text = "\n".join(c.source for c in nb.cells if "hidden=True" not in c.source)
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or "hidden=True" not in cell.source:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        candidates: list[ast.AST] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                candidates.extend([node.left, *node.comparators])
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("equal", "expect"):
                candidates.extend(node.args)
        for cand in candidates:
            value = _constant(cand)
            if value is None:
                continue
            text = repr(value)
            shown = text if not isinstance(value, str) else value
            if shown not in public_text and text not in public_text:
                found.add(text)
    return found


def test_tokens_normalise_formatting_away():
    assert tokens('(15, ("cut", "p", "b")),  # comment') == ["15", "cut", "p", "b"]
    assert tokens("store.apply([(15, 'cut', 'p', 'b')])") == ["store", ".", "apply", "15", "cut", "p", "b"]
    assert _contains(tokens("store.apply([(15, 'cut', 'p', 'b')])"), tuple(tokens('(15, ("cut", "p", "b")),')))
    assert not _contains(tokens("(16, 'cut', 'p', 'b')"), tuple(tokens('(15, ("cut", "p", "b"))')))


def test_every_master_has_solutions_the_check_can_see():
    assert MASTERS
    for master in MASTERS:
        assert solution_lines(master), f"{master.name}: no non-trivial solution line found"


def test_a_planted_leak_is_found(tmp_path):
    master = MASTERS[0]
    line, toks = solution_lines(master)[0]
    planted = "\n".join(part.strip() for part in line.split(" / "))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n" + planted + "\n")])
    path = tmp_path / "leaky.ipynb"
    nbformat.write(nb, path)
    assert any(_contains(seq, toks) for seq in reader_code(path)), line


@pytest.mark.parametrize("reader", READERS, ids=[str(p.relative_to(ROOT)) for p in READERS])
def test_no_solution_line_or_hidden_value_appears_in_what_readers_see(reader):
    code = reader_code(reader)
    nb = nbformat.read(reader, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    leaks = []
    for master in MASTERS:
        for line, toks in solution_lines(master):
            if any(_contains(seq, toks) for seq in code):
                leaks.append(f"{master.name} solution line: {line}")
        for value in sorted(hidden_expected(master)):
            if value in text:
                leaks.append(f"{master.name} hidden expected value: {value}")
    assert not leaks, f"{reader.relative_to(ROOT)} gives away:\n" + "\n".join(leaks)


def test_a_hidden_expected_value_is_found_and_a_public_one_is_not(tmp_path):
    cells = [nbformat.v4.new_code_cell('@ds.grading.test("E9.1", points=1)\ndef pub(t, f):\n    assert f(2) == 4\n'
                                       '    assert f(3) == "public-answer"\n'),
             nbformat.v4.new_code_cell('@ds.grading.test("E9.1", points=1, hidden=True)\ndef hid(t, f):\n'
                                       '    assert f(7) == 40320\n    assert f(8) in ("secret-one", "secret-two")\n'
                                       '    t.equal(f(3), "public-answer")\n    assert f(1) == 12\n')]
    path = tmp_path / "master.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    assert hidden_expected(path) == {"40320", "('secret-one', 'secret-two')"}
