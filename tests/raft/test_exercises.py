"""Chapter 6's exercise harnesses: the reference answers pass, typical wrong answers fail."""

from __future__ import annotations

import pytest

from dscourse.raft import exercises as ex


def _recent(state):
    c = state["leader_contact"]
    return c is not None and c < state["election_timeout_min"]


def _up_to_date(state, request):
    logs = state["log_terms"]
    return (request["last_log_term"], request["last_log_index"]) >= (logs[-1] if logs else 0, len(logs))


def vote_ok(state, request, sticky=True, restrict=True, remember=True):
    """A correct answer (the keyword flags switch one rule off, for the wrong answers)."""
    term, voted = state["term"], state["voted_for"]
    fresh = not restrict or _up_to_date(state, request)
    if request["prevote"]:
        granted = request["term"] > term and not (sticky and _recent(state)) and fresh
        return {"term": term, "voted_for": voted}, granted
    if sticky and _recent(state):
        return {"term": term, "voted_for": voted}, False
    if request["term"] > term:
        term, voted = request["term"], None
    granted = request["term"] == term and voted in (None, request["candidate"]) and fresh
    if granted and remember:
        voted = request["candidate"]
    return {"term": term, "voted_for": voted}, granted


def vote_ignores_logs(state, request):
    """Forgets the election restriction."""
    return vote_ok(state, request, restrict=False)


def vote_forgets(state, request):
    """Never records its vote: may vote twice in a term."""
    return vote_ok(state, request, remember=False)


def vote_not_sticky(state, request):
    """Plain Figure 2 plus PreVote: no leader stickiness for real votes."""
    if request["prevote"]:
        return vote_ok(state, request)
    return vote_ok(state, request, sticky=False)


def vote_prevote_adopts_term(state, request):
    """Treats a pre-vote like a vote: adopts the term and records the vote."""
    return vote_ok(dict(state), dict(request, prevote=False))


def _hint(log, prev, prev_term):
    i = min(prev, len(log))
    while i > 0 and log[i - 1][0] > prev_term:
        i -= 1
    return i, (log[i - 1][0] if i else 0)


def append_ok(log, commit_index, r):
    prev, entries = r["prev_log_index"], r["entries"]
    if prev > len(log) or (prev and log[prev - 1][0] != r["prev_log_term"]):
        index, term = _hint(log, prev, r["prev_log_term"])
        return {"success": False, "log": log, "commit_index": commit_index, "hint_index": index,
                "hint_term": term}
    log = list(log)
    for k, e in enumerate(entries):
        if prev + k < len(log):
            if log[prev + k][0] == e[0]:
                continue
            del log[prev + k:]
        log.extend(entries[k:])
        break
    if r["leader_commit"] > commit_index:
        commit_index = max(commit_index, min(r["leader_commit"], prev + len(entries)))
    return {"success": True, "log": log, "commit_index": commit_index, "hint_index": 0,
            "hint_term": 0}


def append_raft_hint(log, commit_index, r):
    """The library's own hint (conflict term and its first index) in the hint's fields."""
    reply = append_ok(log, commit_index, r)
    prev = r["prev_log_index"]
    if not reply["success"]:
        if prev > len(log):
            reply["hint_index"], reply["hint_term"] = len(log) + 1, 0
        else:
            t, first = log[prev - 1][0], prev
            while first > 1 and log[first - 2][0] == t:
                first -= 1
            reply["hint_index"], reply["hint_term"] = first, t
    return reply


def append_truncates(log, commit_index, r):
    """Truncates after prevLogIndex on every request (erratum D4)."""
    reply = append_ok(log, commit_index, r)
    if reply["success"]:
        reply["log"] = list(log[:r["prev_log_index"]]) + list(r["entries"])
        reply["commit_index"] = min(reply["commit_index"], len(reply["log"]))
    return reply


def append_slow(log, commit_index, r):
    """Correct, but gives the leader no hint: one entry back per round trip."""
    reply = append_ok(log, commit_index, r)
    if not reply["success"]:
        reply["hint_index"], reply["hint_term"] = r["prev_log_index"] - 1, r["prev_log_term"]
    return reply


def append_lazy(log, commit_index, r):
    """Correct, but always answers conflict (0, 0): the leader falls back to resending its log."""
    reply = append_ok(log, commit_index, r)
    if not reply["success"]:
        reply["hint_index"], reply["hint_term"] = 0, 0
    return reply


def commit_counting(term, log_terms, match_index, commit_index):
    replicated = sorted([len(log_terms), *match_index], reverse=True)
    return max(commit_index, replicated[len(replicated) // 2])


def monitor_ok(history):
    committed, found = {}, []
    for e in history:
        if e["kind"] == "commit":
            entry = tuple(e["entry"])
            first = committed.setdefault(e["index"], (entry, e["term"]))[0]
            if first != entry:
                found.append("state machine safety")
        else:
            log = [tuple(x) for x in e["log"]]
            for i, (entry, when) in committed.items():
                if when < e["term"] and (i > len(log) or log[i - 1] != entry):
                    found.append("leader completeness")
    return found


def passed(trial):
    """The trial held every property; otherwise fail with what it found."""
    assert trial.error is None, repr(trial.error)
    assert trial.ok, f"seed {trial.seed}: {trial.violations[0]}"
    return trial


def failed(trial, *words):
    """The trial found a violation whose message has every one of ``words``."""
    assert trial.error is None, repr(trial.error)
    assert not trial.ok, f"seed {trial.seed}: expected a violation"
    for word in words:
        assert word in trial.violations[0], trial.violations[0]
    return trial


@pytest.mark.parametrize("seed", [1, 2])
def test_reference_answers_pass(seed):
    passed(ex.vote_rule_trial(vote_ok, seed))
    t = passed(ex.election_trial(vote_ok, seed))
    assert t.seed == seed and len(t.trace) > 100
    passed(ex.vote_crash_trial(vote_ok, seed))
    passed(ex.stale_append_trial(append_ok, seed))
    passed(ex.replication_trial(append_ok, seed, "backup"))
    passed(ex.replication_trial(append_ok, seed, "unreliable"))
    assert passed(ex.backtracking_trial(append_ok, seed)).facts["rejections"] <= 2
    passed(ex.hint_rule_trial(append_ok, seed))
    passed(ex.commit_rule_trial(ex.reference_advance_commit, seed))
    passed(ex.monitor_trial(monitor_ok, seed))


@pytest.mark.parametrize("vote", [vote_ignores_logs, vote_forgets, vote_not_sticky,
                                  vote_prevote_adopts_term])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_wrong_votes_fail(vote, seed):
    t = failed(ex.vote_rule_trial(vote, seed), "RequestVote receiver rules", "expected")
    assert t.seed == seed


def test_rule_failures_are_all_listed():
    """A wrong answer hears about every rule it breaks, with a count and an example each."""
    def two_mistakes(state, request):
        return vote_ok(state, request, sticky=False, restrict=False)

    t = failed(ex.vote_rule_trial(two_mistakes, 1), "stale log", "heard from recently")
    assert t.violations[0].count("e.g.") >= 3


def test_prevote_that_changes_state_fails_in_the_cluster():
    failed(ex.election_trial(vote_prevote_adopts_term, 1), "PreVote", "changes nothing")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stickiness_keeps_the_leader(seed):
    t = passed(ex.disruption_trial(vote_ok, seed))
    assert len(t.trace) > 100
    failed(ex.disruption_trial(vote_not_sticky, seed), "Leader stickiness")


def test_forgotten_vote_fails_the_crash_trial():
    t = failed(ex.vote_crash_trial(vote_forgets, 1), "Election Safety", "voted again")
    assert t.trace is not None and t.at is not None


def test_truncating_follower_fails():
    trials = [ex.stale_append_trial(append_truncates, seed) for seed in range(1, 6)]
    assert any(not t.ok for t in trials)
    failed(next(t for t in trials if not t.ok), "AppendEntries receiver rules", "must be kept")


def test_slow_backtracking_is_measured():
    t = failed(ex.backtracking_trial(append_slow, 1), "Backtracking")
    assert t.facts["rejections"] >= 20 and t.trace is not None and t.at is not None
    t = passed(ex.backtracking_trial(append_slow, 1, most=100, check_hint=False))
    assert t.facts["rejections"] >= 20


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lazy_hint_fails_fast_backtracking(seed):
    """Few rejections are not enough: the hint must be the one the exercise specifies."""
    t = failed(ex.backtracking_trial(append_lazy, seed), "Backtracking", "wrong hint", "(0, 0)")
    assert t.facts["rejections"] <= 2 and t.at is not None
    failed(ex.hint_rule_trial(append_lazy, seed), "Rejection hint", "(0, 0)")
    failed(ex.hint_rule_trial(append_slow, seed), "Rejection hint")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_librarys_own_hint_is_not_the_answer(seed):
    """Transcribing the chapter's receiver (conflict term and first index) fails the hint
    tests, though the cluster still converges with it."""
    failed(ex.hint_rule_trial(append_raft_hint, seed), "Rejection hint")
    failed(ex.backtracking_trial(append_raft_hint, seed), "wrong hint")


@pytest.mark.parametrize("seed", range(1, 21))
def test_hint_on_random_failures(seed):
    """The hint is at or before prev_log_index and within the log, its term is the log's
    there and at most prev_log_term, and every later index up to prev has a larger term."""
    for log, r in ex._hint_cases(seed, 30):
        prev, prev_term = r["prev_log_index"], r["prev_log_term"]
        index, term = ex._hint_of(log, prev, prev_term)
        assert 0 <= index <= min(prev, len(log))
        assert (index == 0 and term == 0) or (log[index - 1][0] == term <= prev_term)
        assert all(log[i - 1][0] > prev_term for i in range(index + 1, min(prev, len(log)) + 1))


def test_counting_commit_rule_fails_figure8():
    t = failed(ex.commit_rule_trial(commit_counting, 1), "Commitment rule", "Figure 8")
    assert t.at is not None and t.trace is not None


@pytest.mark.parametrize("monitor", [lambda h: [], lambda h: ["always"]])
def test_useless_monitors_fail(monitor):
    failed(ex.monitor_trial(monitor, 1), "Safety monitor")


def test_student_exceptions_end_the_trial_with_the_seed():
    def broken(state, request):
        raise KeyError("term")

    t = ex.election_trial(broken, 3)
    assert isinstance(t.error, KeyError) and t.seed == 3 and not t.ok and t.trace is not None
    t = ex.stale_append_trial(lambda log, ci, r: "yes", 4)
    failed(t, "must return a dict")


def test_unknown_scenario_is_a_config_error():
    with pytest.raises(ValueError, match="scenario"):
        ex.replication_trial(append_ok, 1, "flaky")


def test_timing():
    t = passed(ex.timing_trial(lambda lat: {"election_lo": 50, "election_hi": 100, "heartbeat": 15}, 1))
    assert t.facts["availability"] >= 0.85
    failed(ex.timing_trial(lambda lat: {"election_lo": 4, "election_hi": 8, "heartbeat": 2}, 1),
           "availability: ", "election timing")
    failed(ex.timing_trial(lambda lat: [1, 2, 3], 1), "a dict")


def test_timing_properties_are_judged_one_by_one():
    """One test per property: a slow but split-free timing loses only the availability point."""
    slow = lambda lat: {"election_lo": 2000, "election_hi": 4000, "heartbeat": 500}  # noqa: E731
    failed(ex.timing_trial(slow, 1, properties=("availability",)), "availability: ")
    passed(ex.timing_trial(slow, 1, properties=("split votes",)))
    tight = lambda lat: {"election_lo": 100, "election_hi": 102, "heartbeat": 25}  # noqa: E731
    failed(ex.timing_trial(tight, 1, properties=("split votes",)), "split votes: ")
    with pytest.raises(ValueError, match="properties"):
        ex.timing_trial(slow, 1, properties=("speed",))


@pytest.mark.parametrize("choice", [
    {"election_lo": 150, "election_hi": 300, "heartbeat": 1e-7},
    {"election_lo": 300, "election_hi": 150, "heartbeat": 50},
    {"election_lo": 150, "election_hi": 1e9, "heartbeat": 50},
])
def test_timing_outside_the_domain_fails_without_running(choice):
    trial = ex.timing_trial(lambda latency: dict(choice), seed=1)
    assert not trial.ok
    assert "outside the answer's domain" in " ".join(trial.violations)
    assert "elections" not in trial.facts       # refused before any simulation ran
