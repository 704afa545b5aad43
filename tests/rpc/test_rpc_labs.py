"""What Chapter 12's sentences claim about its experiments and figures, over several seeds."""

import pytest

import dscourse as ds
from dscourse.rpc import experiments as E
from dscourse.rpc.labs import arena_compare_figure, arena_lab, arena_summary, call_path_figure, ring_figure


@pytest.mark.parametrize("seed", range(1, 4))
def test_arena_load_aware_balancers_starve_the_slow_provider(seed):
    share = {lb: E.arena_rows(E.arena(lb, slow=True, seed=seed))[3]["share"] for lb in ("random", "roundrobin",
                                                                                        "leastactive",
                                                                                        "shortestresponse")}
    assert share["roundrobin"] == 0.25 and 0.18 < share["random"] < 0.32
    assert share["leastactive"] < 0.12 and share["shortestresponse"] < 0.12
    p99 = {lb: E.overall_p99(E.arena(lb, slow=True, seed=seed)) for lb in ("roundrobin", "leastactive")}
    assert p99["leastactive"] < p99["roundrobin"]


def test_arena_weight_change_triples_round_robin_share():
    rows = E.arena_rows(E.arena("roundrobin", weight_change=True, seed=1))
    assert [r["calls"] for r in rows] == [400, 134, 133, 133]     # 300:100:100:100, smooth: 3 of every 6


@pytest.mark.parametrize("seed", range(1, 4))
def test_strategy_matrix_claims(seed):
    m = {o.strategy: o for o in E.strategy_matrix(seed)}
    assert m["failover"].ok == 60 and m["failover"].duplicates > 0
    assert m["failfast"].duplicates == m["failsafe"].duplicates == m["available"].duplicates == 0
    assert m["failfast"].failed == m["failsafe"].empty > 0
    assert m["failback"].duplicates > 0 and m["failback"].background_retries > 0
    assert m["forking"].attempts == 120 and m["forking"].ok == 60
    assert m["broadcast"].attempts == 180 and m["broadcast"].failed == 60
    assert m["available"].failed == 60


@pytest.mark.parametrize("seed", range(1, 4))
def test_outage_is_served_from_the_cache(seed):
    run = E.outage(seed)
    assert (run.providers_before, run.providers_during, run.calls_ok_during, run.calls_during) == (3, 3, 20, 20)
    assert run.providers_after == run.registered_after == 2


def test_remap_fractions_are_about_one_in_n():
    for n in (3, 4, 8):
        assert abs(E.remap_fraction(n) - 1 / (n + 1)) < 0.05
        assert abs(E.remap_fraction(n, leave=True) - 1 / n) < 0.07


def test_figures_and_lab():
    assert len(call_path_figure().axes) == 1
    assert "keys move" in ring_figure(4, 16).axes[0].get_title()
    assert len(arena_compare_figure(seed=2).axes) == 2
    assert arena_summary("leastactive", seed=1) == arena_summary("leastactive", seed=1)
    lab = arena_lab("shortestresponse")
    assert lab.values["loadbalance"] == "shortestresponse" and "overall p99" in lab.summary()
    with pytest.raises(ValueError, match="loadbalance"):
        E.arena("p2c")


def test_spi_loader_features():
    loader = ds.rpc.ExtensionLoader("thing", ["a=dscourse.rpc.loadbalance:RandomLoadBalance\n# c\n",
                                              "a=dscourse.rpc.loadbalance:RoundRobinLoadBalance\n"
                                              "b=dscourse.rpc.loadbalance:RoundRobinLoadBalance"],
                                    default="a", key="thing",
                                    wrappers=("dscourse.rpc.router:ConditionRouter",))
    assert loader.names["a"].endswith("RandomLoadBalance")          # the first resource wins
    assert loader.loaded == {}                                       # nothing loaded before use
    with pytest.raises(ValueError, match="condition rule"):          # the wrapper wraps each instance
        loader.get_extension("b")
    assert type(ds.rpc.spi.cluster_loader().get_adaptive_extension({})).__name__ == "FailoverCluster"
    with pytest.raises(ValueError, match="name=module:Class"):
        ds.rpc.ExtensionLoader("x", "just.a.Class")
    filters = ds.rpc.spi.filter_loader()
    assert [type(f).__name__ for f in filters.get_activate_extensions("consumer")] == ["ActiveFilter", "MonitorFilter"]
    assert [type(f).__name__ for f in filters.get_activate_extensions("provider")] == ["MonitorFilter"]
    assert [type(f).__name__ for f in filters.get_activate_extensions("consumer", {"filter": "-monitor"})] == \
        ["ActiveFilter"]
    with pytest.raises(ValueError, match="activate"):
        ds.rpc.ExtensionLoader("x", "a=m:C", activate={"b": (("consumer",), None, 0)})


def test_condition_router():
    ps = [ds.rpc.Provider(f"10.0.0.{i}:20880") for i in (1, 2, 3)]
    write = ds.rpc.Invocation("DemoService", "placeOrder", ("o1",))
    read = ds.rpc.Invocation("DemoService", "sayHello", ("u",))
    r = ds.rpc.ConditionRouter("method = place* => host = 10.0.0.1,10.0.0.2")
    assert r.route(ps, write) == ps[:2] and r.route(ps, read) == ps
    assert ds.rpc.ConditionRouter("=> host != 10.0.0.3").route(ps, read) == ps[:2]
    assert ds.rpc.ConditionRouter("method = sayHello => host = 10.9.9.9").route(ps, read) == ps   # not forced
    assert ds.rpc.ConditionRouter("method = sayHello => host = 10.9.9.9", force=True).route(ps, read) == []
    with pytest.raises(ValueError, match="condition"):
        ds.rpc.ConditionRouter("method sayHello")
