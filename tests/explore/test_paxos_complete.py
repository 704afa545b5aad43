"""The complete Basic Paxos searches: every reachable state (and every orbit under the
acceptors' symmetry) with no faults, with one lost message and with one duplicated message,
agreement and validity in each. Since the compact engine derives a memoized step's child
without running it (issue 24), the unreduced one-loss and one-duplicate searches (107,340 and
548,174 states) take about 3 and 14 s of CPU; the one-duplicate search runs depth-first
(about a third of the breadth-first search's memory). ``benchmarks/bench_explore.py --full``
times them against the original explorer."""

from __future__ import annotations

from dscourse.paxos import modelcheck as M

ACCEPTORS = [("a1", "a2", "a3")]


def test_no_faults_every_state_and_every_orbit():
    full = M.check("correct")
    reduced = M.check("correct", symmetry=ACCEPTORS)
    for r in (full, reduced):
        assert r.violation is None and r.exhausted, r.summary()
    # an orbit holds at most 3! states, and some states are their own images
    assert full.states / 6 <= reduced.states < full.states


def test_one_lost_message_every_orbit():
    r = M.check("correct", max_drops=1, symmetry=ACCEPTORS)
    assert r.violation is None and r.exhausted, r.summary()
    assert r.states > M.check("correct", symmetry=ACCEPTORS).states   # a loss reaches more orbits


def test_one_duplicated_message_every_orbit():
    r = M.check("correct", max_duplicates=1, symmetry=ACCEPTORS)
    assert r.violation is None and r.exhausted, r.summary()
    assert r.states > M.check("correct", symmetry=ACCEPTORS).states   # a second delivery is new


def test_one_lost_message_every_state():
    r = M.check("correct", max_drops=1)
    assert r.violation is None and r.exhausted, r.summary()
    assert r.states == 107_340          # what the checkpoint engine counts (bench_explore)


def test_one_duplicated_message_every_state():
    r = M.check("correct", max_duplicates=1, mode="dfs")
    assert r.violation is None and r.exhausted, r.summary()
    assert r.states == 548_174          # what the checkpoint engine counts (bench_explore)
