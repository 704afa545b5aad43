"""E11.1-E11.4 harnesses: one property per test (partial credit), every failure listed, and
E11.3's keyed permutation judged by what it must be (bijection, keyed, scrambled)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from dscourse.idesign import exercises as ex


def feistel(x, domain, key, inverse=False, rounds=4, keyed=True):
    """A correct answer (``rounds`` and ``keyed`` break it on purpose)."""
    bits = max(2, (domain - 1).bit_length())
    bits += bits % 2
    half, mask = bits // 2, (1 << (bits // 2)) - 1

    def f(i, r):
        d = hmac.digest((key if keyed else "fixed").encode(), f"{i}:{r}".encode(), "sha256")
        return int.from_bytes(d[:8], "big") & mask

    def once(v):
        left, right = v >> half, v & mask
        if inverse:
            for i in reversed(range(rounds)):
                left, right = right ^ f(i, left), left
        else:
            for i in range(rounds):
                left, right = right, left ^ f(i, right)
        return (left << half) | right

    y = once(x)
    while y >= domain:
        y = once(y)
    return y


def no_cycle_walk(x, domain, key, inverse=False):
    """Folds the network's output into the domain with a modulo: not a bijection."""
    bits = max(2, (domain - 1).bit_length())
    bits += bits % 2
    return feistel(x, 1 << bits, key, inverse) % domain


def affine(x, domain, key, inverse=False):
    """A keyed shift: a bijection, keyed, but consecutive inputs stay consecutive."""
    b = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % domain
    return (x - b) % domain if inverse else (x + b) % domain


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_feistel_network_with_cycle_walking_passes(seed):
    assert ex.permutation_trial(feistel, seed).ok
    assert ex.permutation_trial(feistel, seed, domains=None).ok


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("answer, broken", [
    (no_cycle_walk, {"bijection"}),
    (affine, {"scrambled"}),
    (lambda x, d, k, inverse=False: feistel(x, d, k, inverse, keyed=False), {"keyed"}),
    (lambda x, d, k, inverse=False: feistel(x, d, k, inverse, rounds=1), {"scrambled"}),
    (lambda x, d, k, inverse=False: x, {"keyed", "scrambled"}),
])
def test_weak_permutations_fail_exactly_their_properties(seed, answer, broken):
    for prop in ex.PERMUTATION_PROPERTIES:
        trial = ex.permutation_trial(answer, seed, properties=(prop,))
        assert trial.ok is (prop not in broken), (prop, trial.violations)
    together = ex.permutation_trial(answer, seed)
    assert len(together.violations) >= len(broken)  # every broken property is listed


def test_unknown_property_is_a_config_error():
    with pytest.raises(ValueError, match="properties"):
        ex.permutation_trial(feistel, 1, properties=("fast",))


def test_short_url_properties_are_judged_apart():
    def unscrambled(ident, key):
        digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        out = ""
        for _ in range(7):
            ident, d = divmod(ident, 62)
            out = digits[d] + out
        return out

    def back(code, key):
        digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        n = 0
        for c in code:
            n = n * 62 + digits.index(c)
        return n

    assert ex.shorturl_trial(unscrambled, back, 1, properties=("codes",)).ok
    assert not ex.shorturl_trial(unscrambled, back, 1, properties=("prefixes",)).ok


def test_order_properties_are_judged_apart():
    def sequential(day, biz, node, counter, key):
        return int(f"{day}{biz}{node}{counter:011d}")

    assert ex.order_trial(sequential, 1, properties=("layout", "unique")).ok
    trial = ex.order_trial(sequential, 1, properties=("volume",))
    assert not trial.ok and "German tank" in trial.violations[0]


def test_trace_failures_are_all_listed():
    def tid(ip, ms, seq, pid):
        return "00000000" + f"{ms:013d}{seq}{pid}"  # ignores the address

    def parse(t):
        return None

    def step(c):
        return c + 1  # never wraps

    trial = ex.trace_trial(tid, parse, step, 1)
    assert [v.split(":")[0] for v in trial.violations] == ["Format", "Parse", "Counter"]
    assert ex.trace_trial(None, None, lambda c: 1000 if c > 9000 else c + 1, 1,
                          properties=("counter",)).ok
