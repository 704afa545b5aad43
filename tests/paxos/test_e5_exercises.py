"""E5.1, E5.2 and E5.4 as reworked for issue 13: E5.2 asks for the run that breaks a
first-vote proposer (and then for P2c), E5.1 and E5.4 give one point per property, and E5.4
checks the curriculum's message cost in steady state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dscourse as ds
from dscourse.grading import cells as fmt
from dscourse.grading.registry import collecting, run_test
from dscourse.paxos import harness as H
from dscourse.paxos.basic import NoAdoptProposer, Proposer, chosen

MASTER = Path(__file__).resolve().parents[2] / "exercises" / "source" / "ch05.ipynb"
NB = json.loads(MASTER.read_text())


def _answers() -> dict:
    ns: dict = {"ds": ds}
    for _exercise, source in fmt.answer_cells(NB):
        exec(compile(source, "<answer>", "exec"), ns)  # noqa: S102
    return ns


def _tests(exercise: str, hidden: bool) -> list:
    with collecting() as cases:
        for tc in fmt.test_cells(NB):
            if exercise in tc.exercises and tc.hidden == hidden:
                exec(compile(tc.source, "<test cell>", "exec"), {"ds": ds})  # noqa: S102
    return [c for c in cases if c.exercise == exercise]


ANS = _answers()


# -- E5.2 part 1: the schedule ------------------------------------------------------------------
def test_master_schedule_breaks_the_first_vote_proposer_only():
    schedule = ANS["counterexample"]()
    assert H.counterexample_trial(schedule).ok
    assert chosen(H.replay_schedule(schedule)) == {"v1", "v2"}
    assert len(chosen(H.replay_schedule(schedule, proposer_cls=Proposer))) == 1   # P2c holds
    assert len(chosen(H.replay_schedule(schedule, proposer_cls=NoAdoptProposer))) == 2


def test_a_schedule_that_chooses_one_value_says_what_each_acceptor_voted():
    t = H.counterexample_trial(ANS["counterexample"]()[:-1])
    assert not t.ok and "1 value ['v2'] is chosen, not two" in t.violations[0]
    assert "a1 voted v1 at (1,p1), v1 at (1,p3)" in t.violations[0] and t.trace is not None


@pytest.mark.parametrize("bad", [[["Promise", "a1", "p1"]], [["Accept", "p9", "a1"]]])
def test_a_step_not_in_flight_lists_what_is(bad):
    t = H.counterexample_trial(bad)
    assert not t.ok and "no such message is in flight" in t.violations[0]
    assert "['Prepare', 'p1', 'a1']" in t.violations[0]


@pytest.mark.parametrize("bad", ["not a list", [["Prepare", "p1"]], [["Nack", "a1", "p1"]],
                                 [["Prepare", "p1", "a1"]] * 61])
def test_malformed_schedules_are_unusable_answers(bad):
    t = H.counterexample_trial(bad)
    assert not t.ok and t.violations[0].startswith("unusable answer")


def test_the_two_proposer_model_check_cannot_catch_the_first_vote_rule():
    """Why Part 1 needs three proposers: the chapter's model check passes the first-vote rule."""
    def first_vote(promises, own):
        votes = [p for p in promises if p is not None]
        return votes[0][2] if votes else own

    assert H.adoption_model_trial(first_vote).ok
    assert not H.choose_value_cases_trial(first_vote, 1).ok


# -- E5.2 part 2: the rule on random promises ---------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3, 99])
def test_cases_trial_passes_p2c_and_lists_wrong_answers(seed):
    assert H.choose_value_cases_trial(ANS["choose_value"], seed).ok
    t = H.choose_value_cases_trial(lambda promises, own: own, seed)
    assert not t.ok and "agreement at risk" in t.violations[0] and "more)" in t.violations[0]
    assert t.facts["wrong"] > 5


def test_round_only_comparison_is_caught():
    def round_only(promises, own):
        votes = [p for p in promises if p is not None]
        return max(votes, key=lambda p: p[0])[2] if votes else own

    assert any(not H.choose_value_cases_trial(round_only, s).ok for s in (1, 2, 3))


# -- E5.1: one point per property ---------------------------------------------------------------
def test_random_acceptor_runs_judge_each_property_alone():
    def accept_any(state, ballot, value):
        return [{"promised": ballot, "accepted": [ballot[0], ballot[1], value]}, ["accepted"]]

    good = [H.acceptor_random_trial(ANS["prepare"], ANS["accept"], s) for s in (1, 2)]
    assert all(t.ok for t in good)
    bad = H.acceptor_random_trial(ANS["prepare"], accept_any, 1, properties=("promises kept",))
    assert not bad.ok and bad.violations[0].startswith("promises kept: violated")
    assert H.acceptor_random_trial(ANS["prepare"], accept_any, 1, properties=("validity",)).ok
    with pytest.raises(ValueError, match="properties"):
        H.acceptor_random_trial(ANS["prepare"], ANS["accept"], 1, properties=("speed",))


# -- E5.4: properties and the message count ---------------------------------------------------
def _noops(first, promises):
    top = max([first - 1] + [v[0] for votes in promises for v in votes])
    return [[slot, None] for slot in range(first, top + 1)]


def test_recovery_lists_every_failing_seed_per_property():
    t = H.recovery_trial(_noops, range(40), properties=("prefix consistency",))
    assert not t.ok and "prefix consistency violated on" in t.violations[0]
    failing = t.violations[0].split("(")[1].split(")")[0]
    assert str(t.seed) in failing.split(",")[0]
    assert H.recovery_trial(_noops, range(40), properties=("progress",)).ok
    with pytest.raises(ValueError, match="properties"):
        H.recovery_trial(_noops, [1], properties=("safety",))


def _lowest_ballot(first, promises):
    """BROKEN: keeps the lowest-numbered vote of each slot."""
    best = {}
    for votes in promises:
        for slot, rnd, proposer, token in votes:
            if slot not in best or (rnd, proposer) < best[slot][0]:
                best[slot] = ((rnd, proposer), token)
    top = max([first - 1, *best])
    return [[slot, best[slot][1] if slot in best else None] for slot in range(first, top + 1)]


@pytest.mark.parametrize("seed", range(1, 21))
def test_recover_cases_fail_a_lowest_ballot_answer_on_exactly_highest_ballot_wins(seed):
    good = H.recover_cases_trial(ANS["recover"], seed)
    assert good.ok, good.violations
    bad = H.recover_cases_trial(_lowest_ballot, seed)
    assert not bad.ok
    assert [v.split(" violated")[0] for v in bad.violations] == ["highest ballot wins"]
    assert bad.facts["highest ballot wins"] >= 10 and bad.facts["no-ops in gaps"] == 0


@pytest.mark.parametrize("seed", range(1, 6))
def test_recover_cases_really_hold_conflicting_votes_and_catch_no_ops(seed):
    seen = []

    def spy(first, promises):
        seen.append(promises)
        return ANS["recover"](first, promises)

    assert H.recover_cases_trial(spy, seed).ok
    conflicting = 0
    for promises in seen:
        per_slot = {}
        for votes in promises:
            for slot, rnd, proposer, token in votes:
                per_slot.setdefault(slot, set()).add(((rnd, proposer), token))
        conflicting += any(len({t for _, t in vs}) > 1 for vs in per_slot.values())
    assert conflicting >= 20            # two different commands from two ballots in one slot
    noops = H.recover_cases_trial(_noops, seed)
    assert [v.split(" violated")[0] for v in noops.violations] == ["highest ballot wins"]
    beyond = H.recover_cases_trial(lambda f, p: [*ANS["recover"](f, p), [99, None]], seed)
    assert [v.split(" violated")[0] for v in beyond.violations] == ["no-ops in gaps"]


def test_random_runs_alone_do_not_tell_lowest_from_highest():
    """Why the cases exist: the store's runs pass the broken answer (checked on a few seeds)."""
    assert H.recovery_trial(_lowest_ballot, range(5)).ok


@pytest.mark.parametrize("seed", [1, 2, 3, 11, 12, 13])
def test_steady_state_costs_one_phase1_and_2n_minus_2_per_command(seed):
    t = H.steady_state_trial(ANS["recover"], seed)
    assert t.ok, t.violations
    assert t.facts["prepares"] == 4 and t.facts["phase2"] == 8 * 20 and t.facts["done"] == 20
    assert t.facts["decides"] == 4 * 20           # MDecide counted apart: 3(n-1) in all


def test_steady_state_catches_a_phase1_that_costs_more(monkeypatch):
    """A leader whose Phase 1 sends every MPrepare twice is caught."""
    from dscourse.paxos import multi
    from dscourse.paxos.messages import MPrepare

    original = multi.Replica.campaign

    def twice(self):
        original(self)
        for r in self.others:
            self.send(r, MPrepare(self.ballot, self.first))

    monkeypatch.setattr(multi.Replica, "campaign", twice)
    t = H.steady_state_trial(ANS["recover"], 1)
    assert not t.ok and "1 leader ballot(s) and 8 MPrepare" in t.violations[0]


# -- the master's tests on the master's answers -------------------------------------------------
@pytest.mark.parametrize("exercise", ["E5.2", "E5.4"])
def test_master_tests_pass_on_the_reference(exercise):
    names = {"E5.2": ("counterexample", "choose_value"), "E5.4": ("recover",)}[exercise]
    bindings = {n: ANS[n] for n in names}
    for case in _tests(exercise, hidden=False) + _tests(exercise, hidden=True):
        outcome = run_test(case, bindings, secret=b"k", salt="s")
        assert outcome.status == "passed", (case.name, outcome.message)


def test_e51_and_e54_give_one_hidden_point_per_property():
    assert [c.points for c in _tests("E5.1", hidden=True)] == [1, 1, 1, 1]
    assert [c.points for c in _tests("E5.4", hidden=True)] == [1, 1, 1, 1]
    assert len(_tests("E5.4", hidden=False)) == 6


def test_e52_text_does_not_state_the_rule():
    text = "".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                   for c in NB["cells"] if c["cell_type"] == "markdown")
    e52 = text[text.index("## E5.2"):text.index("## E5.3")]
    for giveaway in ("highest-numbered", "highest ballot", "P2c", "exactly 12"):
        assert giveaway not in e52


# -- E5.3: the oblivious schedule fails answers that barely depend on u -------------------------
@pytest.mark.parametrize("answer, passes", [
    (lambda f, u: u * min(200.0, 5.0 * 2 ** f), True),       # randomized exponential backoff
    (lambda f, u: 50 * u, True),                             # plain random wait
    (lambda f, u: 10.0, False),                              # fixed, as long as an attempt or longer
    (lambda f, u: 30.0, False),
    (lambda f, u: 30.0 + 0.001 * u, False),                  # random in name only
    (lambda f, u: min(200.0, 5.0 * 2 ** f), False),          # deterministic exponential backoff
    (lambda f, u: 3.0 * f + 0.01 * u, False),
])
def test_backoff_trial_under_the_oblivious_schedule(answer, passes):
    mistuned = H.backoff_trial(answer, range(1, 21), share=1.0)
    assert mistuned.ok                          # the mis-tuned-timeout duel cannot tell them apart
    oblivious = H.backoff_trial(answer, range(1, 41), schedule="oblivious")
    assert oblivious.ok is passes, oblivious.violations
    assert oblivious.facts["adversary_waits_ms"] == pytest.approx([answer(k, 0.5) for k in range(1, 6)])
    if not passes:
        assert "against the oblivious schedule" in oblivious.violations[0]
        assert oblivious.trace is not None and oblivious.seed == 1


def test_backoff_trial_rejects_a_bad_schedule_and_a_bad_wait():
    with pytest.raises(ValueError, match="schedule"):
        H.backoff_trial(lambda f, u: u, [1], schedule="adaptive")
    assert not H.backoff_trial(lambda f, u: -1.0, [1], schedule="oblivious").ok
