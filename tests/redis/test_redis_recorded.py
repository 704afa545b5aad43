"""The conformance cases on ``ds.redis`` on every machine, against outcomes recorded from a
real Redis 7.0 (``tests/real/test_redis_conformance.py`` with ``DSCOURSE_RECORD_REDIS=1``)."""

import json
from pathlib import Path

import pytest

import dscourse as ds
from dscourse.redis.conformance import CASES, run_case

RECORDED = json.loads((Path(__file__).parent / "real_outcomes.json").read_text())


def simulated(decode):
    sim = ds.sim.Simulation(seed=0)
    sim.add_node(ds.redis.RedisServer("redis", persistence="none"))
    sim.run(until=1)
    return ds.redis.client(sim, "redis", decode_responses=decode)


def test_every_case_was_recorded_from_a_real_server():
    assert len(CASES) >= 60 and sorted(RECORDED) == sorted(c.name for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_simulator_matches_real_redis(case):
    assert repr(run_case(simulated, case)) == RECORDED[case.name]
