"""E12.1-E12.4 harnesses: a right answer passes on many seeds, each wrong answer fails exactly
the property it breaks (partial credit per property)."""

import bisect
import hashlib

import pytest

from dscourse.rpc import exercises as X


def wrr_pick(weights, current):
    new = {k: current[k] + w for k, w in weights.items()}
    best = min(new, key=lambda k: (-new[k], k))
    new[best] -= sum(weights.values())
    return [best, new]


def wrr_ties_last(weights, current):
    new = {k: current[k] + w for k, w in weights.items()}
    best = max(sorted(new), key=lambda k: (new[k], k))     # ties to the last name
    new[best] -= sum(weights.values())
    return [best, new]


def wrr_plain(weights, current):            # classic (unsmooth) weighted round robin: a a a a a b c
    n = sum(current.values())
    order = [k for k in sorted(weights) for _ in range(weights[k])]
    pick = order[n % len(order)]
    return [pick, {k: v + (1 if k == pick else 0) for k, v in current.items()}]


def point(t):
    return int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)


def ring_build(nodes, vnodes):
    return sorted([point(f"{n}#{i}"), n] for n in nodes for i in range(vnodes))


def ring_lookup(ring, keys):
    pts = [p for p, _ in ring]
    return [ring[bisect.bisect_left(pts, point(k)) % len(ring)][1] for k in keys]


def modulo_lookup(ring, keys):              # hash mod n: stable, but a join moves most keys
    nodes = sorted({n for _, n in ring})
    return [nodes[point(k) % len(nodes)] for k in keys]


def least_active(actives, weights, u):
    least = min(actives.values())
    tied = sorted(k for k, a in actives.items() if a == least)
    total = sum(weights[k] for k in tied)
    if len({weights[k] for k in tied}) > 1:
        off = int(u * total)
        for k in tied:
            off -= weights[k]
            if off < 0:
                return k
    return tied[int(u * len(tied))]


def least_active_uniform_ties(actives, weights, u):
    least = min(actives.values())
    tied = sorted(k for k, a in actives.items() if a == least)
    return tied[int(u * len(tied))]


def failover_next(providers, tried, idempotent, retries, tokens):
    if not tried:
        return providers[0]
    if tried[-1][1] in ("ok", "biz") or not idempotent or len(tried) > retries or tokens < 1:
        return None
    done = {p for p, _ in tried}
    return next((p for p in providers if p not in done), None)


def dubbo_failover(providers, tried, idempotent, retries, tokens):   # retries writes too, no budget
    if not tried:
        return providers[0]
    if tried[-1][1] in ("ok", "biz") or len(tried) > retries:
        return None
    done = {p for p, _ in tried}
    return next((p for p in providers if p not in done), None)


@pytest.mark.parametrize("seed", range(1, 9))
def test_right_answers_pass_on_many_seeds(seed):
    assert X.wrr_trial(wrr_pick, seed).ok
    assert X.ring_trial(ring_build, ring_lookup, seed).ok
    assert X.least_active_trial(least_active, seed).ok
    assert X.failover_trial(failover_next, seed).ok


def failed(trial):
    return sorted(v.split(":")[0] for v in trial.violations)


def test_wrong_answers_fail_their_property_only():
    assert failed(X.wrr_trial(wrr_ties_last, 1)) == ["Cycle", "Reference"]
    assert failed(X.wrr_trial(wrr_plain, 1)) == ["Cycle", "Reference", "Smooth"]
    assert failed(X.ring_trial(ring_build, modulo_lookup, 1)) == ["Lookup", "Remap"]
    assert failed(X.least_active_trial(least_active_uniform_ties, 1)) == ["Reference", "Weights"]
    for seed in (1, 2, 3):
        assert failed(X.failover_trial(dubbo_failover, seed)) == ["Budget", "Stops"]


def test_bad_shapes_are_reported():
    assert "expected [name, new_current]" in X.wrr_trial(lambda w, c: "a", 1).violations[0]
    assert "expected a list of [point, node]" in X.ring_trial(lambda n, v: None, ring_lookup, 1).violations[0]
    with pytest.raises(ValueError, match="properties"):
        X.wrr_trial(wrr_pick, 1, properties=("speed",))
