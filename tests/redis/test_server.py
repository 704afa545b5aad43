"""The Redis emulator: commands, virtual-time expiry, persistence modes across crashes."""

import pytest

import dscourse as ds
from dscourse.redis import Command, RedisError, RedisServer, Reply
from dscourse.sim import Node, Simulation


def server(**kw):
    sim = Simulation(seed=0)
    r = sim.add_node(RedisServer("redis", **kw))
    sim.run(until=1)
    return sim, r


def test_strings_nx_xx_and_virtual_time_expiry():
    sim, r = server()
    assert r.execute("SET", "lock", "tok1", "NX", "PX", 100) == "OK"
    assert r.execute("SET", "lock", "tok2", "NX", "PX", 100) is None
    assert r.execute("GET", "lock") == "tok1" and 0 < r.execute("PTTL", "lock") <= 100
    sim.run(until=102)
    assert r.execute("GET", "lock") is None and r.execute("PTTL", "lock") == -2
    assert r.execute("SET", "k", "v", "XX") is None
    assert r.execute("SET", "k", "v", "EX", 1) == "OK" and r.execute("EXISTS", "k", "x") == 1
    assert r.execute("PEXPIRE", "k", 5) == 1 and r.execute("DEL", "k", "x") == 1


def test_incr_keeps_ttl_and_rejects_non_integers():
    _sim, r = server()
    assert [r.execute("INCR", "n") for _ in range(3)] == [1, 2, 3]
    assert r.execute("INCRBY", "n", 10) == 13
    r.execute("PEXPIRE", "n", 50)
    r.execute("INCR", "n")
    assert r.execute("PTTL", "n") == 50
    r.execute("SET", "s", "abc")
    with pytest.raises(RedisError, match="not an integer"):
        r.execute("INCR", "s")
    with pytest.raises(RedisError, match="unknown command 'NOSUCH'"):
        r.execute("NOSUCH", "h", "f", "v")
    with pytest.raises(RedisError, match="syntax error"):
        r.execute("SET", "k", "v", "NX", "XX")
    with pytest.raises(RedisError, match="invalid expire"):
        r.execute("SET", "k", "v", "PX", 0)


class Client(Node):
    def __init__(self, id, log):
        super().__init__(id)
        self.log = log

    def on_start(self):
        self.send("redis", Command(7, ("INCR", "c")))
        self.send("redis", Command(8, ("GET",)))

    def on_message(self, src, msg):
        self.log.append(msg)


def test_message_interface():
    sim = Simulation(seed=0)
    sim.add_node(RedisServer("redis"))
    log = []
    sim.add_node(Client("c", log))
    sim.run(until=10)
    assert log[0] == Reply(7, 1)
    assert log[1].req == 8 and log[1].error is not None


@pytest.mark.parametrize("kw, survivors", [
    (dict(persistence="none"), None),
    (dict(persistence="rdb", rdb_every_ms=1000), "998"),
    (dict(persistence="aof", appendfsync="always"), "1500"),
    (dict(persistence="aof", appendfsync="everysec"), "998"),
    (dict(persistence="aof", appendfsync="no", os_flush_ms=30_000), None),
])
def test_what_survives_a_host_crash(kw, survivors):
    sim, r = server(**kw)
    for t in range(1, 1501):
        sim.run(until=1 + t)
        r.execute("SET", "last", str(t))
    sim.crash("redis")
    sim.recover("redis")
    sim.run(until=1600)
    assert r.execute("GET", "last") == survivors


@pytest.mark.parametrize("kw, match", [
    (dict(persistence="disk"), "persistence='disk'"),
    (dict(appendfsync="sometimes"), "appendfsync='sometimes'"),
    (dict(rdb_every_ms=0), "rdb_every_ms=0"),
])
def test_bad_configuration(kw, match):
    with pytest.raises(ds.ConfigError, match=match):
        RedisServer("redis", **kw)
