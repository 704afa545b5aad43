"""E6.4's timing runs, shared by the per-property tests (issue 23, item 5).

Inside ``sharing_runs()`` :func:`~dscourse.raft.exercises.timing_trial` measures each seeded
run once, judged for both bars, and hands each test its bar's share: that must be what a run
judged for that bar alone finds -- for the master's timing and wrong ones (too slow, too
tight, a malformed answer, one outside the domain), every property subset, two seeds and two
latencies -- and a run is made once for all of its tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradekit import counting_runs, property_subsets, trial_view

import dscourse as ds
from dscourse.checkers.trial import sharing_runs
from dscourse.grading import cells as fmt
from dscourse.raft import exercises as ex

MASTER = Path(__file__).resolve().parents[2] / "exercises" / "source" / "ch06.ipynb"


def _reference():
    ns: dict = {"ds": ds}
    source = dict(fmt.answer_cells(json.loads(MASTER.read_text())))["E6.4"]
    exec(compile(source, "<E6.4>", "exec"), ns)  # noqa: S102
    return ns["choose_timing"]


def _fixed(lo, hi, beat):
    return lambda latency: {"election_lo": lo, "election_hi": hi, "heartbeat": beat}


TIMINGS = {
    "reference": _reference(),
    "slow": _fixed(2000, 4000, 500),            # no split votes, too little availability
    "tight": _fixed(100, 102, 25),              # split votes (and little availability)
    "not a dict": lambda latency: [1, 2, 3],
    "outside the domain": _fixed(150, 300, 1e-7),
}
LOADS = [dict(), dict(latency=(20, 60), availability=0.7)]



@pytest.mark.parametrize("name", list(TIMINGS))
def test_a_shared_timing_run_judges_each_bar_as_its_own_run(name):
    choose = TIMINGS[name]
    failed = set()
    for seed in (1, 2):
        for load in LOADS:
            alone = {p: trial_view(ex.timing_trial(choose, seed, properties=p, **load))
                     for p in property_subsets(ex.TIMING_PROPERTIES)}
            with sharing_runs():
                shared = {p: trial_view(ex.timing_trial(choose, seed, properties=p, **load))
                          for p in reversed(list(alone))}
            assert shared == alone
            failed |= {p for p, seen in alone.items() if not seen[0]}
    if name == "reference":
        assert not failed
    elif name == "slow":                      # one bar broken, the other held, in shares
        assert ("availability",) in failed and ("split votes",) not in failed
    else:
        assert set(property_subsets(ex.TIMING_PROPERTIES)) <= failed


def test_violations_name_their_bar_and_malformed_answers_fail_every_share():
    both = ex.timing_trial(TIMINGS["tight"], 1)
    assert [v.split(":")[0] for v in both.violations] == list(ex.TIMING_PROPERTIES)
    with sharing_runs():
        for p in ex.TIMING_PROPERTIES:
            t = ex.timing_trial(TIMINGS["not a dict"], 1, properties=(p,))
            assert not t.ok and "must return a dict" in t.violations[0]


def test_a_run_is_made_once_for_all_its_tests(monkeypatch):
    runs = counting_runs(monkeypatch, ex, "_timing_run")
    with sharing_runs():
        for p in ex.TIMING_PROPERTIES:
            ex.timing_trial(TIMINGS["tight"], 2, properties=(p,))
        ex.timing_trial(TIMINGS["tight"], 2, latency=(1, 5), properties=("split votes",))  # another load
        ex.timing_trial(TIMINGS["slow"], 2, properties=("split votes",))                   # another answer
    assert runs == [frozenset(ex.TIMING_PROPERTIES)] * 3
    runs.clear()
    for p in ex.TIMING_PROPERTIES:                # outside the block nothing is shared
        ex.timing_trial(TIMINGS["tight"], 2, properties=(p,))
    assert runs == [frozenset({p}) for p in ex.TIMING_PROPERTIES]
