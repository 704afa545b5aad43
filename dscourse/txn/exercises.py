"""Trusted harnesses for Chapter 14's exercises (E14.1-E14.4), loaded lazily as
``ds.txn.exercises``.

Each exercise asks for plain functions of plain data that run in the grader's sandbox (no
``ds.txn``, no ``sqlite3`` needed): the harnesses plug them into 2PC and 3PC nodes on
:mod:`dscourse.sim` (:mod:`.exercises_commit`) or into a seeded TCC / Saga-with-outbox system
(:mod:`.exercises_patterns`), and return :class:`~dscourse.checkers.trial.Trial`\\ s with one
violation per failed property, listing every failed schedule.

* E14.1 ``coordinator(log, state, event)``, ``participant(log, state, event)``: 2PC with
  presumed abort and recovery, crashed after every step: :func:`two_pc_trial`,
  :func:`blocking_report`.
* E14.2 ``terminate(states)``: 3PC's termination rule (:func:`three_pc_trial`) and the
  structured answer about the partition counterexample (:func:`partition_answer_trial`).
* E14.3 ``tcc(db, call)``: a TCC branch with a fence table (:func:`tcc_trial`,
  :func:`tcc_replay`).
* E14.4 ``saga_next(steps, log)``, ``relay(rows)``, ``consume(processed, message)``
  (:func:`saga_trial`, :func:`saga_replay`).
"""

from .exercises_commit import (
    ANSWER_PROPERTIES,
    ASSUMPTIONS,
    REMEDIES,
    THREE_PC_PROPERTIES,
    TWO_PC_PROPERTIES,
    blocking_report,
    partition_answer_trial,
    partition_search,
    reference_terminate,
    three_pc_trial,
    two_pc_trial,
)
from .exercises_patterns import (
    SAGA_PROPERTIES,
    STEPS,
    TCC_PROPERTIES,
    saga_replay,
    saga_trial,
    tcc_replay,
    tcc_trial,
)

__all__ = [
    "ANSWER_PROPERTIES",
    "ASSUMPTIONS",
    "REMEDIES",
    "SAGA_PROPERTIES",
    "STEPS",
    "TCC_PROPERTIES",
    "THREE_PC_PROPERTIES",
    "TWO_PC_PROPERTIES",
    "blocking_report",
    "partition_answer_trial",
    "partition_search",
    "reference_terminate",
    "saga_replay",
    "saga_trial",
    "tcc_replay",
    "tcc_trial",
    "three_pc_trial",
    "two_pc_trial",
]
