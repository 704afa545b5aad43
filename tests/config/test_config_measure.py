"""The cost model at a small scale: each design's idle request rate follows from its timers."""

import pytest

import dscourse as ds
from dscourse.config import measure

N = 200


@pytest.fixture(scope="module")
def runs():
    return {d: measure.at_scale(d, clients=N, seed=3, idle_s=300, change_s=12) for d in ds.config.DESIGNS}


def test_idle_request_rates_follow_each_designs_period(runs):
    rate = {d: s.idle.requests_per_s for d, s in runs.items()}
    assert rate["nacos"] == pytest.approx(N / 29.5, rel=0.05)  # one poll per 29.5 s hold
    assert rate["apollo"] == pytest.approx(N / 60 + N / 300, rel=0.05)  # 60 s hold + 5 min pull
    assert rate["nacos2"] == pytest.approx(N / 5 + N / 300, rel=0.05)  # 5 s health checks + resync
    assert rate["polling"] == pytest.approx(N / 10, rel=0.05)


def test_long_polls_are_parked_and_push_holds_connections_instead(runs):
    assert runs["nacos"].idle.held_mean > 0.95 * N and runs["apollo"].idle.held_mean > 0.95 * N
    assert runs["nacos2"].idle.held_peak == 0 and runs["nacos2"].idle.connections == N
    assert runs["polling"].idle.held_peak == 0


def test_every_client_gets_the_change_and_push_and_long_poll_beat_polling(runs):
    for d, s in runs.items():
        assert len(s.delays) == N, d
    median = {d: s.delays[N // 2] for d, s in runs.items()}
    assert median["nacos2"] < 40 and median["nacos"] < 40
    assert median["apollo"] < ds.config.SCAN_INTERVAL_MS + 40  # waits for the next 1 s scan at most
    assert median["polling"] > 1_000
