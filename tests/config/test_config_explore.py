"""Model checking the Nacos long poll: every interleaving of publishes, polls and timeouts
(``ds.config.check_long_poll``, the system Chapter 15 checks on the page)."""

import pytest

import dscourse as ds


@pytest.mark.parametrize(("drops", "depth"), [(0, 14), (1, 10)])
def test_no_interleaving_parks_a_client_behind_the_latest_release(drops, depth):
    """Time abstracted away: the two publish timers fire between any two deliveries, polls and
    fetches may be lost (one drop); the server never holds a poll whose MD5 is out of date."""
    r = ds.config.check_long_poll(True, max_depth=depth, max_drops=drops)
    assert r.violation is None and r.complete and r.states > 50, r.summary()


def test_the_event_only_server_is_caught_parking_a_stale_client():
    r = ds.config.check_long_poll(False)
    assert r.violation == "never parked stale"
    assert any(c.kind == "fire" for c in r.path)

