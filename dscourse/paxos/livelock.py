"""Dueling proposers: the livelock of §2.4 of "Paxos Made Simple", and its cures.

Two proposers start close together. Each abandons an attempt when an acceptor sends a
``Nack`` or when ``timeout`` ms pass, then retries per its :class:`~dscourse.paxos.backoff.Backoff`
policy. Each new ``Prepare`` can pre-empt the other proposer's ``Accept`` messages in flight,
over and over (Lamport 2001, §2.4: "two proposers each keep issuing a sequence of proposals
with increasing numbers, none of which are ever chosen"). Randomized backoff or a single
distinguished proposer (a leader) restores progress -- in practice, not in every execution:
FLP forbids a deterministic guarantee (Fischer, Lynch & Paterson 1985). Two schedules
(``schedule=``):

* ``"oblivious"`` -- an *oblivious adversary* (Aspnes, "Randomized protocols for asynchronous
  consensus", Distributed Computing 16, 2003): every delay is fixed before the run,
  here by position on its link. It knows the proposers' algorithm, including a fixed backoff
  ``B``, but not their coin flips. On each proposer-to-acceptor link the 1st, 3rd, 5th ...
  message takes ``d`` ms and the 2nd, 4th ... takes ``A = B + 4d``; every other link takes
  ``d``. For proposers that reach Phase 2 in every attempt, that is "each Prepare is fast,
  each Accept slow". One attempt takes ``3d + A`` and the timeout is ``2d`` longer, so a
  proposer learns of its defeat by a ``Nack``. If ``p2`` starts ``s`` ms after ``p1`` with
  ``2d + B < s < d + A``, each proposer's next Prepare lands after its rival's Prepare and
  before its rival's Accept, in every round: with backoff B (or none) no value is ever
  chosen. Randomized backoff shifts the offset by a fresh random amount each round, out of
  that window; a leader sends no rival Prepare at all. :class:`RoundAdversary` builds such a
  schedule against any deterministic backoff, one whose wait changes after every failure
  too (exercise E5.3 builds it from the answer's waits at ``u = 0.5``).
* ``"short-timeout"`` (the default, used by exercise E5.3 and the debugger): the attempt
  timeout (6 ms) is a little shorter than a whole attempt (four message delays of 1.8-2.2 ms)
  and ``p2`` starts 3 ms after ``p1``, so with no backoff each proposer's new ``Prepare``
  reaches the acceptors just before the other's ``Accept`` on every seed. Any fixed delay
  longer than one attempt ends this duel: the lock-step comes from the mis-tuned timeout.

The decision time of a run is the virtual time at which a value is *chosen* (a majority of
acceptors accepted one ballot), read by the omniscient :func:`~dscourse.paxos.basic.chosen`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from ..errors import allowed
from ..sim import Network, Simulation, Uniform
from ..sim.dist import Dist, UniformSource
from .backoff import Backoff, as_backoff
from .basic import Proposer, chosen, simulation

HORIZON_MS = 10_000.0
DEMO_SEED = 3
SCHEDULES = ("short-timeout", "oblivious")


class Positional(Dist):
    """An oblivious link schedule: the k-th message sent on the link (k = 0, 1, ...) takes
    ``delays[k % len(delays)]`` ms, whatever it carries and whatever happened before. One
    instance per link (it counts that link's messages)."""

    def __init__(self, delays: tuple[float, ...]) -> None:
        if not delays or any(isinstance(d, bool) or not isinstance(d, (int, float)) or not d > 0
                             for d in delays):
            raise allowed("delays", delays, "a non-empty tuple of ms > 0")
        self.delays = tuple(float(d) for d in delays)
        self.sent = 0

    def sample(self, uniform: UniformSource) -> float:
        delay = self.delays[self.sent % len(self.delays)]
        self.sent += 1
        return delay

    @property
    def mean(self) -> float:
        return sum(self.delays) / len(self.delays)

    def __repr__(self) -> str:
        return f"Positional({', '.join(f'{d:g}' for d in self.delays)})"


@dataclass(frozen=True)
class Adversary:
    """The oblivious adversary's parameters against fixed backoff ``backoff_ms`` (B), with
    fast messages taking ``fast_ms`` (d): Accepts take ``accept_ms = B + 4d``; one attempt
    takes ``attempt_ms = 3d + A``; ``p2`` starts ``stagger_ms`` after ``p1``, at fraction
    ``offset`` of the window ``(2d + B, d + A)`` where the duel never ends."""

    backoff_ms: float = 10.0
    fast_ms: float = 1.0
    offset: float = 0.5

    def __post_init__(self) -> None:
        for name in ("backoff_ms", "fast_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                    or (name == "fast_ms" and value == 0):
                raise allowed(name, value, "a number of ms >= 0" if name == "backoff_ms" else "ms > 0")
        if isinstance(self.offset, bool) or not isinstance(self.offset, (int, float)) \
                or not 0 < self.offset < 1:
            raise allowed("offset", self.offset, "a fraction strictly between 0 and 1")

    @property
    def accept_ms(self) -> float:
        return self.backoff_ms + 4 * self.fast_ms

    @property
    def attempt_ms(self) -> float:
        return 3 * self.fast_ms + self.accept_ms

    @property
    def window(self) -> tuple[float, float]:
        """Offsets of ``p2``'s start for which fixed backoff B duels forever (open interval)."""
        return 2 * self.fast_ms + self.backoff_ms, self.fast_ms + self.accept_ms

    @property
    def stagger_ms(self) -> float:
        lo, hi = self.window
        return lo + self.offset * (hi - lo)

    @property
    def timeout_ms(self) -> float:
        return self.attempt_ms + 2 * self.fast_ms

    def link_delays(self, proposer: str) -> tuple[float, ...]:
        """``proposer``'s links to the acceptors: delays by position (see :class:`Positional`)."""
        return self.fast_ms, self.accept_ms


@dataclass(frozen=True)
class RoundAdversary:
    """The oblivious adversary against a deterministic backoff that may change from failure to
    failure: ``waits[m]`` is the wait after the (m+1)-th failure (the schedule repeats after
    ``len(waits)`` attempts). Prepares land alternately, ``p1``'s then ``p2``'s, gap ``g_j``
    apart; the j-th lands before the (j-1)-th's Accept and the (j+1)-th after its own Nack
    and wait, if ``g_(j+1) = 2.5d + W`` (W the wait that follows the j-th's defeat) and the
    j-th's Accept takes ``g_j + g_(j+1) - 3d - W``: ``2d + waits[m-1]`` for ``p1``'s
    (m+1)-th attempt, ``2d + waits[m]`` for ``p2``'s, indices taken cyclically (so ``p2``
    starts ``g_0 = 2.5d + waits[-1]`` after ``p1``). Every Prepare then beats its rival's
    Accept by d/2. With a fixed wait B it is :class:`Adversary` with A = B + 2d and
    s = 2.5d + B."""

    waits: tuple[float, ...]
    fast_ms: float = 1.0

    def __post_init__(self) -> None:
        if not self.waits or any(isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < 1e6
                                 for w in self.waits):
            raise allowed("waits", self.waits, "a non-empty tuple of ms between 0 and 1e6")
        if isinstance(self.fast_ms, bool) or not isinstance(self.fast_ms, (int, float)) or not self.fast_ms > 0:
            raise allowed("fast_ms", self.fast_ms, "ms > 0")

    def accept_delays(self, proposer: str) -> tuple[float, ...]:
        """The Accept delay of each attempt of ``proposer`` (``"p1"`` or ``"p2"``)."""
        d, w = self.fast_ms, self.waits
        if proposer == "p1":
            return tuple(2 * d + w[m - 1] for m in range(len(w)))     # w[-1]: the last, cyclically
        return tuple(2 * d + w[m] for m in range(len(w)))

    @property
    def stagger_ms(self) -> float:
        return 2.5 * self.fast_ms + self.waits[-1]

    @property
    def timeout_ms(self) -> float:
        """Longer than the wait for a Nack (3d + the longest Accept delay), by 2d."""
        return 5 * self.fast_ms + max(self.accept_delays("p1") + self.accept_delays("p2"))

    def link_delays(self, proposer: str) -> tuple[float, ...]:
        return tuple(x for a in self.accept_delays(proposer) for x in (self.fast_ms, a))


def oblivious_sim(seed: int, backoff: Backoff | str = "fixed", *,
                  adversary: Adversary | RoundAdversary | None = None) -> Simulation:
    """Three acceptors and two proposers under the oblivious adversary (module docstring).
    Unless ``adversary`` is given, it is tuned to ``backoff.fixed_ms`` (10 ms by default) whatever
    the policy, so every policy meets the same schedule."""
    policy = as_backoff(backoff)
    if adversary is None:
        adversary = Adversary(policy.fixed_ms)
    d = adversary.fast_ms
    sim = simulation(seed=seed, network=Network(latency=d), backoff=policy,
                     timeout=adversary.timeout_ms, stagger_ms=adversary.stagger_ms)
    for p in ("p1", "p2"):
        for a in ("a1", "a2", "a3"):
            sim.set_link(p, a, latency=Positional(adversary.link_delays(p)))
    return sim


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
         schedule: str = "short-timeout", **options: Any) -> Duel:
    """Run a duel until a value is chosen or ``horizon_ms`` of virtual time pass, under
    ``schedule`` (one of :data:`SCHEDULES`; ``options`` go to :func:`duel_sim` or, for
    ``"oblivious"``, :func:`oblivious_sim`)."""
    if schedule == "oblivious":
        sim = oblivious_sim(seed, backoff, **options)
    elif schedule == "short-timeout":
        sim = duel_sim(seed, backoff, **options)
    else:
        raise allowed("schedule", schedule, f"one of {', '.join(SCHEDULES)}")
    done = sim.run_until(lambda: bool(chosen(sim)), horizon_ms)
    attempts = sum(cast(Proposer, sim.nodes[p]).attempts for p in ("p1", "p2"))
    return Duel(seed, as_backoff(backoff).policy, sim.now if done else None, attempts, sim)


def decision_times(backoff: Backoff | str, seeds: Iterable[int] = range(200), *,
                   horizon_ms: float = HORIZON_MS, schedule: str = "short-timeout",
                   **options: Any) -> list[float | None]:
    """The decision time (ms, None = none by the horizon) of a duel for every seed."""
    return [duel(s, backoff, horizon_ms=horizon_ms, schedule=schedule, **options).decided_ms
            for s in seeds]
