"""Trusted harnesses for Chapter 5's exercises (E5.1-E5.4).

The exercise notebook's test cells call these with the student's function (or, in the
grader, its sandboxed proxy) and hand the result to ``t.expect``: every harness returns a
:class:`~dscourse.checkers.trial.Trial` with the seed, the run's trace, the first violated
property (its message names the property; a model check's names the shortest
counterexample, step by step) and the virtual time it broke. An exception raised by the
student's function ends the trial as ``trial.error``; an answer the harness cannot use (a
malformed reply) is a violation. Student functions see plain data only.

* E5.1 -- ``prepare(state, ballot)`` and ``accept(state, ballot, value)``: an acceptor as two
  pure functions of its durable state (kept in ``stable`` by the harness). Checked by the
  model checker with correct proposers and by random runs with crashes.
* E5.2 -- ``choose_value(promises, own)``: the P2c rule. ``promises`` is a list with one entry
  per promise, ``None`` or ``[round, proposer, value]`` (the acceptor's highest vote).
  Checked by the model checker (2 proposers, 3 acceptors, every execution up to 12 steps:
  the shortest violation of a proposer without P2c has 12; the trial's seed is the model's,
  0) and by random runs with loss, duplication and crashes.
* E5.4 -- ``recover(first, promises)``: what a new Multi-Paxos leader proposes in every slot
  from ``first`` to the highest slot reported (P2c per slot, no-ops in the gaps). Checked on
  random promise sets with votes from several ballots per slot (:func:`recover_cases_trial`:
  random runs rarely report two different votes for one slot, so they alone accept a
  ``recover`` that keeps the lowest ballot) and on replicated key-value stores under crashes
  and partitions.
* E5.3 -- ``retry_delay(failures, u)``: ms to wait after the ``failures``-th failed attempt,
  ``u`` a uniform draw in [0, 1). Checked on dueling proposers, under the mis-tuned timeout
  and under the oblivious adversary built against the answer's waits at u = 0.5: at least 99% of
  the seeds decide within 500 ms (one trial over many seeds: its seed is the first undecided
  one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from ..checkers.explore import ExploreResult, explore, settle
from ..checkers.trial import Trial, judged_once, property_of
from ..errors import ConfigError, allowed
from ..sim import Simulation, lossy, random_schedule
from ..sim.rng import stream
from . import workload
from .backoff import Backoff
from .basic import Acceptor, Proposer, agreement, chosen, simulation, validity
from .livelock import SCHEDULES, RoundAdversary, duel
from .messages import NOOP, ZERO, Accept, Accepted, Ballot, Nack, Prepare, Promise, Vote
from .multi import Replica


def _judge(trial: Trial, body: Callable[[], None]) -> Trial:
    """Run ``body`` for ``trial``: an answer the harness cannot use (``ConfigError``) is a
    violation; any other exception is the student's error, kept in ``trial.error``."""
    try:
        body()
    except ConfigError as exc:
        trial.violate(f"unusable answer: {exc}", trial.at)
    except Exception as exc:  # noqa: BLE001 - the student's function may raise anything
        trial.error = exc
    return trial


def _model_trial(result: ExploreResult, what: str) -> Trial:
    """A trial from a model check: the counterexample's replay as the trace."""
    trial = Trial(result.seed, trace=result.trace)
    if result.violation is not None:
        steps = "; ".join(c.text for c in result.path)
        trial.violate(f"{result.violation} violated after {len(result.path)} steps "
                      f"({what}): {steps}", result.sim.now if result.sim is not None else None)
    trial.facts.update(states=result.states, depth=result.depth, complete=result.complete)
    return trial


def _safe_run(trial: Trial, sim: Simulation, until: float,
              properties: Mapping[str, Callable[[Simulation], bool]], sep: str = "") -> bool:
    """Run ``sim`` to ``until`` ms checking ``properties`` after every event; record the first
    that breaks (True if none did), its message ``"<property><sep> violated at ..."``."""
    trial.trace = sim.trace
    broken: list[str] = []

    def violated() -> bool:
        broken.extend(name for name, holds in properties.items() if not holds(sim))
        return bool(broken)

    if sim.run_until(violated, until):
        trial.violate(f"{broken[0]}{sep} violated at t={sim.now:g} ms (chosen: "
                      f"{sorted(map(str, chosen(sim)))})", sim.now)
        return False
    return True


def adopting(choose_value: Callable[[list, Any], Any]) -> type[Proposer]:
    """A :class:`Proposer` whose Phase 2a value comes from ``choose_value``."""

    def choose(self: Proposer) -> Any:
        promises = [None if v is None else [v.ballot.round, v.ballot.node, v.value]
                    for _, v in sorted(self.promises.items())]
        return choose_value(promises, self.value)

    return type("StudentProposer", (Proposer,), {"choose_value": choose})


SAFETY = {"agreement": agreement, "validity": validity}


def adoption_model_trial(choose_value: Callable[[list, Any], Any], depth: int = 12) -> Trial:
    """Breadth-first search of every execution up to ``depth`` steps (see module docstring)."""
    cls = adopting(choose_value)

    def make(seed: int) -> Simulation:
        return simulation(seed=seed, proposer_cls=cls, nack=False, reply_accepted=False,
                          max_rounds=1)

    result: list[Trial] = []

    def body() -> None:
        found = explore(make, SAFETY, max_depth=depth)
        chosen_values = sorted(map(str, chosen(found.sim))) if found.sim is not None else []
        result.append(_model_trial(found, f"chosen: {chosen_values}"))

    trial = _judge(Trial(0), body)
    return result[0] if result else trial


def adoption_random_trial(choose_value: Callable[[list, Any], Any], seed: int) -> Trial:
    """Three proposers, five acceptors, 20% loss, 20% duplication and crashes for 400 ms:
    agreement and validity after every event."""
    cls = adopting(choose_value)
    trial = Trial(seed)

    def body() -> None:
        sim = simulation(proposers=3, acceptors=5, seed=seed, proposer_cls=cls,
                         network=lossy(drop=0.2, duplicate=0.2), timeout=20, backoff="random")
        sim.schedule_nemesis(sim.random_nemesis(300, kinds=("crash",), mean_gap=30, mean_duration=20))
        _safe_run(trial, sim, 400, SAFETY)

    return _judge(trial, body)


#: How many failures' waits the E5.3 adversary plans for (its schedule repeats after them).
ADVERSARY_ROUNDS = 100


def backoff_trial(retry_delay: Callable[[int, float], float], seeds: Iterable[int],
                  deadline_ms: float = 500.0, share: float = 0.99,
                  schedule: str = "short-timeout") -> Trial:
    """Dueling proposers with the student's backoff: ``share`` of the seeds decide (a value is
    chosen) by ``deadline_ms``. One trial over all the seeds: its seed and trace are those of
    the first undecided duel (the first seed while none is undecided).

    ``schedule="oblivious"`` runs the chapter's oblivious adversary
    (:class:`~.livelock.RoundAdversary`), built against the student's waits with ``u = 0.5``
    (``retry_delay(k, 0.5)`` for the first ``ADVERSARY_ROUNDS`` failures): every
    deterministic answer, or one that barely depends on ``u``, duels forever under it."""
    seeds = list(seeds)
    if not seeds:
        raise allowed("seeds", seeds, "at least one seed")
    if schedule not in SCHEDULES:
        raise allowed("schedule", schedule, f"one of {', '.join(SCHEDULES)}")
    trial = Trial(seeds[0])

    def body() -> None:
        backoff = Backoff("custom", custom=retry_delay)
        options: dict[str, Any] = {}
        if schedule == "oblivious":
            waits = []
            for k in range(1, ADVERSARY_ROUNDS + 1):
                wait = retry_delay(k, 0.5)
                if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < 1e6:
                    raise allowed(f"retry_delay({k}, 0.5)", wait, "a number of ms from 0 to 1e6")
                waits.append(float(wait))
            options["adversary"] = RoundAdversary(tuple(waits))
            trial.facts.update(adversary_waits_ms=waits[:5])
        late: list[int] = []
        for s in seeds:
            run = duel(s, backoff, horizon_ms=deadline_ms, schedule=schedule, **options)
            if run.decided_ms is None:
                if not late:
                    trial.seed, trial.trace = s, run.sim.trace
                late.append(s)
        decided = len(seeds) - len(late)
        trial.facts.update(decided=decided, seeds=len(seeds))
        if decided < share * len(seeds):
            against = (" against the oblivious schedule built for your waits at u = 0.5"
                       if schedule == "oblivious" else "")
            trial.violate(f"progress: {decided}/{len(seeds)} seeds decided within {deadline_ms:g} "
                          f"ms{against} (need {share:.0%}); the first undecided duel is shown", deadline_ms)

    return _judge(trial, body)


def recovering(recover: Callable[[int, list], Any]) -> type[Replica]:
    """A Multi-Paxos :class:`Replica` whose new leaders fill slots with ``recover``.

    The student's function sees ``first`` and, per promise, a list of votes
    ``[slot, round, proposer, token]`` where ``token`` (an int) stands for the voted command;
    it returns ``[slot, token]`` pairs, ``token`` None for a no-op.
    """

    def choose(self: Replica, first: int, promises: list) -> dict[int, Any]:
        values: list[Any] = []
        tokens: dict[Any, int] = {}

        def token(value: Any) -> int:
            if value not in tokens:
                tokens[value] = len(values)
                values.append(value)
            return tokens[value]

        plain = [[[slot, b.round, b.node, token(v)] for slot, b, v in votes] for votes in promises]
        # the answer's domain: slots first..top, top the highest slot any promise reports (a
        # slot beyond it would make the leader fill an unbounded gap with no-ops)
        top = max([first - 1, *(slot for votes in promises for slot, _, _ in votes)])
        out: dict[int, Any] = {}
        for pair in recover(first, plain):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise allowed("recover() entry", pair, "a pair [slot, token or None]")
            slot, tok = pair
            if type(slot) is not int or not first <= slot <= top or not (tok is None or type(tok) is int):
                raise allowed("recover() entry", pair,
                              f"[slot in {first}..{top} (the slots the promises report), token or None]")
            if tok is not None and not 0 <= tok < len(values):
                raise allowed("recover() token", tok, "a token from the votes, or None")
            out[slot] = NOOP if tok is None else values[tok]
        return out

    return type("StudentReplica", (Replica,), {"recover": choose})


#: The properties :func:`recovery_trial` judges (one test each gives partial credit).
RECOVERY_PROPERTIES = ("prefix consistency", "linearizability", "progress")


def recovery_trial(recover: Callable[[int, list], Any], seeds: Iterable[int],
                   completed: float = 0.75,
                   properties: Iterable[str] = RECOVERY_PROPERTIES) -> Trial:
    """Three replicas, four clients, a lossy network, crashes and partitions, on every seed:
    the ``properties`` judged are ``"prefix consistency"`` (no slot decided twice with
    different commands), ``"linearizability"`` (of the clients' history) and ``"progress"``
    (over all the seeds at least ``completed`` of the operations complete). One trial: its
    seed and trace are those of the first seed that breaks a property (the first seed while
    none does); every seed that breaks one is listed. Each seed's run is judged for both
    per-run properties whatever is asked, so the tests of the other properties share it
    (:func:`~dscourse.checkers.trial.judged_once`, per seed)."""
    seeds = list(seeds)
    if not seeds:
        raise allowed("seeds", seeds, "at least one seed")
    wanted = tuple(properties)
    for p in wanted:
        if p not in RECOVERY_PROPERTIES:
            raise allowed("properties", p, f"a tuple of {RECOVERY_PROPERTIES}")
    trial = Trial(seeds[0])

    def body() -> None:
        done = total = 0
        broken: dict[str, list[int]] = {p: [] for p in wanted}
        for seed in seeds:
            r = judged_once(("E5.4", recover, seed), frozenset(_RUN_PROPERTIES), _RUN_PROPERTIES,
                            partial(_recovery_run, recover, seed), stops_early=False)
            bad = [p for p in wanted if p in {property_of(v, _RUN_PROPERTIES) for v in r.violations}]
            for p in bad:
                broken[p].append(seed)
            if seed == seeds[0] or (bad and seed == min(s for ss in broken.values() for s in ss)):
                trial.seed, trial.trace = seed, r.trace       # the first failing run
            done, total = done + r.facts["completed"], total + r.facts["operations"]
        if broken.get("prefix consistency"):
            s = broken["prefix consistency"]
            trial.violate(f"prefix consistency violated on {len(s)} of {len(seeds)} seeds ({s[:8]}): "
                          "two replicas decided different commands for one slot")
        if broken.get("linearizability"):
            s = broken["linearizability"]
            trial.violate(f"linearizability violated on {len(s)} of {len(seeds)} seeds ({s[:8]}): "
                          "the clients' history is not linearizable")
        trial.facts.update(completed=done, operations=total)
        if "progress" in wanted and done < completed * total:
            trial.violate(f"progress: only {done} of {total} operations completed over "
                          f"{len(seeds)} seeds (need {completed:.0%}): is every slot up to the "
                          "highest reported one filled?")

    return _judge(trial, body)


_RUN_PROPERTIES = RECOVERY_PROPERTIES[:2]      # judged per seed; progress over all of them


def _recovery_run(recover: Callable[[int, list], Any], seed: int, _want: frozenset[str]) -> Trial:
    """One seed of :func:`recovery_trial`, judged for both per-run properties (whatever is
    wanted: the verdicts cost nothing beside the run)."""
    r = workload.run(seed, clients=4, ops=6, until=400.0, replica_cls=recovering(recover),
                     network=lossy(drop=0.1, duplicate=0.05))
    run = Trial(seed, trace=r.sim.trace, facts=dict(completed=r.completed, operations=r.operations))
    for p, ok in zip(_RUN_PROPERTIES, (r.prefix_consistent, r.linearizable), strict=True):
        if not ok:
            run.violate(f"{p}: broken on seed {seed}")
    return run


def recover_cases_trial(recover: Callable[[int, list], Any], seed: int, n: int = 60,
                        show: int = 5) -> Trial:
    """``recover`` on ``n`` random sets of promises from a majority of 5 acceptors, each slot
    reported with votes from up to three ballots carrying *different* commands (a ballot
    proposes one command per slot; an acceptor reports its highest vote per slot). Two
    properties, named in the violations: ``highest ballot wins`` (in a slot with votes, the
    command of the highest-numbered one: P2c per slot) and ``no-ops in gaps`` (a no-op in a
    slot with no vote, and exactly the slots ``first`` .. highest reported). Every wrong case
    counts; the first ``show`` of each property are listed."""
    trial = Trial(seed)
    rng = stream(seed, "E5.4/cases")

    def body() -> None:
        wrong: dict[str, list[str]] = {"highest ballot wins": [], "no-ops in gaps": []}
        for _ in range(n):
            first = int(rng.integers(1, 6))
            size = int(rng.choice([3, 4]))
            slots = range(first, first + int(rng.integers(1, 5)))
            promises: list[list[list]] = [[] for _ in range(size)]
            token = 0
            for slot in slots:
                if rng.random() < 0.25:
                    continue                                   # a gap, unless another slot is higher
                ballots = sorted({(int(rng.integers(1, 6)), f"r{int(rng.integers(1, 4))}")
                                  for _ in range(int(rng.integers(1, 4)))})
                command = {}
                for b in ballots:
                    command[b], token = token, token + 1
                for votes in promises:
                    if rng.random() < 0.7:
                        b = ballots[int(rng.integers(len(ballots)))]
                        votes.append([slot, b[0], b[1], command[b]])
            best: dict[int, tuple] = {}
            for votes in promises:
                for slot, rnd, proposer, tok in votes:
                    best[slot] = max(best.get(slot, (0, "", None)), (rnd, proposer, tok))
            top = max([first - 1, *best])
            want = {slot: best[slot][2] if slot in best else None for slot in range(first, top + 1)}
            call = f"recover({first}, {promises})"
            out = recover(first, [[list(v) for v in votes] for votes in promises])
            try:
                got = {slot: tok for slot, tok in out}
            except (TypeError, ValueError):
                wrong["no-ops in gaps"].append(f"{call} returned {out!r}, not [slot, token] pairs")
                continue
            bad_vote = [s for s in want if want[s] is not None and got.get(s) != want[s]]
            if bad_vote:
                wrong["highest ballot wins"].append(
                    f"{call}: slot {bad_vote[0]} got {got.get(bad_vote[0])!r}, the highest ballot "
                    f"{best[bad_vote[0]][:2]} voted {want[bad_vote[0]]}")
            if set(got) != set(want) or any(got[s] is not None for s in want if want[s] is None):
                wrong["no-ops in gaps"].append(f"{call} returned {sorted(got.items())}, expected "
                                               f"{sorted(want.items())}")
        trial.facts.update(cases=n, **{p: len(w) for p, w in wrong.items()})
        for prop, cases in wrong.items():
            if cases:
                more = f" (and {len(cases) - show} more)" if len(cases) > show else ""
                trial.violate(f"{prop} violated in {len(cases)} of {n} cases: "
                              + "; ".join(cases[:show]) + more)

    return _judge(trial, body)


def steady_state_trial(recover: Callable[[int, list], Any], seed: int, n: int = 5,
                       commands: int = 20) -> Trial:
    """Curriculum E5.4's cost property: one leader, ``n`` replicas, one client with
    ``commands`` commands on a reliable network. Phase 1 runs once for the leadership
    (``n - 1`` ``MPrepare``) and each command costs at most ``2(n - 1)`` proposer-acceptor
    messages (``MAccept`` + ``MAccepted``; the ``MDecide`` notices that tell the other replicas
    the outcome are not proposer-acceptor messages and are counted apart), and every command
    completes. (Candidates that lose the first election also send ``MPrepare``: only the
    leader's ballot is counted.)"""
    from ..sim import reliable

    cls = recovering(recover)
    trial = Trial(seed)

    def body() -> None:
        c = workload.cluster(n, 1, commands, seed=seed, network=reliable(), replica_cls=cls)
        trial.trace = c.sim.trace
        c.run(until=2000)
        sends = [e for e in c.trace.events if e.kind == "send"]
        sent = [e.label for e in sends]
        def ballot(e: Any) -> tuple:
            return (e.data["ballot"]["round"], e.data["ballot"]["node"])   # traced as plain data

        leaders = {ballot(e) for e in sends if e.label == "MAccept"}
        prepares = sum(1 for e in sends if e.label == "MPrepare" and ballot(e) in leaders)
        phase2 = sent.count("MAccept") + sent.count("MAccepted")
        done = sum(1 for op in c.operations() if op.ret != float("inf"))
        trial.facts.update(prepares=prepares, phase2=phase2, decides=sent.count("MDecide"), done=done,
                           leaderships=len(leaders), campaigns=sent.count("MPrepare") // (n - 1))
        if len(leaders) != 1 or prepares != n - 1:
            trial.violate(f"message cost: {len(leaders)} leader ballot(s) and {prepares} MPrepare "
                          f"messages for them; one leadership should run Phase 1 once ({n - 1} "
                          f"MPrepare for n = {n})")
        if phase2 > 2 * (n - 1) * commands:
            trial.violate(f"message cost: {phase2} MAccept + MAccepted for {commands} commands, "
                          f"{phase2 / commands:.1f} each; at most 2(n - 1) = {2 * (n - 1)}")
        if done < commands:
            trial.violate(f"progress: {done} of {commands} commands completed in steady state")

    return _judge(trial, body)


def _plain_ballot(b: Any) -> list | None:
    return None if b is None or b == ZERO else [b.round, b.node]


def _ballot(data: Any, what: str) -> Ballot:
    if data is None:
        return ZERO
    if type(data) not in (list, tuple) or len(data) != 2 or type(data[0]) is not int \
            or type(data[1]) is not str:
        raise allowed(what, data, "None or [round, proposer]")
    return Ballot(data[0], data[1])


def acceptor_from(prepare: Callable[[dict, list], Any],
                  accept: Callable[[dict, list, Any], Any]) -> type[Acceptor]:
    """An :class:`Acceptor` whose decisions come from the student's pure functions.

    Both take the durable ``state`` ``{"promised": [round, proposer] | None, "accepted":
    [round, proposer, value] | None}`` and return ``[new_state, reply]``: ``prepare``'s reply is
    ``["promise", accepted]``, ``["nack", promised]`` or None; ``accept``'s is
    ``["accepted"]``, ``["nack", promised]`` or None. The harness keeps the state in
    ``stable`` and records every vote, and marks ``stable["broke_promise"]`` if an acceptance
    is below a ballot promised earlier.
    """

    def plain_state(self: Acceptor) -> dict:
        vote = self.stable.get("accepted")
        return {"promised": _plain_ballot(self.stable.get("promised")),
                "accepted": None if vote is None else [vote.ballot.round, vote.ballot.node, vote.value]}

    def store(self: Acceptor, state: Any) -> None:
        if type(state) is not dict or set(state) != {"promised", "accepted"}:
            raise allowed("new state", state, 'a dict with keys "promised" and "accepted"')
        self.stable["promised"] = _ballot(state["promised"], "promised")
        acc = state["accepted"]
        if acc is None:
            self.stable["accepted"] = None
        elif type(acc) in (list, tuple) and len(acc) == 3:
            self.stable["accepted"] = Vote(_ballot(acc[:2], "accepted ballot"), acc[2])
        else:
            raise allowed("accepted", acc, "None or [round, proposer, value]")

    def result(out: Any, what: str) -> tuple[Any, Any]:
        if type(out) not in (list, tuple) or len(out) != 2:
            raise allowed(f"{what}() result", out, "[new_state, reply]")
        return out[0], out[1]

    def on_message(self: Acceptor, src: str, msg: Any) -> None:
        if isinstance(msg, Prepare):
            ballot = [msg.ballot.round, msg.ballot.node]
            state, reply = result(prepare(plain_state(self), ballot), "prepare")
            store(self, state)
            if reply is None:
                return
            if type(reply) in (list, tuple) and len(reply) == 2 and reply[0] == "promise":
                acc = reply[1]
                vote = None if acc is None else Vote(_ballot(acc[:2], "reported vote"), acc[2])
                self.send(src, Promise(msg.ballot, vote))
            elif type(reply) in (list, tuple) and len(reply) == 2 and reply[0] == "nack":
                self.send(src, Nack(msg.ballot, _ballot(reply[1], "nack")))
            else:
                raise allowed("prepare() reply", reply, '["promise", accepted], ["nack", promised] or None')
        elif isinstance(msg, Accept):
            ballot = [msg.ballot.round, msg.ballot.node]
            before = self.stable.get("max_promised", ZERO)
            state, reply = result(accept(plain_state(self), ballot, msg.value), "accept")
            store(self, state)
            if reply is None:
                return
            if type(reply) in (list, tuple) and len(reply) == 1 and reply[0] == "accepted":
                if msg.ballot < before:
                    self.stable["broke_promise"] = True
                vote = Vote(msg.ballot, msg.value)
                if vote not in self.stable["votes"]:
                    self.stable["votes"] = (*self.stable["votes"], vote)
                self.send(src, Accepted(msg.ballot, msg.value))
            elif type(reply) in (list, tuple) and len(reply) == 2 and reply[0] == "nack":
                self.send(src, Nack(msg.ballot, _ballot(reply[1], "nack")))
            else:
                raise allowed("accept() reply", reply, '["accepted"], ["nack", promised] or None')
        self.stable["max_promised"] = max(self.stable.get("max_promised", ZERO), self.promised)

    def state(self: Acceptor) -> tuple[Any, ...]:
        return (self.promised, self.stable.get("accepted"), self.stable.get("votes", ()),
                self.stable.get("max_promised", ZERO), self.stable.get("broke_promise", False))

    return type("StudentAcceptor", (Acceptor,), {"on_message": on_message, "state": state})


def kept_promises(sim: Any) -> bool:
    """No acceptor accepted a proposal below a ballot it had promised."""
    return not any(n.stable.get("broke_promise") for n in sim.nodes.values() if isinstance(n, Acceptor))


ACCEPTOR_SAFETY = {**SAFETY, "promises kept": kept_promises}


def _properties(properties: Iterable[str], known: Mapping[str, Any]) -> dict[str, Any]:
    chosen_props = {}
    for name in properties:
        if name not in known:
            raise allowed("properties", name, f"a tuple of {tuple(known)}")
        chosen_props[name] = known[name]
    return chosen_props


def acceptor_model_trial(prepare: Callable, accept: Callable, depth: int = 12,
                         properties: Iterable[str] = tuple(ACCEPTOR_SAFETY)) -> Trial:
    """The model checker on correct proposers and the student's acceptor (3 acceptors): the
    ``properties`` (agreement, validity, promises kept; one test each gives partial credit)
    in every execution up to ``depth`` steps."""
    cls = acceptor_from(prepare, accept)
    props = _properties(properties, ACCEPTOR_SAFETY)

    def make(seed: int) -> Simulation:
        return simulation(seed=seed, acceptor_cls=cls, nack=False, reply_accepted=False,
                          max_rounds=1)

    result: list[Trial] = []

    def body() -> None:
        result.append(_model_trial(explore(make, props, max_depth=depth),
                                   "2 proposers, 3 of your acceptors"))

    trial = _judge(Trial(0), body)
    return result[0] if result else trial


def acceptor_random_trial(prepare: Callable, accept: Callable, seed: int,
                          properties: Iterable[str] = (*ACCEPTOR_SAFETY, "progress")) -> Trial:
    """Three proposers (retrying, random backoff), five student acceptors, loss, duplication,
    reordering and acceptor crashes for 600 ms: the safety ``properties`` (agreement,
    validity, promises kept) after every event, and (``"progress"``) a value chosen by the end.
    The run ends at the first safety violation; the tests of the other properties share it
    (:func:`~dscourse.checkers.trial.judged_once`, which runs again when it ended on another
    property's violation)."""
    wanted = tuple(properties)
    _properties([p for p in wanted if p != "progress"], ACCEPTOR_SAFETY)   # a clear error first
    known = (*ACCEPTOR_SAFETY, "progress")
    return judged_once(("E5.1", prepare, accept, seed), frozenset(wanted), known,
                       lambda want: _acceptor_random_run(prepare, accept, seed, want),
                       stops_early=True)


def _acceptor_random_run(prepare: Callable, accept: Callable, seed: int,
                         wanted: frozenset[str]) -> Trial:
    cls = acceptor_from(prepare, accept)
    props = _properties([p for p in ACCEPTOR_SAFETY if p in wanted], ACCEPTOR_SAFETY)
    trial = Trial(seed)

    def body() -> None:
        sim = simulation(proposers=3, acceptors=5, seed=seed, acceptor_cls=cls,
                         network=lossy(drop=0.2, duplicate=0.2), timeout=20, backoff="random")
        accs = [f"a{i}" for i in range(1, 6)]
        sim.schedule_nemesis([(t, a) for t, a in random_schedule(accs, sim.rng("nemesis"), until=300,
                                                                 kinds=("crash",), mean_gap=30,
                                                                 mean_duration=20)])
        if _safe_run(trial, sim, 600, props, ":") and "progress" in wanted and not chosen(sim):
            trial.violate("progress: nothing was chosen in 600 ms", sim.now)

    return _judge(trial, body)


# -- E5.2: find the run that breaks a half-right proposer, then write P2c ----------------------
class FirstVoteProposer(Proposer):
    """BROKEN on purpose (exercise E5.2): adopts the value of the *first* promise to arrive
    that reports a vote, whatever its ballot; its own value if none does."""

    def choose_value(self) -> Any:
        votes = [v for v in self.promises.values() if v is not None]
        return votes[0].value if votes else self.value


#: The message kinds a counterexample schedule may deliver (acceptors send no Nack and no
#: Accepted back in this configuration, as in the model check).
SCHEDULE_KINDS = ("Prepare", "Promise", "Accept")
MAX_SCHEDULE = 60


def first_vote_simulation(seed: int = 0, proposer_cls: type[Proposer] = FirstVoteProposer) -> Simulation:
    """Three proposers ``p1..p3`` (values ``v1..v3``, one attempt each, ballots ``(1, p1) <
    (1, p2) < (1, p3)``) and three acceptors, every message held until a schedule delivers it."""
    return simulation(proposers=3, acceptors=3, seed=seed, proposer_cls=proposer_cls, nack=False,
                      reply_accepted=False, max_rounds=1)


def _votes(sim: Simulation) -> str:
    return "; ".join(f"{a.id} voted " + (", ".join(f"{v.value} at {v.ballot}" for v in a.stable.get("votes", ()))
                                        or "nothing") for a in _acceptors(sim))


def _acceptors(sim: Simulation) -> list[Acceptor]:
    return [n for n in sim.nodes.values() if isinstance(n, Acceptor)]


def replay_schedule(schedule: Any, proposer_cls: type[Proposer] = FirstVoteProposer,
                    trial: Trial | None = None) -> Simulation:
    """Deliver ``schedule`` -- ``[kind, src, dst]`` steps, ``kind`` one of
    :data:`SCHEDULE_KINDS` -- in :func:`first_vote_simulation`, one pending message per step.
    A step with no such pending message is an unusable answer (``ConfigError``) naming the
    messages that were pending."""
    if type(schedule) not in (list, tuple) or len(schedule) > MAX_SCHEDULE:
        raise allowed("schedule", type(schedule).__name__, f"a list of at most {MAX_SCHEDULE} steps")
    sim = first_vote_simulation(proposer_cls=proposer_cls)
    if trial is not None:
        trial.trace = sim.trace
    settle(sim)
    for i, step in enumerate(schedule, 1):
        if type(step) not in (list, tuple) or len(step) != 3 or step[0] not in SCHEDULE_KINDS \
                or not all(type(x) is str for x in step):
            raise allowed(f"step {i}", step, f'[kind, sender, receiver], kind one of {list(SCHEDULE_KINDS)}')
        kind, src, dst = step
        match = [p for p in sim.pending() if p.kind == "deliver" and p.label == kind
                 and p.peer == src and p.node == dst]
        if not match:
            waiting = sorted({f"[{p.label!r}, {p.peer!r}, {p.node!r}]" for p in sim.pending()
                              if p.kind == "deliver"})
            raise ConfigError(f"step {i} {list(step)}: no such message is in flight after steps "
                              f"1-{i - 1}; in flight: {', '.join(waiting) or 'nothing'}")
        sim.fire(match[0].id)
    return sim


def counterexample_trial(schedule: Any) -> Trial:
    """``schedule`` makes :class:`FirstVoteProposer` choose two different values (three
    proposers, three acceptors): agreement broken, as the answer claims."""
    trial = Trial(0)

    def body() -> None:
        sim = replay_schedule(schedule, trial=trial)
        values = sorted(map(str, chosen(sim)))
        trial.facts.update(steps=len(schedule), chosen=values)
        if len(values) < 2:
            trial.violate(f"after your {len(schedule)} steps {len(values) or 'no'} value"
                          f"{'' if len(values) == 1 else 's'} {values or ''} "
                          f"{'is' if len(values) == 1 else 'are'} chosen, not two: {_votes(sim)}",
                          sim.now)

    return _judge(trial, body)


def choose_value_cases_trial(choose_value: Callable[[list, Any], Any], seed: int, n: int = 60,
                             show: int = 5) -> Trial:
    """``choose_value`` on ``n`` random sets of promises from a majority of 3 or 5 acceptors (votes from
    earlier ballots, one value per ballot), each checked against the rule Paxos needs;
    the first ``show`` wrong answers are listed."""
    trial = Trial(seed)
    rng = stream(seed, "E5.2/cases")

    def body() -> None:
        wrong = []
        for _ in range(n):
            size = int(rng.choice([2, 3]))
            ballots = sorted({(int(rng.integers(1, 5)), f"p{int(rng.integers(1, 4))}") for _ in range(3)})
            value_of = {b: f"v{b[0]}{b[1]}" for b in ballots}
            promises: list[list | None] = []
            for _ in range(size):
                if rng.random() < 0.35:
                    promises.append(None)
                else:
                    b = ballots[int(rng.integers(len(ballots)))]
                    promises.append([b[0], b[1], value_of[b]])
            votes = [p for p in promises if p is not None]
            want = max(votes, key=lambda p: (p[0], p[1]))[2] if votes else "mine"
            got = choose_value([None if p is None else list(p) for p in promises], "mine")
            if got != want:
                wrong.append(f"choose_value({promises}, 'mine') returned {got!r}")
        trial.facts.update(wrong=len(wrong), cases=n)
        if wrong:
            more = f" (and {len(wrong) - show} more)" if len(wrong) > show else ""
            trial.violate(f"agreement at risk: {len(wrong)} of {n} answers would let a second value "
                          "be chosen: " + "; ".join(wrong[:show]) + more)

    return _judge(trial, body)
