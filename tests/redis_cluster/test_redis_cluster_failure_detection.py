"""PFAIL → FAIL audited on traces, over many seeds (Redis Cluster Specification, "Failure detection")."""

import pytest

import dscourse as ds
from dscourse.redis_cluster import ClusterNode, audit

TIMEOUT = 1000.0
BOUND = 2.5 * TIMEOUT      # ping after NODE_TIMEOUT/2, PFAIL after NODE_TIMEOUT, one more gossip round


@pytest.mark.parametrize("seed", range(1, 13))
def test_a_crashed_master_is_fail_everywhere_within_the_bound_and_only_with_a_quorum(seed):
    c = ds.redis_cluster.cluster(masters=6, replicas=1, seed=seed, node_timeout=TIMEOUT)
    assert c.everyone_knows_everyone()
    victim = f"m{seed % 6}"
    t0 = c.sim.now
    c.crash(victim)
    c.run(until=t0 + 4 * TIMEOUT)
    trace = c.sim.trace
    assert audit.audit_bound(trace, victim, t0, c.up(), BOUND) == []
    assert audit.audit_quorum(trace, masters=6, node_timeout=TIMEOUT) == []
    assert any(f.by == "reports" for f in audit.fail_events(trace))
    # nothing but the victim was ever failed
    assert {f.about for f in audit.fail_events(trace)} == {victim}


@pytest.mark.parametrize("seed", range(1, 7))
def test_a_minority_partition_never_fails_a_majority_node(seed):
    c = ds.redis_cluster.cluster(masters=6, replicas=1, seed=seed, node_timeout=TIMEOUT)
    minority = ["m0", "m1", "r0"]
    majority = [n for n in c.nodes if n not in minority]
    c.partition(minority, majority)
    c.run(until=c.sim.now + 5 * TIMEOUT)
    assert audit.audit_minority(c.sim.trace, majority) == []
    assert audit.audit_quorum(c.sim.trace, masters=6, node_timeout=TIMEOUT) == []
    # the majority side (4 of 6 masters) does fail the minority masters
    assert c.view("m3", "m0") == "FAIL" and c.view("m3", "m1") == "FAIL"
    # the minority sees them only as PFAIL: 2 masters are no majority of 6
    assert c.view("m0", "m3") == "PFAIL"


@pytest.mark.parametrize("seed", range(1, 5))
def test_a_node_paused_for_less_than_node_timeout_is_never_failed(seed):
    c = ds.redis_cluster.cluster(masters=3, replicas=1, seed=seed, node_timeout=TIMEOUT)
    for _k in range(5):
        c.sim.pause("m1", 0.4 * TIMEOUT)
        c.run(until=c.sim.now + TIMEOUT)
    assert not any(f.about == "m1" for f in audit.fail_events(c.sim.trace))


def test_fail_clears_when_a_replica_returns_and_reports_expire():
    c = ds.redis_cluster.cluster(masters=3, replicas=1, seed=3, node_timeout=TIMEOUT)
    c.crash("r1")
    c.run(until=c.sim.now + 4 * TIMEOUT)
    assert all(c.view(o, "r1") == "FAIL" for o in c.up())
    c.sim.recover("r1")
    c.run(until=c.sim.now + 2 * TIMEOUT)
    assert all(c.view(o, "r1") == "ok" for o in c.up() if o != "r1")
    # failure reports about a node that came back expire after 2 × NODE_TIMEOUT
    assert all(not c.nodes[o].valid_reports("r1") for o in c.up() if o != "r1")


class EagerNode(ClusterNode):
    """A mutant that promotes PFAIL to FAIL on its own suspicion alone."""

    def quorum(self):
        return 1


def test_the_quorum_audit_catches_a_node_that_fails_without_a_majority():
    c = ds.redis_cluster.cluster(masters=6, replicas=1, seed=2, node_timeout=TIMEOUT, node_cls=EagerNode)
    c.crash("m4")
    c.run(until=c.sim.now + 3 * TIMEOUT)
    assert audit.audit_quorum(c.sim.trace, masters=6, node_timeout=TIMEOUT) != []


def test_the_minority_audit_catches_eager_nodes():
    c = ds.redis_cluster.cluster(masters=6, replicas=1, seed=2, node_timeout=TIMEOUT, node_cls=EagerNode)
    minority = ["m0", "m1", "r0"]
    majority = [n for n in c.nodes if n not in minority]
    c.partition(minority, majority)
    c.run(until=c.sim.now + 3 * TIMEOUT)
    assert audit.audit_minority(c.sim.trace, majority) != []


def test_untrusted_nodes_are_not_admitted_without_meet():
    c = ds.redis_cluster.cluster(masters=3, replicas=0, seed=1)
    stranger = ClusterNode("x", slots=((0, 0),))
    c.sim.add_node(stranger)
    stranger.set_timer(0, "cron")
    c.run(until=c.sim.now + 2000)
    assert all("x" not in c.nodes[o].views for o in c.masters)


def test_same_seed_same_trace():
    a = ds.redis_cluster.cluster(masters=3, seed=9)
    b = ds.redis_cluster.cluster(masters=3, seed=9)
    a.crash("m1"), b.crash("m1")
    a.run(until=6000), b.run(until=6000)
    assert a.sim.trace.digest() == b.sim.trace.digest()


@pytest.mark.parametrize("bad", [dict(masters=0), dict(replicas=5), dict(node_timeout=10)])
def test_bad_configuration_names_the_value(bad):
    with pytest.raises(ValueError, match="is not allowed"):
        ds.redis_cluster.cluster(**bad)
