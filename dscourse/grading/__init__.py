"""Graded exercises: the notebook format, in-notebook self-checks and the sandboxed grader.

In a student's notebook: test cells declare tests with :func:`test`; ``check("E1.1")`` runs
the public ones on the notebook's definitions; ``summary()`` ends every chapter notebook.
For instructors: ``dscourse assign`` and ``dscourse grade`` (see ``docs/grading.md``).
Harnesses for each chapter's exercises live in ``ds.grading.ch01`` and so on.
"""

from __future__ import annotations

from .._lazy import lazy_submodules
from .registry import TestFailure, test
from .selfcheck import check, summary

__all__ = ["TestFailure", "check", "summary", "test"]

__getattr__ = lazy_submodules(__name__)  # chapter harnesses: ds.grading.ch01, ...
