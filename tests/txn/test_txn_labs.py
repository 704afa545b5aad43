"""Chapter 14's 2PC player: the buttons do what the chapter says, over several seeds."""

import pytest

from dscourse.txn import atomicity, outcomes
from dscourse.txn.labs import two_pc_player


@pytest.mark.parametrize("seed", range(4))
def test_crashing_the_coordinator_after_the_votes_blocks_until_it_recovers(seed: int) -> None:
    p = two_pc_player(seed=seed)
    while not all(s == "prepared" for s in outcomes(p.sim).get("t1", {"x": None}).values()):
        assert p.step() == 1, "the run ended before both participants voted"
    p.do("crash c")
    p.run(1000)
    assert set(outcomes(p.sim)["t1"].values()) == {"prepared"}        # blocked, in doubt
    p.do("recover c")
    p.run(1000)
    states = set(outcomes(p.sim)["t1"].values())
    assert len(states) == 1 and states <= {"committed", "aborted"} and atomicity(p.sim)
    assert p.undo() and set(outcomes(p.sim)["t1"].values()) == {"prepared"}   # undo the run


def test_without_faults_the_transfer_commits_everywhere() -> None:
    p = two_pc_player(seed=1)
    p.run(1000)
    assert set(outcomes(p.sim)["t1"].values()) == {"committed"}
