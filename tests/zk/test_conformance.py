"""``ds.zk`` against what a real ZooKeeper 3.8 answered to the same scripted cases.

``real_observations.json`` holds the real server's normalized observations, recorded by
``tests/real/test_zk_conformance.py`` (``DSCOURSE_RECORD_ZK=1``), so this check runs on every
machine; in CI the real-server test also compares against a live server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dscourse.zk import conformance

REAL = json.loads((Path(__file__).parent / "real_observations.json").read_text())


def test_suite_has_at_least_60_cases_all_recorded() -> None:
    assert len(conformance.CASES) >= 60
    assert set(REAL) == set(conformance.CASES)


@pytest.mark.parametrize("name", sorted(conformance.CASES))
def test_simulation_matches_real_server(name: str) -> None:
    sim = json.loads(json.dumps(conformance.run_case(name, conformance.SimBackend(seed=1), f"/c/{name}")))
    assert sim == REAL[name]


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_same_answers_whoever_leads(seed: int) -> None:
    """Other seeds put the leader and the clients elsewhere; the answers do not change."""
    names = ["parent_stat_after_delete", "tx_rollback", "watch_data_and_child_apart", "ephemeral_removed_on_close",
             "sequential_counter_after_delete", "lock_recipe_contenders", "watch_child_parent_deleted"]
    for name in names:
        sim = json.loads(json.dumps(conformance.run_case(name, conformance.SimBackend(seed=seed), f"/c/{name}")))
        assert sim == REAL[name], name


def test_normalize_ranks_zxids_by_order() -> None:
    from dscourse.zk import ZnodeStat
    a = ZnodeStat(10, 30, 5, 7, 1, 0, 0, 0, 1, 0, 10)
    b = ZnodeStat(900, 900, 9, 9, 0, 0, 0, 77, 0, 0, 900)
    out = dict(conformance.normalize([("a", a), ("b", b)], "/base", {77: "session1"}))
    assert dict(out["a"])["czxid"] == "z0" and dict(out["a"])["mzxid"] == "z1" and dict(out["b"])["czxid"] == "z2"
    assert dict(out["b"])["ephemeralOwner"] == "session1"
    bad = ZnodeStat(1, 1, 9, 5, 0, 0, 0, 0, 0, 0, 1)
    assert dict(dict(conformance.normalize([("x", bad)], "/b", {}))["x"])["ctime"] == "T-out-of-order"
