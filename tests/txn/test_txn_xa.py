"""The XA model: MySQL's statement state machine, crash recovery, heuristic outcomes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.errors import DscourseError
from dscourse.txn.xa import (
    XA_HEURCOM,
    XA_HEURRB,
    XA_OK,
    XA_RDONLY,
    TransactionManager,
    TrustingTransactionManager,
    XaError,
    XaResource,
    classify,
    truth,
)


def _rms(tmp, n=3):
    return {f"r{i}": XaResource(tmp / f"r{i}.sqlite", {f"k{i}": 100}) for i in range(n)}


def test_mysql_states_and_error_codes(tmp_path):
    r = XaResource(tmp_path / "a.sqlite", {"alice": 100})
    r.sql("XA START 'x1'")
    with pytest.raises(XaError) as e:
        r.sql("XA START 'x1'")
    assert e.value.code == "XAER_DUPID"
    r.update("x1", "alice", -30)
    for stmt in ("XA PREPARE 'x1'", "XA COMMIT 'x1'", "XA ROLLBACK 'x1'", "XA COMMIT 'x1' ONE PHASE"):
        with pytest.raises(XaError, match="ACTIVE state") as e:
            r.sql(stmt)
        assert e.value.code == "XAER_RMFAIL"
    r.sql("XA END 'x1'")
    with pytest.raises(XaError, match="IDLE state"):
        r.sql("XA COMMIT 'x1'")                          # two-phase commit needs PREPARE first
    assert r.sql("XA PREPARE 'x1'") == XA_OK and r.sql("XA RECOVER") == ["x1"]
    assert r.rows() == {"alice": 100}                   # prepared, not applied
    with pytest.raises(XaError) as e:
        r.sql("XA COMMIT 'nope'")
    assert e.value.code == "XAER_NOTA"
    assert r.sql("XA COMMIT 'x1'") == XA_OK and r.rows() == {"alice": 70} and r.sql("XA RECOVER") == []
    for bad in ("XA START", "XA PREPARE 'x' ONE PHASE", "COMMIT", 7):
        with pytest.raises(ValueError, match="XA statement"):
            r.sql(bad)
    r.close()


def test_one_phase_read_only_and_rollback_of_idle(tmp_path):
    r = XaResource(tmp_path / "a.sqlite", {"a": 5})
    r.start("x"), r.update("x", "a", 1), r.end("x")
    assert r.commit("x", one_phase=True) == XA_OK and r.rows() == {"a": 6}
    r.start("y"), r.end("y")
    assert r.prepare("y") == XA_RDONLY and r.state("y") is None
    r.start("z"), r.update("z", "a", 1), r.end("z")
    assert r.rollback("z") == XA_OK and r.state("z") == "ROLLED BACK" and r.rows() == {"a": 6}
    r.start("w"), r.update("w", "a", -100), r.end("w")
    with pytest.raises(XaError, match="rolled back"):       # CHECK (balance >= 0) would fail
        r.prepare("w")
    r.close()


@settings(max_examples=25, deadline=None)
@given(crash_active=st.booleans(), crash_prepared=st.booleans())
def test_a_crash_rolls_back_active_and_idle_branches_and_keeps_prepared_ones(tmp_path_factory, crash_active,
                                                                            crash_prepared):
    r = XaResource(tmp_path_factory.mktemp("xa") / "a.sqlite", {"a": 10})
    r.start("p"), r.update("p", "a", -4), r.end("p"), r.prepare("p")
    r.start("i"), r.update("i", "a", -1)
    if crash_active:
        r.crash()
        assert r.state("i") is None                     # gone, as MySQL rolls it back
    if crash_prepared:
        r.crash()
    assert r.recover() == ["p"] and r.state("p") == "PREPARED"
    assert r.commit("p") == XA_OK and r.rows() == {"a": 6}
    r.close()


def test_heuristic_decisions_are_remembered_until_forget(tmp_path):
    r = XaResource(tmp_path / "a.sqlite", {"a": 10})
    r.start("x"), r.update("x", "a", -4), r.end("x"), r.prepare("x")
    r.heuristic("x", commit=False)
    assert r.state("x") == "HEURISTIC ROLLBACK" and r.recover() == ["x"]
    assert r.commit("x") == XA_HEURRB and r.rollback("x") == XA_HEURRB   # reported again, not lost
    r.crash()
    assert r.commit("x") == XA_HEURRB                   # durable
    r.forget("x")
    assert r.recover() == [] and r.state("x") == "ROLLED BACK"
    with pytest.raises(XaError):
        r.forget("x")
    with pytest.raises(XaError, match="ROLLED BACK state"):
        r.heuristic("x", commit=True)
    r.close()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 4), heur=st.lists(st.sampled_from([None, True, False]), min_size=4, max_size=4),
       tm_crash=st.booleans(), refuse=st.integers(-1, 3))
def test_the_tm_reports_what_the_rms_did(tmp_path_factory, n, heur, tm_crash, refuse):
    """Any RM may decide alone while the TM is down; the TM's report always equals the
    classification of what the RMs' tables say, and with no heuristic the outcome is atomic."""
    tmp = tmp_path_factory.mktemp("tm")
    rms = _rms(tmp, n)
    tm = TransactionManager(tmp / "tm.sqlite", rms)
    work = {f"r{i}": [(f"k{i}", -200 if i == refuse else -10)] for i in range(n)}
    report = tm.run("g1", work, crash_after_prepare=tm_crash)
    decided = [x for (x,) in tm.log.execute("SELECT xid FROM tm_log")] == ["g1"]
    if tm_crash:
        assert report is None
        heuristic = False
        for i, h in enumerate(heur[:n]):
            if h is not None and rms[f"r{i}"].state("g1") == "PREPARED":
                rms[f"r{i}"].heuristic("g1", commit=h)
                heuristic = True
        report = tm.recover().get("g1", "committed" if decided else "rolled back")
    else:
        heuristic = False
    facts = truth(rms, "g1")
    assert report == classify(decided, facts)
    if not heuristic:
        assert set(facts.values()) <= {decided}          # atomic: every branch as decided
    assert all(rm.recover() == [] for rm in rms.values())   # nothing left in doubt or unforgotten
    assert all(rm.branches == {} for rm in rms.values())    # nor an IDLE branch
    assert decided == (refuse < 0 or refuse >= n)
    for rm in rms.values():
        rm.close()
    tm.close()


def test_a_tm_that_ignores_heuristic_codes_misreports(tmp_path):
    out = {}
    for cls in (TransactionManager, TrustingTransactionManager):
        rms = _rms(tmp_path / cls.__name__, 2) if (tmp_path / cls.__name__).mkdir() is None else None
        tm = cls(tmp_path / cls.__name__ / "tm.sqlite", rms)
        tm.run("g", {"r0": [("k0", -1)], "r1": [("k1", 1)]}, crash_after_prepare=True)
        rms["r1"].heuristic("g", commit=False)
        out[cls.__name__] = (tm.recover()["g"], classify(True, truth(rms, "g")))
        for rm in rms.values():
            rm.close()
        tm.close()
    assert out["TransactionManager"] == ("heuristic mixed", "heuristic mixed")
    assert out["TrustingTransactionManager"] == ("committed", "heuristic mixed")   # caught


def test_classify_and_bad_input(tmp_path):
    assert classify(True, {"a": True, "b": True}) == "committed"
    assert classify(True, {"a": True, "b": False}) == "heuristic mixed"
    assert classify(True, {"a": False, "b": False}) == "heuristic rollback"
    assert classify(False, {"a": True}) == "heuristic commit"
    assert classify(False, {}) == "rolled back"
    rms = _rms(tmp_path, 1)
    tm = TransactionManager(tmp_path / "tm.sqlite", rms)
    with pytest.raises(ValueError, match="resource manager"):
        tm.run("g", {"nope": [("k", 1)]})
    with pytest.raises(ValueError, match="write"):
        tm.run("g", {"r0": [("k0", "ten")]})
    assert tm.run("h", {"r0": [("k0", 5)]}) == "committed" and rms["r0"].rows() == {"k0": 105}
    assert issubclass(XaError, DscourseError) and XA_HEURCOM != XA_HEURRB
    rms["r0"].close()
    tm.close()
