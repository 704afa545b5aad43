"""Chapter 3 widgets, driven through the methods their controls call."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from dscourse.errors import ConfigError
from dscourse.history import Op
from dscourse.replication import labs as cv


def gilbert_lynch(board: cv.CapSwitchboard) -> cv.CapSwitchboard:
    board.write("c0")
    board.run(30)
    board.partition(["r3", "r4", "c1"])
    board.write("c0")
    board.run(50)
    board.read("c1")
    board.run(60)
    return board


def test_ap_switchboard_is_available_and_caught_stale():
    board = gilbert_lynch(cv.CapSwitchboard("ap", seed=1))
    counts = board.counters()
    assert counts["ok"] == 3 and counts["fail"] == counts["info"] == 0
    assert counts["stale reads"] == 1
    assert board.result().outcome == "illegal"
    assert "NOT linearizable" in board.summary()


def test_switching_to_cp_replays_the_same_actions():
    board = gilbert_lynch(cv.CapSwitchboard("ap", seed=1))
    ops = list(board.ops)
    board.set_mode("cp")
    assert board.ops == ops and board.mode == "cp"
    counts = board.counters()
    assert counts["stale reads"] == 0 and counts["fail"] == 1      # the minority read gives up
    assert board.result().outcome == "ok"
    assert "availability 67%" in board.summary()


def test_switchboard_widget_builds_and_buttons_act():
    board = cv.CapSwitchboard("cp", seed=2)
    root = board.widget
    assert root is board.widget and board._widgets["history"].value[:4] == b"\x89PNG"
    shown, todo = [], [root]
    while todo:
        w = todo.pop()
        shown.append(w)
        todo.extend(getattr(w, "children", ()))
    assert all(any(w is board._widgets[k] for w in shown) for k in ("mode", "group", "history"))
    board._widgets["mode"].value = "ap"
    assert board.mode == "ap"
    board.read("c1")
    assert board.ops[-1] == ("action", "submit", "c1", "get", "x")


def test_switchboard_bad_input():
    with pytest.raises(ConfigError, match="mode"):
        cv.CapSwitchboard("ca")
    board = cv.CapSwitchboard("cp", seed=1)
    with pytest.raises(ConfigError, match="c7"):
        board.read("c7")
    with pytest.raises(ConfigError, match="zz"):
        board.partition(["zz"])


def _op(f, inp, out, call, ret):
    return Op("p", f, inp, out, call, ret, "ok")


def test_stale_reads_counts_only_definitely_old_values():
    w1 = _op("put", ("x", "a"), None, 0, 1)
    w2 = _op("put", ("x", "b"), None, 2, 3)
    assert cv.stale_reads_of([w1, w2, _op("get", "x", "a", 4, 5)]) == 1
    assert cv.stale_reads_of([w1, w2, _op("get", "x", "b", 4, 5)]) == 0
    assert cv.stale_reads_of([w1, w2, _op("get", "x", "", 4, 5)]) == 1
    overlapping = _op("put", ("x", "c"), None, 0.5, 2.5)        # concurrent with w2: not stale
    assert cv.stale_reads_of([w1, overlapping, w2, _op("get", "x", "c", 4, 5)]) == 0


def test_quorum_calculator():
    lab = cv.quorum_calculator(3, 1, 1)
    assert "R+W<=N" in lab.summary()
    lab.set(r=2, w=2)
    assert "R+W>N" in lab.summary() and "stale reads 0/" in lab.summary()
    ring, heat, _colorbar = lab.figure().axes
    assert heat.get_title() == "stale read-after-write, % (N=3, lag 50 ms)"
    assert (heat.get_xlabel(), heat.get_ylabel()) == ("W", "R")
    grid = heat.images[0].get_array()
    assert grid.shape == (3, 3) and len(heat.texts) == 9
    for r in range(1, 4):
        for w in range(1, 4):
            assert grid[r - 1, w - 1] == pytest.approx(100 * cv._stale(3, r, w, 150, 1, 50.0).fraction)
            if r + w > 3:
                assert grid[r - 1, w - 1] == 0                 # quorums intersect: never stale
            else:                                              # lagging replicas: visibly stale
                assert grid[r - 1, w - 1] > 0
    lab.set(lag_ms=0)
    assert "0 ms late" in lab.summary()
    assert [t.get_text() for t in ring.texts] == ["r0", "r1", "r2"]
    assert len(ring.patches) == 3 + 2 + 2                      # replicas, W ring, R ring
    assert "W=2" in lab.figure().texts[0].get_text() and "share 1 or more" in lab.figure().texts[0].get_text()
    with pytest.raises(ConfigError, match="n"):
        cv.quorum_calculator(9, 1, 1)
    with pytest.raises(ConfigError, match="lag_ms"):
        cv.quorum_calculator(3, 1, 1, lag_ms=500)


def test_repair_race_lab_text_tells_the_story():
    lab = cv.repair_race()
    lines = lab.summary().splitlines()
    assert len(lines) == 5
    assert lines[1].startswith("hinted handoff: converged")
    assert "still stale" in lines[2] and "hints expired" in lines[2]
    assert "converged" in lines[3] and "converged" in lines[4]
