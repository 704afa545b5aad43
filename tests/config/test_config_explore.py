"""Model checking the Nacos long poll: every interleaving of publishes, polls and timeouts."""

import pytest

import dscourse as ds

KEY = "application.yaml"


def make(compare):
    def build(seed):
        sim = ds.sim.Simulation(seed=seed)
        server = sim.add_node(ds.config.NacosConfigServer("server", compare_on_arrival=compare))
        sim.add_node(ds.config.NacosClient("c0", "server", [KEY]))
        server.set_timer(1, "publish", (KEY, "v: 1"))
        server.set_timer(2, "publish", (KEY, "v: 2"))
        return sim
    return build


def never_parked_stale(sim):
    return not sim.nodes["server"].stale_holds()


def many_requests(sim):
    """Bound the search: stop expanding once the client has sent 6 requests (each timeout
    makes a new poll, so the space is otherwise infinite)."""
    return sim.nodes["c0"].rid > 6


@pytest.mark.parametrize(("drops", "depth"), [(0, 14), (1, 10)])
def test_no_interleaving_parks_a_client_behind_the_latest_release(drops, depth):
    """Time abstracted away: the two publish timers fire between any two deliveries, polls and
    fetches may be lost (one drop); the server never holds a poll whose MD5 is out of date."""
    r = ds.checkers.explore.explore(make(True), {"never parked stale": never_parked_stale},
                                    prunes=many_requests, max_depth=depth, max_drops=drops, max_states=100_000)
    assert r.violation is None and r.complete and r.states > 50, r.summary()


def test_the_event_only_server_is_caught_parking_a_stale_client():
    r = ds.checkers.explore.explore(make(False), {"never parked stale": never_parked_stale},
                                    prunes=many_requests, max_depth=14, max_states=100_000)
    assert r.violation == "never parked stale"
    assert any(c.kind == "fire" for c in r.path)
