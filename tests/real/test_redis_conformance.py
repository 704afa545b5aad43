"""Every scripted case of ``dscourse.redis.conformance`` on a real Redis and on ``ds.redis``.

Replies and errors (class and message) must be identical, through redis-py on one side and
``ds.redis.client`` on the other. ``DSCOURSE_RECORD_REDIS=1`` writes the real outcomes to
``tests/redis/real_outcomes.json``, which ``tests/redis`` checks the simulator against on
machines without a server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from redis_server import redis_port  # noqa: F401 - the session fixture

import dscourse as ds
from dscourse.redis.conformance import CASES, run_case

RECORD = Path(__file__).parent.parent / "redis" / "real_outcomes.json"
recorded: dict[str, str] = {}


def simulated(decode: bool):
    sim = ds.sim.Simulation(seed=0)
    sim.add_node(ds.redis.RedisServer("redis", persistence="none"))
    sim.run(until=1)
    return ds.redis.client(sim, "redis", decode_responses=decode)


@pytest.fixture
def real(redis_port):  # noqa: F811 - the fixture imported above
    import redis

    clients = []

    def connect(decode: bool):
        c = redis.Redis(host="127.0.0.1", port=redis_port, decode_responses=decode, socket_timeout=5)
        c.flushall()
        c.script_flush()
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()


def test_enough_cases():
    assert len(CASES) >= 60 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_outcomes_as_real_redis(case, real):
    want = run_case(real, case, wait=2.0)
    got = run_case(simulated, case)
    recorded[case.name] = repr(want)
    assert got == want


def teardown_module():
    if os.environ.get("DSCOURSE_RECORD_REDIS") == "1" and len(recorded) == len(CASES):
        RECORD.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
