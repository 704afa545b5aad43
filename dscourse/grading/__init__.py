"""Graded exercises: the notebook format, in-notebook self-checks and the sandboxed grader.

In a student's notebook: test cells declare tests with :func:`test`; ``check("E1.1")`` runs
the public ones on the notebook's definitions; ``summary()`` ends every chapter notebook.
For instructors: ``dscourse assign``, ``dscourse grade`` and ``dscourse autograder`` (a Gradescope
bundle), see ``docs/grading.md``; ``rules`` holds what a protocol answer may not use, ``shrink`` the
counterexamples, ``report`` the progress bar and the HTML pages.
Each chapter's harnesses live beside its topic, in ``<topic>.exercises`` (``ds.clocks``,
``ds.replication`` for E3.3, ``ds.gossip``, ``ds.raft``, ``ds.zk``, ``ds.ids``, ``ds.idesign``)
or ``ds.paxos.harness``; the few that build student *nodes* for the sandbox live here, in
``ds.grading.ch01`` (Chapter 1), ``ds.grading.ch03`` (E3.2), ``ds.grading.ch04`` (E4.5),
``ds.grading.ch15`` (E15.3) and ``ds.grading.ch16`` (E16.1).
"""

from __future__ import annotations

from .._lazy import lazy
from .registry import TestFailure, test
from .selfcheck import check, replay, summary

__all__ = ["TestFailure", "check", "replay", "summary", "test"]

__getattr__, __dir__ = lazy(__name__, globals())  # submodules (ds.grading.ch01, ...) load on first use
