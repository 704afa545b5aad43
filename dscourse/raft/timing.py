"""How election timing shapes availability (§5.6, "Timing and availability").

Raft is safe whatever the timing, but it elects a steady leader only when
``broadcastTime << electionTimeout << MTBF``. :func:`timing_run` measures one configuration
under repeated leader crashes; :func:`timing_sweep` maps a grid of election timeouts and
broadcast times (the chapter's heat map).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Uniform, reliable
from .builder import RaftCluster
from .options import RaftOptions


@dataclass(frozen=True)
class TimingResult:
    """One configuration, over ``runs`` seeded runs.

    ``availability`` -- the mean over runs of the fraction of sampled instants (every 5 ms)
    at which a live leader holds the highest term among live servers, and
    ``availability_sd`` its standard deviation across runs; ``split_vote_rate`` -- the
    fraction of all the runs' ``elections`` (terms in which someone campaigned) that ended
    without a leader, and ``split_vote_ci`` its 95% Wilson interval; ``election_ms`` -- mean
    time from a leader's crash to the next leader.
    """

    election_timeout: float
    broadcast: float
    availability: float
    split_vote_rate: float
    election_ms: float
    runs: int = 1
    availability_sd: float = 0.0
    elections: int = 0
    split_vote_ci: tuple[float, float] = (0.0, 1.0)

    @property
    def availability_ci(self) -> float:
        """Half-width of a normal 95% interval for the mean availability."""
        return 1.96 * self.availability_sd / math.sqrt(self.runs)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); ``(0, 1)`` for ``n = 0``."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding past p
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return min(lo, p), max(hi, p)


def timing_run(election_timeout: float, broadcast: float, seed: int, n: int = 5,
               duration: float = 4000.0, crash_every: float = 800.0,
               drift_ppm: float = 0.0) -> tuple[float, int, int, list[float]]:
    """One run: timeouts drawn from (T, 2T), one-way latency uniform on (0.25 b, 0.75 b) so a
    round trip averages ``broadcast`` ms; see :func:`measure` for the rest."""
    if not 0 < broadcast < election_timeout:
        raise allowed("broadcast", broadcast, f"ms with 0 < broadcast < election_timeout ({election_timeout})")
    heartbeat = max(min(election_timeout / 3, broadcast * 2), 0.5)
    opts = RaftOptions(election_timeout=(election_timeout, 2 * election_timeout), heartbeat=heartbeat)
    return measure(opts, reliable(Uniform(0.25 * broadcast, 0.75 * broadcast)), seed, n, duration,
                   crash_every, drift_ppm)


def measure(options: RaftOptions, network: Any, seed: int, n: int = 5, duration: float = 4000.0,
            crash_every: float = 800.0, drift_ppm: float = 0.0) -> tuple[float, int, int, list[float]]:
    """Run ``n`` servers for ``duration`` ms; the leader crashes every ``crash_every`` ms and
    recovers half a period later. ``drift_ppm`` gives every server's clock a drift in
    ``±drift_ppm`` from the seed (``ds.sim`` timers run on local time, so heartbeats and
    election timeouts stretch and shrink; Chapter 2). Returns (availability, elections, split
    elections, times from a leader's crash to the next leader)."""
    c = RaftCluster(n, seed, network=network, options=options)
    if drift_ppm:
        c.sim.drift_clocks(drift_ppm)
    sampled = up = 0
    crashed_at: float | None = None
    victim: str | None = None
    times: list[float] = []
    step = 5.0
    next_crash = crash_every
    while c.now < duration:
        c.run(step)
        leader = c.leader()
        live = [c.nodes[s].term for s in c.ids if c.up(s)]
        sampled += 1
        if leader is not None and c.nodes[leader].term == max(live):
            up += 1
            if crashed_at is not None:
                times.append(c.now - crashed_at)
                crashed_at = None
        if victim is not None and c.now >= next_crash - crash_every / 2:
            c.recover(victim)
            victim = None
        if c.now >= next_crash:
            next_crash += crash_every
            if leader is not None:
                c.crash(leader)
                victim, crashed_at = leader, c.now
    terms = elections(c.sim.trace)
    split = sum(1 for t in terms.values() if t.leader is None)
    return up / sampled, len(terms), split, times


@dataclass(frozen=True)
class Election:
    """Who campaigned in a term (not counting PreVote rounds) and who won, if anyone."""

    candidates: tuple[str, ...]
    leader: str | None


def elections(trace: Any) -> dict[int, Election]:
    """The elections of a run, by term, read from the servers' role annotations."""
    campaigned: dict[int, list[str]] = {}
    led: dict[int, str] = {}
    for e in trace.filter(kind="annotate"):
        data = e.data
        if data.get("role") == "candidate" and not data.get("prevote"):
            campaigned.setdefault(data["term"], []).append(e.node)
        elif data.get("role") == "leader":
            led[data["term"]] = e.node
    return {t: Election(tuple(dict.fromkeys(campaigned[t])), led.get(t))
            for t in sorted(campaigned)}


def timing_sweep(timeouts: tuple[float, ...] = (10, 25, 50, 100, 200),
                 broadcasts: tuple[float, ...] = (1, 5, 10, 20), runs: int = 3,
                 seed: int = 0, duration: float = 4000.0) -> list[TimingResult]:
    """Every (timeout, broadcast) pair with ``broadcast < timeout``, ``runs`` seeds each
    (seeds ``seed`` to ``seed + runs - 1``). Pairs with ``broadcast >= timeout`` are not run:
    there a follower can time out before a heartbeat could even arrive, the regime the rule
    broadcastTime << electionTimeout excludes."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise allowed("runs", runs, "an int >= 1")
    results = []
    for b in broadcasts:
        for t in timeouts:
            if b >= t:
                continue
            avail: list[float] = []
            elections, splits, times = 0, 0, []
            for r in range(runs):
                a, e, s, ts = timing_run(t, b, seed + r, duration=duration)
                avail.append(a)
                elections += e
                splits += s
                times += ts
            results.append(TimingResult(
                t, b, statistics.fmean(avail), splits / max(elections, 1),
                sum(times) / len(times) if times else float("inf"), runs,
                statistics.stdev(avail) if runs > 1 else 0.0, elections,
                wilson(splits, elections)))
    return results


def timing_table(results: list[TimingResult]) -> str:
    """The sweep as text, one row per cell: mean availability ± the half-width of its 95%
    interval (and the standard deviation across runs), the split-vote rate with its 95%
    Wilson interval and the number of elections it rests on."""
    lines = [f"{'T':>4} {'b':>3}  {'availability ± 95% CI (sd)':<27} {'split-vote rate [95% CI]':<25} elections"]
    for r in sorted(results, key=lambda r: (r.broadcast, r.election_timeout)):
        lo, hi = r.split_vote_ci
        lines.append(f"{r.election_timeout:>4g} {r.broadcast:>3g}  "
                     f"{r.availability:.3f} ± {r.availability_ci:.3f} ({r.availability_sd:.3f})"
                     f"{'':<5} {r.split_vote_rate:.2f} [{lo:.2f}, {hi:.2f}]{'':<11} {r.elections:>4}")
    return "\n".join(lines)
