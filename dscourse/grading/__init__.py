"""Graded exercises: the notebook format, in-notebook self-checks and the sandboxed grader.

In a student's notebook: test cells declare tests with :func:`test`; ``check("E1.1")`` runs
the public ones on the notebook's definitions; ``summary()`` ends every chapter notebook.
For instructors: ``dscourse assign`` and ``dscourse grade`` (see ``docs/grading.md``).
Each chapter's harnesses live beside its topic: ``ds.grading.ch01`` (Chapter 1),
``ds.replication.exercises`` (3), ``ds.paxos.harness`` (5), ``ds.raft.exercises`` (6),
``ds.ids.exercises`` (10) and ``ds.idesign.exercises`` (11).
"""

from __future__ import annotations

from .._lazy import lazy
from .registry import TestFailure, test
from .selfcheck import check, summary

__all__ = ["TestFailure", "check", "summary", "test"]

__getattr__, __dir__ = lazy(__name__, globals())  # submodules (ds.grading.ch01, ...) load on first use
