"""ds.setup: the chapter seed becomes the default of topic builders and widgets (resolved by
``notebook.default_seed``), never of the kernel, and bad seeds are named."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dscourse as ds
from dscourse.notebook import default_seed

# Every builder with a ``seed=None`` default, as notebooks call it (no seed given).
BUILDERS = {
    "raft.cluster": lambda **kw: ds.raft.cluster(n=3, **kw).sim,
    "replication.cluster": lambda **kw: ds.replication.cluster("cp", replicas=3, **kw).sim,
    "ids.cluster": lambda **kw: ds.ids.cluster("leaf", **kw).sim,
    "idesign.call_graph": lambda **kw: ds.idesign.call_graph(**kw)[0],
    "paxos.simulation": lambda **kw: ds.paxos.simulation(**kw),
    "paxos.workload.cluster": lambda **kw: ds.paxos.workload.cluster(**kw).sim,
}


def test_setup_sets_the_default_seed_for_builders_not_the_kernel():
    ds.setup(seed=5)
    try:
        assert default_seed() == 5
        assert (default_seed(7), default_seed(0)) == (7, 0)
        with pytest.raises(TypeError):
            ds.sim.Simulation()  # the kernel takes its seed explicitly
        with pytest.raises(ds.ConfigError, match="seed=None"):
            ds.sim.Simulation(None)
    finally:
        ds.setup(seed=0)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), name=st.sampled_from(sorted(BUILDERS)))
def test_a_builder_without_a_seed_runs_exactly_as_with_the_setup_seed(seed, name):
    build = BUILDERS[name]
    ds.setup(seed=seed)
    try:
        implicit = build()
    finally:
        ds.setup(seed=0)
    explicit = build(seed=seed)
    for sim in (implicit, explicit):
        sim.run(until=50)
    assert implicit.seed == explicit.seed == seed
    assert implicit.trace.digest() == explicit.trace.digest()


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True, None])
def test_setup_rejects_bad_seeds(bad):
    with pytest.raises(ds.ConfigError, match="seed"):
        ds.setup(seed=bad)
