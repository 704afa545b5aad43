"""Chapter 13's experiments and figures: outcomes the chapter's sentences rely on, over seeds."""

import pytest

from dscourse.gateway import CLOSED, HALF_OPEN, OPEN, experiments, labs


@pytest.mark.parametrize("seed", range(4))
def test_limiter_run_never_admits_more_than_the_bucket_allows(seed):
    run = experiments.limiter_run("redis", rate=10, burst=20, load=15, seed=seed)
    admitted = [t for t, a in zip(run.times, run.admitted, strict=True) if a]
    assert len(admitted) <= 20 + 10 * 10   # capacity plus ten seconds of refill
    assert sum(run.admitted) < len(run.times)   # the burst is cut
    assert experiments.limiter_run("redis", seed=seed) == run   # same seed, same run


@pytest.mark.parametrize("seed", range(4))
def test_breaker_run_opens_during_the_outage_and_closes_after(seed):
    run = experiments.breaker_run(3000, 9000, seed=seed)
    first_open = next(tr for tr in run.transitions if tr.to_state == OPEN)
    assert 3000 <= first_open.time_ms < 9000
    assert run.transitions[-1].to_state == CLOSED and run.transitions[-1].time_ms >= 9000
    assert all(tr.to_state != HALF_OPEN or tr.from_state == OPEN for tr in run.transitions)
    while_open = [s for t, s in zip(run.times, run.served_by, strict=True) if first_open.time_ms < t < 5000]
    assert while_open and set(while_open) == {"fallback"}   # no upstream call while open
    assert run.upstream_calls < len(run.times)


@pytest.mark.parametrize("seed", range(3))
def test_canary_split(seed):
    hits = experiments.canary_run(10_000, seed=seed)
    assert hits["v2-testers"] == 100
    assert abs(hits["v2-canary"] / 9_900 - 0.2) <= 0.02


def test_figures_render():
    for fig in (labs.request_path_figure(), labs.limiter_figure(seed=2), labs.breaker_figure(seed=2),
                labs.canary_figure(2000, seed=2)):
        assert fig.axes


@pytest.mark.parametrize("path,method,canary,addr,title", [
    ("/api/member/7", "GET", True, "192.168.1.5", "route 'member' wins"),   # declared before canary
    ("/api/cart", "GET", True, "192.168.1.5", "route 'canary' wins"),
    ("/api/member/7", "DELETE", False, "192.168.1.5", "route 'api' wins"),
    ("/admin/users", "GET", False, "10.1.2.3", "route 'admin' wins"),
    ("/admin/users", "GET", False, "192.168.1.5", "no route: 404"),
])
def test_route_tester_names_the_winner(path, method, canary, addr, title):
    fig = labs.route_tester_figure(path, method, canary, addr)
    assert fig._suptitle.get_text().endswith(title)
    assert labs.route_tester(path, method, canary, addr) is not None
