"""3PC with a perfect failure detector and the termination protocol: atomic in every
interleaving with crash-stop faults (model checked), non-blocking in timed runs; the textbook
timeout rules and a participant obeying a deposed coordinator are caught."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.txn.threepc_fd import VARIANTS, check_3pc_fd, run_3pc_fd, simulation, undecided
from dscourse.txn.twopc import atomicity, commit_validity, outcomes


def test_model_checked_atomic_with_the_coordinator_and_the_first_backup_stopping_anywhere():
    r = check_3pc_fd()
    assert r.violation is None and r.complete and r.states > 10_000


@pytest.mark.parametrize(("variant", "steps"), [("timeout-rules", 8), ("late-precommit", 11)])
def test_broken_variants_have_short_counterexamples(variant, steps):
    r = check_3pc_fd(variant)
    assert r.violation == "atomicity" and len(r.path) == steps
    assert any("halt" in str(c) for c in r.path)            # a crash, not a partition


def test_the_partition_still_breaks_plain_3pc():
    r = ds.txn.check_3pc()
    assert r.violation == "atomicity"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), participants=st.integers(2, 4))
def test_every_live_participant_decides_atomically(seed, participants):
    sim = run_3pc_fd(seed, participants=participants)
    assert atomicity(sim) and commit_validity(sim)
    assert undecided(sim) == []


def test_stops_do_happen_and_backups_do_terminate():
    terminations = stops = 0
    for s in range(30):
        sim = run_3pc_fd(s)
        stops += sum(bool(n.stable.get("halted")) for n in sim.nodes.values())
        terminations += any(e.kind == "annotate" and e.data.get("termination") for e in sim.trace.events)
        assert not undecided(sim)
    assert stops >= 20 and terminations >= 5


def test_bad_variant():
    with pytest.raises(ValueError, match="variant"):
        simulation(0, variant="optimistic")
    assert set(VARIANTS) == {"correct", "timeout-rules", "late-precommit"}
    assert outcomes(simulation(0))["t1"] == {"p1": None, "p2": None}
