"""Chapter 9's exercise harnesses: the reference answers pass on many seeds, and each typical
mistake fails the property it breaks (and only with a message that names the case)."""

from __future__ import annotations

import pytest

from dscourse.locks import exercises as ex


def redlock(acks: int, n: int, elapsed: float, ttl: int) -> float | None:
    v = ttl - elapsed - (ttl * 0.01 + 2)
    return v if acks >= n // 2 + 1 and v > 0 else None


def jumps(lease_ms: float) -> list:
    return [["clock_jump", "redis", 100 + 100 * i, 2 * lease_ms] for i in range(8)]


@pytest.mark.parametrize("seed", range(1, 9))
def test_reference_answers_pass(seed: int) -> None:
    trials = [ex.rlock_trial(ex.reference_rlock_script, seed, p) for p in ex.RLOCK_PROPERTIES]
    trials += [ex.break_trial(jumps, seed), ex.fence_trial(ex.reference_fence, seed),
               ex.redlock_rule_trial(redlock, seed), ex.redlock_run_trial(redlock, seed),
               ex.restart_trial(lambda ttl: ttl + 1, seed)]
    trials += [ex.zk_lock_trial(ex.reference_wait_for, seed, p) for p in ex.ZK_PROPERTIES]
    assert [t.violations or t.error for t in trials if not t.ok] == []


def test_rlock_mistakes_fail_their_property() -> None:
    def no_expiry(op, lock, owner, lease):  # type: ignore[no-untyped-def]
        reply, after = ex.reference_rlock_script(op, lock, owner, lease)
        return [reply, after and {**after, "ttl": 10**9}]

    def delete_always(op, lock, owner, lease):  # type: ignore[no-untyped-def]
        return [1, None] if op == "unlock" else ex.reference_rlock_script(op, lock, owner, lease)

    assert not ex.rlock_trial(no_expiry, 1, "crash frees").ok
    bad = ex.rlock_trial(delete_always, 1, "owner-only release")
    assert not bad.ok and "step 2" in bad.violations[0] and "expected None" in bad.violations[0]
    assert not ex.rlock_trial(delete_always, 1, "reentrant").ok
    assert ex.rlock_trial(delete_always, 1, "exclusive").ok  # a property it does not break


def test_fence_mistakes() -> None:
    everything = ex.fence_trial(lambda acc, c, t: True, 1)
    nothing = ex.fence_trial(lambda acc, c, t: False, 1)
    assert everything.violations and "stale write" in everything.violations[0]
    assert nothing.violations and "3 of 3 cases failed" in nothing.violations[0]


def test_a_pause_that_misses_does_not_break_it() -> None:
    assert not ex.break_trial(lambda lease: [["pause", "c0", 100, 50]], 1).ok
    assert not ex.break_trial(lambda lease: [["pause", "c9", 100, 50]], 1).ok  # a bad fault is refused


def test_redlock_mistakes() -> None:
    no_drift = ex.redlock_rule_trial(lambda a, n, e, t: t - e if a > n / 2 and t - e > 0 else None, 1)
    assert not no_drift.ok and "expected 77" in no_drift.violations[0]
    ignore_elapsed = ex.redlock_run_trial(lambda a, n, e, t: t if a > n / 2 else None, 1)
    assert not ignore_elapsed.ok and "slow links" in ignore_elapsed.violations[0]
    assert not any(ex.restart_trial(lambda ttl: 0, s).ok for s in range(1, 6))
    assert not ex.restart_trial(lambda ttl: 10 * ttl, 1).ok  # must come back


def test_zk_mistakes() -> None:
    def seq(n: str) -> int:
        return int(n[-10:])

    def herd(children: list[str], me: str) -> str | None:  # everyone watches the holder
        first = min(children, key=seq)
        return None if first == me else first

    def by_name(children: list[str], me: str) -> str | None:  # names start with random ids
        s = sorted(children)
        i = s.index(me)
        return None if i == 0 else s[i - 1]

    assert not ex.zk_lock_trial(herd, 1, "one notification").ok
    assert ex.zk_lock_trial(herd, 1, "fifo").ok
    assert not ex.zk_lock_trial(by_name, 1, "fifo").ok
    def mutex_only(children: list[str], me: str) -> str | None:  # readers wait like writers
        earlier = [c for c in children if seq(c) < seq(me)]
        return max(earlier, key=seq) if earlier else None

    shared = ex.zk_lock_trial(mutex_only, 1, "read/write")
    assert not shared.ok and "did not share" in shared.violations[0]
    assert ex.zk_lock_trial(mutex_only, 1, "fifo").ok


def test_unusable_answers_fail_with_a_message_not_a_crash() -> None:
    garbage = ex.rlock_trial(lambda op, lock, owner, lease: [None, {"owner": owner}], 1, "owner-only release")
    assert not garbage.ok and "expected None or {'owner'" in garbage.violations[0]
    stranger = ex.zk_lock_trial(lambda children, me: "no-such-node", 1, "fifo")
    assert not stranger.ok and "another name from children" in stranger.violations[0]
    bad_fault = ex.break_trial(lambda lease: [["pause", "c0", 5000, 10]], 1)
    assert not bad_fault.ok and "0 <= at_ms <= 1000" in bad_fault.violations[0]
    not_bool = ex.fence_trial(lambda acc, c, t: 1, 1, ("pause",))
    assert not not_bool.ok and "expected True or False" in not_bool.violations[0]
    nan = ex.redlock_run_trial(lambda a, n, e, t: float("nan"), 1)
    assert not nan.ok and "a number of ms or None" in nan.violations[0]
