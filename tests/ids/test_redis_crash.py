"""Redis INCR ids across a host crash: each persistence mode loses what was not yet durable."""

from __future__ import annotations

import pytest

from dscourse import ids

MODES = [("aof", "always"), ("aof", "everysec"), ("aof", "no"), ("rdb", "everysec"), ("none", "everysec")]
RATE = 2 / 50.0  # two allocators, one INCR each every 50 ms: ids per ms


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicates_are_ordered_by_persistence_mode_and_match_each_loss_window(seed):
    runs = [ids.redis_crash(p, f, seed=seed) for p, f in MODES]
    dup = [r.duplicates for r in runs]
    assert dup[0] == 0
    assert dup == sorted(dup) and len(set(dup)) == len(dup), dup
    # crash at 100.5 s: not durable are 0.5 s (everysec), 10.5 s (OS flush every 30 s),
    # 40.5 s (RDB every 60 s) and everything (no persistence) of increments
    for run, window_ms in zip(runs[1:], (500, 10_500, 40_500, 100_500), strict=True):
        assert abs(run.lost - RATE * window_ms) <= 4, (run, window_ms)
        assert run.duplicates == run.lost        # the restart hands every lost value out again
    assert runs[-1].after == 0


def test_the_loss_window_follows_the_crash_time():
    # 1.7 s after the 60 s OS flush and RDB snapshot, 0.7 s after the last everysec fsync
    lost = {p + f: ids.redis_crash(p, f, crash_ms=61_700, seed=4).lost for p, f in MODES}
    assert lost["aofalways"] == 0
    assert abs(lost["aofeverysec"] - RATE * 700) <= 4
    assert abs(lost["aofno"] - RATE * 1_700) <= 4
    assert abs(lost["rdbeverysec"] - RATE * 1_700) <= 4


def test_redis_crash_rejects_a_bad_crash_time():
    with pytest.raises(ValueError, match="crash_ms"):
        ids.redis_crash("aof", crash_ms=-5)
