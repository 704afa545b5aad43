"""E3.3 (repair): the harness accepts the master's answers and rejects typical wrong ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dscourse.grading import cells as fmt
from dscourse.replication import exercises as ex
from dscourse.replication import experiments

MASTER = Path(__file__).resolve().parents[2] / "exercises" / "source" / "ch03.ipynb"
SEEDS = (1, 2, 3, 2**31 + 11)


@pytest.fixture(scope="module")
def ref() -> dict:
    """The master notebook's E3.3 answer cell, run as a student's would be."""
    code = dict(fmt.answer_cells(json.loads(MASTER.read_text())))["E3.3"]
    ns: dict = {}
    exec(compile(code, "<E3.3>", "exec"), ns)  # noqa: S102 - our own master notebook
    return ns


def _all_trials(r: dict, seed: int) -> list:
    return [ex.read_repair_rule_trial(r["read_repair"], seed),
            ex.hint_rule_trial(r["hint_actions"], seed),
            ex.merkle_tree_trial(r["merkle_tree"], seed),
            ex.merkle_compare_trial(r["merkle_compare"], seed),
            ex.read_repair_trial(r["read_repair"], seed),
            ex.handoff_trial(r["hint_actions"], seed),
            ex.window_trial(r["hint_actions"], r["merkle_tree"], r["merkle_compare"], seed),
            ex.merkle_cost_trial(r["merkle_tree"], r["merkle_compare"], seed),
            ex.merkle_cost_trial(r["merkle_tree"], r["merkle_compare"], seed, keys=2000, diverged=20,
                                 depth=11)]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_answers_pass(ref, seed):
    for trial in _all_trials(ref, seed):
        assert trial.ok, trial.violations


def test_the_library_rules_pass_too():
    """The store's own rules (the hooks' defaults) through the same harness."""
    from dscourse.replication.client import newest_and_stale
    from dscourse.replication.replica import plan_handoff

    assert ex.read_repair_rule_trial(newest_and_stale, 5).ok
    assert ex.hint_rule_trial(plan_handoff, 5).ok


def _failing(trials: list) -> list[str]:
    return [t.violations[0] for t in trials if not t.ok]


# -- read repair -----------------------------------------------------------------------------
def never_repairs(replies):
    return max((tuple(ts), v) for ts, v in replies.values()), []


def first_reply(replies):
    first = sorted(replies)[0]
    ts, v = replies[first]
    return (tuple(ts), v), [r for r in replies if tuple(replies[r][0]) < tuple(ts)]


def repairs_everyone(replies):
    return max((tuple(ts), v) for ts, v in replies.values()), sorted(replies)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_read_repair_that_never_repairs_is_rejected(seed):
    assert not ex.read_repair_rule_trial(never_repairs, seed).ok
    trial = ex.read_repair_trial(never_repairs, seed)
    assert not trial.ok and "still lacked the newest version" in trial.violations[0]


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_returning_an_older_version_is_rejected(seed):
    assert not ex.read_repair_rule_trial(first_reply, seed).ok
    trial = ex.read_repair_trial(first_reply, seed)
    assert not trial.ok and "not the newest version" in trial.violations[0]


def test_repairing_up_to_date_replicas_fails_the_rule():
    assert not ex.read_repair_rule_trial(repairs_everyone, 1).ok


# -- hinted handoff ----------------------------------------------------------------------------
def never_drops(hints, now, window):
    return sorted(hints), []


def drops_everything(hints, now, window):
    return [], sorted(hints)


def off_by_one(hints, now, window):
    drop = sorted(h for h, hint in hints.items() if now - hint[4] >= window)
    return sorted(set(hints) - set(drop)), drop


def loses_hints(hints, now, window):
    return sorted(hints)[:1], []          # neither replayed nor dropped


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_hints_never_dropped_are_rejected(ref, seed):
    assert not ex.hint_rule_trial(never_drops, seed).ok
    trial = ex.window_trial(never_drops, ref["merkle_tree"], ref["merkle_compare"], seed)
    assert not trial.ok and "older than the window" in trial.violations[0]


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_dropping_fresh_hints_is_rejected(ref, seed):
    assert not ex.hint_rule_trial(drops_everything, seed).ok
    assert not ex.handoff_trial(drops_everything, seed).ok
    assert not ex.window_trial(drops_everything, ref["merkle_tree"], ref["merkle_compare"], seed).ok


def test_the_window_boundary_and_a_partial_answer_are_rejected():
    assert not ex.hint_rule_trial(off_by_one, 1).ok
    trial = ex.hint_rule_trial(loses_hints, 1)
    assert not trial.ok and "exactly one of replay and drop" in trial.violations[0]


# -- Merkle anti-entropy -----------------------------------------------------------------------
def ships_everything(tree, level, indices, hashes):
    """Skips the comparison: every leaf's entries are exchanged."""
    return "entries", list(range(len(tree[-1])))


def descends_everywhere(tree, level, indices, hashes):
    if level == len(tree) - 1:
        return "entries", [i for i, h in zip(indices, hashes, strict=True) if tree[level][i] != h]
    return "hashes", [c for i in indices for c in (2 * i, 2 * i + 1)]


def stops_at_the_root(tree, level, indices, hashes):
    return "same", []


def keys_only_tree(ref):
    def tree(entries, depth):
        return ref["merkle_tree"]({k: ((0, ""), "") for k in entries}, depth)
    return tree


def leaves_ship_everything(tree, level, indices, hashes):
    """Descends correctly, then exchanges every leaf's entries."""
    if level == len(tree) - 1:
        return "entries", list(range(len(tree[-1])))
    return descends_everywhere(tree, level, indices, hashes)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_comparison_that_ships_everything_is_rejected(ref, seed):
    trial = ex.merkle_cost_trial(ref["merkle_tree"], ships_everything, seed)
    assert not trial.ok and "'entries' at level 0" in trial.violations[0]
    for compare in (leaves_ship_everything, descends_everywhere):
        trial = ex.merkle_cost_trial(ref["merkle_tree"], compare, seed)
        assert not trial.ok and "of a full sync" in trial.violations[0]
        assert not ex.merkle_compare_trial(compare, seed).ok


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_comparison_that_finds_nothing_does_not_converge(ref, seed):
    assert not ex.merkle_compare_trial(stops_at_the_root, seed).ok
    trial = ex.window_trial(ref["hint_actions"], ref["merkle_tree"], stops_at_the_root, seed)
    assert not trial.ok and "still lacked" in trial.violations[0]
    assert not ex.merkle_cost_trial(ref["merkle_tree"], stops_at_the_root, seed).ok


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_tree_blind_to_versions_is_rejected(ref, seed):
    blind = keys_only_tree(ref)
    assert not ex.merkle_tree_trial(blind, seed).ok
    trial = ex.merkle_cost_trial(blind, ref["merkle_compare"], seed)
    assert not trial.ok and "repaired 0" in trial.violations[0]


def test_an_unordered_or_misshapen_tree_is_rejected(ref):
    def by_insertion(entries, depth):
        levels = ref["merkle_tree"](entries, depth)
        levels[-1] = [ref["digest"](h + repr(list(entries)[:1])) for h in levels[-1]]
        return levels

    assert not ex.merkle_tree_trial(by_insertion, 1).ok
    trial = ex.merkle_tree_trial(lambda entries, depth: [["x"]], 1)
    assert not trial.ok and "levels" in trial.violations[0]


# -- malformed answers are violations, never crashes of the harness ------------------------------
@pytest.mark.parametrize("bad", [None, "newest", (1, 2, 3), ((1, "c0"), "v"), [[(1, "c0"), 5], []]])
def test_malformed_read_repair_results_are_reported(bad):
    trial = ex.read_repair_rule_trial(lambda replies: bad, 1)
    assert not trial.ok and "read_repair(" in trial.violations[0]


@pytest.mark.parametrize("bad", [None, ([], [], []), ([True], []), (["0"], [])])
def test_malformed_hint_results_are_reported(bad):
    trial = ex.hint_rule_trial(lambda hints, now, window: bad, 2)
    assert not trial.ok


@pytest.mark.parametrize("bad", [None, ("entries", [0]), ("hashes", [10**6]), ("maybe", [])])
def test_malformed_compare_results_are_reported(bad):
    trial = ex.merkle_compare_trial(lambda tree, level, indices, hashes: bad, 3)
    assert not trial.ok and "merkle_compare" in trial.violations[0]


def test_student_exceptions_propagate(ref):
    def boom(*args):
        raise NotImplementedError("E3.3")

    with pytest.raises(NotImplementedError):
        ex.read_repair_trial(boom, 1)
    with pytest.raises(NotImplementedError):
        ex.merkle_cost_trial(boom, ref["merkle_compare"], 1)


def test_the_hooks_do_not_change_the_library_runs():
    """The defaults of the new hooks reproduce the repair race's published numbers."""
    race = experiments.repair_race("all three, short hint window", seed=1)
    assert (race.converged_ms, race.hints_expired, race.total_bytes) == (50.0, 20, 11082)
    cost = experiments.merkle_sync_cost()
    assert (cost.merkle_bytes, cost.full_bytes, cost.repaired) == (6116, 83930, 10)
