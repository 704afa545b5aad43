"""ds.setup: the chapter seed becomes the default, and bad seeds are named."""

import pytest

import dscourse as ds
from dscourse.notebook import default_seed


def test_setup_sets_the_default_seed_for_simulations():
    ds.setup(seed=5)
    try:
        assert default_seed() == 5
        assert ds.sim.Simulation().seed == 5
    finally:
        ds.setup(seed=0)


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True, None])
def test_setup_rejects_bad_seeds(bad):
    with pytest.raises(ds.ConfigError, match="seed"):
        ds.setup(seed=bad)
