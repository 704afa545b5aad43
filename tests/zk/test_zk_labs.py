"""The chapter's labs: their figures build and their runs show what the text says."""

from __future__ import annotations

import pytest

from dscourse.zk import labs


@pytest.mark.parametrize("in_a", [1, 2, 3, 4])
def test_split_brain_only_the_majority_side_commits(in_a: int) -> None:
    run = labs.split_brain_run(in_a)
    majority = "A" if in_a >= 3 else "B"
    minority = "B" if majority == "A" else "A"
    assert run["writes"][majority] == "committed"
    assert run["writes"][minority] != "committed"
    assert set(run["leading"]) <= set(run[majority])
    assert run["ens"].check() == []


def test_explorer_script_ends_with_bobs_ephemeral_gone() -> None:
    steps = labs.explore_script(1)
    paths = [dict(s.tree) for s in steps]
    assert "/app/worker-0000000000" in paths[1] and paths[1]["/app/worker-0000000000"]["owner"] == "bob"
    assert "/app/worker-0000000000" not in paths[-1] and "/app/worker-0000000001" in paths[-1]
    assert any("BadVersionError" in line for line in steps[-1].log)
    assert any("watch: CHILD /app" in line for line in steps[-1].log)


def test_pipeline_queue_grows_only_on_the_slow_link() -> None:
    run = labs.pipeline_run(slow_ms=200, observers=1)
    peak = {node: max(q.get(node, 0) for _, q in run["samples"]) for node in run["samples"][-1][1]}
    assert peak[run["slow"]] >= 10
    assert all(v <= 2 for node, v in peak.items() if node != run["slow"])
    assert all(v == 0 for v in run["samples"][-1][1].values())


def test_figures_and_labs_build() -> None:
    for lab in (labs.explorer(step=0), labs.stale_read_lab(), labs.pipeline(), labs.election_sandbox(),
                labs.split_brain()):
        assert lab.figure() is not None and lab.summary()
