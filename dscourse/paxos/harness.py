"""Checks behind Chapter 5's exercises (E5.2, E5.3): plain functions returning a verdict.

The exercise notebook's test cells call these with the student's function (or, in the
grader, its sandboxed proxy); each returns ``None`` when the property holds, else a message
naming the seed or the shortest counterexample. Student functions see plain data only.

* E5.1 -- ``prepare(state, ballot)`` and ``accept(state, ballot, value)``: an acceptor as two
  pure functions of its durable state (kept in ``stable`` by the harness). Checked by the
  model checker with correct proposers and by random runs with crashes.
* E5.2 -- ``choose_value(promises, own)``: the P2c rule. ``promises`` is a list with one entry
  per promise, ``None`` or ``[round, proposer, value]`` (the acceptor's highest vote).
  Checked by the model checker (2 proposers, 3 acceptors, every execution up to 12 steps:
  the shortest violation of a proposer without P2c has 12) and by random runs with loss,
  duplication and crashes.
* E5.4 -- ``recover(first, promises)``: what a new Multi-Paxos leader proposes in every slot
  from ``first`` to the highest slot reported (P2c per slot, no-ops in the gaps). Checked on
  replicated key-value stores under crashes and partitions.
* E5.3 -- ``retry_delay(failures, u)``: ms to wait after the ``failures``-th failed attempt,
  ``u`` a uniform draw in [0, 1). Checked on dueling proposers: at least 99% of the seeds
  decide within 500 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.explore import explore
from ..errors import allowed
from ..sim import lossy, random_schedule
from . import workload
from .backoff import Backoff
from .basic import Acceptor, Proposer, agreement, chosen, cluster, validity
from .livelock import decision_times
from .messages import NOOP, ZERO, Accept, Accepted, Ballot, Nack, Prepare, Promise, Vote
from .multi import Replica


def adopting(choose_value: Callable[[list, Any], Any]) -> type[Proposer]:
    """A :class:`Proposer` whose Phase 2a value comes from ``choose_value``."""

    def choose(self: Proposer) -> Any:
        promises = [None if v is None else [v.ballot.round, v.ballot.node, v.value]
                    for _, v in sorted(self.promises.items())]
        return choose_value(promises, self.value)

    return type("StudentProposer", (Proposer,), {"choose_value": choose})


def adoption_model_check(choose_value: Callable[[list, Any], Any], depth: int = 12) -> str | None:
    """Breadth-first search of every execution up to ``depth`` steps (see module docstring)."""
    cls = adopting(choose_value)

    def make(seed: int) -> Any:
        return cluster(seed=seed, proposer_cls=cls, nack=False, reply_accepted=False, max_rounds=1)

    result = explore(make, {"agreement": agreement, "validity": validity}, max_depth=depth)
    if result.violation is None:
        return None
    steps = "; ".join(c.text for c in result.path)
    return (f"{result.violation} violated after {len(result.path)} steps "
            f"(chosen: {sorted(map(str, chosen(result.sim)))}): {steps}")


def adoption_random_runs(choose_value: Callable[[list, Any], Any], seeds: Iterable[int]) -> str | None:
    """Three proposers, five acceptors, loss, duplication and crashes; safety after every event."""
    cls = adopting(choose_value)
    for seed in seeds:
        sim = cluster(proposers=3, acceptors=5, seed=seed, proposer_cls=cls,
                      network=lossy(drop=0.2, duplicate=0.2), timeout=20, backoff="random")
        sim.schedule_nemesis(sim.random_nemesis(300, kinds=("crash",), mean_gap=30, mean_duration=20))
        if sim.run_until(lambda: not agreement(sim) or not validity(sim), 400):
            return f"seed {seed}: chosen {sorted(map(str, chosen(sim)))} at t={sim.now:g} ms"
    return None


def backoff_decisions(retry_delay: Callable[[int, float], float], seeds: Iterable[int],
                      deadline_ms: float = 500.0, share: float = 0.99) -> str | None:
    """Dueling proposers with the student's backoff: ``share`` of seeds decide by the deadline."""
    seeds = list(seeds)
    times = decision_times(Backoff("custom", custom=retry_delay), seeds, horizon_ms=deadline_ms)
    late = [s for s, t in zip(seeds, times) if t is None]
    if len(seeds) - len(late) >= share * len(seeds):
        return None
    return (f"{len(seeds) - len(late)}/{len(seeds)} seeds decided within {deadline_ms:g} ms "
            f"(need {share:.0%}); first undecided seed: {late[0]}")


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
        out: dict[int, Any] = {}
        for pair in recover(first, plain):
            slot, tok = pair
            if type(slot) is not int or slot < first or not (tok is None or type(tok) is int):
                raise allowed("recover() entry", pair, f"[slot >= {first}, token or None]")
            if tok is not None and not 0 <= tok < len(values):
                raise allowed("recover() token", tok, "a token from the votes, or None")
            out[slot] = NOOP if tok is None else values[tok]
        return out

    return type("StudentReplica", (Replica,), {"recover": choose})


def recovery_runs(recover: Callable[[int, list], Any], seeds: Iterable[int]) -> str | None:
    """Three replicas, four clients, a lossy network, crashes and partitions: logs
    prefix-consistent, histories linearizable, and at least 75% of the operations complete."""
    cls = recovering(recover)
    done = total = 0
    for seed in seeds:
        r = workload.run(seed, clients=4, ops=6, until=400.0, replica_cls=cls,
                         network=lossy(drop=0.1, duplicate=0.05))
        if not r.prefix_consistent:
            return f"seed {seed}: two replicas decided different commands for one slot"
        if not r.linearizable:
            return f"seed {seed}: the clients' history is not linearizable"
        done, total = done + r.completed, total + r.operations
    if done < 0.75 * total:
        return f"only {done} of {total} operations completed: is every slot up to the highest reported one filled?"
    return None


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
        ballot = [msg.ballot.round, msg.ballot.node] if isinstance(msg, (Prepare, Accept)) else None
        if isinstance(msg, Prepare):
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


def acceptor_model_check(prepare: Callable, accept: Callable, depth: int = 12) -> str | None:
    """The model checker on correct proposers and the student's acceptor (3 acceptors)."""
    cls = acceptor_from(prepare, accept)

    def make(seed: int) -> Any:
        return cluster(seed=seed, acceptor_cls=cls, nack=False, reply_accepted=False, max_rounds=1)

    result = explore(make, {"agreement": agreement, "validity": validity,
                            "promises kept": kept_promises}, max_depth=depth)
    if result.violation is None:
        return None
    steps = "; ".join(c.text for c in result.path)
    return f"{result.violation} violated after {len(result.path)} steps: {steps}"


def acceptor_random_runs(prepare: Callable, accept: Callable, seeds: Iterable[int]) -> str | None:
    """Three proposers (retrying, random backoff), five student acceptors, loss, duplication,
    reordering and acceptor crashes; safety after every event, and a decision."""
    cls = acceptor_from(prepare, accept)
    for seed in seeds:
        sim = cluster(proposers=3, acceptors=5, seed=seed, acceptor_cls=cls,
                      network=lossy(drop=0.2, duplicate=0.2), timeout=20, backoff="random")
        accs = [f"a{i}" for i in range(1, 6)]
        sim.schedule_nemesis([(t, a) for t, a in random_schedule(accs, sim.rng("nemesis"), until=300,
                                                                 kinds=("crash",), mean_gap=30,
                                                                 mean_duration=20)])
        if sim.run_until(lambda: not (agreement(sim) and validity(sim) and kept_promises(sim)), 600):
            return f"seed {seed}: safety violated at t={sim.now:g} ms (chosen {sorted(map(str, chosen(sim)))})"
        if not chosen(sim):
            return f"seed {seed}: nothing was chosen in 600 ms"
    return None
