"""The ZooKeeper lock (ds.zk's Lock) is not "absolutely reliable" (seed erratum E13): a pause
longer than the session timeout gives two believing holders; the lock node's sequence number
used as a fencing token makes the resource reject the stale write."""

import pytest

import dscourse as ds
from dscourse.locks.zk import zk_pause


@pytest.mark.parametrize("seed", range(3))
def test_session_expiry_under_pause_breaks_belief_and_fencing_saves_the_resource(seed):
    unfenced, fenced = zk_pause(seed, fencing=False), zk_pause(seed, fencing=True)
    for run in (unfenced, fenced):
        assert run.a_believed_after_pause and run.audit.overlaps()
        assert run.tokens["B"] > run.tokens["A"]
    assert [w.client for w in unfenced.audit.stale_writes()] == ["A"]
    assert fenced.audit.stale_writes() == [] and [w.client for w in fenced.audit.rejected()] == ["A"]


def test_a_pause_shorter_than_the_session_keeps_the_lock():
    with pytest.raises(ds.zk.LockTimeout, match="failed to acquire"):
        zk_pause(1, pause_ms=1000, session_timeout_ms=8000)
