"""E5.1's random acceptor runs, shared by the per-property tests (issue 23, item 5).

Inside ``sharing_runs()`` :func:`~dscourse.paxos.harness.acceptor_random_trial` runs each
seeded run once, judged for every property, and hands each test its properties' share. The
run ends at its first safety violation, so a test whose property that violation is not runs
again; either way the share must be what a run judged for those properties alone finds -- for
a correct acceptor and wrong ones (accepting anything, hiding votes, never accepting, a
malformed reply, one that raises), every property subset, many seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gradekit import counting_runs, property_subsets, trial_view

from dscourse.checkers.trial import Trial, sharing_runs
from dscourse.paxos import harness as H

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "paxos"))
from test_harness import accept_anything, accept_ok, prepare_hiding_votes, prepare_ok, recover_noops, recover_p2c

KNOWN = (*H.ACCEPTOR_SAFETY, "progress")


def accept_never(state, ballot, value):
    return [state, ["nack", state["promised"]]]


def prepare_malformed(state, ballot):
    return [state, ["maybe"]]


def prepare_raises(state, ballot):
    return [state, ["promise", state["votes"]]]


ACCEPTORS = {
    "correct": (prepare_ok, accept_ok),
    "accepts anything": (prepare_ok, accept_anything),
    "hides votes": (prepare_hiding_votes, accept_ok),
    "never accepts": (prepare_ok, accept_never),
    "malformed": (prepare_malformed, accept_ok),
    "raises": (prepare_raises, accept_ok),
}




@pytest.mark.parametrize("name", list(ACCEPTORS))
def test_a_shared_random_run_judges_each_property_as_its_own_run(name):
    prepare, accept = ACCEPTORS[name]
    failed = set()
    for seed in range(6):
        alone = {p: trial_view(H.acceptor_random_trial(prepare, accept, seed, properties=p))
                 for p in property_subsets(KNOWN)}
        with sharing_runs():
            shared = {p: trial_view(H.acceptor_random_trial(prepare, accept, seed, properties=p))
                      for p in reversed(list(alone))}
        assert shared == alone
        failed |= {p for p, seen in alone.items() if not seen[0]}
    if name == "correct":
        assert not failed
    elif name == "never accepts":
        assert ("progress",) in failed and ("agreement",) not in failed
    else:
        assert failed


def test_violations_name_their_property():
    names = set()
    for seed in range(10):
        for prepare, accept in ACCEPTORS.values():
            t = H.acceptor_random_trial(prepare, accept, seed)
            names |= {v.split(":")[0] for v in t.violations}
    assert {"progress", "unusable answer"} <= names and names & set(H.ACCEPTOR_SAFETY)
    assert names <= {*KNOWN, "unusable answer"}


def test_a_run_ended_by_another_property_runs_again(monkeypatch):
    runs = counting_runs(monkeypatch, H, "_acceptor_random_run")
    seed = next(s for s in range(20)
                if not H.acceptor_random_trial(prepare_ok, accept_anything, s).ok)
    broken = H.acceptor_random_trial(prepare_ok, accept_anything, seed).violations[0].split(":")[0]
    runs.clear()
    with sharing_runs():
        first = H.acceptor_random_trial(prepare_ok, accept_anything, seed, properties=(KNOWN[0],))
        for p in KNOWN[1:]:
            H.acceptor_random_trial(prepare_ok, accept_anything, seed, properties=(p,))
    others = [frozenset({p}) for p in KNOWN if p != broken]
    assert runs[0] == frozenset(KNOWN) and sorted(runs[1:], key=sorted) == sorted(others, key=sorted)
    assert first.ok == (broken != KNOWN[0])
    runs.clear()
    with sharing_runs():                           # a correct run: once for all its tests
        for p in KNOWN:
            assert H.acceptor_random_trial(prepare_ok, accept_ok, seed, properties=(p,)).ok
    assert runs == [frozenset(KNOWN)]


# -- E5.4: recovery_trial shares each seed's Multi-Paxos run -------------------------------------
def recover_raises_late(first, promises):
    if first > 3:
        raise KeyError("slot")
    return recover_p2c(first, promises)


RECOVERIES = {
    "p2c": recover_p2c,
    "no-ops": recover_noops,
    "a token never handed out": lambda first, promises: [[first, 999]] if any(promises) else [],
    "raises later": recover_raises_late,
}


def _seen_recovery(t: Trial):
    return (t.ok, t.violations, t.at, t.seed, t.facts, None if t.error is None else repr(t.error),
            None if t.trace is None else len(t.trace))


@pytest.mark.parametrize("name", list(RECOVERIES))
def test_shared_recovery_runs_judge_each_property_as_their_own_runs(name):
    recover = RECOVERIES[name]
    seeds = list(range(40))
    alone = {p: _seen_recovery(H.recovery_trial(recover, seeds, properties=p))
             for p in property_subsets(H.RECOVERY_PROPERTIES)}
    with sharing_runs():
        shared = {p: _seen_recovery(H.recovery_trial(recover, seeds, properties=p))
                  for p in reversed(list(alone))}
    assert shared == alone
    failed = {p for p, seen in alone.items() if not seen[0]}
    assert not failed if name == "p2c" else failed


def test_each_seed_of_the_recovery_runs_is_run_once(monkeypatch):
    runs = []
    real = H._recovery_run

    def counted(recover, seed, want):
        runs.append(seed)
        return real(recover, seed, want)
    monkeypatch.setattr(H, "_recovery_run", counted)
    with sharing_runs():
        for p in H.RECOVERY_PROPERTIES:
            H.recovery_trial(recover_noops, range(1, 9), properties=(p,))
        H.recovery_trial(recover_noops, range(5, 11), properties=("progress",))   # overlapping seeds
    assert runs == list(range(1, 11))
