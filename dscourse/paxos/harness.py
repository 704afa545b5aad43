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
  replicated key-value stores under crashes and partitions.
* E5.3 -- ``retry_delay(failures, u)``: ms to wait after the ``failures``-th failed attempt,
  ``u`` a uniform draw in [0, 1). Checked on dueling proposers: at least 99% of the seeds
  decide within 500 ms (one trial over many seeds: its seed is the first undecided one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..checkers.explore import ExploreResult, explore
from ..checkers.trial import Trial
from ..errors import ConfigError, allowed
from ..sim import Simulation, lossy, random_schedule
from . import workload
from .backoff import Backoff
from .basic import Acceptor, Proposer, agreement, chosen, simulation, validity
from .livelock import duel
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
              properties: Mapping[str, Callable[[Simulation], bool]]) -> bool:
    """Run ``sim`` to ``until`` ms checking ``properties`` after every event; record the first
    that breaks (True if none did)."""
    trial.trace = sim.trace
    broken: list[str] = []

    def violated() -> bool:
        broken.extend(name for name, holds in properties.items() if not holds(sim))
        return bool(broken)

    if sim.run_until(violated, until):
        trial.violate(f"{broken[0]} violated at t={sim.now:g} ms (chosen: "
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


def backoff_trial(retry_delay: Callable[[int, float], float], seeds: Iterable[int],
                  deadline_ms: float = 500.0, share: float = 0.99) -> Trial:
    """Dueling proposers with the student's backoff: ``share`` of the seeds decide (a value is
    chosen) by ``deadline_ms``. One trial over all the seeds: its seed and trace are those of
    the first undecided duel (the first seed while none is undecided)."""
    seeds = list(seeds)
    if not seeds:
        raise allowed("seeds", seeds, "at least one seed")
    trial = Trial(seeds[0])

    def body() -> None:
        backoff = Backoff("custom", custom=retry_delay)
        late: list[int] = []
        for s in seeds:
            run = duel(s, backoff, horizon_ms=deadline_ms)
            if run.decided_ms is None:
                if not late:
                    trial.seed, trial.trace = s, run.sim.trace
                late.append(s)
        decided = len(seeds) - len(late)
        trial.facts.update(decided=decided, seeds=len(seeds))
        if decided < share * len(seeds):
            trial.violate(f"progress: {decided}/{len(seeds)} seeds decided within {deadline_ms:g} "
                          f"ms (need {share:.0%}); the first undecided duel is shown", deadline_ms)

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


def recovery_trial(recover: Callable[[int, list], Any], seeds: Iterable[int],
                   completed: float = 0.75) -> Trial:
    """Three replicas, four clients, a lossy network, crashes and partitions, on every seed:
    logs prefix-consistent and histories linearizable, and over all the seeds at least
    ``completed`` of the operations complete. One trial: its seed and trace are those of the
    first seed that breaks a property (the first seed while none does)."""
    seeds = list(seeds)
    if not seeds:
        raise allowed("seeds", seeds, "at least one seed")
    cls = recovering(recover)
    trial = Trial(seeds[0])

    def body() -> None:
        done = total = 0
        for seed in seeds:
            r = workload.run(seed, clients=4, ops=6, until=400.0, replica_cls=cls,
                             network=lossy(drop=0.1, duplicate=0.05))
            if seed == seeds[0] or not (r.prefix_consistent and r.linearizable):
                trial.seed, trial.trace = seed, r.sim.trace
            if not r.prefix_consistent:
                trial.violate("prefix consistency violated: two replicas decided different "
                              "commands for one slot", r.sim.now)
                return
            if not r.linearizable:
                trial.violate("linearizability violated: the clients' history is not "
                              "linearizable", r.sim.now)
                return
            done, total = done + r.completed, total + r.operations
        trial.facts.update(completed=done, operations=total)
        if done < completed * total:
            trial.violate(f"progress: only {done} of {total} operations completed over "
                          f"{len(seeds)} seeds (need {completed:.0%}): is every slot up to the "
                          "highest reported one filled?")

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


def acceptor_model_trial(prepare: Callable, accept: Callable, depth: int = 12) -> Trial:
    """The model checker on correct proposers and the student's acceptor (3 acceptors):
    agreement, validity and kept promises in every execution up to ``depth`` steps."""
    cls = acceptor_from(prepare, accept)

    def make(seed: int) -> Simulation:
        return simulation(seed=seed, acceptor_cls=cls, nack=False, reply_accepted=False,
                          max_rounds=1)

    result: list[Trial] = []

    def body() -> None:
        result.append(_model_trial(explore(make, ACCEPTOR_SAFETY, max_depth=depth),
                                   "2 proposers, 3 of your acceptors"))

    trial = _judge(Trial(0), body)
    return result[0] if result else trial


def acceptor_random_trial(prepare: Callable, accept: Callable, seed: int) -> Trial:
    """Three proposers (retrying, random backoff), five student acceptors, loss, duplication,
    reordering and acceptor crashes for 600 ms: agreement, validity and kept promises after
    every event, and a value chosen by the end."""
    cls = acceptor_from(prepare, accept)
    trial = Trial(seed)

    def body() -> None:
        sim = simulation(proposers=3, acceptors=5, seed=seed, acceptor_cls=cls,
                         network=lossy(drop=0.2, duplicate=0.2), timeout=20, backoff="random")
        accs = [f"a{i}" for i in range(1, 6)]
        sim.schedule_nemesis([(t, a) for t, a in random_schedule(accs, sim.rng("nemesis"), until=300,
                                                                 kinds=("crash",), mean_gap=30,
                                                                 mean_duration=20)])
        if _safe_run(trial, sim, 600, ACCEPTOR_SAFETY) and not chosen(sim):
            trial.violate("progress: nothing was chosen in 600 ms", sim.now)

    return _judge(trial, body)
