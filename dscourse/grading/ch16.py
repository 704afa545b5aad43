"""The harness for Chapter 16's exercise E16.1 (the MiniMall order service), run by the grader.

The student's ``OrderService`` plays every order-service instance of the capstone's platform
(:mod:`dscourse.capstone.exercises`; one sandbox per instance in the grader). Every run is
judged on all of :data:`~dscourse.capstone.exercises.PROPERTIES` and always runs to its end, so
the tests of one seed share it (:func:`~dscourse.checkers.trial.judged_once`): the five
property tests of a seed cost one run. It lives in ``grading`` (like
:mod:`~dscourse.grading.ch01`) because it builds student nodes with
:func:`~dscourse.grading.remote.make_node`, and topics never import the grader.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..capstone import exercises
from ..checkers.trial import Trial, judged_once, selected
from .remote import make_node


def order_trial(service: Any, seed: int, *, requests: int = 30,
                properties: Iterable[str] = exercises.PROPERTIES) -> Trial:
    """:func:`dscourse.capstone.exercises.order_trial` on the student's class, judged on
    ``properties``; inside a shared block, one run per (class, seed, requests)."""
    want = frozenset(selected(properties, exercises.PROPERTIES))
    return judged_once(("E16.1", service, seed, requests), want, exercises.PROPERTIES,
                       lambda props: exercises.order_trial(service, seed, make=make_node, requests=requests,
                                                           properties=tuple(p for p in exercises.PROPERTIES
                                                                            if p in props)),
                       stops_early=False)
