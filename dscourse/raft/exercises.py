"""Trusted harnesses for Chapter 6's exercises E6.1-E6.4.

Each exercise asks for one *rule* of Raft as a plain function of data; the harness plugs it
into the library's Raft server (a subclass that calls it where Figure 2 applies the rule),
runs one seeded scenario with the safety monitor, and returns a
:class:`~dscourse.checkers.trial.Trial`: the seed, the run's trace, the first violated
property (its message names the property) and the virtual time it broke. An exception
raised by the student's function ends the trial as ``trial.error``. The function may be a
local one (``ds.grading.check`` in the notebook) or the grader's sandbox proxy: either way it
is only ever called with plain data and its results are checked with exact types before use.

* E6.1 ``vote(state, request) -> (state, granted)`` -- RequestVote's receiver (§5.2, §5.4.1)
  for votes *and* pre-votes (thesis §9.6), with leader stickiness (thesis §4.2.3), which
  the library's server does not have: a variant, so the chapter's code is not the answer.
* E6.2 ``append_entries(log, commit_index, request) -> reply`` -- AppendEntries' receiver
  (§5.3) with conflict-only truncation, rejecting with etcd raft's hint (the largest index
  at or before ``prev_log_index`` whose term is at most ``prev_log_term``) instead of the
  library's conflict term and index.
* E6.3 ``advance_commit(term, log_terms, match_index, commit_index) -> int`` (§5.4.2) and
  ``safety_violations(history) -> list[str]``, a monitor that must catch
  :class:`~dscourse.raft.mutants.CountingOldTermsRaft`.
* E6.4 ``choose_timing(latency) -> {"election_lo", "election_hi", "heartbeat"}`` (§5.6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, cast

from ..checkers.trial import Trial, judged_once
from ..errors import allowed
from ..sim import Constant, Simulation, UniformInt, reliable, stream
from .builder import RaftCluster
from .figure8 import figure8, figure8_adversary
from .messages import AppendEntries, AppendEntriesReply, RequestVote, RequestVoteReply
from .mutants import CountingOldTermsRaft
from .node import LEADER, RaftNode
from .observer import Observer
from .options import RaftOptions
from .testing import Harness
from .timing import measure

Fn = Callable[..., Any]


def _int(x: Any) -> bool:
    return type(x) is int


class _Violated(AssertionError):
    """A violated property; ``at`` is the virtual time (ms) it broke, when known."""

    def __init__(self, message: str, at: float | None = None) -> None:
        super().__init__(message)
        self.at = at


def _fail(message: str, at: float | None = None) -> NoReturn:
    raise _Violated(message, at)


def _ok_or_fail(monitor: Any, where: str) -> None:
    if monitor.violations:
        first = next(iter(monitor.violations))
        _fail(f"{where}: {first}", first.time)


class _Run:
    """A trial in progress: its :class:`Trial` and the simulation it reports on."""

    def __init__(self, seed: int) -> None:
        self.trial = Trial(seed)
        self.sim: Simulation | None = None

    def watch(self, sim: Simulation) -> None:
        self.sim = sim
        self.trial.trace = sim.trace


def _judge(seed: int, body: Callable[[_Run], None], context: str = "") -> Trial:
    """Run ``body`` as one trial. An AssertionError (the harness's or the 6.5840 tester's) is a
    violated property, its message prefixed with ``context``; any other exception is the
    code under test's error, kept in ``trial.error`` with the seed and trace."""
    run = _Run(seed)
    try:
        body(run)
    except AssertionError as exc:
        at = getattr(exc, "at", None)
        if at is None and run.sim is not None:
            at = run.sim.now
        message = str(exc) or "an assertion failed"
        run.trial.violate(f"{context}: {message}" if context else message, at)
    except Exception as exc:  # noqa: BLE001 - the student's function may raise anything
        run.trial.error = exc
    return run.trial


# -- E6.1: RequestVote receiver with PreVote and leader stickiness -------------------------
_NEVER = -1e17  # last_leader_contact below this: the server never heard from a leader
_ITEM = "\n        - "  # one item of a list in a failure message (indented under the test's line)


def _vote_verdict(state: dict, request: dict) -> tuple[int, Any, bool, str]:
    """What one RequestVote case must give -- ``(term, voted_for, granted)`` -- and the rule
    that decides it (the judge's specification, used to group mistakes by rule)."""
    term, voted = state["term"], state["voted_for"]
    logs = state["log_terms"]
    up_to_date = ((request["last_log_term"], request["last_log_index"])
                  >= (logs[-1] if logs else 0, len(logs)))
    contact = state["leader_contact"]
    recent = contact is not None and contact < state["election_timeout_min"]
    if request["prevote"]:
        if request["term"] <= term:
            return term, voted, False, "pre-vote for a term that is not newer"
        if recent:
            return term, voted, False, "pre-vote while a leader was heard from recently"
        if not up_to_date:
            return term, voted, False, "pre-vote from a candidate with a stale log"
        return term, voted, True, "pre-vote the candidate could win"
    if recent:
        return term, voted, False, "vote request while a leader was heard from recently"
    if request["term"] < term:
        return term, voted, False, "vote request with a stale term"
    if request["term"] > term:
        term, voted = request["term"], None
    if voted not in (None, request["candidate"]):
        return term, voted, False, "vote request after voting for another candidate this term"
    if not up_to_date:
        return term, voted, False, "vote request from a candidate with a stale log"
    return term, request["candidate"], True, "vote request that must be granted"


def vote_cases(seed: int, n: int = 200) -> list[tuple[dict, dict]]:
    """Random (state, request) pairs: pre-votes and votes, stale, equal and newer terms and
    logs, leaders heard from recently or long ago (or never)."""
    rng = stream(seed, "E6.1 cases")
    cases = []
    for _ in range(n):
        term = int(rng.integers(0, 5))
        log_terms: list[int] = []
        for _ in range(int(rng.integers(0, 5)) if term else 0):  # terms 1..term, nondecreasing
            log_terms.append(min(term, max(1, (log_terms[-1] if log_terms else 0)
                                           + int(rng.integers(0, 2)))))
        contact = [None, float(rng.integers(0, 150)), float(rng.integers(150, 400))][int(rng.integers(3))]
        state = {"term": term, "voted_for": [None, "s2", "s3"][int(rng.integers(3))],
                 "log_terms": log_terms, "leader_contact": contact, "election_timeout_min": 150.0}
        rterm = max(0, term + int(rng.integers(-1, 3)))
        request = {"term": rterm, "candidate": ["s2", "s3"][int(rng.integers(2))],
                   "last_log_index": int(rng.integers(0, 5)),
                   "last_log_term": int(rng.integers(0, rterm + 1)),
                   "prevote": bool(rng.random() < 0.35)}
        cases.append((state, request))
    return cases


def _check_vote_result(result: Any) -> tuple[int, Any, bool]:
    if (type(result) is not tuple or len(result) != 2 or type(result[0]) is not dict
            or type(result[1]) is not bool):
        _fail(f"vote() must return (state dict, granted bool), not {result!r}"[:200])
    state, granted = result
    term, voted = state.get("term"), state.get("voted_for")
    if not _int(term) or not (voted is None or type(voted) is str):
        _fail("vote() returned a state without an int 'term' and a 'voted_for' (str or None)")
    return term, voted, granted


def vote_rule_trial(vote: Fn, seed: int, n: int = 200) -> Trial:
    """Judge ``vote`` on ``n`` random cases against Figure 2, PreVote (thesis §9.6) and leader
    stickiness (thesis §4.2.3). A failure lists every rule that went wrong, how often, and
    one case of each."""

    def body(run: _Run) -> None:
        wrong: dict[str, list] = {}
        seen: dict[str, int] = {}
        for state, request in vote_cases(seed, n):
            got = _check_vote_result(vote(dict(state, log_terms=list(state["log_terms"])),
                                          dict(request)))
            *want, rule = _vote_verdict(state, request)
            seen[rule] = seen.get(rule, 0) + 1
            if got != tuple(want):
                wrong.setdefault(rule, []).append((state, request, got, want))
        if wrong:
            lines = []
            for rule, cases in wrong.items():
                state, request, got, want = cases[0]
                lines.append(f"{_ITEM}{rule}: wrong in {len(cases)} of {seen[rule]} cases, e.g. "
                             f"vote({state}, {request}) gave (term, voted_for, granted) = "
                             f"{got}; expected {tuple(want)}")
            _fail(f"{sum(map(len, wrong.values()))} of {n} cases wrong:" + "".join(lines))

    return _judge(seed, body, "RequestVote receiver rules (Figure 2, PreVote, leader stickiness)")


class _VoteRaft(RaftNode):
    """Raft whose RequestVote receiver (votes and pre-votes) is the student's ``vote``."""

    def __init__(self, id: str, servers: Any, options: Any = None, observer: Any = None,
                 vote: Fn | None = None) -> None:
        super().__init__(id, servers, options, observer)
        self.vote = vote

    def _on_request_vote(self, src: str, m: RequestVote) -> None:
        if self.base_index:  # the trials take no snapshots: the whole log is here
            _fail("internal: E6.1's trials take no snapshots")
        contact = None if self.last_leader_contact < _NEVER else self.now - self.last_leader_contact
        state = {"term": self.term, "voted_for": self.voted_for,
                 "log_terms": [t for t, _ in self.log],
                 "leader_contact": 0.0 if self.role == LEADER else contact,
                 "election_timeout_min": self.options.election_timeout[0]}
        request = {"term": m.term, "candidate": m.candidate, "last_log_index": m.last_log_index,
                   "last_log_term": m.last_log_term, "prevote": m.prevote}
        assert self.vote is not None  # the trial always passes the student's function
        term, voted, granted = _check_vote_result(self.vote(state, request))
        if m.prevote:
            if (term, voted) != (self.term, self.voted_for):
                _fail(f"PreVote (thesis §9.6): a pre-vote request changed the state from "
                      f"term={self.term}, voted_for={self.voted_for!r} to term={term}, "
                      f"voted_for={voted!r}; a pre-vote changes nothing", self.now)
            self.send(src, RequestVoteReply(self.term, granted, prevote=True))
            return
        if term < self.term:
            _fail(f"vote() lowered the term from {self.term} to {term}", self.now)
        self._step_down_if_newer(term)
        self.stable["voted_for"] = voted  # persisted before the reply, by the harness
        self.observer.on_role(self)
        if granted:
            self._reset_election_timer()
        self.send(src, RequestVoteReply(self.term, granted))


def election_trial(vote: Fn, seed: int, until: float = 3000.0) -> Trial:
    """Five servers with PreVote using ``vote`` under random partitions, crashes and pauses
    until ``until`` ms: Election Safety and Leader Completeness at every step, and a leader
    within 10 election timeouts after the faults stop."""

    def body(run: _Run) -> None:
        opts = RaftOptions(prevote=True)
        c = RaftCluster(5, seed, network=reliable(UniformInt(1, 5)), options=opts,
                        node_class=_VoteRaft, vote=vote)
        run.watch(c.sim)
        schedule = c.sim.random_nemesis(until=until, kinds=("partition", "crash", "pause"))
        c.sim.schedule_nemesis(schedule)
        for i in range(40):
            c.run(until / 40)
            c.submit(f"cmd{i}")
        _ok_or_fail(c.monitor, "during the faults")
        end = max([t for t, _ in schedule] + [c.now])
        c.run(max(end - c.now, 0) + 1)
        if c.run_until_leader(10 * opts.election_timeout[1]) is None:
            _fail("Liveness: no leader within 10 election timeouts after the faults stopped")
        _ok_or_fail(c.monitor, "after the faults")

    return _judge(seed, body)


def disruption_trial(vote: Fn, seed: int, until: float = 2000.0) -> Trial:
    """Leader stickiness (thesis §4.2.3): the leader's messages to one follower are lost, so
    that follower keeps timing out and asking for votes in ever higher terms (PreVote off,
    as in a mixed-version cluster). The other followers hear the leader and must ignore it:
    the leader of the first election still leads, in its term, at ``until`` ms."""

    def body(run: _Run) -> None:
        c = RaftCluster(5, seed, network=reliable(UniformInt(1, 5)), node_class=_VoteRaft,
                        vote=vote)
        run.watch(c.sim)
        first = c.run_until_leader()
        if first is None:
            _fail("Liveness: no first leader within 5 s")
        term = c.nodes[first].term
        loner = [s for s in c.ids if s != first][int(stream(seed, "E6.1 loner").integers(4))]
        c.sim.cut(first, loner)
        c.run(until)
        _ok_or_fail(c.monitor, "while one follower could not hear the leader")
        now, terms = c.leader(), {s: c.nodes[s].term for s in c.ids if s != loner}
        if now != first or any(t != term for t in terms.values()):
            _fail(f"Leader stickiness (thesis §4.2.3): {loner} could not hear leader {first} and "
                  f"reached term {c.nodes[loner].term}; the others should have ignored its "
                  f"requests, but after {until:g} ms the leader is {now} and their terms are "
                  f"{terms} (the leader's was {term})")

    return _judge(seed, body)


def vote_crash_trial(vote: Fn, seed: int) -> Trial:
    """A server grants a vote and crashes before its reply leaves: after recovering it must
    not vote for another candidate in the same term (votedFor is persistent state, Figure 2)."""

    def body(run: _Run) -> None:
        opts = RaftOptions(election_timeout=(60_000, 60_000))
        c = RaftCluster(3, seed, network=reliable(Constant(1.0)), options=opts,
                        node_class=_VoteRaft, vote=vote)
        run.watch(c.sim)
        c.timeout("s1")
        c.sim.run_until(lambda: c.nodes["s2"].voted_for == "s1", 10)
        c.crash("s2")
        c.recover("s2")
        s2 = c.nodes["s2"]
        term = s2.term
        s2.on_message("s3", RequestVote(term, "s3", 99, term))
        if s2.voted_for != "s1":
            _fail(f"Election Safety (one vote per term, Figure 2): after a crash s2 voted again "
                  f"in term {term} (for {s2.voted_for!r})")

    return _judge(seed, body)


# -- E6.2: AppendEntries receiver with etcd's rejection hint ---------------------------------
def _check_reply(reply: Any) -> dict:
    if type(reply) is not dict:
        _fail(f"append_entries() must return a dict, not {type(reply).__name__}")
    need = {"success": bool, "log": list, "commit_index": int, "hint_index": int,
            "hint_term": int}
    for key, typ in need.items():
        if type(reply.get(key)) is not typ:
            _fail(f"the reply's {key!r} must be a {typ.__name__}")
    for e in reply["log"]:
        if type(e) is not tuple or len(e) != 2 or not _int(e[0]):
            _fail("log entries must be (term, command) tuples")
    return reply


def _consistent(log: list, prev_log_index: int, prev_log_term: int) -> bool:
    """Figure 2's consistency check: the log holds an entry at ``prev_log_index`` of
    ``prev_log_term`` (index 0 always matches)."""
    return prev_log_index == 0 or (prev_log_index <= len(log)
                                   and log[prev_log_index - 1][0] == prev_log_term)


def _hint_of(log: list, prev_log_index: int, prev_log_term: int) -> tuple[int, int]:
    """The rejection hint E6.2 specifies (etcd's ``findConflictByTerm``): the largest index
    ``i <= min(prev_log_index, len(log))`` whose term is ``<= prev_log_term``, and that term;
    ``(0, 0)`` when there is none."""
    i = min(prev_log_index, len(log))
    while i > 0 and log[i - 1][0] > prev_log_term:
        i -= 1
    return i, log[i - 1][0] if i else 0


def _hint_cases(seed: int, n: int) -> list[tuple[list, dict]]:
    """Random (log, request) pairs whose consistency check fails: short logs, conflicting
    terms in long and short runs, the first entry."""
    rng = stream(seed, "E6.2 hint cases")
    cases: list[tuple[list, dict]] = []
    while len(cases) < n:
        log, term = [], 1
        for i in range(int(rng.integers(0, 14))):
            term += int(rng.random() < 0.3) * int(rng.integers(1, 3))
            log.append((term, f"c{i}"))
        prev = int(rng.integers(1, len(log) + 4))
        prev_term = int(rng.integers(1, term + 3))
        if _consistent(log, prev, prev_term):
            continue
        cases.append((log, {"prev_log_index": prev, "prev_log_term": prev_term,
                            "entries": [(prev_term, "x")], "leader_commit": 0}))
    return cases


def hint_rule_trial(append_entries: Fn, seed: int, n: int = 100) -> Trial:
    """On ``n`` random failed consistency checks: ``success`` False, the log and commit index
    unchanged, and exactly the rejection hint the exercise specifies. A failure counts the
    wrong replies and shows up to three."""

    def body(run: _Run) -> None:
        wrong = []
        for log, request in _hint_cases(seed, n):
            r = _check_reply(append_entries(list(log), 0, dict(request)))
            want = _hint_of(log, request["prev_log_index"], request["prev_log_term"])
            got = (r["hint_index"], r["hint_term"])
            if r["success"] or r["log"] != log or r["commit_index"] != 0 or got != want:
                wrong.append(f"log terms {[e[0] for e in log]}, prev_log_index="
                             f"{request['prev_log_index']}, prev_log_term={request['prev_log_term']}: "
                             f"you replied success={r['success']}, (hint_index, hint_term)={got}"
                             f"{'' if r['log'] == log else ', and changed the log'}; the check "
                             f"fails, the log stays, and the hint is {want}")
        if wrong:
            _fail(f"{len(wrong)} of {n} rejections wrong:" + "".join(_ITEM + w for w in wrong[:3]))

    return _judge(seed, body, "Rejection hint (etcd's findConflictByTerm)")


class _AppendRaft(RaftNode):
    """Raft whose AppendEntries receiver is the student's ``append_entries`` function, and
    whose leader backtracks with the hint E6.2 specifies (etcd raft: after a rejection with
    ``(hint_index, hint_term)`` it probes its own largest index ``<= hint_index`` whose term
    is ``<= hint_term``).

    ``hints`` (when a list) collects ``(time, given, expected)`` for every failed check."""

    def __init__(self, id: str, servers: Any, options: Any = None, observer: Any = None,
                 append_entries: Fn | None = None, hints: list | None = None) -> None:
        super().__init__(id, servers, options, observer)
        self.append_entries = append_entries
        self.hints = hints

    def _backtrack(self, r: AppendEntriesReply) -> int:
        j = min(r.conflict_index, self.last_index)  # the reply carries the hint in these fields
        while j > self.base_index and self.entry(j)[0] > r.conflict_term:
            j -= 1
        return j + 1

    def _on_append_entries(self, src: str, m: AppendEntries) -> None:
        if m.term < self.term:
            self.send(src, AppendEntriesReply(self.term, False, round=m.round))
            return
        self._heard_from_leader(m.term, m.leader)
        old = list(self.log)
        request = {"prev_log_index": m.prev_log_index, "prev_log_term": m.prev_log_term,
                   "entries": list(m.entries), "leader_commit": m.leader_commit}
        assert self.append_entries is not None  # the trial always passes the student's function
        r = _check_reply(self.append_entries(list(old), self.commit_index, request))
        new = r["log"]
        k = 0
        while k < min(len(old), len(new)) and old[k] == new[k]:
            k += 1
        if k < len(old):
            self.observer.on_truncate(self, k + 1)
        self.stable["log"][:] = new
        if k < len(new):
            self.observer.on_append(self, k + 1)
        commit = r["commit_index"]
        if commit < self.commit_index or commit > len(new):
            _fail(f"commit_index {commit} is not between the old one "
                  f"({self.commit_index}) and the log's length ({len(new)})", self.now)
        if commit > self.commit_index:
            self._set_commit(commit)
        if r["success"]:
            match = m.prev_log_index + len(m.entries)
            self.send(src, AppendEntriesReply(self.term, True, match, round=m.round))
        else:
            given = (r["hint_index"], r["hint_term"])
            if self.hints is not None:
                self.hints.append((self.now, given,
                                   _hint_of(old, m.prev_log_index, m.prev_log_term)))
            self.send(src, AppendEntriesReply(self.term, False, m.prev_log_index, given[1],
                                              max(given[0], 0), m.round))


def stale_append_trial(append_entries: Fn, seed: int) -> Trial:
    """A delayed AppendEntries whose entries already match must not truncate the log
    (Figure 2, AppendEntries rule 3: delete entries only on a conflict)."""

    def body(run: _Run) -> None:
        rng = stream(seed, "E6.2 stale")
        log = [(1, "a"), (1, "b"), (2, "c"), (2, "d"), (3, "e")][: 3 + int(rng.integers(3))]
        k = int(rng.integers(0, len(log) - 1))
        request = {"prev_log_index": k, "prev_log_term": log[k - 1][0] if k else 0,
                   "entries": log[k:k + 1], "leader_commit": 0}
        r = _check_reply(append_entries(list(log), 0, request))
        if not r["success"] or r["log"] != log:
            _fail(f"a stale AppendEntries {request} turned the log {log} into {r['log']} "
                  f"(success={r['success']}); entries that match must be kept")

    return _judge(seed, body, "AppendEntries receiver rules (Figure 2)")


SCENARIOS = ("backup", "unreliable")


def replication_trial(append_entries: Fn, seed: int, scenario: str = "backup") -> Trial:
    """6.5840 scenarios with the student's receiver on every server: ``backup`` (a leader
    repairs diverged followers), ``unreliable`` (lossy, reordering network with crashes).
    Log Matching and State Machine Safety at every step; the logs agree at the end."""
    if scenario not in SCENARIOS:
        raise allowed("scenario", scenario, f"one of {', '.join(SCENARIOS)}")

    def body(run: _Run) -> None:
        h = Harness(5, seed, unreliable=(scenario == "unreliable"), node_class=_AppendRaft,
                    node_kwargs={"append_entries": append_entries})
        run.watch(h.sim)
        rng = h.rng
        if scenario == "backup":
            leader1 = h.check_one_leader()
            for k in (2, 3, 4):
                h.disconnect((leader1 + k) % 5)
            for i in range(30):
                h.start(leader1, 1000 + i)
            h.run_for(500)
            h.disconnect(leader1)
            h.disconnect((leader1 + 1) % 5)
            for k in (2, 3, 4):
                h.connect((leader1 + k) % 5)
            for i in range(20):
                h.one(2000 + i, 3, True)
            for i in range(5):
                h.connect(i)
            h.one(3000, 5, True)
            h.end()
        else:
            for _ in range(60):
                alive = [j for j in range(5) if h.alive(j)]
                for j in alive:
                    h.start(j, int(rng.integers(10_000)))
                h.run_for(int(rng.integers(200)))
                if rng.random() < 0.2 and len(alive) > 3:
                    h.crash(alive[int(rng.integers(len(alive)))])
                for j in range(5):
                    if not h.alive(j) and rng.random() < 0.3:
                        h.restart(j)
                        h.connect(j)
            h.set_unreliable(False)
            _settle(h, 99_999)

    return _judge(seed, body, f"6.5840 {scenario} scenario")


def _settle(h: Harness, cmd: int) -> None:
    """Bring every server back and connected, commit ``cmd`` on all five, and fail the trial
    with the first safety violation the monitors saw during the run."""
    for i in range(5):
        if not h.alive(i):
            h.restart(i)
        h.connect(i)
    h.one(cmd, 5, True)
    h.end()


def backtracking_trial(append_entries: Fn, seed: int, most: int = 2, check_hint: bool = True) -> Trial:
    """A leader repairs a follower whose log has one conflicting term of 30 entries: at most
    ``most`` rejected AppendEntries with the hint (about 1 is needed; one entry per round trip
    needs 30). ``facts["rejections"]`` counts them. With ``check_hint``, every rejection must
    also carry the hint the exercise specifies: a follower that always answers ``(0, 0)``
    makes the leader resend its whole log, which is few round trips here but not the hint."""

    def body(run: _Run) -> None:
        opts = RaftOptions(election_timeout=(300, 600), heartbeat=100, noop=False)
        hints: list = []
        h = Harness(3, seed, options=opts, node_class=_AppendRaft,
                    node_kwargs={"append_entries": append_entries, "hints": hints})
        run.watch(h.sim)
        leader1 = h.check_one_leader()
        h.one(1, 3, True)
        h.disconnect(leader1)
        for i in range(30):
            h.start(leader1, 100 + i)
        for i in range(30):
            h.one(200 + i, 2, True)
        leader2 = h.check_one_leader()
        h.restart(leader2)  # a fresh election: the next leader's nextIndex starts at its end
        h.connect(leader2)
        h.check_one_leader()
        start = len(hints)
        h.connect(leader1)
        h.one(999, 3, True)
        rejected = hints[start:]
        run.trial.facts["rejections"] = len(rejected)
        if len(rejected) > most:
            _fail(f"{len(rejected)} rejected AppendEntries to repair one conflicting term of 30 "
                  f"entries (at most {most} with the hint)", rejected[most][0])
        wrong = [(at, given, want) for at, given, want in hints if given != want]
        if check_hint and wrong:
            at, given, want = wrong[0]
            _fail(f"{len(wrong)} of {len(hints)} rejections carried a wrong hint; the first, at "
                  f"{at:.1f} ms, was (hint_index, hint_term)={given}, not {want}", at)

    return _judge(seed, body, "Backtracking with the hint")


# -- E6.3: the commitment rule and a safety monitor --------------------------------------------
def reference_advance_commit(term: int, log_terms: list[int], match_index: list[int],
                             commit_index: int) -> int:
    """§5.4.2: the largest N on a majority with log[N].term == term, else commit_index."""
    matches = sorted([len(log_terms), *match_index], reverse=True)
    n = matches[(len(matches)) // 2]
    if n > commit_index and log_terms[n - 1] == term:
        return n
    return commit_index


class _CommitRaft(RaftNode):
    """Raft whose leader advances its commit index with the student's ``advance_commit``."""

    def __init__(self, id: str, servers: Any, options: Any = None, observer: Any = None,
                 advance_commit: Fn | None = None) -> None:
        super().__init__(id, servers, options, observer)
        self.advance_commit = advance_commit

    def _advance_commit(self) -> None:
        assert self.advance_commit is not None  # the trial always passes the student's function
        terms = [t for t, _ in self.log]
        n = self.advance_commit(self.term, terms, list(self.match_index.values()), self.commit_index)
        if not _int(n) or not self.commit_index <= n <= self.last_index:
            _fail(f"advance_commit() returned {n!r}: expected an int between the commit index "
                  f"({self.commit_index}) and the last index ({self.last_index})", self.now)
        if n > self.commit_index:
            self._set_commit(n)
            self._serve_reads()


def commit_rule_trial(advance_commit: Fn, seed: int) -> Trial:
    """Figure 8 replayed, then 6.5840's Figure 8 scenario, with the student's rule: Leader
    Completeness and State Machine Safety at every step."""

    def body(run: _Run) -> None:
        replay = figure8(_CommitRaft, seed, advance_commit=advance_commit)
        run.watch(replay.cluster.sim)
        if replay.violations:
            first = replay.violations[0]
            _fail(f"the Figure 8 replay: {first}", getattr(first, "time", None))
        h = Harness(5, seed, node_class=_CommitRaft, node_kwargs={"advance_commit": advance_commit})
        run.watch(h.sim)
        rng = h.rng
        h.one(1, 1, True)
        for _ in range(150):
            leader = -1
            for i in range(5):
                if h.alive(i) and h.start(i, int(rng.integers(10_000)))[2]:
                    leader = i
            h.run_for(int(rng.integers(500)) if rng.random() < 0.1 else int(rng.integers(13)))
            if leader != -1:
                h.crash(leader)
            if sum(h.alive(i) for i in range(5)) < 3:
                s = int(rng.integers(5))
                if not h.alive(s):
                    h.restart(s)
                    h.connect(s)
        _settle(h, 77_777)

    return _judge(seed, body, "Commitment rule (§5.4.2)")


class HistoryRecorder(Observer):
    """Records what a safety monitor needs, as plain data (E6.3's ``history``):
    ``{"kind": "leader", "server", "term", "log"}`` when a server becomes leader (its whole
    log as ``[term, command]`` pairs) and ``{"kind": "commit", "server", "term", "index",
    "entry"}`` for each index a server marks committed."""

    def __init__(self) -> None:
        self.history: list[dict] = []

    def on_role(self, node: RaftNode) -> None:
        if node.role == LEADER and (not self.history or self.history[-1].get("server") != node.id
                                    or self.history[-1].get("term") != node.term
                                    or self.history[-1]["kind"] != "leader"):
            self.history.append({"kind": "leader", "server": node.id, "term": node.term,
                                 "log": [[t, c] for t, c in node.log]})

    def on_commit(self, node: RaftNode, old: int, new: int) -> None:
        for index in range(max(old, node.base_index) + 1, new + 1):
            t, c = node.entry(index)
            self.history.append({"kind": "commit", "server": node.id, "term": node.term,
                                 "index": index, "entry": [t, c]})


def _recorded(broken: bool, seed: int, figure8_script: bool) -> tuple[list[dict], bool, RaftCluster]:
    cls = CountingOldTermsRaft if broken else RaftNode
    rec = HistoryRecorder()
    if figure8_script:
        replay = figure8(cls, seed, observer=rec)
        return rec.history, bool(replay.violations), replay.cluster
    c = figure8_adversary(cls, seed, observer=rec)
    return rec.history, bool(c.violations), c


def recorded_run(broken: bool, seed: int, figure8_script: bool = False) -> tuple[list[dict], bool]:
    """A history from the Figure 8 replay or the randomized Figure 8 adversary, with the
    correct Raft or the counting mutant; also whether the library's own monitor saw a
    violation."""
    history, bad, _ = _recorded(broken, seed, figure8_script)
    return history, bad


def monitor_trial(safety_violations: Fn, seed: int) -> Trial:
    """The student's monitor must report the counting mutant in the Figure 8 replay, stay
    silent on the correct Raft (the replay and a randomized Figure 8 adversary), and report
    the mutant in an adversary run whenever the library's monitor does (about one seed in
    twenty: the hazard needs a precise interleaving, which is why the replay exists)."""

    def body(run: _Run) -> None:
        for broken, script in ((False, True), (True, True), (False, False), (True, False)):
            history, bad, c = _recorded(broken, seed, script)
            run.watch(c.sim)
            run_name = (f"{'the counting mutant' if broken else 'the correct Raft'} in "
                        f"{'the Figure 8 replay' if script else 'a randomized Figure 8 adversary run'}")
            found = safety_violations([dict(e) for e in history])
            if type(found) is not list or not all(type(x) is str for x in found):
                _fail("safety_violations() must return a list of str")
            if bad and not found:
                first = c.violations[0] if c.violations else None
                _fail(f"{run_name} broke {first.invariant if first else 'a safety property'}, "
                      "but your monitor reported nothing", getattr(first, "time", None))
            if not bad and found:
                _fail(f"your monitor reported {found[0]!r} on {run_name}, which has no violation")

    return _judge(seed, body, "Safety monitor (Leader Completeness, State Machine Safety)")


# -- E6.4: timing ----------------------------------------------------------------------------
TIMING_PROPERTIES = ("availability", "split votes")
TIMING_DOMAIN_MS = (1.0, 10_000.0)  # bounds on every E6.4 value, in ms


def timing_trial(choose_timing: Fn, seed: int, latency: tuple[int, int] = (5, 25),
                 availability: float = 0.85, split_rate: float = 0.4, runs: int = 4,
                 properties: tuple[str, ...] = TIMING_PROPERTIES) -> Trial:
    """Five servers with the chosen timing over links of ``latency`` ms (uniform), ``runs``
    runs of 10 s each with the leader crashing every 2.5 s: the mean availability and the
    fraction of all elections that split must meet the bars (§5.6, §9.3). ``properties``
    selects the bars judged (one test per property gives partial credit); the tests of the
    other bar share the run (:func:`~dscourse.checkers.trial.judged_once`: both bars are
    judged on the whole run, so it never runs again)."""
    for p in properties:
        if p not in TIMING_PROPERTIES:
            raise allowed("properties", p, f"a tuple of {TIMING_PROPERTIES}")
    key = ("E6.4", choose_timing, seed, latency, availability, split_rate, runs)
    return judged_once(key, frozenset(properties), TIMING_PROPERTIES, lambda want: _timing_run(
        choose_timing, seed, latency, availability, split_rate, runs, want), stops_early=False)


def _timing_run(choose_timing: Fn, seed: int, latency: tuple[int, int], availability: float,
                split_rate: float, runs: int, properties: frozenset[str]) -> Trial:
    where = "(election timing, §5.6)"

    def body(run: _Run) -> None:
        lo_lat, hi_lat = latency
        choice = choose_timing({"lo": lo_lat, "hi": hi_lat})
        if type(choice) is not dict:
            _fail(f"choose_timing() must return a dict {where}")
        values = [choice.get(k) for k in ("election_lo", "election_hi", "heartbeat")]
        if not all(type(v) in (int, float) for v in values):
            _fail(f"the dict needs numbers 'election_lo', 'election_hi', 'heartbeat' {where}")
        numbers = cast(list[float], values)  # all int or float: checked just above
        # the answer's domain (a 1e-7 ms heartbeat would flood the grader with events)
        lo, hi, beat = numbers
        if not (TIMING_DOMAIN_MS[0] <= beat <= TIMING_DOMAIN_MS[1]
                and TIMING_DOMAIN_MS[0] <= lo <= hi <= TIMING_DOMAIN_MS[1]):
            _fail("the chosen timing is outside the answer's domain: heartbeat and "
                  f"election_lo <= election_hi, each between {TIMING_DOMAIN_MS[0]:g} and "
                  f"{TIMING_DOMAIN_MS[1]:g} ms {where}")
        opts = RaftOptions(election_timeout=(numbers[0], numbers[1]), heartbeat=numbers[2])
        avail = elections = splits = 0.0
        for k in range(runs):
            a, e, sp, _ = measure(opts, reliable(UniformInt(lo_lat, hi_lat)), seed * runs + k,
                                  duration=10_000, crash_every=2_500)
            avail += a / runs
            elections += e
            splits += sp
        run.trial.facts.update(availability=avail, elections=elections, split=splits)
        if "availability" in properties and avail < availability:
            run.trial.violate(f"availability: a leader was available {avail:.1%} of the time over "
                              f"links of {lo_lat}-{hi_lat} ms; the bar is {availability:.0%} {where}")
        if "split votes" in properties and elections and splits / elections > split_rate:
            run.trial.violate(f"split votes: {splits:g} of {elections:g} elections split the vote "
                              f"over links of {lo_lat}-{hi_lat} ms; the bar is {split_rate:.0%} "
                              f"{where}")

    return _judge(seed, body)
