"""Failover with config epochs (and the writes async replication loses), and MOVED/ASK."""

import pytest

import dscourse as ds
from dscourse.redis_cluster import key_slot


def keys_of(c, master, n, prefix="k"):
    """``n`` keys whose slots ``master`` serves."""
    out, i = [], 0
    while len(out) < n:
        k = f"{prefix}{i}"
        if c.owner(key_slot(k)) == master:
            out.append(k)
        i += 1
    return out


@pytest.mark.parametrize("seed", range(1, 6))
def test_failover_promotes_the_replica_and_the_old_master_rejoins_as_its_replica(seed):
    c = ds.redis_cluster.cluster(masters=3, replicas=1, seed=seed)
    slot = key_slot(keys_of(c, "m0", 1)[0])
    c.crash("m0")
    assert c.run_until(lambda: all(c.owner(slot, o) == "r0" for o in c.up()), timeout=8000)
    r0 = c.nodes["r0"]
    assert r0.role == "master"
    assert r0.conf["config_epoch"] > max(c.nodes[m].conf["config_epoch"] for m in ("m1", "m2"))
    c.sim.recover("m0")
    assert c.run_until(lambda: c.nodes["m0"].role == "replica" and c.nodes["m0"].master == "r0", timeout=5000)


def test_votes_are_given_once_per_epoch():
    c = ds.redis_cluster.cluster(masters=3, replicas=1, seed=4)
    c.crash("m0")
    c.run(until=c.sim.now + 8000)
    acks = [e for e in c.sim.trace.filter("send") if e.label == "AuthAck"]
    voters = [(e.node, e.data["epoch"]) for e in acks]
    assert len(voters) == len(set(voters)) > 0


def test_async_replication_loses_acknowledged_writes_and_the_checker_sees_it():
    c = ds.redis_cluster.cluster(masters=3, replicas=1, seed=1, repl_delay_ms=200)
    key = keys_of(c, "m0", 1)[0]
    c.client("c0", [("set", key, "v1")], gap_ms=1)
    c.run(until=c.sim.now + 300)                 # v1 acknowledged and replicated
    c.clients["c0"].submit(("set", key, "v2"))
    c.run(until=c.sim.now + 20)                  # v2 acknowledged, not yet shipped
    assert c.nodes["r0"].store.get(key) == "v1" and c.nodes["m0"].store.get(key) == "v2"
    c.crash("m0")
    c.run_until(lambda: c.nodes["r0"].role == "master", timeout=8000)
    c.run(until=c.sim.now + 500)
    c.clients["c0"].submit(("get", key), ("get", key))   # the first times out at the dead m0
    c.run(until=c.sim.now + 2000)
    ops = c.history.ops()
    assert [op.status for op in ops] == ["ok", "ok", "fail", "ok"]
    assert ops[-1].output == "v1"         # the acknowledged v2 is gone
    assert c.check().outcome == "illegal"


def test_no_loss_when_replication_is_immediate_and_the_history_is_linearizable():
    c = ds.redis_cluster.cluster(masters=3, replicas=1, seed=1, repl_delay_ms=0)
    key = keys_of(c, "m0", 1)[0]
    c.client("c0", [("set", key, "v1"), ("set", key, "v2")], gap_ms=1)
    c.run(until=c.sim.now + 50)
    c.crash("m0")
    c.run_until(lambda: c.nodes["r0"].role == "master", timeout=8000)
    c.run(until=c.sim.now + 500)
    c.clients["c0"].submit(("get", key), ("get", key))
    c.run(until=c.sim.now + 2000)
    assert c.history.ops()[-1].output == "v2"
    assert c.check().outcome == "ok"


@pytest.mark.parametrize("seed", range(1, 5))
def test_resharding_with_moved_and_ask_keeps_every_key_and_stays_linearizable(seed):
    c = ds.redis_cluster.cluster(masters=3, replicas=0, seed=seed)
    tagged = [f"{{t}}.{i}" for i in range(12)]      # one slot, thanks to the hash tag
    slot = key_slot(tagged[0])
    src = c.owner(slot)
    dst = next(m for m in c.masters if m != src)
    c.client("w", [("set", k, "a") for k in tagged], gap_ms=2)
    c.run(until=c.sim.now + 200)
    c.reshard(slot, src, dst, batch=2, step_ms=30)
    ops = [op for k in tagged for op in (("get", k), ("set", k, "b"))]
    cl = c.client("rw", ops, gap_ms=7)
    c.run(until=c.sim.now + 3000)
    assert c.admin.done and c.owner(slot, src) == dst and c.owner(slot, dst) == dst
    assert {k: c.nodes[dst].store.get(k) for k in tagged} == {k: "b" for k in tagged}
    assert not any(key_slot(k) == slot for k in c.nodes[src].store)
    assert cl.redirects["ask"] > 0
    cl.submit(*(("get", k) for k in tagged))          # the cache still names src: one MOVED
    c.run(until=c.sim.now + 1000)
    assert cl.redirects["moved"] == 1 and cl.cache[slot] == dst
    assert [op.output for op in c.history.ops()[-len(tagged):]] == ["b"] * len(tagged)
    assert all(op.status == "ok" for op in c.history.ops())
    assert c.check().outcome == "ok"
