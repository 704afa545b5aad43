"""The checks behind exercises E5.2 and E5.3, on right and wrong answers."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.paxos import harness as H


def p2c(promises, own):
    votes = [p for p in promises if p is not None]
    return max(votes, key=lambda p: (p[0], p[1]))[2] if votes else own


def test_p2c_passes_and_ignoring_votes_fails_with_the_12_step_run():
    assert H.adoption_model_check(p2c) is None
    problem = H.adoption_model_check(lambda promises, own: own)
    assert problem.startswith("agreement violated after 12 steps")


def test_random_runs_pass_p2c_and_catch_ignoring_votes():
    assert H.adoption_random_runs(p2c, range(15)) is None
    assert H.adoption_random_runs(lambda promises, own: own, range(15)) is not None


def test_backoff_check_passes_random_backoff_and_fails_no_backoff():
    assert H.backoff_decisions(lambda f, u: u * min(200.0, 5.0 * 2 ** f), range(50)) is None
    problem = H.backoff_decisions(lambda f, u: 0.0, range(10))
    assert problem.startswith("0/10 seeds decided")


def test_custom_backoff_is_validated():
    with pytest.raises(ValueError, match="custom"):
        ds.paxos.Backoff("custom")
    with pytest.raises(ValueError, match="custom"):
        ds.paxos.Backoff("random", custom=lambda f, u: 1.0)
    bad = ds.paxos.Backoff("custom", custom=lambda f, u: -1.0)
    with pytest.raises(ValueError, match="custom backoff delay"):
        bad.delay(1, ds.sim.stream(1, "x"))


def recover_p2c(first, promises):
    best = {}
    for votes in promises:
        for slot, rnd, proposer, token in votes:
            if slot not in best or (rnd, proposer) > best[slot][0]:
                best[slot] = ((rnd, proposer), token)
    top = max([first - 1, *best])
    return [[slot, best[slot][1] if slot in best else None] for slot in range(first, top + 1)]


def recover_noops(first, promises):
    top = max([first - 1] + [v[0] for votes in promises for v in votes])
    return [[slot, None] for slot in range(first, top + 1)]


def test_multi_paxos_recovery_check_passes_p2c_and_catches_no_ops_everywhere():
    assert H.recovery_runs(recover_p2c, range(20)) is None
    problem = H.recovery_runs(recover_noops, range(40))
    assert problem and "different commands" in problem


def test_recovery_rejects_tokens_it_never_handed_out():
    with pytest.raises(ValueError, match="token"):
        H.recovery_runs(lambda first, promises: [[first, 999]] if any(promises) else [], range(20))


def _newer(a, b):
    return b is None or tuple(a) >= tuple(b)


def prepare_ok(state, ballot):
    if _newer(ballot, state["promised"]):
        state = {"promised": ballot, "accepted": state["accepted"]}
        return [state, ["promise", state["accepted"]]]
    return [state, ["nack", state["promised"]]]


def accept_ok(state, ballot, value):
    if _newer(ballot, state["promised"]):
        return [{"promised": ballot, "accepted": [ballot[0], ballot[1], value]}, ["accepted"]]
    return [state, ["nack", state["promised"]]]


def accept_anything(state, ballot, value):
    return [{"promised": ballot, "accepted": [ballot[0], ballot[1], value]}, ["accepted"]]


def prepare_hiding_votes(state, ballot):
    state, reply = prepare_ok(state, ballot)
    return [state, ["promise", None] if reply[0] == "promise" else reply]


def test_acceptor_check_passes_a_correct_acceptor_and_catches_two_wrong_ones():
    assert H.acceptor_model_check(prepare_ok, accept_ok) is None
    broke = H.acceptor_model_check(prepare_ok, accept_anything)
    assert broke.startswith("promises kept violated")
    hid = H.acceptor_model_check(prepare_hiding_votes, accept_ok)
    assert hid.startswith("agreement violated after 12 steps")


def test_acceptor_random_runs():
    assert H.acceptor_random_runs(prepare_ok, accept_ok, range(10)) is None
    assert H.acceptor_random_runs(prepare_ok, accept_anything, range(10)) is not None


def test_acceptor_replies_are_validated():
    with pytest.raises(ValueError, match="prepare"):
        H.acceptor_random_runs(lambda s, b: [s, ["maybe"]], accept_ok, range(1))
    with pytest.raises(ValueError, match="state"):
        H.acceptor_random_runs(lambda s, b: [{"promised": b}, None], accept_ok, range(1))
