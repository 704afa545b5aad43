"""MIT 6.5840's Raft tests (``raft/test_test.go``, parts 3A-3D) ported to the Harness.

Each scenario runs over several seeds on virtual time; besides the Go tests' own checks,
the harness checks the five safety properties of Figure 3 after every state change
(``h.end()``). Names and structure follow the Go tests; ``time.Sleep`` became ``run_for``.
``RAFT_SEEDS=4,5,6 pytest tests/raft/test_6_5840.py`` runs other seeds (default 1,2,3).
"""

from __future__ import annotations

import os

import pytest

from dscourse.raft.testing import ELECTION_TIMEOUT, SNAPSHOT_INTERVAL, Harness

SEEDS = [int(s) for s in os.environ.get("RAFT_SEEDS", "1,2,3").split(",")]
ET = ELECTION_TIMEOUT


def rand_int(h: Harness, bound: int = 2**31) -> int:
    return int(h.rng.integers(bound))


# -- 3A: leader election ---------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_initial_election(seed):
    h = Harness(3, seed)
    h.check_one_leader()
    h.run_for(50)
    term1 = h.check_terms()
    assert term1 >= 1, f"term is {term1}, but should be at least 1"
    h.run_for(2 * ET)
    term2 = h.check_terms()
    assert term1 == term2, "term changed even though there were no failures"
    h.check_one_leader()
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_re_election(seed):
    h = Harness(3, seed)
    leader1 = h.check_one_leader()
    h.disconnect(leader1)  # the leader disconnects: a new one is elected
    h.check_one_leader()
    h.connect(leader1)  # the old leader rejoins: it must not disturb the new one
    leader2 = h.check_one_leader()
    h.disconnect(leader2)  # no quorum: no leader
    h.disconnect((leader2 + 1) % 3)
    h.run_for(2 * ET)
    h.check_no_leader()
    h.connect((leader2 + 1) % 3)  # a quorum again
    h.check_one_leader()
    h.connect(leader2)
    h.check_one_leader()
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_many_elections(seed):
    servers = 7
    h = Harness(servers, seed)
    h.check_one_leader()
    for _ in range(1, 10):
        i1, i2, i3 = (rand_int(h, servers) for _ in range(3))
        for i in (i1, i2, i3):
            h.disconnect(i)
        h.check_one_leader()  # a leader among the remaining four or more
        for i in (i1, i2, i3):
            h.connect(i)
    h.check_one_leader()
    h.end()


# -- 3B: log replication ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_basic_agree(seed):
    h = Harness(3, seed)
    for index in range(1, 4):
        nd, _ = h.n_committed(index)
        assert nd == 0, "some have committed before Start()"
        assert h.one(index * 100, 3, False) == index
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_rpc_bytes(seed):
    """Each command is sent to each follower once (no resending of committed entries)."""
    h = Harness(3, seed)
    h.one(99, 3, False)
    bytes0 = h.bytes_total()
    sent = 0
    for index in range(2, 12):
        cmd = "".join(chr(97 + int(c)) for c in h.rng.integers(26, size=5000))
        assert h.one(cmd, 3, False) == index
        sent += len(cmd)
    got = h.bytes_total() - bytes0
    expected = 3 * sent
    assert got <= expected + 50_000, f"too many RPC bytes; got {got}, expected {expected}"
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_follower_failure(seed):
    h = Harness(3, seed)
    h.one(101, 3, False)
    leader1 = h.check_one_leader()
    h.disconnect((leader1 + 1) % 3)  # one follower disconnects: the rest still agree
    h.one(102, 2, False)
    h.run_for(ET)
    h.one(103, 2, False)
    leader2 = h.check_one_leader()
    h.disconnect((leader2 + 1) % 3)
    h.disconnect((leader2 + 2) % 3)
    index, _, ok = h.start(leader2, 104)
    assert ok, "leader rejected Start()"
    assert index == 4, f"expected index 4, got {index}"
    h.run_for(2 * ET)
    n, _ = h.n_committed(index)
    assert n == 0, f"{n} committed but no majority"
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_leader_failure(seed):
    h = Harness(3, seed)
    h.one(101, 3, False)
    leader1 = h.check_one_leader()
    h.disconnect(leader1)
    h.one(102, 2, False)
    h.run_for(ET)
    h.one(103, 2, False)
    leader2 = h.check_one_leader()
    h.disconnect(leader2)
    for i in range(3):
        h.start(i, 104)
    h.run_for(2 * ET)
    n, _ = h.n_committed(4)
    assert n == 0, f"{n} committed but no majority"
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_fail_agree(seed):
    h = Harness(3, seed)
    h.one(101, 3, False)
    leader = h.check_one_leader()
    h.disconnect((leader + 1) % 3)
    h.one(102, 2, False)
    h.one(103, 2, False)
    h.run_for(ET)
    h.one(104, 2, False)
    h.one(105, 2, False)
    h.connect((leader + 1) % 3)  # the follower rejoins and catches up
    h.one(106, 3, True)
    h.run_for(ET)
    h.one(107, 3, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_fail_no_agree(seed):
    servers = 5
    h = Harness(servers, seed)
    h.one(10, servers, False)
    leader = h.check_one_leader()
    for k in (1, 2, 3):  # three of five followers disconnect
        h.disconnect((leader + k) % servers)
    index, _, ok = h.start(leader, 20)
    assert ok, "leader rejected Start()"
    assert index == 2, f"expected index 2, got {index}"
    h.run_for(2 * ET)
    n, _ = h.n_committed(index)
    assert n == 0, f"{n} committed but no majority"
    for k in (1, 2, 3):
        h.connect((leader + k) % servers)
    leader2 = h.check_one_leader()
    index2, _, ok2 = h.start(leader2, 30)
    assert ok2, "leader2 rejected Start()"
    assert 2 <= index2 <= 3, f"unexpected index {index2}"
    h.one(1000, servers, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_concurrent_starts(seed):
    servers = 3
    h = Harness(servers, seed)
    for attempt in range(5):
        if attempt > 0:
            h.run_for(3000)
        leader = h.check_one_leader()
        _, term, ok = h.start(leader, 1)
        if not ok:
            continue
        indices = []
        for i in range(5):  # the Go test's five concurrent Start()s
            index, term1, ok = h.start(leader, 100 + i)
            if term1 == term and ok:
                indices.append(index)
        if any(h.get_state(j)[0] != term for j in range(servers)):
            continue
        cmds = [h.wait(index, servers, term) for index in indices]
        if -1 in cmds:
            continue
        for x in range(100, 105):
            assert x in cmds, f"cmd {x} missing in {cmds}"
        break
    else:
        pytest.fail("term changed too often")
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_rejoin(seed):
    h = Harness(3, seed)
    h.one(101, 3, True)
    leader1 = h.check_one_leader()
    h.disconnect(leader1)  # the partitioned leader appends entries no one will commit
    for cmd in (102, 103, 104):
        h.start(leader1, cmd)
    h.one(103, 2, True)  # the new leader commits index 2
    leader2 = h.check_one_leader()
    h.disconnect(leader2)
    h.connect(leader1)  # the old leader must not win with its stale entries
    h.one(104, 2, True)
    h.connect(leader2)
    h.one(105, 3, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_backup(seed):
    """A leader backs up quickly over incorrect follower logs."""
    servers = 5
    h = Harness(servers, seed)
    h.one(rand_int(h), servers, True)
    leader1 = h.check_one_leader()
    for k in (2, 3, 4):  # put the leader and one follower in a partition
        h.disconnect((leader1 + k) % servers)
    for _ in range(50):  # lots of commands that won't commit
        h.start(leader1, rand_int(h))
    h.run_for(ET / 2)
    h.disconnect(leader1)
    h.disconnect((leader1 + 1) % servers)
    for k in (2, 3, 4):  # allow the other partition to recover
        h.connect((leader1 + k) % servers)
    for _ in range(50):
        h.one(rand_int(h), 3, True)
    leader2 = h.check_one_leader()  # now another partitioned leader and one follower
    other = (leader1 + 2) % servers
    if leader2 == other:
        other = (leader2 + 1) % servers
    h.disconnect(other)
    for _ in range(50):
        h.start(leader2, rand_int(h))
    h.run_for(ET / 2)
    for i in range(servers):  # bring the original leader back to life
        h.disconnect(i)
    h.connect(leader1)
    h.connect((leader1 + 1) % servers)
    h.connect(other)
    for _ in range(50):
        h.one(rand_int(h), 3, True)
    for i in range(servers):
        h.connect(i)
    h.one(rand_int(h), servers, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_count(seed):
    """No more RPCs than needed: to elect, to agree on 10 commands, and while idle."""
    servers = 3
    h = Harness(servers, seed)
    h.check_one_leader()
    total1 = h.rpc_total()
    assert 1 <= total1 <= 30, f"too many or few RPCs ({total1}) to elect initial leader"
    for attempt in range(5):
        if attempt > 0:
            h.run_for(3000)
        leader = h.check_one_leader()
        total1 = h.rpc_total()
        starti, term, ok = h.start(leader, 1)
        if not ok:
            continue
        cmds, changed = [], False
        for i in range(1, 12):
            x = rand_int(h)
            cmds.append(x)
            index1, term1, ok = h.start(leader, x)
            if term1 != term or not ok:
                changed = True
                break
            assert index1 == starti + i, "Start() failed"
        if changed:
            continue
        for i in range(1, 11):
            cmd = h.wait(starti + i, servers, term)
            if cmd != cmds[i - 1]:
                if cmd == -1:
                    changed = True
                    break
                pytest.fail(f"wrong value {cmd} committed for index {starti + i}")
        if changed or any(h.get_state(j)[0] != term for j in range(servers)):
            continue
        total2 = h.rpc_total()
        assert total2 - total1 <= (10 + 1 + 3) * 3, f"too many RPCs ({total2 - total1}) for 10 entries"
        break
    else:
        pytest.fail("term changed too often")
    h.run_for(ET)
    total3 = h.rpc_total()
    assert total3 - total2 <= 3 * 20, f"too many RPCs ({total3 - total2}) for 1 second of idleness"
    h.end()


# -- 3C: persistence --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_persist1(seed):
    servers = 3
    h = Harness(servers, seed)
    h.one(11, servers, True)
    for i in range(servers):  # crash and re-start all
        h.restart(i)
    for i in range(servers):
        h.disconnect(i)
        h.connect(i)
    h.one(12, servers, True)
    leader1 = h.check_one_leader()
    h.disconnect(leader1)
    h.restart(leader1)
    h.connect(leader1)
    h.one(13, servers, True)
    leader2 = h.check_one_leader()
    h.disconnect(leader2)
    h.one(14, servers - 1, True)
    h.restart(leader2)
    h.connect(leader2)
    h.wait(4, servers, -1)  # wait for leader2 to join before killing i3
    i3 = (h.check_one_leader() + 1) % servers
    h.disconnect(i3)
    h.one(15, servers - 1, True)
    h.restart(i3)
    h.connect(i3)
    h.one(16, servers, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_persist2(seed):
    servers = 5
    h = Harness(servers, seed)
    index = 1
    for _ in range(5):
        h.one(10 + index, servers, True)
        index += 1
        leader1 = h.check_one_leader()
        h.disconnect((leader1 + 1) % servers)
        h.disconnect((leader1 + 2) % servers)
        h.one(10 + index, servers - 2, True)
        index += 1
        for k in (0, 3, 4):
            h.disconnect((leader1 + k) % servers)
        h.restart((leader1 + 1) % servers)
        h.restart((leader1 + 2) % servers)
        h.connect((leader1 + 1) % servers)
        h.connect((leader1 + 2) % servers)
        h.run_for(ET)
        h.restart((leader1 + 3) % servers)
        h.connect((leader1 + 3) % servers)
        h.one(10 + index, servers - 2, True)
        index += 1
        h.connect((leader1 + 4) % servers)
        h.connect((leader1 + 0) % servers)
    h.one(1000, servers, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_persist3(seed):
    """Partitioned leader and one follower crash; the leader restarts."""
    servers = 3
    h = Harness(servers, seed)
    h.one(101, 3, True)
    leader = h.check_one_leader()
    h.disconnect((leader + 2) % servers)
    h.one(102, 2, True)
    h.crash((leader + 0) % servers)
    h.crash((leader + 1) % servers)
    h.connect((leader + 2) % servers)
    h.restart((leader + 0) % servers)
    h.connect((leader + 0) % servers)
    h.one(103, 2, True)
    h.restart((leader + 1) % servers)
    h.connect((leader + 1) % servers)
    h.one(104, servers, True)
    h.end()


def figure8(h: Harness, servers: int, iters: int) -> None:
    """Test the scenarios of Figure 8: leaders crash right after appending."""
    h.one(rand_int(h), 1, True)
    nup = servers
    for _ in range(iters):
        leader = -1
        for i in range(servers):
            if h.alive(i) and h.start(i, rand_int(h))[2]:
                leader = i
        if rand_int(h, 1000) < 100:
            h.run_for(rand_int(h, int(ET) // 2))
        else:
            h.run_for(rand_int(h, 13))
        if leader != -1:
            h.crash(leader)
            nup -= 1
        if nup < 3:
            s = rand_int(h, servers)
            if not h.alive(s):
                h.restart(s)
                h.connect(s)
                nup += 1
    for i in range(servers):
        if not h.alive(i):
            h.restart(i)
            h.connect(i)
    h.one(rand_int(h), servers, True)


@pytest.mark.parametrize("seed", SEEDS)
def test_figure8(seed):
    h = Harness(5, seed)
    figure8(h, 5, 1000)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_unreliable_agree(seed):
    servers = 5
    h = Harness(servers, seed, unreliable=True)
    tasks = []
    for iters in range(1, 50):
        for j in range(4):
            tasks.append(h.spawn(h.one_steps(100 * iters + j, 1, True)))
        h.one(iters, 1, True)
    h.set_unreliable(False)
    h.join(*tasks)
    h.one(100, servers, True)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_figure8_unreliable(seed):
    servers = 5
    h = Harness(servers, seed, unreliable=True)
    h.one(rand_int(h, 10000), 1, True)
    nup = servers
    for iters in range(1000):
        if iters == 200:
            h.set_long_reordering(True)
        leader = -1
        for i in range(servers):
            _, _, ok = h.start(i, rand_int(h, 10000))
            if ok and h.is_connected(i):
                leader = i
        if rand_int(h, 1000) < 100:
            h.run_for(rand_int(h, int(ET) // 2))
        else:
            h.run_for(rand_int(h, 13))
        if leader != -1 and rand_int(h, 1000) < int(ET) // 2:
            h.disconnect(leader)
            nup -= 1
        if nup < 3:
            s = rand_int(h, servers)
            if not h.is_connected(s):
                h.connect(s)
                nup += 1
    for i in range(servers):
        if not h.is_connected(i):
            h.connect(i)
    h.one(rand_int(h, 10000), servers, True)
    h.end()


def churn(h: Harness, servers: int) -> None:
    """internalChurn: three clients submit while servers disconnect, crash and restart."""
    stop = [False]

    def client(me: int):
        values = []
        while not stop[0]:
            x = rand_int(h)
            index, ok = -1, False
            for i in range(servers):  # try them all, maybe one of them is a leader
                if h.alive(i):
                    index1, _, ok1 = h.start(i, x)
                    if ok1:
                        ok, index = ok1, index1
            if ok:  # maybe the leader will commit our value, maybe not
                for to in (10, 20, 50, 100, 200):
                    nd, cmd = h.n_committed(index)
                    if nd > 0:
                        if cmd == x:
                            values.append(x)
                        break
                    yield to
            else:
                yield 79 + me * 17
        return values

    tasks = [h.spawn(client(i)) for i in range(3)]
    for _ in range(20):
        if rand_int(h, 1000) < 200:
            h.disconnect(rand_int(h, servers))
        if rand_int(h, 1000) < 500:
            i = rand_int(h, servers)
            if not h.alive(i):
                h.restart(i)
            h.connect(i)
        if rand_int(h, 1000) < 200:
            i = rand_int(h, servers)
            if h.alive(i):
                h.crash(i)
        h.run_for(ET * 7 / 10)
    h.run_for(ET)
    h.set_unreliable(False)
    for i in range(servers):
        if not h.alive(i):
            h.restart(i)
        h.connect(i)
    stop[0] = True
    values = [v for vs in h.join(*tasks) for v in vs]
    h.run_for(ET)
    last_index = h.one(rand_int(h), servers, True)
    really = {h.wait(index, servers, -1) for index in range(1, last_index + 1)}
    for v in values:
        assert v in really, "didn't find a value"


@pytest.mark.parametrize("seed", SEEDS)
def test_reliable_churn(seed):
    h = Harness(5, seed)
    churn(h, 5)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_unreliable_churn(seed):
    h = Harness(5, seed, unreliable=True)
    churn(h, 5)
    h.end()


# -- 3D: log compaction -----------------------------------------------------------------------
MAXLOGSIZE = 2000


def snapcommon(h: Harness, disconnect: bool, crash: bool) -> None:
    servers = 3
    h.one(rand_int(h), servers, True)
    leader1 = h.check_one_leader()
    for i in range(30):
        victim, sender = (leader1 + 1) % servers, leader1
        if i % 3 == 1:
            sender, victim = (leader1 + 1) % servers, leader1
        if disconnect:
            h.disconnect(victim)
            h.one(rand_int(h), servers - 1, True)
        if crash:
            h.crash(victim)
            h.one(rand_int(h), servers - 1, True)
        for _ in range(SNAPSHOT_INTERVAL // 2 + rand_int(h, SNAPSHOT_INTERVAL)):
            h.start(sender, rand_int(h))  # perhaps enough to get a snapshot
        if not disconnect and not crash:
            h.one(rand_int(h), servers, True)  # all caught up: no InstallSnapshot needed
        else:
            h.one(rand_int(h), servers - 1, True)
        assert h.log_size() < MAXLOGSIZE, "Log size too large"
        if disconnect:  # a follower that may be behind and need a snapshot
            h.connect(victim)
            h.one(rand_int(h), servers, True)
            leader1 = h.check_one_leader()
        if crash:
            h.restart(victim)
            h.connect(victim)
            h.one(rand_int(h), servers, True)
            leader1 = h.check_one_leader()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name,disconnect,reliable,crash", [
    ("SnapshotBasic", False, True, False),
    ("SnapshotInstall", True, True, False),
    ("SnapshotInstallUnreliable", True, False, False),
    ("SnapshotInstallCrash", False, True, True),
    ("SnapshotInstallUnCrash", False, False, True),
])
def test_snapshot(seed, name, disconnect, reliable, crash):
    h = Harness(3, seed, unreliable=not reliable, snapshot=True)
    snapcommon(h, disconnect, crash)
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_snapshot_all_crash(seed):
    servers = 3
    h = Harness(servers, seed, snapshot=True)
    h.one(rand_int(h), servers, True)
    for _ in range(5):
        for _ in range(SNAPSHOT_INTERVAL // 2 + rand_int(h, SNAPSHOT_INTERVAL)):
            h.one(rand_int(h), servers, True)
        index1 = h.one(rand_int(h), servers, True)
        for i in range(servers):
            h.crash(i)
        for i in range(servers):
            h.restart(i)
            h.connect(i)
        index2 = h.one(rand_int(h), servers, True)
        assert index2 >= index1 + 1, f"index decreased from {index1} to {index2}"
    h.end()


@pytest.mark.parametrize("seed", SEEDS)
def test_snapshot_init(seed):
    servers = 3
    h = Harness(servers, seed, snapshot=True)
    h.one(rand_int(h), servers, True)
    for _ in range(SNAPSHOT_INTERVAL + 1):  # enough ops to make a snapshot
        h.one(rand_int(h), servers, True)
    for _ in range(2):
        for i in range(servers):
            h.crash(i)
        for i in range(servers):
            h.restart(i)
            h.connect(i)
        h.one(rand_int(h), servers, True)  # written back to persistent storage
    h.end()
