"""Chapter 6's exercise harnesses: the reference answers pass, typical wrong answers fail."""

from __future__ import annotations

import pytest

from dscourse.raft import exercises as ex


def vote_ok(state, request):
    return ex.reference_vote(state, request)


def vote_ignores_logs(state, request):
    """Forgets the election restriction."""
    term, voted = state["term"], state["voted_for"]
    if request["term"] > term:
        term, voted = request["term"], None
    granted = request["term"] == term and voted in (None, request["candidate"])
    return {"term": term, "voted_for": request["candidate"] if granted else voted}, granted


def vote_forgets(state, request):
    """Never records its vote: may vote twice in a term."""
    result, granted = ex.reference_vote(state, request)
    if request["term"] == state["term"]:
        granted = (state["last_log_term"], state["last_log_index"]) <= (
            request["last_log_term"], request["last_log_index"])
    return {"term": result["term"], "voted_for": None}, granted


def append_ok(log, commit_index, r):
    prev, entries = r["prev_log_index"], r["entries"]
    if prev > len(log):
        return {"success": False, "log": log, "commit_index": commit_index, "conflict_term": 0,
                "conflict_index": len(log) + 1}
    if prev and log[prev - 1][0] != r["prev_log_term"]:
        t, first = log[prev - 1][0], prev
        while first > 1 and log[first - 2][0] == t:
            first -= 1
        return {"success": False, "log": log, "commit_index": commit_index, "conflict_term": t,
                "conflict_index": first}
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
    return {"success": True, "log": log, "commit_index": commit_index, "conflict_term": 0,
            "conflict_index": 0}


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
        reply["conflict_term"], reply["conflict_index"] = 0, r["prev_log_index"]
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


def test_reference_answers_pass():
    for seed in (1, 2):
        ex.vote_rule_trial(vote_ok, seed)
        ex.election_trial(vote_ok, seed)
        ex.vote_crash_trial(vote_ok, seed)
        ex.stale_append_trial(append_ok, seed)
        ex.replication_trial(append_ok, seed, "backup")
        ex.replication_trial(append_ok, seed, "unreliable")
        assert ex.repair_round_trips(append_ok, seed) <= 2
        ex.commit_rule_trial(ex.reference_advance_commit, seed)
        ex.monitor_trial(monitor_ok, seed)


@pytest.mark.parametrize("vote", [vote_ignores_logs, vote_forgets])
def test_wrong_votes_fail(vote):
    with pytest.raises(AssertionError):
        ex.vote_rule_trial(vote, 1)


def test_forgotten_vote_fails_the_crash_trial():
    with pytest.raises(AssertionError, match="voted again"):
        ex.vote_crash_trial(vote_forgets, 1)


def test_truncating_follower_fails():
    with pytest.raises(AssertionError, match="must be kept"):
        for seed in range(1, 6):
            ex.stale_append_trial(append_truncates, seed)


def test_slow_backtracking_is_measured():
    assert ex.repair_round_trips(append_slow, 1) >= 20


def test_counting_commit_rule_fails_figure8():
    with pytest.raises(AssertionError, match="Figure 8"):
        ex.commit_rule_trial(commit_counting, 1)


@pytest.mark.parametrize("monitor", [lambda h: [], lambda h: ["always"]])
def test_useless_monitors_fail(monitor):
    with pytest.raises(AssertionError):
        ex.monitor_trial(monitor, 1)


def test_timing():
    ex.timing_trial(lambda lat: {"election_lo": 50, "election_hi": 100, "heartbeat": 15}, 1)
    with pytest.raises(AssertionError, match="available"):
        ex.timing_trial(lambda lat: {"election_lo": 4, "election_hi": 8, "heartbeat": 2}, 1)
    with pytest.raises(AssertionError, match="a dict"):
        ex.timing_trial(lambda lat: [1, 2, 3], 1)
