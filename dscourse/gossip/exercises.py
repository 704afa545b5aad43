"""Trusted harnesses for Chapter 4's exercises (E4.1, E4.2, E4.4 and the broadcast
challenge E4.5; E4.3 lives in :mod:`dscourse.redis_cluster.exercises`).

The student writes plain functions of data (or, for E4.5, a ``ds.sim`` node class); the
harness draws every random choice from named streams of the seed, calls the student's code,
checks each result's type exactly, and returns a :class:`~dscourse.checkers.trial.Trial`.

* E4.1 ``anti_entropy_round(mode, infected, contacts) -> infected'`` -- one synchronous round.
* E4.2 ``rumor_round(pushes, knows, counter, k) -> (knows, counter, still, new)`` -- one
  round of feedback + counter rumor mongering.
* E4.4 ``ring_schedule(n) -> [(src, dst), ...]`` and ``rounds_to_converge(n) -> int``.
* E4.5 a server class for :func:`~.broadcast.broadcast_workload`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..checkers.trial import Trial
from ..sim.rng import stream
from .broadcast import broadcast_workload
from .epidemic import MODES, Spread, pull_tail_r2, push_rounds_theory, residue_theory
from .ring import rounds_to_converge as reference_rounds

Fn = Callable[..., Any]
PUSH_TOLERANCE = 0.15        # E4.1: push rounds within ±15% of log2 n + ln n
PULL_R2 = 0.95               # E4.1: pull tail fits p_{i+1} = p_i^2 with R^2 above this
RESIDUE_TOLERANCE = 0.02     # E4.2: mean residue within ±0.02 of the equation's root


class _Bad(Exception):
    pass


def _text(x: Any, limit: int = 200) -> str:
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


# -- E4.1 ---------------------------------------------------------------------------------------
def reference_round(mode: str, infected: list[bool], contacts: list[int]) -> list[bool]:
    """Node ``i`` contacts ``contacts[i]``; push infects the contact, pull infects the caller."""
    out = list(infected)
    for i, j in enumerate(contacts):
        if mode != "pull" and infected[i]:
            out[j] = True
        if mode != "push" and infected[j]:
            out[i] = True
    return out


def _contacts(rng: np.random.Generator, n: int) -> list[int]:
    r = rng.integers(0, n - 1, size=n)
    return (r + (r >= np.arange(n))).tolist()


def _spread_with(fn: Fn, mode: str, n: int, seed: int, check_every: bool) -> Spread:
    rng = stream(seed, f"exercise:E4.1:{mode}")
    infected = [False] * n
    infected[int(rng.integers(n))] = True
    counts = [1]
    while counts[-1] < n:
        if len(counts) > 200:
            raise _Bad(f"{mode}: not everyone infected after 200 rounds (seed {seed})")
        contacts = _contacts(rng, n)
        got = fn(mode, list(infected), list(contacts))
        if type(got) is not list or len(got) != n or any(type(x) is not bool for x in got):
            raise _Bad(f"anti_entropy_round({mode!r}, ...) returned {_text(got)}: expected a list of "
                       f"{n} bools")
        if check_every:
            want = reference_round(mode, infected, contacts)
            if got != want:
                i = next(k for k in range(n) if got[k] != want[k])
                raise _Bad(f"anti_entropy_round({mode!r}): node {i} (contacting {contacts[i]}) should be "
                           f"{'infected' if want[i] else 'susceptible'} after the round")
        infected = got
        counts.append(sum(infected))
    return Spread(n, mode, tuple(counts))


def _round_mismatch(mode: str, infected: list[bool], contacts: list[int], got: Any, want: list[bool]) -> str:
    """Where a round went wrong: the first node whose state differs, with what decides it."""
    call = f"anti_entropy_round({mode!r}, infected, contacts) on {len(infected)} nodes"
    if type(got) is not list or len(got) != len(want):
        return f"{call} returned {_text(got, 80)}: expected a list of {len(want)} bools"
    i = next(x for x in range(len(want)) if got[x] != want[x])
    j = contacts[i]
    pushers = [h for h, c in enumerate(contacts) if c == i and infected[h]]
    return (f"{call} is wrong at node {i}: expected {want[i]}, got {_text(got[i])}. At the start of the "
            f"round node {i} was {'infected' if infected[i] else 'susceptible'}; it contacts node {j} "
            f"({'infected' if infected[j] else 'susceptible'}); infected nodes that contact it: "
            f"{_text(pushers, 60)}")


def round_rules_trial(fn: Fn, seed: int, n: int = 40, rounds: int = 30) -> Trial:
    """Every mode, round by round, against the reference rule on small random states."""
    trial = Trial(seed)
    rng = stream(seed, "exercise:E4.1:rules")
    try:
        for r in range(rounds):
            mode = MODES[r % 3]
            infected = (rng.random(n) < rng.random()).tolist()
            contacts = _contacts(rng, n)
            got = fn(mode, list(infected), list(contacts))
            want = reference_round(mode, infected, contacts)
            if got != want:
                return trial.fail(_round_mismatch(mode, infected, contacts, got, want))
    except _Bad as exc:
        return trial.fail(str(exc))
    return trial


def modes_trial(fn: Fn, seeds: list[int], n: int = 1024) -> Trial:
    """n = 1024 over ``seeds``: push within ±15% of log2 n + ln n, push-pull faster than
    push, and the pull tail fits p_{i+1} = p_i^2 with R^2 > 0.95."""
    trial = Trial(seeds[0])
    try:
        runs = {m: [_spread_with(fn, m, n, s, check_every=False) for s in seeds] for m in MODES}
    except _Bad as exc:
        return trial.fail(str(exc))
    push = float(np.mean([r.rounds for r in runs["push"]]))
    theory = push_rounds_theory(n)
    trial.facts.update(push=push, theory=theory,
                       push_pull=float(np.mean([r.rounds for r in runs["push-pull"]])))
    if abs(push - theory) > PUSH_TOLERANCE * theory:
        trial.violate(f"push took {push:.2f} rounds on average: expected within 15% of {theory:.2f}")
    if trial.facts["push_pull"] >= push:
        trial.violate(f"push-pull took {trial.facts['push_pull']:.2f} rounds, not fewer than push's {push:.2f}")
    r2 = pull_tail_r2(runs["pull"])
    trial.facts["pull_r2"] = r2
    if r2 <= PULL_R2:
        trial.violate(f"the pull tail fits p_(i+1) = p_i^2 with R^2 = {r2:.3f}: expected > {PULL_R2}")
    return trial


# -- E4.2 ---------------------------------------------------------------------------------------
def reference_rumor_round(pushes: list[list[int]], knows: list[bool], counter: list[int],
                          k: int) -> tuple[list[bool], list[int], list[int], list[int]]:
    """Feedback + counter (Demers §1.4): pushes in order; a push to a node that already knew
    the rumor increments the pusher's counter, which loses interest at ``k``."""
    knows, counter = list(knows), list(counter)
    still, new = [], []
    for node, peer in pushes:
        if knows[peer]:
            counter[node] += 1
            if counter[node] >= k:
                continue
        else:
            knows[peer] = True
            new.append(peer)
        still.append(node)
    return knows, counter, still, new


def _rumor_with(fn: Fn, n: int, k: int, seed: int, check: bool) -> tuple[float, float]:
    rng = stream(seed, f"exercise:E4.2:{k}")
    knows, counter = [False] * n, [0] * n
    first = int(rng.integers(n))
    knows[first] = True
    infective, pushes_total = [first], 0
    for _ in range(10 * n):
        if not infective:
            break
        order = rng.permutation(len(infective)).tolist()
        draws = rng.integers(0, n - 1, size=len(infective)).tolist()
        pushes = [[infective[j], draws[j] + (draws[j] >= infective[j])] for j in order]
        got = fn([list(p) for p in pushes], list(knows), list(counter), k)
        if not (type(got) in (tuple, list) and len(got) == 4 and all(type(x) is list for x in got)
                and len(got[0]) == n and len(got[1]) == n and all(type(x) is bool for x in got[0])
                and all(type(x) is int for x in got[1])
                and all(type(x) is int and 0 <= x < n for x in got[2] + got[3])):
            raise _Bad(f"rumor_round returned {_text(got)}: expected (knows, counter, still, new): "
                       f"lists of {n} bools, {n} ints, and two lists of node numbers")
        if check:
            want = reference_rumor_round(pushes, knows, counter, k)
            if [list(x) for x in got] != [list(x) for x in want]:
                nodes = sorted({x for p in pushes for x in p})
                before = ", ".join(f"{x}: knows={knows[x]}, counter={counter[x]}" for x in nodes[:8])
                raise _Bad(f"rumor_round(pushes={_text(pushes, 60)}, k={k}) is wrong: expected "
                           f"still={_text(want[2], 60)}, new={_text(want[3], 60)}, counters "
                           f"{_text({x: want[1][x] for x in nodes[:8]}, 80)}; got still={_text(got[2], 60)}, "
                           f"new={_text(got[3], 60)}, counters {_text({x: got[1][x] for x in nodes[:8]}, 80)} "
                           f"(before the round: {before})")
        pushes_total += len(pushes)
        knows, counter, still, new = got
        infective = list(still) + list(new)
    return (n - sum(knows)) / n, pushes_total / n


def rumor_rules_trial(fn: Fn, seed: int, n: int = 60) -> Trial:
    """Small rumors, round by round, against the reference rule."""
    trial = Trial(seed)
    try:
        for k in (1, 2, 3):
            _rumor_with(fn, n, k, seed, check=True)
    except _Bad as exc:
        return trial.fail(str(exc))
    return trial


def residue_trial(fn: Fn, seeds: list[int], k: int, n: int = 2000) -> Trial:
    """Mean residue over ``seeds`` within ±0.02 of the root of s = e^{-(k+1)(1-s)}."""
    trial = Trial(seeds[0])
    try:
        runs = [_rumor_with(fn, n, k, s, check=False) for s in seeds]
    except _Bad as exc:
        return trial.fail(str(exc))
    residue = float(np.mean([r for r, _ in runs]))
    theory = residue_theory(k)
    trial.facts.update(residue=residue, theory=theory, traffic=float(np.mean([t for _, t in runs])))
    if abs(residue - theory) > RESIDUE_TOLERANCE:
        trial.violate(f"k={k}: mean residue {residue:.4f}, expected within 0.02 of {theory:.4f}")
    return trial


# -- E4.4 ---------------------------------------------------------------------------------------
def ring_trial(schedule: Fn, rounds: Fn, sizes: tuple[int, ...] = (2, 3, 4, 5, 8, 13)) -> Trial:
    """The schedule is the ring's, its first ``rounds_to_converge(n)`` pushes converge and not
    one fewer, and ``rounds_to_converge(n) == 2n - 2``."""
    trial = Trial(0)
    for n in sizes:
        want = reference_rounds(n)
        got = rounds(n)
        if type(got) is not int or got != want:
            return trial.fail(f"rounds_to_converge({n}) returned {_text(got)}: a unidirectional ring of {n} "
                              f"needs {want} sequential pushes")
        sched = schedule(n)
        if type(sched) is not list or len(sched) < want or not all(
                type(p) in (tuple, list) and len(p) == 2 and all(type(x) is int for x in p) for p in sched):
            return trial.fail(f"ring_schedule({n}) returned {_text(sched)}: expected at least {want} "
                              "(src, dst) pairs of node numbers")
        hold = [{i} for i in range(n)]
        for step, (a, b) in enumerate(sched[:want], start=1):
            if not (0 <= a < n) or b != (a + 1) % n:
                return trial.fail(f"ring_schedule({n}) push {step} is {a}->{b}: each push goes to the "
                                  "next node on the ring")
            if step > 1 and a != sched[step - 2][1]:
                return trial.fail(f"ring_schedule({n}) push {step} starts at {a}, not where the last push ended")
            hold[b] |= hold[a]
            full = all(len(h) == n for h in hold)
            if full and step < want:
                return trial.fail(f"n={n}: converged after {step} pushes, fewer than {want}?")
        if not all(len(h) == n for h in hold):
            return trial.fail(f"ring_schedule({n}): after {want} pushes some node still misses an item")
    return trial


# -- E4.5: the broadcast challenge ------------------------------------------------------------
def broadcast_trial(node_cls: Any, seed: int, *, nemesis: str | None = None,
                    target: str | tuple[str, ...] | None = None,
                    duration_ms: float = 20_000, make: Callable[..., Any] | None = None,
                    unwrap: Callable[[Any], Any] | None = None, probe_ms: float = 20) -> Trial:
    """Run the workload; violations: values lost, or (with ``target``: "3d", "3e" or both) a
    Glomers target not met."""
    trial = Trial(seed)
    res = broadcast_workload(node_cls, seed=seed, nemesis=nemesis, duration_ms=duration_ms, make=make,
                             unwrap=unwrap, probe_ms=probe_ms)
    trial.trace = res.sim.trace
    trial.facts.update(msgs_per_op=res.msgs_per_op, latency_ms=res.latency_ms, lost=len(res.lost),
                       acknowledged=res.acknowledged)
    if not res.ok:
        trial.violate(f"{len(res.lost)} of {res.acknowledged} acknowledged values are missing from some "
                      f"node's final read (e.g. {list(res.lost[:5])})" if res.lost else
                      "some node did not answer the final read")
    for goal in (target,) if isinstance(target, str) else (target or ()):
        if res.ok and not res.meets(goal):
            trial.violate(f"{goal} not met: {res.summary()}")
    if res.acknowledged == 0:
        trial.violate("no broadcast was acknowledged (reply broadcast_ok with in_reply_to)")
    if math.isnan(res.latency_ms[50]) and res.acknowledged:
        trial.violate("no value ever became visible on every node")
    return trial
