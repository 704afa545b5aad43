"""check() in a real kernel says that the answer cell failed, and why, instead of testing an
older definition or pointing at NotImplementedError (issue 23, item 6)."""

from __future__ import annotations

import nbclient
import nbformat


def _code(src: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(src)


CELLS = [
    "import dscourse as ds",
    '@ds.grading.test("E9.41", points=1)\ndef returns_one(t, f):\n    """f() returns 1."""\n'
    "    assert f() == 1, 'f() should return 1'\n",
    "# ANSWER E9.41\ndef f():\n    return 1\n\n\nraise ValueError('boom')\n",      # raises while it runs
    'ds.grading.check("E9.41")',
    "# ANSWER E9.41\ndef f():\n    return 1\n",                                     # fixed
    "x = f() / 0",                                                                  # another cell raises
    'ds.grading.check("E9.41")',
    "# ANSWER E9.41\ndef f(:\n    return 1\n",                                      # a syntax error
    'ds.grading.check("E9.41")',
]


def test_check_reports_the_answer_cells_own_failure_only():
    nb = nbformat.v4.new_notebook(cells=[_code(c) for c in CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    texts = ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in nb.cells]
    assert "E9.41: the answer cell failed to run: ValueError: boom (line 6)" in texts[3], texts[3]
    assert "NotImplementedError" not in texts[3]
    assert "E9.41: 1 of 1 public tests passed" in texts[6], texts[6]         # 1/0 elsewhere is not blamed
    assert "E9.41: the answer cell failed to run: SyntaxError on line 2" in texts[8], texts[8]
