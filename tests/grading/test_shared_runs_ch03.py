"""E3.2's partition runs, shared by the per-property tests (issue 23, item 5).

Inside ``sharing_runs()`` :func:`~dscourse.grading.ch03.abd_partition_trial` runs each
seeded run once, judged for every property, and hands each test its properties' share: that
must be what a run judged for those properties alone finds, for the master's ABD client and
each wrong answer of Chapter 3's tests, on every property subset and several seeds; and a run
is made once for all of its tests (the run always goes to its end, so nothing runs again).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gradekit import counting_runs, property_subsets, trial_view

from dscourse.checkers.trial import sharing_runs
from dscourse.grading import ch03

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "replication"))
from test_e3_grading import _answers


@pytest.fixture(scope="module")
def clients() -> dict[str, type]:
    """The master's client and the three wrong answers of ``test_e3_grading``."""
    from test_e3_grading import wrong
    abd = _answers("E3.2")["ABDClient"]
    return {"reference": abd, **wrong.__wrapped__(abd)}


WORKLOADS = [dict(), dict(clients=5, keys=("x", "y"), start=27.0, skew_ms=200.0)]


@pytest.mark.parametrize("name", ["reference", "no write-back", "clock tags", "no writer id"])
def test_a_shared_partition_run_judges_each_property_as_its_own_run(clients, name):
    cls = clients[name]
    failed = set()
    for seed in (1, 2, 3):
        for load in WORKLOADS:
            alone = {p: trial_view(ch03.abd_partition_trial(cls, seed, properties=p, **load))
                     for p in property_subsets(ch03.ABD_PROPERTIES)}
            with sharing_runs():
                shared = {p: trial_view(ch03.abd_partition_trial(cls, seed, properties=p, **load))
                          for p in reversed(list(alone))}
            assert shared == alone
            failed |= {p for p, seen in alone.items() if not seen[0]}
    if name == "reference":
        assert not failed
    if name == "clock tags":                  # the shares were tested on a failing run too
        assert ("linearizable",) in failed


def test_every_violation_names_its_property(clients):
    """Each message starts with its property, so a share can be told from the full run."""
    seen = set()
    for seed in range(1, 9):
        for cls in clients.values():
            t = ch03.abd_partition_trial(cls, seed, clients=5, keys=("x", "y"), skew_ms=200.0)
            seen |= {v.split(":")[0] for v in t.violations}
    assert seen and seen <= set(ch03.ABD_PROPERTIES)


def test_a_run_is_made_once_for_all_its_tests(clients, monkeypatch):
    runs = counting_runs(monkeypatch, ch03, "_partition_run")
    cls = clients["clock tags"]
    with sharing_runs():
        for p in ch03.ABD_PROPERTIES:
            ch03.abd_partition_trial(cls, 2, properties=(p,))
        ch03.abd_partition_trial(cls, 2, skew_ms=50.0, properties=("linearizable",))  # another load
        ch03.abd_partition_trial(clients["reference"], 2, properties=("linearizable",))  # another class
    assert runs == [frozenset(ch03.ABD_PROPERTIES)] * 3
    runs.clear()
    for p in ch03.ABD_PROPERTIES:                 # outside the block nothing is shared
        ch03.abd_partition_trial(cls, 2, properties=(p,))
    assert runs == [frozenset({p}) for p in ch03.ABD_PROPERTIES]
