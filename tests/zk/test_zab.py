"""FastLeaderElection and ZAB on the simulated ensemble: votes, epochs, sync modes, broadcast."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.zk import LEADING, ZKOptions, counter_of, epoch_of, total_order, zxid

votes = st.tuples(st.integers(0, 5), st.integers(0, 2**40), st.integers(1, 9))


def sent(ens, label: str, dst: str | None = None) -> list:
    return [e for e in ens.trace.events if e.kind == "send" and e.label == label and (dst is None or e.peer == dst)]


# -- the vote order (E8) ----------------------------------------------------------------------
@given(votes, votes)
def test_total_order_is_epoch_then_zxid_then_id(a, b) -> None:
    if a[0] != b[0]:
        assert total_order(a, b) == (a[0] > b[0])
    elif a[1] != b[1]:
        assert total_order(a, b) == (a[1] > b[1])
    else:
        assert total_order(a, b) == (a[2] > b[2])
    assert not (total_order(a, b) and total_order(b, a))


def test_zxid_layout() -> None:
    z = zxid(3, 7)
    assert z == (3 << 32) | 7 and epoch_of(z) == 3 and counter_of(z) == 7
    assert ds.zk.zxid_str(z) == "3:7"


# -- election -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 4, 5, 7])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fresh_ensemble_elects_the_highest_id(n: int, seed: int) -> None:
    ens = ds.zk.ensemble(servers=n, seed=seed)
    assert ens.run_until_leader(10_000) == f"zk{n}"
    assert sum(r == LEADING for r in ens.roles().values()) == 1
    assert ens.check() == []


@pytest.mark.parametrize("seed", range(5))
def test_seed_example_longest_history_wins(seed: int) -> None:
    """The seed's re-election example: (myid 1, zxid 99) beats (myid 3, zxid 95)."""
    ens = ds.zk.ensemble(3, seed=seed, preset={"zk1": (1, 99), "zk2": (1, 90), "zk3": (1, 95)})
    assert ens.run_until_leader() == "zk1"
    assert set(ens.zxids().values()) == {"1:99"}


@pytest.mark.parametrize("seed", range(5))
def test_epoch_beats_a_longer_log(seed: int) -> None:
    """peerEpoch comes first (E8): a server of epoch 2 wins over more epoch-1 entries."""
    ens = ds.zk.ensemble(3, seed=seed, preset={"zk1": (1, 500), "zk2": (2, 3), "zk3": (2, 3)})
    assert ens.run_until_leader() in ("zk3",)
    # zk1 had entries the epoch-2 history never contained: it is truncated or replaced
    assert {e.peer for e in sent(ens, "Trunc") + sent(ens, "Snap")} == {"zk1"}
    assert set(ens.zxids().values()) == {"2:3"}
    assert ens.check() == []


@pytest.mark.parametrize("seed", range(5))
def test_seed_example_with_the_old_leader_down(seed: int) -> None:
    """The seed's example as told: server2 (the old leader) is down; server1 (zxid 99) and
    server3 (zxid 95) elect server1. ``zxids`` reports the down server instead of failing."""
    ens = ds.zk.ensemble(3, seed=seed, preset={"zk1": (1, 99), "zk2": (1, 90), "zk3": (1, 95)})
    ens.crash("zk2")
    assert ens.run_until_leader() == "zk1"
    assert ens.zxids() == {"zk1": "1:99", "zk2": "crashed", "zk3": "1:99"}
    assert ens.check() == []


@pytest.mark.parametrize("seed", range(5))
def test_peer_epoch_beats_a_larger_zxid(seed: int) -> None:
    """Only peerEpoch separates these votes (E8): zk2 and zk3 accepted epoch 2 with logs ending
    at 1:3, zk1 logged 1:4..1:500 alone. By zxid alone zk1 would win; epoch first, zk3 does and
    zk1 is truncated to 1:3."""
    ens = ds.zk.ensemble(3, seed=seed, preset={"zk1": (1, 500), "zk2": (1, 3, 2), "zk3": (1, 3, 2)})
    assert ens.run_until_leader() == "zk3"
    assert [e.data["zxid"] for e in sent(ens, "Trunc") if e.peer == "zk1"] == [(1 << 32) | 3]
    assert ens.check() == []


def test_observers_do_not_vote_and_learn_by_inform() -> None:
    ens = ds.zk.ensemble(servers=3, observers=2, seed=4)
    leader = ens.run_until_leader()
    assert leader in ("zk1", "zk2", "zk3")
    assert ens.roles()["zk4"] == ens.roles()["zk5"] == "OBSERVING"
    zk = ens.client(server="zk4")
    zk.start()
    zk.create("/x", b"1")
    assert sent(ens, "Inform", "zk4") and not sent(ens, "Proposal", "zk4")[len(sent(ens, "Proposal", "zk4")):]
    assert not [e for e in sent(ens, "Ack") if e.node in ("zk4", "zk5") and counter_of(e.data["zxid"]) != 0]
    assert ens.run_until(ens.converged, 1000) and ens.check() == []


def test_observers_do_not_make_a_quorum() -> None:
    ens = ds.zk.ensemble(servers=3, observers=2, seed=5)
    ens.run_until_leader()
    zk = ens.client(server="zk4", session_timeout_ms=4000)
    zk.start()
    zk.create("/x", b"before")
    voters = ["zk1", "zk2", "zk3"]
    for v in voters[:2]:
        ens.crash(v)
    with pytest.raises((ds.zk.ConnectionLoss, ds.zk.KazooTimeoutError)):
        zk.set("/x", b"after")
    ens.run(30_000)
    assert ens.leader() is None  # one voter and two observers cannot elect


# -- recovery: a new epoch, nothing committed lost -------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_leader_crash_new_epoch_keeps_committed(seed: int) -> None:
    ens = ds.zk.ensemble(5, seed=seed)
    old = ens.run_until_leader()
    zk = ens.client(session_timeout_ms=20_000)
    zk.start()
    for i in range(5):
        zk.create(f"/n{i}", str(i).encode())
    ens.crash(old)
    new = ens.run_until_leader(60_000)
    assert new not in (None, old)
    assert epoch_of(ens.nodes[new].applied) == 1 and ens.nodes[new].new_epoch == 2
    zk2 = ens.client(server=new)
    zk2.start()
    assert [zk2.get(f"/n{i}")[0] for i in range(5)] == [str(i).encode() for i in range(5)]
    zk2.create("/after")
    assert epoch_of(zk2.exists("/after").czxid) == 2 and counter_of(zk2.exists("/after").czxid) >= 1
    ens.recover(old)
    ens.run_until(lambda: ens.nodes[old].serving, 60_000)
    assert ens.run_until(ens.converged, 2000) and ens.check() == []


def test_follower_rejoins_by_diff() -> None:
    ens = ds.zk.ensemble(3, seed=2)
    leader = ens.run_until_leader()
    follower = next(s for s in ens.nodes if s != leader)
    zk = ens.client(server=leader)
    zk.start()
    zk.create("/a")
    ens.crash(follower)
    for i in range(5):
        zk.create(f"/a/{i}")
    before = len(sent(ens, "Diff", follower))
    ens.recover(follower)
    ens.run_until(lambda: ens.nodes[follower].serving, 30_000)
    assert len(sent(ens, "Diff", follower)) == before + 1
    assert not sent(ens, "Snap", follower) and not sent(ens, "Trunc", follower)
    assert ens.nodes[follower].tree.children("/a") == [str(i) for i in range(5)]
    assert ens.check() == []


def test_follower_far_behind_gets_a_snapshot() -> None:
    ens = ds.zk.ensemble(3, seed=3, options=ZKOptions(snap_count=5))
    leader = ens.run_until_leader()
    follower = next(s for s in ens.nodes if s != leader)
    zk = ens.client(server=leader)
    zk.start()
    ens.crash(follower)
    for i in range(20):
        zk.create(f"/s{i}")
    ens.recover(follower)
    ens.run_until(lambda: ens.nodes[follower].serving, 30_000)
    assert sent(ens, "Snap", follower)
    assert ens.nodes[follower].tree.digest() == ens.nodes[leader].tree.digest()
    assert ens.check() == []


@pytest.mark.parametrize("seed", range(4))
def test_unacknowledged_proposal_is_truncated(seed: int) -> None:
    """E9: a proposal only the old leader logged is skipped: TRUNC when it rejoins."""
    ens = ds.zk.ensemble(3, seed=seed)
    leader = ens.run_until_leader()
    others = [s for s in ens.nodes if s != leader]
    zk = ens.client(server=leader, session_timeout_ms=4000)
    zk.start()
    zk.create("/x", b"committed")
    ens.partition([leader, zk.id], others)
    result = zk.set_async("/x", b"only-on-the-old-leader")
    ens.run(200)
    assert not result.ready()
    old_log = [p.zxid for p in ens.nodes[leader].log]
    # the old leader still believes it leads for a while (E3): wait for the new epoch
    assert ens.run_until(lambda: ens.leader() in others, 60_000)
    ens.heal()
    ens.run_until(lambda: ens.nodes[leader].serving, 60_000)
    assert sent(ens, "Trunc", leader)
    assert ens.nodes[leader].tree.get("/x")[0] == b"committed"
    assert max(old_log) not in [p.zxid for p in ens.nodes[leader].log]
    assert ens.check() == []


def test_counter_exhaustion_forces_a_new_epoch() -> None:
    ens = ds.zk.ensemble(3, seed=1, options=ZKOptions(max_counter=6, tick_ms=200))
    ens.run_until_leader()
    zk = ens.client(session_timeout_ms=4000)
    zk.start()
    done = 0
    for i in range(12):
        try:
            zk.create(f"/c{i}")
            done += 1
        except (ds.zk.ConnectionLoss, ds.zk.KazooTimeoutError, ds.zk.SessionExpiredError):
            ens.run_until_leader()
            ens.run_until(lambda: zk.connected, 10_000)
    epochs = {epoch_of(z) for z in (p.zxid for p in ens.monitor.order)}
    assert max(counter_of(p.zxid) for p in ens.monitor.order) <= 6
    assert len(epochs) >= 2 and done >= 8
    assert ens.check() == []


# -- broadcast: per-follower FIFO queues ------------------------------------------------------
def test_slow_follower_grows_its_queue_without_blocking_commits() -> None:
    ens = ds.zk.ensemble(3, seed=7)
    leader = ens.run_until_leader()
    slow, fast = [s for s in ens.nodes if s != leader]
    ens.sim.slow_link(leader, slow, 300.0)
    zk = ens.client(server=leader)
    zk.start()
    for i in range(10):
        zk.create(f"/q{i}")  # commits with the leader and the fast follower
    handler = ens.nodes[leader].handlers[ens.nodes[slow].myid]
    assert len(handler.queue) >= 5
    assert ens.nodes[fast].applied == ens.nodes[leader].applied
    assert ens.nodes[slow].applied < ens.nodes[leader].applied
    ens.run(5_000)
    assert not handler.queue and ens.converged()
    # proposals reached each follower in zxid order (one FIFO stream per learner)
    for f in (slow, fast):
        zs = [e.data["p"]["zxid"] for e in ens.trace.events if e.kind == "deliver" and e.node == f
              and e.label == "Proposal"]
        assert zs == sorted(zs)


def test_broken_stream_sends_the_follower_back_to_election() -> None:
    ens = ds.zk.ensemble(3, seed=8)
    leader = ens.run_until_leader()
    follower = next(s for s in ens.nodes if s != leader)
    zk = ens.client(server=leader)
    zk.start()
    ens.sim.cut(leader, follower)
    zk.create("/lost-on-one-link")
    ens.run(50)
    ens.heal()
    zk.create("/next")
    ens.run(100)
    looks = [e for e in ens.trace.events if e.kind == "annotate" and e.node == follower
             and e.data.get("why") == "stream from leader broken"]
    assert looks
    ens.run_until(lambda: ens.nodes[follower].serving, 30_000)
    assert ens.run_until(ens.converged, 1000) and ens.check() == []


# -- determinism --------------------------------------------------------------------------------
def test_same_seed_same_trace() -> None:
    def digest(seed: int) -> str:
        ens = ds.zk.ensemble(3, seed=seed)
        ens.run_until_leader()
        zk = ens.client()
        zk.start()
        zk.create("/d", b"x", ephemeral=True)
        zk.set("/d", b"y")
        return ens.trace.digest()

    assert digest(11) == digest(11)
    assert digest(11) != digest(12)


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="servers"):
        ds.zk.ensemble(servers=0)
    with pytest.raises(ValueError, match="tick_ms"):
        ZKOptions(tick_ms=0)
    with pytest.raises(ValueError, match="server"):
        ds.zk.ensemble(3, seed=1).client(server="zk9")


def test_label_counts_are_plausible() -> None:
    """Every committed write costs one PROPOSAL and one COMMIT per follower."""
    ens = ds.zk.ensemble(3, seed=9)
    ens.run_until_leader()
    zk = ens.client()
    zk.start()
    before = Counter(e.label for e in ens.trace.events if e.kind == "send")
    for i in range(10):
        zk.create(f"/w{i}")
    after = Counter(e.label for e in ens.trace.events if e.kind == "send")
    assert after["Proposal"] - before["Proposal"] == 20
    assert after["Commit"] - before["Commit"] == 20
