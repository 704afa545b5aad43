"""The gray-release console's model and widget, and the release history (diffs, audit trail)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.config import labs
from dscourse.config.console import KEY, GrayConsole

IPS = [f"10.0.0.{i}" for i in range(40)]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1_000), ips=st.lists(st.sampled_from(IPS), max_size=4, unique=True),
       labels=st.lists(st.sampled_from(["canary", "beta", "nobody"]), max_size=2, unique=True),
       pct=st.integers(0, 100))
def test_a_client_holds_the_gray_content_exactly_when_the_rule_matches_it(seed, ips, labels, pct):
    con = GrayConsole(clients=40, seed=seed)
    con.apply(ips, labels, pct)
    for r in con.rows():
        assert (r.content == con.gray_content) == bool(r.reason), r
        if r.reason == "ip":
            assert r.ip in ips
        elif r.reason == "label":
            assert set(r.labels) & set(labels)
        elif r.reason == "percentage":
            assert r.bucket < pct * 100
    if pct == 100:
        assert len(con.cohort()) == 40
    if not ips and not labels and pct == 0:
        assert con.cohort() == []


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1_000), p=st.integers(0, 100), q=st.integers(0, 100))
def test_raising_the_percentage_only_adds_clients(seed, p, q):
    lo, hi = sorted((p, q))
    con = GrayConsole(clients=60, seed=seed)
    con.apply(percentage=lo)
    small = set(con.cohort())
    con.apply(percentage=hi)
    assert small <= set(con.cohort())
    assert {r.client for r in con.rows() if r.content == con.gray_content} == set(con.cohort())


@pytest.mark.parametrize("seed", range(4))
def test_merge_abandon_and_rollback_end_with_everyone_on_one_content(seed):
    con = GrayConsole(clients=50, seed=seed)
    con.apply(["10.0.0.3"], ["beta"], 20)
    assert 0 < len(con.cohort()) < 50
    gray = set(con.cohort())
    c = con.cluster
    victim = sorted(gray)[0]
    c.crash(victim)
    c.recover(victim)
    con.settle()
    assert con.effective(victim) == con.gray_content  # the cohort is stable across a restart
    con.merge()
    assert con.served() == {con.gray_content: 50}
    con.rollback()
    assert con.served() == {con.main_content: 50}
    con.apply(percentage=50)
    con.abandon()
    assert con.served() == {con.main_content: 50}
    with pytest.raises(ValueError, match="merge"):
        con.merge()
    actions = [a.action for a in c.server.store.timeline(KEY)]
    assert actions == ["publish", "gray", "publish", "rollback", "gray", "abandon gray"]


def test_the_widget_shows_the_models_numbers():
    lab = labs.gray_console()
    assert lab.values == {"ips": "10.0.0.7", "labels": "canary", "percentage": 10, "action": "gray"}
    con = labs.gray_console_state("10.0.0.7", "canary", 10, "gray")
    assert lab.summary().startswith(f"cohort {len(con.cohort())} of 100")
    for action, content in (("merge to full", "discount: 5"), ("abandon gray", "discount: 0"),
                            ("merge, then roll back", "discount: 0")):
        lab.set(action=action)
        assert f"{content!r} x100" in lab.summary()
    fig = labs.gray_console_figure(percentage=30)
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 100


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.sampled_from(["publish", "rollback"]), min_size=1, max_size=12))
def test_the_audit_trail_records_strictly_increasing_notification_ids_and_the_active_version(ops):
    s = ds.config.ReleaseStore()
    s.publish("k", "v0", time=0)
    for i, op in enumerate(ops, start=1):
        if op == "publish":
            s.publish("k", f"line\nv{i}", time=float(i))
        else:
            try:
                s.rollback("k", time=float(i))
            except ValueError:
                continue
        assert s.audit[-1].active_version == s.current("k").version
    ids = [a.notification_id for a in s.timeline("k")]
    assert ids == [m.id for m in s.messages] and ids == sorted(set(ids))
    assert s.notification_id("k") == ids[-1]


def test_diff_shows_the_changed_lines_between_two_versions():
    s = ds.config.ReleaseStore()
    a = s.publish("k", "pool: 8\ntimeout: 3s\n", time=0)
    b = s.publish("k", "pool: 16\ntimeout: 3s\n", time=1)
    d = s.diff("k", 1, 2)
    assert d[0] == f"--- v1 {a.release_key}" and d[1] == f"+++ v2 {b.release_key}"
    assert "-pool: 8" in d and "+pool: 16" in d and " timeout: 3s" in d
    assert s.diff("k", 2, 2) == []
    with pytest.raises(ValueError, match="version"):
        s.diff("k", 1, 3)
