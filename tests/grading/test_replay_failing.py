"""check() names the line that replays a failing run, and ds.grading.replay(...) plays it."""

from __future__ import annotations

import pytest

import dscourse as ds
from dscourse.errors import ConfigError
from dscourse.grading import selfcheck


class Silent(ds.sim.Node):
    """A 'reliable channel' that never sends anything: every payload is lost."""

    def reliable_send(self, dst, data):
        pass


def test_a_failing_check_prints_the_replay_line_and_replay_plays_that_run(monkeypatch, capsys):
    @ds.grading.test("E9.7", points=1)
    def silent_channel(t, ReliableChannel):
        """Exactly once over a lossy link."""
        t.expect(ds.grading.ch01.channel_trial(ReliableChannel, 3))

    monkeypatch.setattr(selfcheck, "_namespace", lambda: {"ReliableChannel": Silent})
    ds.grading.check("E9.7")
    out = capsys.readouterr().out
    assert "0 of 1 public tests passed" in out
    assert "Replay the failing run (seed 3) step by step: ds.grading.replay('E9.7')" in out
    player = ds.grading.replay("E9.7")
    html = player._repr_html_()
    assert "data-dscourse-player" in html
    failing = selfcheck._FAILING["E9.7"]
    assert failing.seed == 3 and len(failing.trace) > 0


def test_replay_without_a_failing_check_says_what_is_allowed():
    with pytest.raises(ConfigError, match=r"E9\.8"):
        ds.grading.replay("E9.8")
    with pytest.raises(ConfigError, match="an id like"):
        ds.grading.replay("nine")
