"""E4.3's harness accepts the reference rules and rejects wrong ones; the detector view renders."""

import ast

from dscourse.redis_cluster import exercises as ex
from dscourse.redis_cluster import labs


def pfail_due(ping_sent, now, node_timeout):
    return now - ping_sent > node_timeout


def on_gossip(reports, sender, sender_is_master, flags, now):
    if not sender_is_master:
        return dict(reports)
    out = dict(reports)
    if "pfail" in flags or "fail" in flags:
        out[sender] = now
    else:
        out.pop(sender, None)
    return out


def should_fail(flag, reports, now, node_timeout, me, masters):
    valid = sum(1 for t in reports.values() if now - t <= 2 * node_timeout)
    return flag == "PFAIL" and valid + me >= masters // 2 + 1


def test_reference_rules_pass_every_audit():
    assert ex.crash_trial(pfail_due, on_gossip, should_fail, 1).ok
    assert ex.partition_trial(pfail_due, on_gossip, should_fail, 1).ok
    assert ex.pause_trial(pfail_due, on_gossip, should_fail, 1).ok
    assert ex.expiry_trial(should_fail, 1).ok


def test_wrong_rules_are_caught():
    alone = lambda flag, *a: flag == "PFAIL"  # noqa: E731 - suspicion alone
    assert not ex.crash_trial(pfail_due, on_gossip, alone, 1).ok
    hasty = lambda ps, now, t: now - ps > 0.3 * t  # noqa: E731
    assert not ex.pause_trial(hasty, on_gossip, should_fail, 1).ok
    never_expire = lambda flag, r, now, t, me, m: flag == "PFAIL" and len(r) + me >= m // 2 + 1  # noqa: E731
    assert not ex.expiry_trial(never_expire, 1).ok
    replicas_count = lambda r, s, m, f, now: {**r, s: now} if "pfail" in f else r  # noqa: E731
    assert not ex.partition_trial(pfail_due, replicas_count, should_fail, 1).ok


def test_expiry_feedback_gives_the_reports_ages_and_the_majority():
    never_expire = lambda flag, r, now, t, me, m: flag == "PFAIL" and len(r) + me >= m // 2 + 1  # noqa: E731
    for seed in range(1, 6):
        t = ex.expiry_trial(never_expire, seed)
        assert not t.ok
        msg = t.violations[0]
        ages = ast.literal_eval(msg.split("the reports' ages are ")[1].split(" ms,")[0])
        valid = int(msg.split(" ms, ")[1].split(" of them")[0])
        assert valid == sum(a <= 2000 for a in ages.values()) and "a majority of" in msg


def test_malformed_answers_are_reported():
    t = ex.crash_trial(lambda *a: "yes", on_gossip, should_fail, 1)
    assert not t.ok and "True or False" in t.violations[0]


def test_detector_view_renders_and_summarises():
    lab = labs.failure_detector(fault="crash m2", after_ms=3000, observer="r0")
    assert "11 of 11 running nodes flag m2 FAIL" in lab.summary()
    fig = lab.figure()
    assert len(fig.axes) == 2
    lab.set(fault="partition m0 m1 r0")
    assert "flag m3 FAIL" in lab.summary() and lab.summary().startswith("partition")
