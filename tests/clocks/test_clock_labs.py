"""The chapter's labs say what the prose beside them says."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.clocks import happens_before_oracle, related
from dscourse.clocks import labs as L


def test_drift_lab_step_refuses_ids_and_slew_never_does() -> None:
    step, slew = L.drift_run(mode="step"), L.drift_run(mode="slew")
    assert sum(map(len, step.rollbacks.values())) > 0
    assert sum(step.steps_back.values()) > 0
    assert sum(map(len, slew.rollbacks.values())) == 0
    assert sum(slew.steps_back.values()) == 0
    # no drift, no offset: nothing to correct, nothing refused
    calm = L.drift_run(0, 0, 0, 0, mode="step", max_offset_ms=0)
    assert sum(map(len, calm.rollbacks.values())) == 0


@pytest.mark.parametrize("seed", [1, 3, 7])
def test_hb_explorer_verdicts_are_the_oracles(seed: int) -> None:
    _, steps = L.chatter_steps(seed)
    reach = happens_before_oracle(steps)
    for i, j in [(0, len(steps) - 1), (1, 2), (3, 1)]:
        verdict = L._verdict(steps, i, j)[0]
        assert verdict == related(reach, i, j)
    assert "Lamport" in L.hb_summary(seed, 0, 3)


def test_lease_lab_overlaps_only_without_the_drift_margin() -> None:
    assert "0 overlaps" in L.lease_summary(rho=0.1, margin=2.0, drift_aware=True)
    assert "0 overlaps" not in L.lease_summary(rho=0.1, margin=2.0, drift_aware=False)


def test_raft_stays_safe_under_clock_faults() -> None:
    calm, wild = L.raft_clock_faults(0), L.raft_clock_faults(300_000)
    assert calm.violations == [] and wild.violations == []
    assert wild.terms > calm.terms          # drift costs elections (availability)


def test_figures_render() -> None:
    for fig in (L.drift_figure(), L.hb_figure(), L.delivery_figure(), L.lease_figure()):
        assert fig.axes
    assert isinstance(L.drift_lab(), ds.viz.Lab)
