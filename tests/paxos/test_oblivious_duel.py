"""The oblivious adversary (schedule fixed in advance): fixed backoff duels forever, while
randomized backoff or a leader ends the duel."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.paxos import livelock as L

BACKOFFS = (0.0, 1.0, 2.5, 5.0, 10.0, 20.0, 50.0)
OFFSETS = (0.05, 0.3, 0.5, 0.7, 0.95)


@pytest.mark.parametrize("fixed_ms", BACKOFFS)
def test_fixed_backoff_never_decides_against_its_oblivious_schedule(fixed_ms):
    for offset in OFFSETS:
        adversary = L.Adversary(fixed_ms, offset=offset)
        run = L.duel(0, ds.paxos.Backoff("fixed", fixed_ms=fixed_ms), horizon_ms=5_000,
                     schedule="oblivious", adversary=adversary)
        assert run.decided_ms is None and not ds.paxos.chosen(run.sim), (fixed_ms, offset)
        # both proposers keep going: one attempt each per period 3d + A + B
        period = adversary.attempt_ms + fixed_ms
        assert run.attempts >= 2 * (5_000 - adversary.stagger_ms) // period - 2


def test_the_livelock_does_not_depend_on_the_seed():
    for seed in range(20):
        run = L.duel(seed, "fixed", horizon_ms=2_000, schedule="oblivious")
        assert run.decided_ms is None, seed
    digests = {L.duel(s, "fixed", horizon_ms=200, schedule="oblivious").sim.trace.digest()
               for s in range(3)}
    assert len(digests) == 1          # the schedule and fixed backoff leave nothing to chance


def test_the_adversary_must_know_the_fixed_backoff():
    """The schedule tuned to 10 ms is beaten by a fixed 20 ms: the window 2d + B < s closes."""
    adversary = L.Adversary(10.0)
    run = L.duel(0, ds.paxos.Backoff("fixed", fixed_ms=20.0), schedule="oblivious",
                 adversary=adversary)
    assert run.decided_ms is not None and run.decided_ms < 100


def test_randomized_backoff_ends_the_duel_on_every_one_of_200_seeds():
    times = L.decision_times("random", range(200), horizon_ms=2_000, schedule="oblivious")
    assert all(t is not None for t in times)
    decided = [t for t in times if t is not None]
    assert statistics.median(decided) < 100 and max(decided) < 300


@pytest.mark.parametrize("tuned_to", [0.0, 5.0, 50.0])
@pytest.mark.parametrize("offset", [0.1, 0.9])
def test_randomized_backoff_beats_schedules_tuned_to_other_backoffs(tuned_to, offset):
    adversary = L.Adversary(tuned_to, offset=offset)
    times = L.decision_times("random", range(60), horizon_ms=5_000, schedule="oblivious",
                             adversary=adversary)
    assert all(t is not None for t in times)


def test_a_leader_ends_the_duel_in_one_attempt():
    for seed in range(30):
        run = L.duel(seed, "leader", schedule="oblivious")
        adversary = L.Adversary()
        assert run.decided_ms == pytest.approx(adversary.attempt_ms - adversary.fast_ms)
        assert run.attempts == 1 and ds.paxos.chosen(run.sim) == {"v1"}


@settings(max_examples=25, deadline=None)
@given(fixed_ms=st.floats(0, 60), fast_ms=st.floats(0.5, 3), offset=st.floats(0.02, 0.98),
       seed=st.integers(0, 10_000))
def test_any_fixed_backoff_duels_and_random_backoff_decides(fixed_ms, fast_ms, offset, seed):
    adversary = L.Adversary(fixed_ms, fast_ms=fast_ms, offset=offset)
    horizon = 30 * (adversary.attempt_ms + fixed_ms)
    fixed = L.duel(seed, ds.paxos.Backoff("fixed", fixed_ms=fixed_ms), horizon_ms=horizon,
                   schedule="oblivious", adversary=adversary)
    assert fixed.decided_ms is None
    rand = L.duel(seed, "random", horizon_ms=100 * (adversary.attempt_ms + 200),
                  schedule="oblivious", adversary=adversary)
    assert rand.decided_ms is not None


def test_positional_delays_follow_each_links_message_count():
    adversary = L.Adversary(10.0)
    sim = L.oblivious_sim(0, "fixed", adversary=adversary)
    sim.run(until=200)
    sent = {e.msg_id: e.time for e in sim.trace.events if e.kind == "send"}
    per_link: dict = {}
    for e in sim.trace.events:
        if e.kind == "deliver" and e.peer.startswith("p") and e.node.startswith("a"):
            per_link.setdefault((e.peer, e.node), []).append((e.label, (e.time - sent[e.msg_id]) / 1000))
    assert len(per_link) == 6
    for link in per_link.values():
        assert len(link) >= 8
        for k, (label, delay) in enumerate(link):
            # the k-th message: d if k is even, A if odd; in this duel that is Prepare vs Accept
            assert (label, delay) == (("Prepare", 1.0) if k % 2 == 0 else ("Accept", adversary.accept_ms))


def test_bad_parameters():
    with pytest.raises(ValueError, match="schedule"):
        L.duel(1, "fixed", schedule="adaptive")
    with pytest.raises(ValueError, match="offset"):
        L.Adversary(offset=1.0)
    with pytest.raises(ValueError, match="fast_ms"):
        L.Adversary(fast_ms=0)
    with pytest.raises(ValueError, match="delays"):
        L.Positional(())


@settings(max_examples=25, deadline=None)
@given(waits=st.lists(st.floats(0, 80), min_size=1, max_size=12), fast_ms=st.floats(0.5, 3),
       seed=st.integers(0, 10_000))
def test_any_deterministic_backoff_duels_against_its_round_schedule(waits, fast_ms, seed):
    """Waits that change from failure to failure (the schedule repeats after len(waits))."""
    adversary = L.RoundAdversary(tuple(waits), fast_ms=fast_ms)
    table = tuple(waits)
    policy = ds.paxos.Backoff("custom", custom=lambda k, u: table[(k - 1) % len(table)])
    horizon = 3 * len(waits) * (10 * fast_ms + 2 * max(waits)) + 50
    run = L.duel(seed, policy, horizon_ms=horizon, schedule="oblivious", adversary=adversary)
    assert run.decided_ms is None and run.attempts >= 2 * len(waits)


def test_round_schedule_with_a_fixed_wait_is_the_closed_form_one_shifted():
    adversary = L.RoundAdversary((10.0,) * 4)
    assert adversary.stagger_ms == 12.5 and adversary.accept_delays("p1") == (12.0,) * 4
    assert adversary.link_delays("p2")[:4] == (1.0, 12.0, 1.0, 12.0)
    with pytest.raises(ValueError, match="waits"):
        L.RoundAdversary(())


def test_randomized_backoff_beats_the_round_schedule_built_for_its_median_waits():
    waits = tuple(0.5 * min(200.0, 5.0 * 2 ** k) for k in range(1, 101))
    times = L.decision_times("random", range(200), horizon_ms=2_000, schedule="oblivious",
                             adversary=L.RoundAdversary(waits))
    assert all(t is not None for t in times)
