"""E11.1-E11.4 harnesses: one property per test (partial credit), every failure listed, and
E11.3's keyed permutation judged by what it must be (bijection, keyed, scrambled)."""

from __future__ import annotations

import hashlib
import hmac
import itertools

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


# -- E11.1: "scrambled" judges the serial field, not the characters ------------------------------
ALPHABET = ex.ALPHABET
M30 = 1 << 30


def _affine(serial, scheme, key):
    d = hmac.digest(key.encode(), f"mix:{scheme}".encode(), "sha256")
    a, b = int.from_bytes(d[:4], "big") % M30 | 1, int.from_bytes(d[4:8], "big") % M30
    return (a * serial + b) % M30


def _feistel30(serial, scheme, key):
    return feistel(serial, M30, f"{key}:{scheme}")


def codec(mix, layout="check-outside", little_endian=False):
    """A coupon codec in the exercise's interface; ``mix`` maps the serial (broken ones do not
    scramble it); ``layout`` places the fields; ``little_endian`` writes the least significant
    character first."""
    def pack(scheme, mixed, check):
        if layout == "check-outside":
            return (check >> 7) << 52 | scheme << 37 | mixed << 7 | (check & 127)
        return mixed << 28 | scheme << 13 | check          # serial on top, check at the bottom

    def unpack(value):
        if layout == "check-outside":
            return (value >> 37) & 0x7FFF, (value >> 7) & (M30 - 1), (value >> 52) << 7 | (value & 127)
        return (value >> 13) & 0x7FFF, value >> 28, value & 0x1FFF

    def check_of(scheme, serial, key):
        return int.from_bytes(hmac.digest(key.encode(), f"{scheme}:{serial}".encode(), "sha256")[:2], "big") >> 3

    def encode(scheme, serial, key):
        value = pack(scheme, mix(serial, scheme, key), check_of(scheme, serial, key))
        chars = []
        for _ in range(10):
            value, digit = divmod(value, 60)
            chars.append(ALPHABET[digit])
        return "".join(chars if little_endian else reversed(chars))

    inverse_cache = {}

    def decode(code, key):
        if not isinstance(code, str) or len(code) != 10 or set(code) - set(ALPHABET):
            return None
        value = 0
        for c in (reversed(code) if little_endian else code):
            value = value * 60 + ALPHABET.index(c)
        if value >> 58:
            return None
        scheme, mixed, check = unpack(value)
        table = inverse_cache.setdefault((scheme, key), {})
        if mix is _affine:
            d = hmac.digest(key.encode(), f"mix:{scheme}".encode(), "sha256")
            a, b = int.from_bytes(d[:4], "big") % M30 | 1, int.from_bytes(d[4:8], "big") % M30
            serial = (mixed - b) * pow(a, -1, M30) % M30
        elif mix is _feistel30:
            serial = feistel(mixed, M30, f"{key}:{scheme}", inverse=True)
        else:
            serial = table.get(mixed)
            if serial is None:
                return None
        return (scheme, serial) if check_of(scheme, serial, key) == check else None

    def decode_all(codes, key):
        return [decode(c, key) for c in codes]

    if mix not in (_affine, _feistel30):            # invertible by lookup over what was encoded
        plain_encode = encode

        def encode(scheme, serial, key):
            inverse_cache.setdefault((scheme, key), {})[mix(serial, scheme, key)] = serial
            return plain_encode(scheme, serial, key)

    return encode, decode, decode_all


UNSCRAMBLED = {
    "identity": lambda s, scheme, key: s,
    "xor with a keyed constant": lambda s, scheme, key: s ^ (_affine(0, scheme, key)),
    "plus a keyed constant": lambda s, scheme, key: (s + _affine(0, scheme, key)) % M30,
    "times 3": lambda s, scheme, key: 3 * s % M30,
}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mix", [_affine, _feistel30])
@pytest.mark.parametrize("layout, little_endian", [("check-outside", False), ("serial-top", False),
                                                   ("check-outside", True)])
def test_a_keyed_serial_bijection_passes_every_coupon_property(seed, mix, layout, little_endian):
    enc, dec, dec_all = codec(mix, layout, little_endian)
    # (tampering is left out: a 13-bit check lets 1 in 8,192 changes through, by chance)
    trial = ex.coupon_trial(enc, dec, dec_all, seed, properties=("round trip", "keyed", "scrambled"))
    assert trial.ok, trial.violations


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(UNSCRAMBLED))
@pytest.mark.parametrize("layout, little_endian", [("check-outside", False), ("serial-top", False),
                                                   ("check-outside", True)])
def test_an_unpermuted_serial_fails_exactly_scrambled(seed, name, layout, little_endian):
    enc, dec, dec_all = codec(UNSCRAMBLED[name], layout, little_endian)
    for prop in ("round trip", "keyed", "scrambled"):
        trial = ex.coupon_trial(enc, dec, dec_all, seed, properties=(prop,))
        assert trial.ok is (prop != "scrambled"), (prop, trial.violations)
    trial = ex.coupon_trial(enc, dec, dec_all, seed, properties=("scrambled",))
    assert "bits of the codes change" in trial.violations[0]


def test_the_characters_alone_cannot_tell_an_unpermuted_serial():
    """Why the property counts bits: the check bits change every character of the code."""
    enc, _, _ = codec(UNSCRAMBLED["identity"])
    run = [enc(10_001, s, "k") for s in range(100)]
    differing = [sum(a != b for a, b in zip(x, y, strict=True)) for x, y in itertools.pairwise(run)]
    assert sum(differing) / len(differing) > 9
    assert ex.changing_bits(run) <= 22
    assert ex.changing_bits([codec(_affine)[0](10_001, s, "k") for s in range(100)]) >= 42


def test_scrambled_reports_codes_that_are_not_codes():
    enc, dec, dec_all = codec(_affine)
    trial = ex.coupon_trial(lambda scheme, serial, key: "Oops" if scheme == 10_001 else enc(scheme, serial, key),
                            dec, dec_all, 1, n=5, properties=("scrambled",))
    assert not trial.ok and "not 10 characters" in trial.violations[0]
