"""The harnesses behind exercises E5.1-E5.4, on right and wrong answers: each returns a Trial."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.paxos import harness as H


def passed(trial):
    assert trial.error is None, repr(trial.error)
    assert trial.ok, f"seed {trial.seed}: {trial.violations[0]}"
    return trial


def failed(trial, prefix):
    """A violation whose message starts with ``prefix`` (the property's name)."""
    assert trial.error is None, repr(trial.error)
    assert not trial.ok, f"seed {trial.seed}: expected a violation"
    assert trial.violations[0].startswith(prefix), trial.violations[0]
    return trial


def p2c(promises, own):
    votes = [p for p in promises if p is not None]
    return max(votes, key=lambda p: (p[0], p[1]))[2] if votes else own


def test_p2c_passes_and_ignoring_votes_fails_with_the_12_step_run():
    assert passed(H.adoption_model_trial(p2c)).facts["complete"]
    t = failed(H.adoption_model_trial(lambda promises, own: own), "agreement violated after 12 steps")
    assert t.seed == 0 and t.trace is not None and len(t.trace) and t.at is not None


def test_random_runs_pass_p2c_and_catch_ignoring_votes():
    for seed in range(15):
        passed(H.adoption_random_trial(p2c, seed))
    trials = [H.adoption_random_trial(lambda promises, own: own, seed) for seed in range(15)]
    bad = [t for t in trials if not t.ok]
    assert bad
    for t in bad:
        failed(t, "agreement violated at t=")
        assert t.trace is not None and len(t.trace) and 0 < t.at <= 400


def test_backoff_check_passes_random_backoff_and_fails_no_backoff():
    t = passed(H.backoff_trial(lambda f, u: u * min(200.0, 5.0 * 2 ** f), range(50)))
    assert t.facts == {"decided": 50, "seeds": 50}
    t = failed(H.backoff_trial(lambda f, u: 0.0, range(3, 13)), "progress: 0/10 seeds decided")
    assert t.seed == 3 and t.trace is not None


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
    t = passed(H.recovery_trial(recover_p2c, range(20)))
    assert t.facts["completed"] >= 0.75 * t.facts["operations"] > 0
    t = failed(H.recovery_trial(recover_noops, range(40)), "prefix consistency violated")
    assert "different commands" in t.violations[0] and t.trace is not None


def test_recovery_rejects_tokens_it_never_handed_out():
    t = failed(H.recovery_trial(lambda first, promises: [[first, 999]] if any(promises) else [],
                                range(20)), "unusable answer")
    assert "token" in t.violations[0]


def test_student_exceptions_end_the_trial_with_the_seed():
    def broken(promises, own):
        raise KeyError("round")

    t = H.adoption_random_trial(broken, 7)
    assert isinstance(t.error, KeyError) and t.seed == 7 and not t.ok
    t = H.adoption_model_trial(broken)
    assert isinstance(t.error, KeyError) and not t.ok


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
    passed(H.acceptor_model_trial(prepare_ok, accept_ok))
    failed(H.acceptor_model_trial(prepare_ok, accept_anything), "promises kept violated")
    failed(H.acceptor_model_trial(prepare_hiding_votes, accept_ok), "agreement violated after 12 steps")


def test_acceptor_random_runs():
    for seed in range(10):
        passed(H.acceptor_random_trial(prepare_ok, accept_ok, seed))
    trials = [H.acceptor_random_trial(prepare_ok, accept_anything, seed) for seed in range(10)]
    assert any(not t.ok for t in trials)
    for t in trials:
        assert t.error is None and t.seed in range(10)


def test_acceptor_replies_are_validated():
    t = failed(H.acceptor_random_trial(lambda s, b: [s, ["maybe"]], accept_ok, 1), "unusable answer")
    assert "prepare() reply" in t.violations[0]
    t = failed(H.acceptor_random_trial(lambda s, b: [{"promised": b}, None], accept_ok, 1),
               "unusable answer")
    assert "state" in t.violations[0]


def test_recover_outside_the_reported_slots_is_refused_not_run():
    """A slot beyond the promises' highest would make the leader fill an unbounded gap: the
    harness refuses it as an unusable answer (issue 12, unbounded work in the grader)."""
    def far(first, promises):
        return [[first + 10**12, None]]

    def not_a_pair(first, promises):
        return [first]

    for answer in (far, not_a_pair):
        trial = H.recovery_trial(answer, [1, 2])
        assert not trial.ok
        assert "recover() entry" in " ".join(trial.violations) or "recover() entry" in str(trial.error)
