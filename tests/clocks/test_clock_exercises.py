"""The Chapter 2 harnesses pass the reference answers and reject wrong ones, on many seeds."""

from __future__ import annotations

import pytest

from dscourse.clocks import (
    HLC,
    Step,
    concurrent,
    deliverable,
    happens_before,
    lamport_stamps,
    lease_budget,
    naive_overrun,
    vector_stamps,
)
from dscourse.clocks import exercises as X


def ls(data):
    return lamport_stamps([Step(*s) for s in data])


def vs(data):
    return vector_stamps([Step(*s) for s in data])


def hlc_local(state, pt):
    h = HLC()
    h.l, h.c = state
    return tuple(h.local(pt))


def hlc_receive(state, msg, pt):
    h = HLC()
    h.l, h.c = state
    return tuple(h.receive(tuple(msg), pt))


@pytest.mark.parametrize("seed", range(1, 9))
def test_reference_answers_pass(seed: int) -> None:
    for trial in (X.lamport_trial(ls, seed), X.vector_trial(vs, happens_before, concurrent, seed),
                  X.hlc_trial(hlc_local, hlc_receive, seed), X.lease_trial(lease_budget, seed),
                  X.overrun_trial(naive_overrun, seed), X.causal_trial(deliverable, seed)):
        assert trial.ok, trial.violations


def naive_hlc_local(state, pt):          # Lamport on physical time: l runs away from pt
    return (max(state[0] + 1, pt), 0)


def naive_hlc_receive(state, msg, pt):
    return (max(state[0], msg[0]) + 1 if max(state[0], msg[0]) >= pt else pt, 0)


WRONG = {
    "lamport: global index": lambda s: X.lamport_trial(lambda d: list(range(1, len(d) + 1)), s),
    "lamport: receive without +1": lambda s: X.lamport_trial(
        lambda d: _lamport_no_plus_one(d), s),
    "vector: <= for happens-before": lambda s: X.vector_trial(
        vs, lambda a, b: all(v <= b.get(k, 0) for k, v in a.items()), concurrent, s),
    "vector: concurrent as not-equal": lambda s: X.vector_trial(
        vs, happens_before, lambda a, b: a != b, s),
    "hlc: naive (Lamport on pt)": lambda s: X.hlc_trial(naive_hlc_local, naive_hlc_receive, s, exact=False),
    "lease: ignores rho": lambda s: X.lease_trial(lambda T, r, m: T - m, s),
    "lease: wasteful": lambda s: X.lease_trial(lambda T, r, m: T * (1 - r) - m - 5, s),
    "overrun: T*rho": lambda s: X.overrun_trial(lambda T, r, m: T * r, s),
    "causal: FIFO only": lambda s: X.causal_trial(lambda vc, snd, d: vc.get(snd, 0) == d.get(snd, 0) + 1, s),
    "causal: never": lambda s: X.causal_trial(lambda vc, snd, d: False, s),
    "causal: strict <": lambda s: X.causal_trial(
        lambda vc, snd, d: vc.get(snd, 0) == d.get(snd, 0) + 1
        and all(c < d.get(k, 0) for k, c in vc.items() if k != snd), s),
}


def _lamport_no_plus_one(data):
    clocks, carried, out = {}, {}, []
    for node, kind, msg in data:
        t = clocks.get(node, 0)
        t = max(t, carried[msg]) if kind == "receive" else t + 1
        clocks[node] = t
        if kind == "send":
            carried[msg] = t
        out.append(t)
    return out


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answers_fail_on_most_seeds(name: str) -> None:
    failures = sum(not WRONG[name](seed).ok for seed in range(1, 7))
    assert failures >= 5, f"{name}: only {failures} of 6 seeds caught it"
