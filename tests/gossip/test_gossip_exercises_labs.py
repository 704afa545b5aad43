"""Chapter 4 harnesses accept the reference answers and reject wrong ones; the labs render."""

import pytest

import dscourse as ds
from dscourse.gossip import exercises as ex
from dscourse.gossip import labs


def push_only(mode, infected, contacts):
    return ex.reference_round("push", infected, contacts)


def in_place_pull(mode, infected, contacts):
    """Reads the state it is updating: a node infected this round already spreads."""
    out = infected
    for i, j in enumerate(contacts):
        if mode != "push" and out[j]:
            out[i] = True
        if mode != "pull" and out[i]:
            out[j] = True
    return list(out)


def test_e41_accepts_the_reference_and_rejects_wrong_rules():
    assert ex.round_rules_trial(ex.reference_round, 1).ok
    assert ex.modes_trial(ex.reference_round, list(range(1, 11))).ok
    assert not ex.round_rules_trial(push_only, 1).ok
    assert not ex.round_rules_trial(in_place_pull, 1).ok
    assert not ex.modes_trial(push_only, list(range(1, 6))).ok        # push-pull no faster than push


@pytest.mark.parametrize("seed", range(1, 9))
def test_e41_feedback_names_the_first_wrong_node(seed):
    """The message points at a node whose state is wrong, with what decides it (it used to
    print the 40-node lists cut off after 80 characters)."""
    msg = ex.round_rules_trial(in_place_pull, seed).violations[0]
    node = int(msg.split("is wrong at node ")[1].split(":")[0])
    rng = ds.sim.stream(seed, "exercise:E4.1:rules")
    for r in range(30):                      # replay the harness's states to find the failing round
        mode = ex.MODES[r % 3]
        infected = (rng.random(40) < rng.random()).tolist()
        contacts = ex._contacts(rng, 40)
        want, got = ex.reference_round(mode, infected, contacts), in_place_pull(mode, list(infected), contacts)
        if got != want:
            break
    assert got[node] != want[node] and all(got[x] == want[x] for x in range(node))
    assert f"it contacts node {contacts[node]}" in msg


def blind_round(pushes, knows, counter, k):
    """Counts every push, not only unnecessary ones: a blind counter."""
    knows, counter = list(knows), list(counter)
    still, new = [], []
    for node, peer in pushes:
        if not knows[peer]:
            knows[peer] = True
            new.append(peer)
        counter[node] += 1
        if counter[node] < k:
            still.append(node)
    return knows, counter, still, new


def test_e42_accepts_the_reference_and_rejects_a_blind_counter():
    assert ex.rumor_rules_trial(ex.reference_rumor_round, 1).ok
    assert ex.residue_trial(ex.reference_rumor_round, list(range(1, 11)), k=1).ok
    assert not ex.rumor_rules_trial(blind_round, 1).ok
    assert not ex.residue_trial(blind_round, list(range(1, 6)), k=2).ok   # blind k=2 ~ feedback k=1


def test_e42_feedback_shows_the_answer_beside_the_expected_one():
    msg = ex.rumor_rules_trial(blind_round, 1).violations[0]
    assert "expected still=" in msg and "got still=" in msg and "before the round:" in msg


def test_e42_rejects_malformed_results():
    assert "expected (knows, counter, still, new)" in ex.rumor_rules_trial(lambda *a: None, 1).violations[0]


def test_e44_ring():
    good = lambda n: [(i % n, (i + 1) % n) for i in range(2 * n)]  # noqa: E731
    assert ex.ring_trial(good, lambda n: 2 * n - 2 if n > 1 else 0).ok
    assert not ex.ring_trial(good, lambda n: n).ok
    backwards = lambda n: [((n - i) % n, (n - i - 1) % n) for i in range(2 * n)]  # noqa: E731
    assert not ex.ring_trial(backwards, lambda n: 2 * n - 2 if n > 1 else 0).ok


def test_e45_broadcast_trial_passes_the_tuned_design_and_fails_flooding():
    assert ex.broadcast_trial(ds.gossip.batched(50), 1, duration_ms=3000, target=("3d", "3e")).ok
    flood = ex.broadcast_trial(ds.gossip.Flood, 1, duration_ms=3000, target="3d")
    assert not flood.ok and "3d not met" in flood.violations[0]
    lossy = ex.broadcast_trial(ds.gossip.Flood, 2, duration_ms=8000, nemesis="partition")
    assert not lossy.ok and "missing" in lossy.violations[0]


@pytest.mark.parametrize("mode", labs.ARENA_MODES)
def test_arena_renders_every_mode(mode):
    fig = labs.arena_figure(200, mode, seeds=3)
    assert len(fig.axes) >= 2


def test_labs_change_with_their_controls():
    lab = labs.ring_stepper(n=3, push=0)
    assert "2n − 2 = 4" in lab.summary()
    lab.set(n=5, push=8)
    assert "= 8 pushes" in lab.summary()
    arena = labs.epidemic_arena(n=100)
    arena.set(mode="pull", fanout=2)
    assert arena.values["mode"] == "pull" and arena.figure() is not None
    with pytest.raises(ValueError, match="mode"):
        labs.arena_figure(100, "shout")
