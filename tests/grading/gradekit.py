"""Helpers for the grading tests: paths, and building submissions from the student notebook."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

from dscourse.grading import cells as fmt

ROOT = Path(__file__).resolve().parents[2]
MASTER = ROOT / "exercises" / "source" / "ch01.ipynb"
STUDENT = ROOT / "exercises" / "ch01.ipynb"
SOL = "SOL"


def solutions() -> dict[str, str]:
    """The master's answer cells, by exercise."""
    return dict(fmt.answer_cells(json.loads(MASTER.read_text())))


def submission(answers: dict[str, str | tuple[str, str] | None], attachment: str | None = None,
               exercise_set: str | None = None) -> dict:
    """The student notebook with answer cells replaced (``SOL``: the master's; None: the stub;
    ``(SOL, code)``: the master's followed by ``code``)."""
    nb = copy.deepcopy(json.loads(STUDENT.read_text()))
    sol = solutions()
    for cell in nb["cells"]:
        ex = fmt.answer_id(cell)
        answer = answers.get(ex) if ex is not None else None
        if type(answer) is tuple:                 # (SOL, extra): the solution, then more code
            cell["source"] = sol[ex] + "\n" + answer[1]
        elif answer is not None:
            cell["source"] = sol[ex] if answer == SOL else answer
    if attachment is not None:
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n not really").decode()
        nb["cells"].insert(1, {"cell_type": "markdown", "id": "attach", "metadata": {},
                               "source": f"![x](attachment:{attachment})",
                               "attachments": {attachment: {"image/png": png}}})
    if exercise_set is not None:
        nb["metadata"]["dscourse"]["exercise_set"] = exercise_set
    return nb


def write(folder: Path, name: str, nb: dict | bytes) -> Path:
    """Write a submission file (a notebook dict or raw bytes) into ``folder``."""
    path = folder / name
    path.write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb, indent=1).encode())
    return path
