"""The harness for Chapter 4's exercise E4.5 (Gossip Glomers broadcast), run by the grader.

The student's ``BroadcastServer`` plays every server of :func:`dscourse.gossip.broadcast_workload`
(one sandbox per server in the grader); the library's clients and probes talk to it. It lives
in ``grading`` (like :mod:`~dscourse.grading.ch01`) because it builds student nodes with
:func:`~dscourse.grading.remote.make_plain_node`, and topics never import the grader.
"""

from __future__ import annotations

from typing import Any

from ..checkers.trial import Trial
from ..gossip import exercises
from .remote import make_plain_node, plain


def broadcast_trial(server: Any, seed: int, **options: Any) -> Trial:
    """:func:`dscourse.gossip.exercises.broadcast_trial` on the student's server class, each
    server built by :func:`make_plain_node` and read by a 50 ms probe; ``options`` are that
    function's (``nemesis``, ``target``, ``duration_ms``)."""
    return exercises.broadcast_trial(server, seed, make=make_plain_node, unwrap=plain, probe_ms=50,
                                     **options)
