"""Observers against followers in a second datacenter (ds.zk.datacenters): a write waits for a
majority of the voters only, so remote followers slow writes exactly when the majority needs
one of them and observers never do; both serve the remote datacenter's reads locally."""

from __future__ import annotations

import pytest

from dscourse.errors import DscourseError
from dscourse.zk import datacenters as D
from dscourse.zk.server import ZKServer


@pytest.mark.parametrize("seed,lan,wan", [(1, 1.0, 40.0), (2, 2.0, 25.0), (3, 0.5, 60.0)])
def test_writes_cross_the_wan_only_when_a_majority_needs_a_remote_voter(seed, lan, wan):
    runs = {(p.role, p.extra): p for p in D.sweep(range(5), seed=seed, lan_ms=lan, wan_ms=wan, duration_ms=800.0)}
    local = runs[("observer", 0)]
    assert local.write_ms < 2 * wan and local.writes_per_s > 0
    for k in range(5):
        obs, fol = runs[("observer", k)], runs[("follower", k)]
        assert obs.leader in ("zk1", "zk2", "zk3") and fol.leader in ("zk1", "zk2", "zk3")
        assert obs.write_ms == local.write_ms                     # observers never join the quorum
        majority_is_local = 3 > (3 + k) // 2                       # 3 local voters of 3 + k
        if majority_is_local:
            assert fol.write_ms == local.write_ms
        else:
            assert fol.write_ms >= 2 * wan                          # the ACKs cross the WAN and back
            assert fol.writes_per_s < local.writes_per_s / 5


@pytest.mark.parametrize("role", D.ROLES)
def test_any_remote_server_serves_the_remote_datacenters_reads(role):
    alone, near = D.second_datacenter(0, role, duration_ms=500.0), D.second_datacenter(1, role, duration_ms=500.0)
    assert alone.remote_read_ms >= 2 * 40.0                         # a round trip over the WAN
    assert near.remote_read_ms <= 2 * 1.0 + 1e-9                    # a round trip on the LAN


def test_runs_are_deterministic_and_the_figure_and_table_show_every_run():
    a = D.sweep(range(3), duration_ms=400.0)
    assert a == D.sweep(range(3), duration_ms=400.0)
    from dscourse.zk.labs import second_datacenter_figure

    fig = second_datacenter_figure(a, "title")
    left, right = fig.axes
    assert [len(line.get_xdata()) for line in left.lines] == [3, 3]
    assert [line.get_label() for line in right.lines] == ["as followers", "as observers"]
    assert len(D.table(a).splitlines()) == 1 + 6


def test_a_server_that_ignores_acks_commits_nothing():
    class NeverReady(ZKServer):
        def commit_ready(self, outstanding):
            return []

    with pytest.raises(RuntimeError, match="nothing was ever committed"):
        D.second_datacenter(0, "observer", duration_ms=300.0, server_class=NeverReady)


@pytest.mark.parametrize("kw,word", [({"extra": 6}, "extra"), ({"extra": True}, "extra"), ({"role": "voter"}, "role"),
                                     ({"wan_ms": 0}, "wan_ms"), ({"writers": 0}, "writers"),
                                     ({"duration_ms": -1.0}, "duration_ms")])
def test_bad_arguments_are_refused(kw, word):
    args = {"extra": 1, "role": "observer", **kw}
    extra, role = args.pop("extra"), args.pop("role")
    with pytest.raises(DscourseError, match=word):
        D.second_datacenter(extra, role, **args)


def test_e82_scaling_runs_the_students_rules_and_names_wrong_commits(capsys):
    from dscourse.zk import exercises as X

    fig = X.observer_scaling(X.reference_commit_ready, X.reference_route, duration_ms=300.0)
    out = capsys.readouterr().out
    assert fig is not None and "observer" in out and "wrong commit" not in out

    def eager(outstanding, voters):                # commits on the leader's own ACK
        return [z for z, _ in outstanding]
    X.observer_scaling(eager, X.reference_route, duration_ms=300.0)
    assert "wrong commit:" in capsys.readouterr().out

    def stub(*args):
        raise NotImplementedError
    assert X.observer_scaling(stub, stub) is None
    assert "Write commit_ready and route first" in capsys.readouterr().out
