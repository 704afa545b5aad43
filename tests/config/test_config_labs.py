"""Chapter 15's long-poll player: a publish answers the held polls at once; a crashed server
leaves the clients on their snapshot."""

import pytest

from dscourse.config.labs import long_poll_player

KEY = "application.yaml"


@pytest.mark.parametrize("design", ["nacos", "apollo"])
def test_publish_reaches_every_client_long_before_the_hold_ends(design: str) -> None:
    p = long_poll_player(seed=3, design=design)
    p.run(1000)
    p.do("publish")
    md5 = p.sim.nodes["server"].store.current(KEY).md5
    p.run(1500)      # Apollo's release scan runs every second; Nacos answers at once
    assert {p.sim.nodes[c].md5(KEY) for c in ("c0", "c1")} == {md5}


def test_clients_keep_their_snapshot_while_the_server_is_down() -> None:
    p = long_poll_player(seed=3)
    p.run(1000)
    p.do("publish")
    p.run(100)
    held = {c: p.sim.nodes[c].md5(KEY) for c in ("c0", "c1")}
    p.do("crash server")
    p.run(60_000)
    assert {c: p.sim.nodes[c].md5(KEY) for c in ("c0", "c1")} == held
    assert p.undo() and p.sim.status("server") == "crashed"        # undo the run, then the crash
    assert p.undo() and p.sim.status("server") != "crashed"
