"""The harnesses for Chapter 15's exercise E15.3 (gray release routing), run by the grader.

The student's ``GrayRouter`` is built as five router instances, each its own node (one sandbox
each in the grader), whose ``route`` the harness calls. They live in ``grading`` (like
:mod:`~dscourse.grading.ch01`) because they build student nodes with
:func:`~dscourse.grading.remote.make_node`, and topics never import the grader.
"""

from __future__ import annotations

from typing import Any

from ..checkers.trial import Trial
from ..config import exercises
from .remote import make_node


def _router(cls: Any, node_id: str) -> Any:
    return make_node(cls, node_id, methods=("route",))


def gray_trial(router: Any, seed: int, **options: Any) -> Trial:
    """:func:`dscourse.config.exercises.gray_trial` on the student's router class (``options``:
    its ``targets`` and ``properties``)."""
    return exercises.gray_trial(router, seed, make=_router, **options)


def merge_trial(router: Any, seed: int, **options: Any) -> Trial:
    """:func:`dscourse.config.exercises.merge_trial` on the student's router class."""
    return exercises.merge_trial(router, seed, make=_router, **options)
