"""Coupon codec: round trip, length, alphabet, forgery rate, tamper rejection, disorder."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.idesign import (
    ALPHABET,
    Coupon,
    CouponCodec,
    FeistelPermutation,
    InvalidCode,
    RedemptionLedger,
    forgery_probability,
    scheme_years,
)

KEY = b"campaign-secret-key"
codec = CouponCodec(KEY)


def test_alphabet_is_60_characters_without_O_and_I():
    assert len(ALPHABET) == len(set(ALPHABET)) == 60
    assert "O" not in ALPHABET and "I" not in ALPHABET
    assert 60 ** 9 < 2 ** 58 < 60 ** 10


@given(scheme=st.integers(0, 2**15 - 1), serial=st.integers(0, 2**30 - 1))
def test_round_trip_length_and_alphabet(scheme, serial):
    code = codec.encode(scheme, serial)
    assert len(code) == 10 and set(code) <= set(ALPHABET)
    assert codec.decode(code) == Coupon(scheme, serial)


def test_round_trip_many_random_inputs():
    rng = np.random.default_rng(11)
    schemes, serials = rng.integers(0, 2**15, 3000).tolist(), rng.integers(0, 2**30, 3000).tolist()
    for scheme, serial in zip(schemes, serials, strict=True):
        assert codec.decode(codec.encode(scheme, serial)) == (scheme, serial)


def test_single_character_substitutions_are_rejected():
    rng = np.random.default_rng(2)
    tried = accepted = 0
    for serial in range(400):
        code = codec.encode(12345, serial)
        for pos in range(10):
            c = ALPHABET[(ALPHABET.index(code[pos]) + 1 + int(rng.integers(59))) % 60]
            tried += 1
            accepted += codec.is_valid(code[:pos] + c + code[pos + 1:])
    assert accepted / tried <= 0.001


def test_random_well_formed_codes_pass_at_the_mac_rate():
    weak = CouponCodec(KEY, check_bits=6)
    rng = np.random.default_rng(9)
    n, hits = 20_000, 0
    for v in rng.integers(0, 2 ** weak.total_bits, n, dtype=np.int64).tolist():
        code = "".join(ALPHABET[(v // 60 ** i) % 60] for i in reversed(range(10)))
        hits += weak.is_valid(code)
    assert abs(hits / n / forgery_probability(6) - 1) < 0.2


def test_consecutive_serials_do_not_give_monotone_codes():
    codes = [codec.encode(10000, s) for s in range(200)]
    assert codes != sorted(codes)
    assert sum(a[:3] == b[:3] for a, b in itertools.pairwise(codes)) < 5


def test_other_keys_reject_our_codes_and_mistakes_are_named():
    other = CouponCodec(b"another-key")
    codes = [codec.encode(10000, s) for s in range(500)]
    assert sum(other.is_valid(c) for c in codes) < 3
    with pytest.raises(InvalidCode, match="10 characters"):
        codec.decode("abc")
    with pytest.raises(InvalidCode, match="'O' is not in the 60-character alphabet"):
        codec.decode("O123456789")
    with pytest.raises(InvalidCode, match="out of range"):
        codec.decode("ZZZZZZZZZZ")


def test_redemption_ledger_and_arithmetic():
    ledger = RedemptionLedger()
    c = codec.decode(codec.encode(10001, 77))
    assert ledger.redeem(c) and not ledger.redeem(c) and ledger.redeemed == 1
    assert ledger.bytes_used == 4096
    assert round(scheme_years()) == 62  # not the seed's 54
    assert forgery_probability(13) == 1 / 8192


@given(domain=st.integers(2, 5000), x=st.integers(0, 10**9), tweak=st.integers(-5, 5))
def test_feistel_is_a_bijection(domain, x, tweak):
    p = FeistelPermutation(domain, b"k")
    x %= domain
    assert p.inverse(p.forward(x, tweak), tweak) == x and 0 <= p.forward(x, tweak) < domain


def test_feistel_permutes_a_small_domain_exactly():
    p = FeistelPermutation(1000, "key")
    assert sorted(p.forward(i) for i in range(1000)) == list(range(1000))


@pytest.mark.parametrize("call, match", [
    (lambda: CouponCodec(b""), "key=b''"),
    (lambda: CouponCodec(KEY, check_bits=15), "check_bits=15"),
    (lambda: codec.encode(2**15, 0), "scheme=32768"),
    (lambda: codec.encode(1, -1), "serial=-1"),
    (lambda: FeistelPermutation(1, b"k"), "domain=1"),
    (lambda: FeistelPermutation(10, b"k", rounds=2), "rounds=2"),
    (lambda: FeistelPermutation(10, b"k").forward(10), "value=10"),
])
def test_bad_input(call, match):
    with pytest.raises(ds.ConfigError, match=match):
        call()
