"""E16.1's order runs, shared by the per-property tests.

Inside ``sharing_runs()`` :func:`~dscourse.grading.ch16.order_trial` runs each seed once,
judged for every property, and hands each test its properties' share: that must be what a run
judged for those properties alone finds, for the master's order service and the wrong answers
of the capstone's tests, on every property subset and several seeds; and a run is made once
for all of its tests (a run always goes to its end).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gradekit import property_subsets, trial_view

from dscourse.capstone import exercises as E
from dscourse.checkers.trial import sharing_runs
from dscourse.grading import ch16

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capstone"))
import test_capstone_exercises as answers

SERVICES = {"reference": answers.OrderService, "no fence": answers.NoFence,
            "no compensation": answers.NoCompensation, "no key": answers.NoKey,
            "segment per order": answers.SegmentPerOrder}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_shared_order_run_judges_each_property_as_its_own_run(name):
    cls = SERVICES[name]
    failed = set()
    for seed in (1, 2, 4):
        alone = {p: trial_view(ch16.order_trial(cls, seed, properties=p)) for p in property_subsets(E.PROPERTIES)}
        with sharing_runs():
            shared = {p: trial_view(ch16.order_trial(cls, seed, properties=p)) for p in reversed(list(alone))}
        assert shared == alone
        failed |= {p for p, seen in alone.items() if not seen[0]}
    assert bool(failed) == (name != "reference")    # the shares were tested on failing runs too


def test_a_run_is_made_once_for_all_its_tests(monkeypatch):
    runs: list = []
    real = E.order_trial

    def counted(cls, seed, **kw):
        runs.append((seed, kw["requests"], kw["properties"]))
        return real(cls, seed, **kw)
    monkeypatch.setattr(E, "order_trial", counted)
    with sharing_runs():
        for p in E.PROPERTIES:
            ch16.order_trial(answers.NoKey, 3, properties=(p,))
        ch16.order_trial(answers.NoKey, 3, requests=10, properties=("efficiency",))     # another workload
        ch16.order_trial(answers.OrderService, 3, properties=("efficiency",))           # another class
    assert runs == [(3, 30, E.PROPERTIES), (3, 10, E.PROPERTIES), (3, 30, E.PROPERTIES)]
    runs.clear()
    ch16.order_trial(answers.NoKey, 3, properties=("no oversell",))      # outside the block: its own run
    assert runs == [(3, 30, ("no oversell",))]


def test_bad_properties_are_refused_before_any_run():
    with pytest.raises(Exception, match="properties"):
        ch16.order_trial(answers.OrderService, 1, properties=("fast",))
