"""Graded exercises: the notebook format, in-notebook self-checks and the sandboxed grader.

In a student's notebook: test cells declare tests with :func:`test`; ``check("E1.1")`` runs
the public ones on the notebook's definitions; ``summary()`` ends every chapter notebook.
For instructors: ``dscourse assign`` and ``dscourse grade`` (see ``docs/grading.md``).
Harnesses for each chapter's exercises live in ``ds.grading.ch01`` and so on.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import TestFailure, test
from .selfcheck import check, summary

__all__ = ["TestFailure", "check", "summary", "test"]


def __getattr__(name: str) -> Any:
    """Import a chapter harness (``ds.grading.ch01``) or another submodule on first use."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
    globals()[name] = module
    return module
