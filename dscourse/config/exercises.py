"""Trusted harnesses for Chapter 15's exercises (E15.1-E15.4).

Each exercise asks for something :mod:`dscourse.config` does not hand over verbatim, as plain
functions of plain data (or, for E15.3, a node class each of whose instances runs in its own
process): the harness runs it inside the library's simulation and returns a
:class:`~dscourse.checkers.trial.Trial` listing every failed property, so each test of the
exercise notebook gives credit for one property.

* E15.1 (:mod:`.exercises_longpoll`) -- a Nacos 1.x long-poll server as one function
  ``long_poll(state, event, current)``: answers early with the changed keys, about one poll
  per hold period when idle, and no lost update in any interleaving (model checked);
* E15.2 (:mod:`.exercises_releases`) -- ``publish(store, key, content)`` and
  ``rollback(store, key)`` over a plain release store: immutable releases, strictly
  increasing notification ids, append-only history, clients converging after a rollback;
* E15.3 (:mod:`.exercises_gray`) -- a router node's ``route(clients, key, releases)``: the gray
  share within ±2 points, IP and label rules, the same cohort on every instance and after
  restarts (stable hashing), convergence after merge to full release;
* E15.4 (:mod:`.exercises_drills`) -- a client's ``start(saved)`` and ``on_result(snapshot,
  result, failures)``: serve the snapshot while the server is down, start from the snapshot
  file, resync after recovery without a restart, back off.

The reference answers live in ``tests/config/test_config_exercises.py`` and the master notebook,
not here: this module is readable by students.
"""

from __future__ import annotations

from .exercises_drills import DRILL_PROPERTIES, DrillClient, drill_trial
from .exercises_gray import GRAY_PROPERTIES, gray_trial, merge_trial, reference_route
from .exercises_longpoll import (
    LONGPOLL_PROPERTIES,
    StudentLongPollServer,
    long_poll_trial,
    model_check_trial,
    race_trial,
)
from .exercises_releases import (
    EMPTY_STORE,
    RELEASE_PROPERTIES,
    check_store,
    converge_trial,
    release_trial,
)

__all__ = [
    "DRILL_PROPERTIES",
    "EMPTY_STORE",
    "GRAY_PROPERTIES",
    "LONGPOLL_PROPERTIES",
    "RELEASE_PROPERTIES",
    "DrillClient",
    "StudentLongPollServer",
    "check_store",
    "converge_trial",
    "drill_trial",
    "gray_trial",
    "long_poll_trial",
    "merge_trial",
    "model_check_trial",
    "race_trial",
    "reference_route",
    "release_trial",
]
