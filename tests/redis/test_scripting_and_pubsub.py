"""ds.redis beyond the recorded cases: persistence of hashes, pub/sub to nodes, script atomicity
and the script cache across a crash, virtual-time expiry inside hashes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.redis import Command, Published, RedisServer, Reply, client
from dscourse.redis.scripts import COMPARE_AND_DELETE, REDISSON_LOCK
from dscourse.sim import Node, Simulation


def setup(**kw):
    sim = Simulation(seed=3)
    sim.add_node(RedisServer("redis", **kw))
    sim.run(until=1)
    return sim, client(sim, "redis", decode_responses=True)


def test_hash_survives_crash_with_aof_always_and_scripts_do_not():
    sim, r = setup(persistence="aof", appendfsync="always")
    assert r.eval(REDISSON_LOCK, 1, "L", 30000, "me:1") is None
    sha = r.script_load("return 7")
    sim.crash("redis")
    with pytest.raises(ConnectionError):
        r.get("L")
    sim.recover("redis")
    sim.run(until=sim.now + 1)
    assert r.hgetall("L") == {"me:1": "1"} and 0 < r.pttl("L") <= 30000
    with pytest.raises(ds.redis.NoScriptError):
        r.evalsha(sha, 0)


def test_hash_lost_without_persistence():
    sim, r = setup(persistence="none")
    r.hset("h", "a", 1)
    sim.crash("redis")
    sim.recover("redis")
    sim.run(until=sim.now + 1)
    assert r.exists("h") == 0


def test_lock_hash_expires_on_virtual_time():
    sim, r = setup()
    r.eval(REDISSON_LOCK, 1, "L", 100, "a:1")
    assert r.eval(REDISSON_LOCK, 1, "L", 100, "b:1") == 100
    sim.run(until=sim.now + 60)
    assert r.eval(REDISSON_LOCK, 1, "L", 100, "b:1") == 40
    sim.run(until=sim.now + 41)
    assert r.eval(REDISSON_LOCK, 1, "L", 100, "b:1") is None and r.hgetall("L") == {"b:1": "1"}


class Listener(Node):
    def __init__(self, id, log):
        super().__init__(id)
        self.log = log

    def on_start(self):
        self.send("redis", Command(1, ("SUBSCRIBE", "ch", "other")))

    def on_message(self, src, msg):
        self.log.append(msg)


def test_subscribe_over_the_network_and_publish_from_a_script():
    sim, r = setup()
    log = []
    sim.add_node(Listener("w", log))
    sim.run(until=sim.now + 50)
    assert log == [Reply(1, 2)]
    assert r.eval("return redis.call('publish', KEYS[1], ARGV[1])", 1, "ch", "free") == 1
    sim.run(until=sim.now + 50)
    assert log[1:] == [Published("ch", "free")]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), min_size=1, max_size=15))
def test_compare_and_delete_only_deletes_own_token(ops):
    _sim, r = setup()
    holder = None
    for who, release in ops:
        if r.set("res", who, nx=True, px=1000):
            assert holder is None
            holder = who
        else:
            assert r.get("res") == holder
        if release:
            assert r.eval(COMPARE_AND_DELETE, 1, "res", who) == int(who == holder)
            holder = None if who == holder else holder
        assert r.get("res") == holder


def test_bad_arguments_are_clear_errors():
    _sim, r = setup()
    with pytest.raises(ds.redis.DataError, match="Invalid input of type: 'NoneType'"):
        r.set("k", None)
    with pytest.raises(ValueError, match="hset arguments"):
        r.hset("h")
