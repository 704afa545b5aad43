"""Checks behind Chapter 5's exercises (E5.2, E5.3): plain functions returning a verdict.

The exercise notebook's test cells call these with the student's function (or, in the
grader, its sandboxed proxy); each returns ``None`` when the property holds, else a message
naming the seed or the shortest counterexample. Student functions see plain data only.

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
from ..sim import lossy
from . import workload
from .backoff import Backoff
from .basic import Proposer, agreement, chosen, cluster, validity
from .livelock import decision_times
from .messages import NOOP
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
