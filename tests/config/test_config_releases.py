"""Releases are immutable, history and audit are kept, rollback and gray release work end to end."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds

KEY = "application"


def test_keys_render_as_the_wire_names_and_reject_bad_parts():
    assert str(ds.config.NacosKey("app.yaml")) == "app.yaml+DEFAULT_GROUP+public"
    assert str(ds.config.ApolloKey("shop", "redis", "prod")) == "shop+prod+redis"
    for bad in ("", "a+b", 3):
        with pytest.raises(ValueError, match="data_id"):
            ds.config.NacosKey(bad)
    assert ds.config.md5("") == "d41d8cd98f00b204e9800998ecf8427e"


def test_releases_are_immutable_and_rollback_skips_abandoned_ones():
    s = ds.config.ReleaseStore()
    rs = [s.publish(KEY, f"v{i}", time=10.0 * i) for i in range(4)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rs[0].content = "x"
    assert len({r.release_key for r in rs}) == 4 and [r.version for r in rs] == [1, 2, 3, 4]
    assert s.current(KEY).content == "v3"
    assert s.rollback(KEY, time=50).content == "v2"
    assert s.rollback(KEY, time=60).content == "v1"
    assert s.history(KEY) == rs  # nothing edited or deleted
    s.publish(KEY, "v4", time=70)
    assert s.rollback(KEY, time=80).content == "v1"  # v2 and v3 were abandoned
    assert [a.action for a in s.audit] == ["publish"] * 4 + ["rollback"] * 2 + ["publish", "rollback"]
    assert [m.id for m in s.messages] == list(range(1, 9))


def test_rollback_without_an_earlier_release_is_a_clear_error():
    s = ds.config.ReleaseStore()
    with pytest.raises(ValueError, match="'nope'"):
        s.rollback("nope", time=0)
    s.publish(KEY, "v0", time=0)
    with pytest.raises(ValueError, match="earlier release"):
        s.rollback(KEY, time=1)


@pytest.mark.parametrize("design", ds.config.DESIGNS)
def test_a_rollback_reaches_every_client(design):
    c = ds.config.cluster(design, clients=3, seed=2, keys=(KEY,), poll_interval_ms=1_000)
    c.publish(KEY, "v: good")
    c.run(2_000)
    c.publish(KEY, "v: bad")
    c.run(2_000)
    assert {n.get(KEY) for n in c.clients.values()} == {"v: bad"}
    c.rollback(KEY)
    c.run(2_000)
    assert {n.get(KEY) for n in c.clients.values()} == {"v: good"} and c.converged()


@pytest.mark.parametrize("bad", [-1, 101, float("nan"), True])
def test_gray_rule_rejects_bad_percentages(bad):
    with pytest.raises(ValueError, match="percentage"):
        ds.config.GrayRule(percentage=bad)


def test_bad_builder_arguments_name_the_value():
    with pytest.raises(ValueError, match="'zookeeper2'"):
        ds.config.cluster("zookeeper2")
    with pytest.raises(ValueError, match="clients=0"):
        ds.config.cluster("nacos", clients=0)


@settings(max_examples=20, deadline=None)
@given(pct=st.floats(5, 95), key=st.sampled_from(["application", "redis", "db.yaml"]))
def test_percentage_cohorts_are_within_two_percent_of_the_target(pct, key):
    rule = ds.config.GrayRule(percentage=pct)
    hits = sum(rule.matches(f"client-{i}", key) for i in range(20_000))
    assert abs(hits / 20_000 - pct / 100) <= 0.02


@pytest.mark.parametrize("seed", range(3))
def test_gray_release_by_ip_label_and_percentage_then_merge_and_abandon(seed):
    c = ds.config.cluster("apollo", clients=40, seed=seed, keys=(KEY,))
    c.publish(KEY, "v: 1")
    c.run(2_000)
    server = c.server
    rule = ds.config.GrayRule(ips=("10.0.0.3",), percentage=25)
    server.gray_release(KEY, "v: 2-gray", rule)
    c.run(3_000)
    gray = {cid for cid, n in c.clients.items() if n.get(KEY) == "v: 2-gray"}
    expected = {cid for cid, n in c.clients.items() if rule.matches(cid, KEY, n.ip)}
    assert gray == expected and "c3" in gray and 0 < len(gray) < 40 and c.converged()
    # cohorts are stable across client restarts
    for cid in sorted(gray)[:3] + sorted(set(c.clients) - gray)[:3]:
        c.crash(cid)
        c.recover(cid)
    c.run(3_000)
    assert {cid for cid, n in c.clients.items() if n.get(KEY) == "v: 2-gray"} == gray
    server.merge_gray(KEY)
    c.run(3_000)
    assert {n.get(KEY) for n in c.clients.values()} == {"v: 2-gray"} and c.converged()
    server.gray_release(KEY, "v: 3-gray", ds.config.GrayRule(labels=("canary",)))
    c.run(3_000)
    assert {n.get(KEY) for n in c.clients.values()} == {"v: 2-gray"}  # no client has the label
    server.abandon_gray(KEY)
    c.run(3_000)
    assert c.converged()


def test_label_rule_matches_a_labelled_client():
    rule = ds.config.GrayRule(labels=("canary",))
    assert rule.matches("a", KEY, labels=("canary",)) and not rule.matches("a", KEY, labels=("blue",))
