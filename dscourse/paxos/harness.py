"""Checks behind Chapter 5's exercises (E5.2, E5.3): plain functions returning a verdict.

The exercise notebook's test cells call these with the student's function (or, in the
grader, its sandboxed proxy); each returns ``None`` when the property holds, else a message
naming the seed or the shortest counterexample. Student functions see plain data only.

* E5.2 -- ``choose_value(promises, own)``: the P2c rule. ``promises`` is a list with one entry
  per promise, ``None`` or ``[round, proposer, value]`` (the acceptor's highest vote).
  Checked by the model checker (2 proposers, 3 acceptors, every execution up to 12 steps:
  the shortest violation of a proposer without P2c has 12) and by random runs with loss,
  duplication and crashes.
* E5.3 -- ``retry_delay(failures, u)``: ms to wait after the ``failures``-th failed attempt,
  ``u`` a uniform draw in [0, 1). Checked on dueling proposers: at least 99% of the seeds
  decide within 500 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.explore import explore
from ..sim import lossy
from .backoff import Backoff
from .basic import Proposer, agreement, chosen, cluster, validity
from .livelock import decision_times


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
