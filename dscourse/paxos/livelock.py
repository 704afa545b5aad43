"""Dueling proposers: the livelock of §2.4 of "Paxos Made Simple", and its cures.

Two proposers start close together. Each abandons an attempt when an acceptor sends a
``Nack`` or when ``timeout`` ms pass, then retries per its :class:`~dscourse.paxos.backoff.Backoff`
policy. With no backoff, each new ``Prepare`` can pre-empt the other proposer's ``Accept``
messages in flight, over and over (Lamport 2001, §2.4: "two proposers each keep issuing a
sequence of proposals with increasing numbers, none of which are ever chosen"). Randomized
backoff or a single distinguished proposer (a leader) restores progress -- in practice, not
in every execution: FLP forbids a deterministic guarantee (Fischer, Lynch & Paterson 1985).

The default duel is tuned to show the livelock: the attempt timeout (6 ms) is a little
shorter than a whole attempt (four message delays of 1.8-2.2 ms), and ``p2`` starts 3 ms
after ``p1``, so with no backoff each proposer's new ``Prepare`` reaches the acceptors just
before the other's ``Accept`` on every seed. A fixed delay longer than one attempt also
breaks this particular lock-step; randomization breaks symmetry in general.

The decision time of a run is the virtual time at which a value is *chosen* (a majority of
acceptors accepted one ballot), read by the omniscient :func:`~dscourse.paxos.basic.chosen`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from ..sim import Network, Simulation, Uniform
from .backoff import Backoff, as_backoff
from .basic import Proposer, chosen, simulation

HORIZON_MS = 10_000.0
DEMO_SEED = 3


@dataclass(frozen=True)
class Duel:
    """One run: ``decided_ms`` (None if nothing was chosen by ``horizon_ms``), the number of
    attempts (Phase 1 rounds) both proposers started, and the simulation."""

    seed: int
    policy: str
    decided_ms: float | None
    attempts: int
    sim: Simulation


def duel_sim(seed: int, backoff: Backoff | str = "none", *, timeout: float = 6.0,
             latency: tuple[float, float] = (1.8, 2.2), stagger_ms: float = 3.0) -> Simulation:
    """Three acceptors and two proposers; ``p2`` starts ``stagger_ms`` after ``p1``; every
    message takes ``Uniform(*latency)`` ms; attempts time out after ``timeout`` ms."""
    return simulation(seed=seed, network=Network(latency=Uniform(*latency)),
                   backoff=as_backoff(backoff), timeout=timeout, stagger_ms=stagger_ms)


def duel(seed: int = DEMO_SEED, backoff: Backoff | str = "none", *, horizon_ms: float = HORIZON_MS,
         **options: Any) -> Duel:
    """Run a duel until a value is chosen or ``horizon_ms`` of virtual time pass."""
    sim = duel_sim(seed, backoff, **options)
    done = sim.run_until(lambda: bool(chosen(sim)), horizon_ms)
    attempts = sum(cast(Proposer, sim.nodes[p]).attempts for p in ("p1", "p2"))
    return Duel(seed, as_backoff(backoff).policy, sim.now if done else None, attempts, sim)


def decision_times(backoff: Backoff | str, seeds: Iterable[int] = range(200), *,
                   horizon_ms: float = HORIZON_MS, **options: float) -> list[float | None]:
    """The decision time (ms, None = none by the horizon) of a duel for every seed."""
    return [duel(s, backoff, horizon_ms=horizon_ms, **options).decided_ms for s in seeds]
