"""The E7.1-E7.3 harnesses accept the reference answers and reject typical wrong ones."""

from __future__ import annotations

from dscourse.zk import exercises as ex


def test_e7_1_reference_passes_every_data_case() -> None:
    trial = ex.data_tree_trial(ex.reference_check_write, 1)
    assert trial.ok and len(trial.facts) == len(ex.DATA_CASES) >= 60


def test_e7_1_rejects_wrong_sequence_numbers_versions_and_ephemeral_rules() -> None:
    def off_by_one(nodes, op, session):
        r = ex.reference_check_write(nodes, op, session)
        if op[0] == "create" and op[4] and r[0] == "create":
            return ["create", r[1][:-10] + f"{int(r[1][-10:]) + 1:010d}"]
        return r

    def ignores_version(nodes, op, session):
        if op[0] == "setData" and op[1] in nodes:
            return ["setData", op[1], nodes[op[1]]["version"] + 1]
        return ex.reference_check_write(nodes, op, session)

    def children_under_ephemerals(nodes, op, session):
        r = ex.reference_check_write(nodes, op, session)
        return ["create", op[1]] if r == ["error", -108] else r

    def crashes(nodes, op, session):
        raise KeyError("oops")

    for wrong, case in ((off_by_one, "sequential_names"), (ignores_version, "set_bad_version"),
                        (children_under_ephemerals, "ephemeral_no_children")):
        trial = ex.data_tree_trial(wrong, 1)
        assert not trial.ok and trial.violations[0].startswith(f"case {case}")
    trial = ex.data_tree_trial(crashes, 1, names=("create_returns_path",))
    assert not trial.ok and isinstance(trial.error, KeyError)


def test_e7_2_reference_passes_and_persistent_or_missing_watches_fail() -> None:
    assert ex.watch_trial(ex.reference_fire_watches, 1).ok

    def never_removed(triggers, data, child):
        events, _, _ = ex.reference_fire_watches(triggers, data, child)
        return events, data, child

    def deleted_skips_child_watches(triggers, data, child):
        events, data2, child2 = ex.reference_fire_watches([t for t in triggers if t[1] != "deleted"], data, child)
        for path, kind in triggers:
            if kind == "deleted":
                events += [[s, "DELETED", path] for s in data2.pop(path, [])]
        return events, data2, child2

    assert "fires at most once" in ex.watch_trial(never_removed, 1).violations[0]
    assert ex.watch_trial(deleted_skips_child_watches, 1).violations[0].startswith("case watch_child_parent_deleted")


def test_e7_3_plans() -> None:
    good = ex.stale_read_trial(lambda s: ["write", "sync", "read"] if s else ["write", "read"], 1)
    assert good.ok
    assert not ex.stale_read_trial(lambda s: ["write", "wait", "read"], 1).ok      # no stale read
    assert not ex.stale_read_trial(lambda s: ["write", "read"], 1).ok              # never fixed
    assert not ex.stale_read_trial(lambda s: ["sync", "read"] if s else ["write", "read"], 1).ok
    assert not ex.stale_read_trial(lambda s: "write read", 1).ok


def test_e8_1_vote_order() -> None:
    def reference(new, cur):
        return tuple(new) > tuple(cur)

    assert ex.vote_order_trial(reference, 1).ok
    assert all(ex.election_trial(reference, seed).ok for seed in range(1, 5))

    def zxid_first(new, cur):
        return (new[1], new[2]) > (cur[1], cur[2])

    def lowest_id_wins(new, cur):
        return (new[0], new[1], -new[2]) > (cur[0], cur[1], -cur[2])

    def not_a_bool(new, cur):
        return 1 if tuple(new) > tuple(cur) else 0

    assert "peerEpoch" in ex.vote_order_trial(zxid_first, 1).violations[0]
    assert any(not ex.election_trial(lowest_id_wins, seed).ok for seed in range(1, 4))
    assert "True or False" in ex.election_trial(not_a_bool, 1).violations[0]
