"""Epidemic models in synchronous rounds, and the theory beside them (Demers et al. 1987).

Each *round* every node contacts ``fanout`` peers chosen uniformly at random (never itself).

* **push** (Demers §1.3): an infected node infects the peers it contacts;
* **pull**: a susceptible node becomes infected when a peer it contacts was infected at the
  start of the round;
* **push-pull**: both.

Theory (Demers §1.3, after Pittel 1987): with ``p_i`` the susceptible fraction after round
``i``, pull gives ``p_{i+1} = p_i²`` (a susceptible stays so only if its one contact is
susceptible too), push gives ``p_{i+1} ≈ p_i·e^{-1}`` late in the epidemic, and push needs
about ``log₂ n + ln n`` rounds to reach everyone.

**Rumor mongering** (Demers §1.4): only *infective* nodes push; a node loses interest (is
*removed*) by a **counter** (after ``k`` contacts) or a **coin** (with probability ``1/k`` per
contact), counting every contact (**blind**) or only contacts with peers that already knew
the rumor (**feedback**). When no infective node is left, the fraction that never heard the
rumor is the *residue* ``s``; for feedback with a coin the differential-equation model gives
``s = e^{-(k+1)(1-s)}`` (Demers §1.4, eq. for "lose interest with probability 1/k").

All randomness comes from the named stream ``gossip:<model>`` of the seed
(:func:`dscourse.sim.stream`), so results are reproducible.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import allowed
from ..sim.rng import stream

MODES = ("push", "pull", "push-pull")
RUMOR_VARIANTS = ("feedback-counter", "feedback-coin", "blind-counter", "blind-coin")


def _check_n(n: object, low: int = 2) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < low:
        raise allowed("n", n, f"an int >= {low}")
    return int(n)


def _peers(rng: np.random.Generator, who: np.ndarray, n: int) -> np.ndarray:
    """One uniformly random peer other than itself for each node in ``who``."""
    r = rng.integers(0, n - 1, size=len(who))
    return r + (r >= who)


@dataclass(frozen=True)
class Spread:
    """One epidemic: ``infected[i]`` nodes know the update after round ``i`` (``infected[0]`` = 1)."""

    n: int
    mode: str
    infected: tuple[int, ...]
    round_of: tuple[int, ...] = ()        # the round each node was infected in (0: the source)

    @property
    def rounds(self) -> int:
        """Rounds until every node knew the update."""
        return len(self.infected) - 1

    @property
    def susceptible(self) -> tuple[float, ...]:
        """The susceptible fraction ``p_i`` after each round."""
        return tuple((self.n - x) / self.n for x in self.infected)


def spread(n: int, mode: str = "push", seed: int = 1, fanout: int = 1, max_rounds: int = 10_000) -> Spread:
    """Run anti-entropy in ``mode`` from one infected node until everyone is infected."""
    n = _check_n(n)
    if mode not in MODES:
        raise allowed("mode", mode, f"one of {', '.join(MODES)}")
    if isinstance(fanout, bool) or not isinstance(fanout, int) or not 1 <= fanout < n:
        raise allowed("fanout", fanout, f"an int from 1 to {n - 1}")
    rng = stream(seed, f"gossip:spread:{mode}")
    infected = np.zeros(n, dtype=bool)
    infected[int(rng.integers(n))] = True
    round_of = np.where(infected, 0, -1)
    counts = [1]
    everyone = np.arange(n)
    while counts[-1] < n:
        if len(counts) > max_rounds:
            raise allowed("max_rounds", max_rounds, "more rounds: the epidemic did not finish")
        before = infected.copy()
        for _ in range(fanout):
            peer = _peers(rng, everyone, n)
            if mode != "pull":       # push: infected callers infect their callee
                infected[peer[before]] = True
            if mode != "push":       # pull: susceptible callers learn from an infected callee
                infected |= before[peer]
        round_of[infected & (round_of < 0)] = len(counts)
        counts.append(int(infected.sum()))
    return Spread(n, mode, tuple(counts), tuple(round_of.tolist()))


def push_rounds_theory(n: int) -> float:
    """Pittel's estimate of push's rounds to reach all ``n`` nodes: ``log₂ n + ln n``."""
    n = _check_n(n)
    return math.log2(n) + math.log(n)


def pull_next(p: float) -> float:
    """Pull's susceptible fraction after one more round: ``p²``."""
    return p * p


def push_next(p: float) -> float:
    """Push's susceptible fraction after one more round, late in the epidemic: ``p·e^{-1}``
    (exactly ``p·(1 - 1/n)^{n(1-p)}`` → ``p·e^{-(1-p)}``)."""
    return p * math.exp(-(1 - p))


def residue_theory(k: float) -> float:
    """The root ``s`` in (0, 1) of ``s = e^{-(k+1)(1-s)}`` (Demers §1.4): the fraction that
    never hears a rumor spread with feedback and a 1/k coin."""
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not k > 0:
        raise allowed("k", k, "a number > 0")
    lo, hi = 0.0, 1.0 - 1e-12        # f(s) = s - e^{-(k+1)(1-s)}: f(0) < 0, f(1-) > 0 for k > 0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid - math.exp(-(k + 1) * (1 - mid)) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Rumor:
    """One rumor: ``residue`` (fraction never informed), ``traffic`` (pushes per node),
    ``rounds`` until no node was infective, and the per-round counts of informed nodes."""

    n: int
    k: int
    variant: str
    residue: float
    traffic: float
    rounds: int
    informed: tuple[int, ...]
    round_of: tuple[int, ...] = ()        # the round each node heard the rumor (-1: never)


def rumor(n: int = 2000, k: int = 1, variant: str = "feedback-counter", seed: int = 1) -> Rumor:
    """Spread one rumor by push rumor mongering (Demers §1.4) until nobody is infective.

    Each round, every infective node pushes to one random peer (in a random order; a node
    infected this round starts pushing next round). ``variant`` is ``"<feedback|blind>-<counter|coin>"``.
    """
    n = _check_n(n)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise allowed("k", k, "an int >= 1")
    if variant not in RUMOR_VARIANTS:
        raise allowed("variant", variant, f"one of {', '.join(RUMOR_VARIANTS)}")
    feedback, coin = variant.startswith("feedback"), variant.endswith("coin")
    rng = stream(seed, f"gossip:rumor:{variant}:{k}")
    knows = [False] * n
    counter = [0] * n
    first = int(rng.integers(n))
    knows[first] = True
    heard = [-1] * n
    heard[first] = 0
    infective = [first]
    informed, pushes = [1], 0
    total = 1
    while infective:
        order = rng.permutation(len(infective))
        draws = rng.integers(0, n - 1, size=len(infective)).tolist()
        coins = rng.random(len(infective)).tolist()
        still, new = [], []
        for j in order.tolist():
            node = infective[j]
            peer = draws[j] + (draws[j] >= node)
            pushes += 1
            known = knows[peer]
            if not known:
                knows[peer] = True
                heard[peer] = len(informed)
                total += 1
                new.append(peer)
            if known or not feedback:      # an unnecessary contact (feedback), or any (blind)
                if coin:
                    if coins[j] < 1 / k:
                        continue           # lost interest
                else:
                    counter[node] += 1
                    if counter[node] >= k:
                        continue
            still.append(node)
        infective = still + new
        informed.append(total)
    return Rumor(n, k, variant, (n - total) / n, pushes / n, len(informed) - 1, tuple(informed), tuple(heard))


def pull_tail_r2(runs: list[Spread], below: float = 0.5) -> float:
    """R² of ``p_{i+1} = p_i²`` on the pull tail: every round of ``runs`` that starts with a
    susceptible fraction ``0 < p_i < below``, predicted ``p_i²`` against observed ``p_{i+1}``."""
    pred, obs = [], []
    for run in runs:
        p = run.susceptible
        for a, b in itertools.pairwise(p):
            if 0 < a < below:
                pred.append(a * a)
                obs.append(b)
    if len(obs) < 2:
        raise allowed("runs", f"{len(runs)} runs", "runs with at least two tail rounds")
    o, q = np.asarray(obs), np.asarray(pred)
    total = float(((o - o.mean()) ** 2).sum())
    return 1.0 - float(((o - q) ** 2).sum()) / total if total else 1.0
