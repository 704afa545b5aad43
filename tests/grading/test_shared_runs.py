"""One run judged for every property, shared by the tests of its properties (issue 23, item 5).

Inside ``sharing_runs()`` a harness runs each seeded run once and hands each test its
properties' share: that must be exactly what a run judged for those properties alone finds --
on correct and wrong implementations, every property subset, many seeds -- and a harness that
ends a run at its first violation must run again when that violation is not wanted.
"""

from __future__ import annotations

import pytest
from gradekit import counting_runs, property_subsets, trial_view
from test_ch01_harness import (
    FixedLongTimeout,
    Garbage,
    NeverQuiet,
    NeverSuspects,
    NoDedup,
    NoDoubling,
    NoRetransmit,
    Silent,
    SuspectAll,
    Unordered,
)

from dscourse.checkers import trial as trial_mod
from dscourse.checkers.trial import MAX_VIOLATIONS, Trial, judged_once, sharing_runs
from dscourse.fundamentals.reliable_channel import ReliableChannel
from dscourse.fundamentals.timeout_fd import TimeoutFD
from dscourse.grading import ch01


class NoDoublingThenDeaf(NoDoubling):
    """Breaks adaptation early (before GST) and completeness at the end: a run judged for
    every property ends at the first, so completeness must be judged by a run of its own."""

    def on_timer(self, name, payload):
        if self.now < 350:
            super().on_timer(name, payload)
            return
        for peer in self.peers:
            self.send(peer, "hb")
        self.set_timer(self.period_ms, "beat")




CHANNELS = [ReliableChannel, NoDedup, NoRetransmit, NeverQuiet, Unordered, Silent, Garbage]
DETECTORS = [TimeoutFD, NoDoubling, FixedLongTimeout, NeverSuspects, SuspectAll, NoDoublingThenDeaf]


@pytest.mark.parametrize("cls", CHANNELS, ids=lambda c: c.__name__)
def test_a_shared_channel_run_judges_each_property_as_its_own_run(cls):
    for seed in range(1, 5):
        alone = {p: trial_view(ch01.channel_trial(cls, seed, properties=p))
                 for p in property_subsets(ch01.CHANNEL_PROPERTIES)}
        with sharing_runs():
            shared = {p: trial_view(ch01.channel_trial(cls, seed, properties=p)) for p in alone}
        assert shared == alone


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_a_shared_detector_run_judges_each_property_as_its_own_run(cls):
    for seed in range(1, 5):
        alone = {p: trial_view(ch01.fd_trial(cls, seed, properties=p)) for p in property_subsets(ch01.FD_PROPERTIES)}
        with sharing_runs():
            shared = {p: trial_view(ch01.fd_trial(cls, seed, properties=p)) for p in alone}
        assert shared == alone



def test_a_correct_run_is_run_once_for_all_its_tests(monkeypatch):
    runs = counting_runs(monkeypatch, ch01, "_fd_run")
    with sharing_runs():
        for p in ch01.FD_PROPERTIES:
            assert ch01.fd_trial(TimeoutFD, 7, properties=(p,)).ok
        assert ch01.fd_trial(TimeoutFD, 8, properties=("adaptation",)).ok      # another seed
    assert runs == [frozenset(ch01.FD_PROPERTIES)] * 2
    runs.clear()
    for p in ch01.FD_PROPERTIES:                 # outside the block nothing is shared
        ch01.fd_trial(TimeoutFD, 7, properties=(p,))
    assert runs == [frozenset({p}) for p in ch01.FD_PROPERTIES]


def test_a_run_ended_by_an_unwanted_violation_runs_again(monkeypatch):
    runs = counting_runs(monkeypatch, ch01, "_fd_run")
    with sharing_runs():
        adaptation = ch01.fd_trial(NoDoublingThenDeaf, 1, properties=("adaptation",))
        completeness = ch01.fd_trial(NoDoublingThenDeaf, 1, properties=("completeness",))
    assert adaptation.violations[0].startswith("adaptation: ")
    assert completeness.violations and completeness.violations[0].startswith("completeness: ")
    assert runs == [frozenset(ch01.FD_PROPERTIES), frozenset({"completeness"})]


def test_without_the_rerun_the_shared_verdict_would_be_wrong(monkeypatch):
    """Blind :meth:`Trial.only` to early stops: the deaf detector then passes completeness."""
    real = Trial.only
    monkeypatch.setattr(Trial, "only", lambda self, want, known, stops_early: real(
        self, want, known, stops_early=False))
    with sharing_runs():
        ch01.fd_trial(NoDoublingThenDeaf, 1, properties=("adaptation",))
        assert ch01.fd_trial(NoDoublingThenDeaf, 1, properties=("completeness",)).ok


def test_unnamed_violations_stay_in_every_share_and_a_full_run_is_not_trusted():
    known = ("a", "b")
    full = Trial(1)
    full.violate("b: late", 5.0)
    full.violate("x.suspected must be a set", 7.0)
    part = full.only(frozenset({"a"}), known, stops_early=False)
    assert part.violations == ["x.suspected must be a set"] and part.at == 7.0
    assert full.only(frozenset({"a"}), known, stops_early=True).violations == ["x.suspected must be a set"]
    only_b = Trial(1)
    only_b.violate("b: late", 5.0)
    assert only_b.only(frozenset({"a"}), known, stops_early=True) is None
    assert only_b.only(frozenset({"a"}), known, stops_early=False).ok
    capped = Trial(1)
    for i in range(MAX_VIOLATIONS + 3):
        capped.violate(f"b: {i}", float(i))
    assert capped.only(frozenset({"b"}), known, stops_early=False) is None


def test_sharing_is_scoped_and_can_be_switched_off():
    calls = []

    def run(want):
        calls.append(want)
        return Trial(1)
    known = ("a", "b")
    with sharing_runs():
        judged_once("k", frozenset({"a"}), known, run, stops_early=False)
        judged_once("k", frozenset({"b"}), known, run, stops_early=False)
        with sharing_runs(active=False):            # e.g. a shrinker's reruns
            judged_once("k", frozenset({"a"}), known, run, stops_early=False)
        judged_once(["unhashable"], frozenset({"a"}), known, run, stops_early=False)
    assert calls == [frozenset(known), frozenset({"a"}), frozenset({"a"})]
    assert trial_mod._SHARED == []


def test_hidden_tests_naming_a_group_share_their_seeds_and_nothing_else_does():
    from dscourse.grading.registry import Context, TestCase

    def case(name, hidden=True):
        return TestCase("E1.2", name, 1, hidden, lambda t: None)
    a, b = Context(case("a"), b"k", "s1"), Context(case("b"), b"k", "s1")
    assert a.seeds(8, group="g") == b.seeds(8, group="g")
    assert len(set(a.seeds(8, group="g"))) == 8
    assert a.seeds(8) != b.seeds(8) and a.seeds(8, group="g") != a.seeds(8)
    assert a.seeds(8, group="a") != a.seeds(8)                   # a group is never a test's name
    assert Context(case("a"), b"k", "s2").seeds(3, group="g") != a.seeds(3, group="g")   # per student
    assert Context(case("p", hidden=False)).seeds(3, group="g") == [1, 2, 3]
    for bad in ("", "x/y", 3):
        with pytest.raises(ValueError, match="group"):
            a.seeds(2, group=bad)
