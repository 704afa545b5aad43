"""Test harnesses for Chapter 2's graded exercises (E2.1-E2.4), run by the trusted grader.

Each ``*_trial`` takes the student's functions (their own objects in the notebook, sandbox
proxies when grading) and a seed, drives them with inputs derived from the seed, judges the
answers against this package's reference implementations and oracles, and returns a
:class:`~dscourse.checkers.trial.Trial`. Everything crossing to the student is plain data:
an execution is a list of ``[node, kind, msg]`` lists (``kind`` one of "local", "send",
"receive"; ``msg`` a message id or ``None``), a vector stamp a dict, an HLC stamp a pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..checkers.trial import Trial
from ..sim.rng import stream
from .broadcast import Group, question_answer
from .hlc import HLC
from .lease import lease_budget, lease_run, naive_overrun
from .order import Step, happens_before_oracle, lamport_stamps, random_execution, related, vector_stamps


def _executions(seed: int, name: str, count: int, steps: int = 10) -> list[list[Step]]:
    rng = stream(seed, f"E2/{name}")
    return [random_execution(rng, nodes=int(rng.integers(2, 5)), steps=steps) for _ in range(count)]


def as_data(steps: list[Step]) -> list[list[Any]]:
    """An execution as the plain data the exercises receive."""
    return [[s.node, s.kind, s.msg] for s in steps]


def _show(steps: list[Step]) -> str:
    return " ".join(f"{i}:{s.node}.{s.kind}{'' if s.msg is None else f'({s.msg})'}"
                    for i, s in enumerate(steps))


def _normal(stamp: Any) -> dict[str, int] | None:
    if not isinstance(stamp, dict) or not all(type(k) is str and type(v) is int for k, v in stamp.items()):
        return None
    return {k: v for k, v in stamp.items() if v}


# -- E2.1 logical clocks ------------------------------------------------------------------
def lamport_trial(lamport_stamps_fn: Callable, seed: int, traces: int = 5) -> Trial:
    """Lamport stamps follow IR1/IR2 exactly (tick by 1; on receipt max + 1) and satisfy the
    clock condition on random executions."""
    trial = Trial(seed)
    for steps in _executions(seed, "lamport", traces):
        got = lamport_stamps_fn(as_data(steps))
        want = lamport_stamps(steps)
        if not isinstance(got, list) or len(got) != len(steps) or not all(type(x) is int for x in got):
            return trial.fail(f"lamport_stamps must return one int per step ({len(steps)}), got {got!r}")
        reach = happens_before_oracle(steps)
        for i in range(len(steps)):
            for j in range(len(steps)):
                if reach[i] >> j & 1 and not got[i] < got[j]:
                    return trial.fail(f"clock condition broken: step {i} happened before step {j} but "
                                      f"their stamps are {got[i]} and {got[j]}, in {_show(steps)}")
        if got != want:
            k = next(i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b)
            return trial.fail(f"step {k} ({steps[k].node} {steps[k].kind}) should be stamped {want[k]} "
                              f"by Lamport's rules, got {got[k]}, in {_show(steps)}")
    return trial


def vector_trial(vector_stamps_fn: Callable, happens_before_fn: Callable, concurrent_fn: Callable,
                 seed: int, traces: int = 5, pairs: int | None = None) -> Trial:
    """Vector stamps are the Fidge/Mattern vectors, and ``happens_before``/``concurrent`` on
    them decide the relation exactly as the transitive-closure oracle (all pairs, or
    ``pairs`` random ones per execution)."""
    trial = Trial(seed)
    rng = stream(seed, "E2/vector-pairs")
    for steps in _executions(seed, "vector", traces):
        got = vector_stamps_fn(as_data(steps))
        want = vector_stamps(steps)
        if not isinstance(got, list) or len(got) != len(steps):
            return trial.fail(f"vector_stamps must return one dict per step ({len(steps)}), got {got!r}")
        for k, (g, w) in enumerate(zip(got, want, strict=False)):
            if _normal(g) != _normal(w):
                return trial.fail(f"step {k} ({steps[k].node} {steps[k].kind}) should have vector "
                                  f"{w}, got {g!r}, in {_show(steps)}")
        reach = happens_before_oracle(steps)
        n = len(steps)
        todo = [(i, j) for i in range(n) for j in range(n)]
        if pairs is not None and len(todo) > pairs:
            todo = [todo[int(x)] for x in rng.choice(len(todo), size=pairs, replace=False)]
        for i, j in todo:
            truth = related(reach, i, j)
            hb = happens_before_fn(dict(got[i]), dict(got[j]))
            cc = concurrent_fn(dict(got[i]), dict(got[j]))
            if type(hb) is not bool or type(cc) is not bool:
                return trial.fail(f"happens_before and concurrent must return bools, got {hb!r}, {cc!r}")
            if hb != (truth == "->") or cc != (truth == "||"):
                return trial.fail(f"steps {i} and {j}: the oracle says {truth!r} but happens_before="
                                  f"{hb}, concurrent={cc} on {got[i]} and {got[j]}, in {_show(steps)}")
    return trial


# -- E2.2 hybrid logical clocks -----------------------------------------------------------
def hlc_trial(hlc_local: Callable, hlc_receive: Callable, seed: int, traces: int = 8,
              eps: int | None = None, exact: bool = True) -> Trial:
    """Random executions on coarse clocks with skew <= eps (many events per tick, but a tick
    between two events of one node): stamps
    strictly increase per node, respect happens-before, ``0 <= l - pt <= eps`` and
    ``c < N (eps + 1)``; with ``exact``, they equal the reference HLC's."""
    trial = Trial(seed)
    rng = stream(seed, "E2/hlc")
    for steps in _executions(seed, "hlc", traces, steps=30):
        e = int(rng.integers(0, 6)) if eps is None else eps
        names = sorted({s.node for s in steps})
        offset = {n: int(rng.integers(0, e + 1)) for n in names}
        ref = {n: HLC() for n in names}
        state: dict[str, tuple[int, int]] = {n: (0, 0) for n in names}
        carried: dict[Any, tuple[int, int]] = {}
        stamps: list[tuple[int, int]] = []
        true, ticked = 1, set[str]()
        for k, s in enumerate(steps):
            # coarse physical clocks: several events share a tick, but a node's clock ticks
            # between two of its own events (the paper's assumption for the bound on c)
            if s.node in ticked or rng.random() < 0.3:
                true, ticked = true + 1, set[str]()
            ticked.add(s.node)
            pt = true + offset[s.node]
            if s.kind == "receive":
                got = hlc_receive(state[s.node], carried[s.msg], pt)
                want = ref[s.node].receive(carried[s.msg], pt)
            else:
                got = hlc_local(state[s.node], pt)
                want = ref[s.node].local(pt)
            if not isinstance(got, (tuple, list)) or len(got) != 2 or not all(type(x) is int for x in got):
                return trial.fail(f"step {k}: HLC functions must return a pair (l, c) of ints, got {got!r}")
            got = (got[0], got[1])
            where = f"step {k} ({s.node} {s.kind}, pt={pt}, eps={e})"
            if got <= state[s.node]:
                return trial.fail(f"{where}: stamp {got} is not above the node's previous {state[s.node]}")
            if not 0 <= got[0] - pt <= e:
                return trial.fail(f"{where}: l - pt = {got[0] - pt} is outside [0, eps={e}]")
            if got[1] > len(names) * (e + 1):     # Kulkarni et al. 2014 bound c by N(eps+1)
                return trial.fail(f"{where}: counter c = {got[1]} exceeds N(eps+1) = {len(names) * (e + 1)}")
            if exact and got != tuple(want):
                return trial.fail(f"{where}: the HLC rules give {tuple(want)}, got {got}")
            state[s.node] = got
            if s.kind == "send":
                carried[s.msg] = got
            stamps.append(got)
        reach = happens_before_oracle(steps)
        for i in range(len(steps)):
            for j in range(len(steps)):
                if reach[i] >> j & 1 and not stamps[i] < stamps[j]:
                    return trial.fail(f"step {i} happened before step {j} but their stamps are "
                                      f"{stamps[i]} and {stamps[j]}")
    return trial


# -- E2.3 leases under drift --------------------------------------------------------------
def _lease_case(rng: Any) -> tuple[int, float, float, float]:
    term = int(rng.integers(40, 200))
    rho = round(float(rng.uniform(0.01, 0.25)), 3)
    margin = round(float(rng.uniform(0.0, 4.0)), 2)
    latency = round(float(rng.uniform(0.05, 2.0)), 2)
    return term, rho, margin, latency


def _number(x: Any) -> bool:
    return type(x) in (int, float) and math.isfinite(x)


def lease_trial(lease_budget_fn: Callable, seed: int, cases: int = 4) -> Trial:
    """Holders using ``lease_budget(T, rho, margin)`` never overlap in true time when every
    holder's drift is within ±rho (the first one at -rho), and do not waste the lease (the
    budget is at least the reference's ``T(1-rho) - margin``)."""
    trial = Trial(seed)
    rng = stream(seed, "E2/lease")
    for _ in range(cases):
        term, rho, margin, latency = _lease_case(rng)
        budget = lease_budget_fn(term, rho, margin)
        case = f"T={term} ms, rho={rho}, margin={margin} ms"
        if not _number(budget):
            return trial.fail(f"lease_budget({term}, {rho}, {margin}) must return a number of ms, got {budget!r}")
        drifts = {"h1": -rho * 1e6, "h2": float(rng.uniform(-rho, rho)) * 1e6,
                  "h3": float(rng.uniform(-rho, rho)) * 1e6}
        run = lease_run(float(budget), term_ms=term, rho=rho, margin=margin, drift_ppm=drifts,
                        latency_ms=latency, holders=3, until_ms=5 * term, seed=seed)
        trial.trace = run.sim.trace
        if run.overlaps:
            a, b, o = run.overlaps[0]
            return trial.fail(f"{case}: {a.holder} used the resource until {a.end:.3f} ms but "
                              f"{b.holder} started at {b.start:.3f} ms ({o:.3f} ms overlap)")
        if budget < lease_budget(term, rho, margin) - 1e-6:
            return trial.fail(f"{case}: a budget of {budget} ms wastes the lease: "
                              f"T(1-rho) - margin = {lease_budget(term, rho, margin):g} ms is safe")
    return trial


def overrun_trial(naive_overrun_fn: Callable, seed: int, cases: int = 4) -> Trial:
    """``naive_overrun(T, rho, margin)`` predicts how long (true ms) a holder that stops at
    local ``T - margin`` outlives its lease when its clock runs slow by rho: measured in a
    simulation, to 0.01 ms."""
    trial = Trial(seed)
    rng = stream(seed, "E2/overrun")
    for _ in range(cases):
        term, rho, margin, latency = _lease_case(rng)
        predicted = naive_overrun_fn(term, rho, margin)
        if not _number(predicted):
            return trial.fail(f"naive_overrun({term}, {rho}, {margin}) must return a number of ms, "
                              f"got {predicted!r}")
        run = lease_run(lambda T, r, m: T - m, term_ms=term, rho=rho, margin=margin,
                        latency_ms=latency, holders=2, until_ms=3 * term)
        first = run.uses[0]
        measured = max(0.0, first.end - term)   # type: ignore[operator]  # asked at true 0
        assert abs(measured - naive_overrun(term, rho, margin)) < 0.01   # the harness's own check
        trial.facts.setdefault("measured", []).append(round(measured, 3))
        if abs(predicted - measured) > 0.01:
            trial.trace = run.sim.trace
            return trial.fail(f"T={term} ms, rho={rho}, margin={margin} ms: the holder overran its "
                              f"lease by {measured:.3f} ms, you predicted {predicted}")
    return trial


# -- E2.4 causal delivery -----------------------------------------------------------------
def causal_trial(deliverable_fn: Callable, seed: int, runs: int = 3) -> Trial:
    """Causal broadcast with the student's delivery condition: the question/answer race, then
    random broadcasts over random link latencies: no causal violation, and every message is
    delivered everywhere (a condition that waits forever fails)."""
    trial = Trial(seed)
    g = question_answer("causal", seed=seed, rule=deliverable_fn)
    trial.trace = g.sim.trace
    if g.violations("causal"):
        return trial.fail(f"question/answer race: {g.violations('causal')[0]}")
    if g.deliveries()["c"] != ["C", "Q", "A"]:
        return trial.fail(f"question/answer race: c delivered {g.deliveries()['c']}, expected C, Q, A")
    rng = stream(seed, "E2/causal")
    for _ in range(runs):
        n = int(rng.integers(3, 5))
        g = Group("causal", n=n, seed=seed, rule=deliverable_fn)
        names = list(g.nodes)
        for a in names:
            for b in names:
                if a != b:
                    g.sim.set_link(a, b, latency=float(rng.integers(1, 60)))
        plan = sorted((int(rng.integers(0, 80)), names[int(rng.integers(n))]) for _ in range(8))
        for k, (at, who) in enumerate(plan):
            g.run(until=float(at))
            g.nodes[who].bcast(f"m{k}")
        g.run(until=1_000)
        trial.trace = g.sim.trace
        bad = g.violations("causal")
        if bad:
            return trial.fail(f"random run with {n} nodes: {bad[0]}")
        for node, got in g.deliveries().items():
            if len(got) != len(plan):
                missing = sorted({f"m{k}" for k in range(len(plan))} - set(got))
                return trial.fail(f"random run with {n} nodes: {node} never delivered {', '.join(missing)}")
    return trial

