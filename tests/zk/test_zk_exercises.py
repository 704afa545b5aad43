"""The E7.1-E7.4 harnesses accept the reference answers and reject typical wrong ones."""

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


# == E8.3: DIFF / TRUNC / SNAP =====================================================================
def _always_diff(peer, zxids, snap):
    return ["DIFF", peer]


def _always_snap(peer, zxids, snap):
    return ["SNAP", snap]


def _trunc_only_when_ahead(peer, zxids, snap):
    """Truncates only a learner ahead of the leader's last zxid, never one that holds an old
    epoch's proposals below it (the classic mistake)."""
    last = zxids[-1] if zxids else snap
    if peer > last:
        return ["TRUNC", last]
    return ["DIFF", peer] if peer >= snap else ["SNAP", snap]


def _never_snap(peer, zxids, snap):
    kind, z = ex.reference_sync_decision(peer, zxids, snap)
    return ["DIFF", peer] if kind == "SNAP" else [kind, z]


def test_e8_3_server_default_is_the_reference_and_covers_all_three_decisions() -> None:
    from dscourse.sim import stream
    from dscourse.zk.server import ZKServer

    rng = stream(7, "test")
    kinds = set()
    for _ in range(300):
        peer, zxids, snap = ex.sync_case(rng)
        kind, z = ZKServer.sync_decision(peer, zxids, snap)
        kinds.add(kind)
        # the learner ends on the leader's history: a point of it (or the snapshot), never above peer
        assert z == snap or z in zxids
        assert z <= peer or kind == "SNAP"
    assert kinds == {"DIFF", "TRUNC", "SNAP"}


def test_e8_3_reference_passes() -> None:
    for seed in range(1, 4):
        assert ex.sync_decision_trial(ex.reference_sync_decision, seed).ok
    trials = [ex.truncation_trial(ex.reference_sync_decision, seed) for seed in range(1, 11)]
    assert all(t.ok for t in trials), [t.violations for t in trials if not t.ok]
    assert {t.facts["servers"] for t in trials} == {3, 5}
    assert all(ex.recovery_trial(ex.reference_sync_decision, seed).ok for seed in range(1, 21))


def test_e8_3_wrong_decisions_are_caught() -> None:
    for wrong in (_always_diff, _always_snap, _trunc_only_when_ahead, _never_snap):
        trials = [ex.sync_decision_trial(wrong, seed) for seed in range(1, 4)]
        assert not any(t.ok for t in trials), wrong.__name__
        assert "expected" in trials[0].violations[0]
    # the system runs catch every unsafe answer: the old proposals survive or a learner has a gap
    for unsafe in (_always_diff, _trunc_only_when_ahead, _never_snap):
        failed = [s for s in range(1, 11) if not ex.truncation_trial(unsafe, s).ok]
        assert failed, unsafe.__name__
    failed = [s for s in range(1, 21) if not ex.recovery_trial(_always_diff, s).ok]
    assert failed
    # SNAP for everyone is safe (only wasteful): the crash schedules cannot tell, the cases do
    assert all(ex.truncation_trial(_always_snap, s).ok for s in range(1, 6))


def test_e8_3_bad_shapes_and_errors() -> None:
    assert "expected ['DIFF'" in ex.sync_decision_trial(lambda p, z, s: "DIFF", 1).violations[0]
    assert "expected ['DIFF'" in ex.truncation_trial(lambda p, z, s: ["diff", p], 1).violations[0]

    def raises(peer, zxids, snap):
        raise RuntimeError("boom")

    assert isinstance(ex.sync_decision_trial(raises, 1).error, RuntimeError)
    assert isinstance(ex.recovery_trial(raises, 1).error, RuntimeError)


# == E8.4: quorum math ===========================================================================
def _ties_count(weights, members):
    return 2 * sum(weights[s] for s in set(members)) >= sum(weights.values())


def _counts_servers(weights, members):
    return 2 * len(set(members)) > len(weights)


def _zero_groups_count(groups, weights, members):
    agree = sum(1 for g in groups if 2 * sum(weights[s] for s in g if s in members) > sum(weights[s] for s in g))
    return 2 * agree > len(groups)


def _flat_weights(groups, weights, members):
    return 2 * sum(weights[s] for s in set(members)) > sum(weights.values())


def _group_ties_count(groups, weights, members):
    live = [g for g in groups if sum(weights[s] for s in g)]
    agree = sum(1 for g in live if 2 * sum(weights[s] for s in g if s in members) >= sum(weights[s] for s in g))
    return 2 * agree > len(live)


def test_e8_4_reference_passes_and_systems_are_exhaustive() -> None:
    from dscourse.zk import quorums as q

    assert ex.failures_trial(q.tolerated_failures).ok
    for seed in range(1, 6):
        w = ex.weighted_trial(q.weighted_quorum, seed)
        h = ex.hierarchical_trial(q.hierarchical_quorum, seed)
        assert w.ok and h.ok
        assert h.facts["subsets"] >= 512  # ZooKeeper's 3x3 example alone has 2^9 subsets


def test_e8_4_reference_quorums_intersect() -> None:
    """Any two quorums of a system share a server with non-zero weight (what makes them safe)."""
    from dscourse.sim import stream
    from dscourse.zk import quorums as q

    rng = stream(3, "test")
    for _ in range(40):
        groups, weights = ex.random_system(rng)
        servers = [s for g in groups for s in g]
        quorums = [set(m) for m in ex._subsets(servers) if q.hierarchical_quorum(groups, weights, m)]
        for a in quorums:
            for b in quorums:
                assert any(weights[s] > 0 for s in a & b), (groups, weights, a, b)
    assert q.hierarchical_quorum(*ex.ZK_EXAMPLE, ["s1", "s2", "s4", "s5"])
    assert not q.hierarchical_quorum(*ex.ZK_EXAMPLE, ["s1", "s2", "s3", "s4", "s7"])


def test_e8_4_wrong_answers_are_caught() -> None:
    assert "tolerated_failures(2) returned 1; expected 0" in ex.failures_trial(lambda n: n // 2).violations[0]
    assert not ex.failures_trial(lambda n: (n - 1) / 2).ok
    for seed in range(1, 4):
        for wrong in (_ties_count, _counts_servers):
            assert not ex.weighted_trial(wrong, seed).ok, (wrong.__name__, seed)
        for wrong in (_zero_groups_count, _flat_weights, _group_ties_count):
            assert not ex.hierarchical_trial(wrong, seed).ok, (wrong.__name__, seed)
    assert "True or False" in ex.weighted_trial(lambda w, m: 1, 1).violations[0]
    assert len(ex.hierarchical_trial(_flat_weights, 1).violations) > 1  # every mismatch is listed


# == E8.2: quorum ACK, COMMIT, INFORM ===========================================================
def _half_is_enough(outstanding, voters):
    ready = []
    for z, acks in sorted(outstanding):
        if 2 * len(set(acks) & set(voters)) < len(voters):
            break
        ready.append(z)
    return ready


def _eager(outstanding, voters):
    return [z for z, _ in sorted(outstanding)]


def _skips_ahead(outstanding, voters):
    return [z for z, acks in sorted(outstanding) if 2 * len(set(acks) & set(voters)) > len(voters)]


def _commit_to_observers(event, learners):
    if event == "propose":
        return [[s, "PROPOSAL"] for s, role in learners if role == "follower"]
    return [[s, "COMMIT"] for s, _ in learners]


def _propose_to_observers(event, learners):
    return [[s, "PROPOSAL"] for s, _ in learners] if event == "propose" else ex.reference_route(event, learners)


def test_e8_2_server_default_matches_the_reference_rules() -> None:
    from dscourse.zk.server import ZKServer

    assert ZKServer.route("commit", [(2, "follower"), (4, "observer")]) == [(2, "COMMIT"), (4, "INFORM")]
    assert ZKServer.route("propose", [(2, "follower"), (4, "observer")]) == [(2, "PROPOSAL")]
    assert ex.reference_commit_ready([[3, [1, 2]], [2, [1, 2, 3]], [4, [1]]], [1, 2, 3]) == [2, 3]
    assert ex.reference_commit_ready([[2, [1, 2]]], [1, 2, 3, 4]) == []


def test_e8_2_reference_passes() -> None:
    assert all(ex.broadcast_rules_trial(ex.reference_commit_ready, ex.reference_route, s).ok for s in range(1, 4))
    trials = [ex.broadcast_trial(ex.reference_commit_ready, ex.reference_route, s) for s in range(1, 13)]
    assert all(t.ok for t in trials), [t.violations for t in trials if not t.ok]
    assert {t.facts["observers"] for t in trials} == {0, 1, 2}
    assert {t.facts["servers"] for t in trials} == {3, 4}


def test_e8_2_wrong_rules_are_caught() -> None:
    ref_c, ref_r = ex.reference_commit_ready, ex.reference_route
    for c, r in ((_half_is_enough, ref_r), (_eager, ref_r), (_skips_ahead, ref_r),
                 (ref_c, _commit_to_observers), (ref_c, _propose_to_observers)):
        assert not any(ex.broadcast_rules_trial(c, r, s).ok for s in range(1, 4)), (c.__name__, r.__name__)
    # the unsafe ones break the ensemble too: a commit without a voter quorum, or observers left behind
    for c, r in ((_half_is_enough, ref_r), (_eager, ref_r), (ref_c, _commit_to_observers)):
        assert any(not ex.broadcast_trial(c, r, s).ok for s in range(1, 11)), (c.__name__, r.__name__)
    assert "not a majority" in ex.broadcast_trial(_eager, ref_r, 1).violations[0]
    assert "expected [[sid" in ex.broadcast_trial(ref_c, lambda event, learners: [[99, "COMMIT"]], 1).violations[0]


def _node_not_parent(kind, path, acls, ids):
    """The usual slip: check the node itself for create and delete too."""
    from dscourse.zk import acl
    node = path if path in acls else acl.parent_of(path)
    return acl.check(acls[node], acl.NEEDS[kind][1], ids)


def _inherited(kind, path, acls, ids):
    """Another slip: every ancestor's ACL must allow it too (ACLs treated as recursive)."""
    from dscourse.zk import acl
    return all(acl.check(a, acl.NEEDS[kind][1], ids) for a in acls.values())


def test_e7_4_reference_passes_every_acl_case_and_random_questions() -> None:
    from dscourse.zk import acl
    trial = ex.acl_trial(acl.generate_digest, acl.permitted, 2)
    assert trial.ok and len(trial.facts) == len(ex.ACL_CASES) >= 20
    assert ex.digest_trial(acl.generate_digest, 3).ok
    questions = ex.permission_trial(acl.permitted, 4)
    assert questions.ok and questions.facts["questions"] == 300


def test_e7_4_catches_the_usual_mistakes_and_lists_every_failing_case() -> None:
    import base64
    import hashlib

    from dscourse.zk import acl
    for wrong in (_node_not_parent, _inherited):
        cases = ex.acl_trial(acl.generate_digest, wrong, 1)
        assert not cases.ok and len(cases.violations) >= 2, wrong.__name__
        assert all(v.startswith("case acl_") for v in cases.violations)
        assert not ex.permission_trial(wrong, 1).ok
    found = " ".join(ex.acl_trial(acl.generate_digest, _node_not_parent, 1).violations)
    assert "acl_create_needs_create_on_parent" in found
    assert "acl_not_recursive" in " ".join(ex.acl_trial(acl.generate_digest, _inherited, 1).violations)

    def password_only(credential):
        user, _, password = credential.partition(":")
        return user + ":" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()

    def last_colon(credential):
        user = credential.rsplit(":", 1)[0]
        return user + ":" + base64.b64encode(hashlib.sha1(credential.encode()).digest()).decode()

    assert len(ex.digest_trial(password_only, 1).violations) > 5
    assert ex.digest_trial(last_colon, 1).violations  # "carol:pa:ss:word" has more colons
    logged_out = ex.acl_trial(password_only, acl.permitted, 1)
    assert any("acl_digest_after_add_auth" in v for v in logged_out.violations)

    def not_bool(kind, path, acls, ids):
        return 1

    assert not ex.acl_trial(acl.generate_digest, not_bool, 1, ("acl_read_only_node",)).ok
