"""The lock arena's scenarios and figure: what the chapter's sentences claim about them."""

import pytest

import dscourse.locks as L
from dscourse.locks.labs import arena_figure, arena_lab, arena_summary
from dscourse.locks.scenarios import arena


@pytest.mark.parametrize("seed", range(5))
def test_pause_breaks_unfenced_and_fencing_rejects_the_stale_write(seed):
    off, on = arena("token", "pause", seed=seed), arena("token", "pause", seed=seed, fencing=True)
    assert off.overlaps() and len(off.stale_writes()) == 1
    assert on.stale_writes() == [] and len(on.audit.rejected()) == 1


@pytest.mark.parametrize("recipe", list(L.RECIPES))
def test_no_fault_no_overlap(recipe):
    assert arena(recipe, "none", seed=2).check()["exclusive"]


def test_figure_and_summary_are_deterministic():
    assert arena_summary("rlock", "pause", seed=3) == arena_summary("rlock", "pause", seed=3)
    fig = arena_figure("token", "failover", fencing=True, seed=1)
    assert "fencing=on" in fig.axes[0].get_title()
    lab = arena_lab("token", "pause")
    assert lab.values["fault"] == "pause" and "stale writes accepted" in lab.summary()
    with pytest.raises(ValueError, match="fault"):
        arena("token", "meteor")


@pytest.mark.parametrize("seed", range(6))
def test_redlock_restart_without_persistence_gives_two_holders_and_delayed_restart_does_not(seed):
    fast = arena("redlock", "restart", seed=seed)
    slow = arena("redlock", "restart", seed=seed, delayed_restart=True)
    assert fast.overlaps(), f"replay: arena('redlock', 'restart', seed={seed})"
    assert slow.check()["exclusive"] and slow.check()["grants"] > 3
    with pytest.raises(ValueError, match="restart only"):
        arena("token", "restart")
