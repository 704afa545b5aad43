"""Chapter 15: Nacos 1.x and Apollo long polling, Nacos 2.x push; no update is lost."""

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds

KEY = "application.yaml"


def replies(c, label, node="server"):
    return [(e.time / 1000, e.peer, e.data) for e in c.trace.filter("send", node) if e.label == label]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), design=st.sampled_from(ds.config.DESIGNS),
       latency=st.floats(0.1, 200.0),
       publishes=st.lists(st.floats(0.0, 120_000.0), min_size=1, max_size=6))
def test_no_update_is_lost_when_publishes_race_polls(seed, design, latency, publishes):
    """Publishes at arbitrary times (before, during and between polls, while a poll or its
    answer is in flight): every client ends at the server's latest release well before a
    client timeout passes after the last publish."""
    c = ds.config.cluster(design, clients=4, seed=seed,
                          network=ds.sim.Network(latency=ds.sim.Uniform(0.0, latency)))
    for i, t in enumerate(sorted(publishes)):
        c.publish(KEY, f"v: {i}", at=t)
    quiet = 10 * latency + 3_000 + (10_000 if design == "polling" else 0)  # one poll interval more
    c.run(until=max(publishes) + quiet)
    assert c.converged(), c.stale()
    assert all(n.get(KEY) == f"v: {len(publishes) - 1}" for n in c.clients.values())


def test_the_compare_free_server_loses_a_publish_that_lands_between_polls():
    """The broken Nacos server waits only for change events: a publish that lands while the
    first poll is in flight is never delivered, poll after poll (the property above can fail)."""
    for ok in (True, False):
        c = ds.config.cluster("nacos", clients=2, seed=3, compare_on_arrival=ok)
        c.publish(KEY, "v: 1", at=0.5)  # the clients' first polls are on the wire (1 ms)
        c.run(until=200_000)
        assert c.converged() is ok


@pytest.mark.parametrize("seed", range(5))
def test_nacos_early_answer_carries_only_the_changed_keys(seed):
    keys = ("a.yaml", "b.yaml", "c.yaml")
    c = ds.config.cluster("nacos", clients=3, seed=seed, keys=keys)
    for k in keys:
        c.publish(k, f"{k}: 0")
    c.run(5_000)
    assert c.converged() and c.held() == 3
    before = len(replies(c, "ListenReply"))
    c.publish("b.yaml", "b: 1")
    c.run(100)
    early = replies(c, "ListenReply")[before:]
    assert sorted(p for _, p, _ in early) == ["c0", "c1", "c2"]
    assert all(d["changed"] == ["b.yaml"] for _, _, d in early)
    fetched = [d["key"] for _, _, d in replies(c, "ConfigReply")[-3:]]
    assert fetched == ["b.yaml"] * 3 and c.converged()


@pytest.mark.parametrize("seed", range(3))
def test_nacos_holds_29_5_s_within_the_30_s_client_timeout(seed):
    c = ds.config.cluster("nacos", clients=1, seed=seed)
    c.publish(KEY, "v: 0")
    c.run(120_000)
    polls = [e.time / 1000 for e in c.trace.filter("send", "c0") if e.label == "Listen"]
    empty = [t for t, _, d in replies(c, "ListenReply") if d["changed"] == []]
    gaps = [b - a for a, b in pairwise(polls[1:])]  # after the first (answered at once)
    assert empty and all(29_500 <= g < 30_000 for g in gaps), gaps  # 29.5 s + 2 x 1 ms latency
    assert ds.config.NACOS_TIMEOUT_MS - ds.config.HOLD_MARGIN_MS == 29_500


def test_a_nacos_client_repolls_when_the_server_never_answers_within_30_s():
    c = ds.config.cluster("nacos", clients=1, seed=1)
    c.publish(KEY, "v: 0")
    c.run(10)
    c.crash("server")
    c.run(95_000)
    polls = [e.time / 1000 for e in c.trace.filter("send", "c0") if e.label == "Listen"]
    assert [round(b - a) for a, b in pairwise(polls[1:])] == [30_000] * 3
    assert c.clients["c0"].get(KEY) == "v: 0"  # served from the snapshot while the server is down


@pytest.mark.parametrize("seed", range(3))
def test_apollo_holds_60_s_answers_304_and_the_client_polls_again(seed):
    c = ds.config.cluster("apollo", clients=1, seed=seed)
    c.publish(KEY, "v: 0")
    c.run(200_000)
    answers = replies(c, "NotificationsReply")
    assert answers[0][2]["items"] == [[KEY, 1]]
    not_modified = [t for t, _, d in answers if d["items"] == []]
    assert len(not_modified) >= 2
    assert all(abs(b - a - 60_000) <= 3 for a, b in pairwise(not_modified))


def test_apollo_change_reaches_clients_within_one_scan_with_namespace_and_id():
    keys = ("application", "redis")
    c = ds.config.cluster("apollo", clients=3, seed=2, keys=keys)
    c.run(30_500)
    n0 = len(replies(c, "NotificationsReply"))
    c.publish("redis", "host: a")
    c.run(ds.config.SCAN_INTERVAL_MS + 10)
    early = replies(c, "NotificationsReply")[n0:]
    assert len(early) == 3 and all(d["items"] == [["redis", 1]] for _, _, d in early)
    assert c.converged()
    # the release key makes the next /configs a 304
    assert [d["status"] for _, _, d in replies(c, "ConfigsReply")][-3:] == [200] * 3


def test_apollo_notification_ids_are_strictly_monotonic():
    c = ds.config.cluster("apollo", clients=2, seed=5, keys=("a", "b"))
    for i in range(20):
        c.publish("ab"[i % 2], f"x: {i}", at=1_000 * i + 7)
    c.rollback("a", at=25_000)
    c.run(60_000)
    ids = [m.id for m in c.server.store.messages]
    assert ids == list(range(1, 22))
    for n in c.clients.values():
        assert n.notification_ids == {"a": 21, "b": 20}


def test_apollo_fallback_pull_repairs_a_lost_configs_reply():
    c = ds.config.cluster("apollo", clients=1, seed=1)
    c.publish(KEY, "v: 0")
    c.run(2_000)
    c.sim.set_link("server", "c0", drop=1.0)
    c.publish(KEY, "v: 1")
    c.run(3_000)
    c.sim.set_link("server", "c0", drop=0.0)
    c.run(60_000)
    assert c.clients["c0"].get(KEY) == "v: 0"  # the notification was lost with the fetch
    c.run(until=ds.config.REFRESH_MS + 100)
    assert c.clients["c0"].get(KEY) == "v: 1"


@pytest.mark.parametrize("design", ds.config.DESIGNS)
def test_clients_serve_the_snapshot_after_restart_while_the_server_is_down(design):
    c = ds.config.cluster(design, clients=2, seed=4)
    c.publish(KEY, "v: 0")
    c.run(12_000)  # the polling baseline's first poll is up to 10 s in
    c.crash("server")
    c.crash("c1")
    c.recover("c1")
    c.run(100_000)
    assert [n.get(KEY) for n in c.clients.values()] == ["v: 0", "v: 0"]
    c.recover("server")
    c.publish(KEY, "v: 1")
    c.run(ds.config.REFRESH_MS + 100_000)
    assert c.converged()


def test_listeners_are_called_once_per_change():
    seen = []
    sim = ds.sim.Simulation(seed=1)
    server = sim.add_node(ds.config.NacosConfigServer("server"))
    sim.add_node(ds.config.NacosClient("c", "server", [KEY], listeners=[lambda *a: seen.append(a)]))
    sim.run(until=100)
    for i in range(3):
        server.publish(KEY, f"v: {i}")
        sim.run(until=sim.now + 100)
    server.publish(KEY, "v: 2")  # same content: a new release, the same MD5, no callback
    sim.run(until=sim.now + 40_000)
    assert seen == [("c", KEY, f"v: {i}") for i in range(3)]


def test_same_seed_same_trace():
    def digest():
        c = ds.config.cluster("apollo", clients=3, seed=9, network=ds.sim.lossy())
        c.publish(KEY, "v", at=5_000)
        return c.run(100_000).trace.digest()
    assert digest() == digest()


@pytest.mark.parametrize("seed", range(3))
def test_nacos2_pushes_without_holding_and_checks_health_on_idle_connections(seed):
    c = ds.config.cluster("nacos2", clients=3, seed=seed)
    c.publish(KEY, "v: 0")
    c.run(20_000)
    assert c.held() == 0 and c.converged()
    checks = [e for e in c.trace.filter("send", "c0") if e.label == "HealthCheck"]
    assert len(checks) == 20_000 // ds.config.KEEPALIVE_MS
    t = c.now
    c.publish(KEY, "v: 1")
    c.run(10)
    assert [d["key"] for _, _, d in replies(c, "Push")] == [KEY] * 3 and c.converged()
    assert all(n.received[-1][0] - t <= 3 for n in c.clients.values())  # push, fetch: 3 hops of 1 ms


def test_nacos2_resync_repairs_a_lost_push():
    c = ds.config.cluster("nacos2", clients=1, seed=1)
    c.publish(KEY, "v: 0")
    c.run(1_000)
    c.sim.set_link("server", "c0", drop=1.0)
    c.publish(KEY, "v: 1")
    c.run(5_000)
    c.sim.set_link("server", "c0", drop=0.0)
    c.run(60_000)
    assert c.clients["c0"].get(KEY) == "v: 0"
    c.run(until=ds.config.REFRESH_MS + 100)
    assert c.clients["c0"].get(KEY) == "v: 1"


@pytest.mark.parametrize("seed", range(3))
def test_fixed_interval_polling_pays_for_every_poll_and_still_converges(seed):
    c = ds.config.cluster("polling", clients=5, seed=seed, poll_interval_ms=2_000)
    c.publish(KEY, "v: 0")
    c.run(20_000)
    gets = [e for e in c.trace.events if e.kind == "deliver" and e.node == "server"]
    assert 45 <= len(gets) <= 50 and c.converged()  # 5 clients x 10 polls, first at a random offset


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), design=st.sampled_from(ds.config.DESIGNS),
       gaps=st.lists(st.floats(0.0, 40_000.0), min_size=2, max_size=8))
def test_each_client_sees_versions_in_order_on_a_reordering_lossy_network(seed, design, gaps):
    """Per-client monotonic versions: over links that reorder, duplicate and drop, no client
    ever applies an older release after a newer one, and all converge once the links heal."""
    c = ds.config.cluster(design, clients=3, seed=seed, poll_interval_ms=3_000,
                          network=ds.sim.lossy(drop=0.1, duplicate=0.05, latency=ds.sim.Uniform(1, 400)))
    t = 0.0
    for i, g in enumerate(gaps):
        t += g
        c.publish(KEY, f"v: {i}", at=t)
    c.run(until=t + 5_000)
    for n in c.clients.values():
        versions = [int(text.split(": ")[1]) for text in contents(c, n)]
        assert versions == sorted(versions), versions
    for a in c.nodes:  # heal the links (lossy keeps reordering, but nothing is lost any more)
        for b in c.nodes:
            if a != b:
                c.sim.set_link(a, b, drop=0.0)
    c.run(ds.config.REFRESH_MS + 100_000)
    assert c.converged(), c.stale()


def contents(c, node):
    """The contents ``node`` applied, in order (mapped back from MD5s via the release history)."""
    by_md5 = {r.md5: r.content for r in c.server.store.history(KEY)}
    return [by_md5[m] for _, k, m in node.received if k == KEY]


@pytest.mark.parametrize("design", ds.config.DESIGNS)
@pytest.mark.parametrize("seed", range(2))
def test_partitioned_clients_serve_their_snapshot_and_resync_after_the_heal(design, seed):
    """A fifth of the clients are cut off while two releases go out: they keep serving the
    old content (never an empty config), and after the heal they catch up without a restart,
    within one client timeout plus the fallback pull at worst."""
    c = ds.config.cluster(design, clients=20, seed=seed, poll_interval_ms=5_000)
    c.publish(KEY, "v: 0")
    c.run(12_000)
    cut = [f"c{i}" for i in range(0, 20, 5)]
    c.partition(["server", *[x for x in c.clients if x not in cut]], cut)
    c.publish(KEY, "v: 1")
    c.run(20_000)
    c.publish(KEY, "v: 2")
    c.run(100_000)
    assert {c.clients[x].get(KEY) for x in cut} == {"v: 0"}
    assert {n.get(KEY) for x, n in c.clients.items() if x not in cut} == {"v: 2"}
    c.heal()
    c.run(ds.config.REFRESH_MS + ds.config.APOLLO_TIMEOUT_MS)
    assert c.converged(), c.stale()
