"""The conformance suite on a real ZooKeeper through kazoo, compared with ``ds.zk`` case by case.

Each case runs on the real server (under a fresh path) and on a fresh simulated ensemble;
the normalized observations (zxids and times by order, sessions by owner) must be equal. The
real server's observations are also written to ``tests/zk/real_observations.json`` when
``DSCOURSE_RECORD_ZK=1`` (and checked against it always), so the simulation is checked
against them on machines without a server (``tests/zk/test_conformance.py``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from dscourse.zk import conformance

RECORD = Path(__file__).parent.parent / "zk" / "real_observations.json"


class RealBackend:
    """The cases' view of a real server: kazoo clients, the two-clients expiry trick."""

    def __init__(self, hosts: str) -> None:
        self.hosts = hosts
        self.old_sessions: dict[int, str] = {}

    def new_client(self, i: int):
        from kazoo.client import KazooClient
        c = KazooClient(hosts=self.hosts, timeout=4.0)
        c.start(timeout=10)
        return c

    def settle(self) -> None:
        time.sleep(0.3)

    def close_client(self, c) -> None:
        c.stop()
        c.close()

    def expire(self, c) -> None:
        """kazoo's own test trick: a second connection with the same session id closes it."""
        from kazoo.client import KazooClient
        session, password = c.client_id
        self.old_sessions[session] = "expired"
        lost = []
        c.add_listener(lambda state: lost.append(state) if state == "LOST" else None)
        twin = KazooClient(hosts=self.hosts, client_id=(session, password), timeout=4.0)
        twin.start(timeout=10)
        twin.stop()
        twin.close()
        deadline = time.monotonic() + 15
        while not lost and time.monotonic() < deadline:
            c.exists("/")  if c.connected else None
            time.sleep(0.1)

    def wait_connected(self, c) -> None:
        deadline = time.monotonic() + 15
        while not c.connected and time.monotonic() < deadline:
            time.sleep(0.1)


def _json(x):
    return json.loads(json.dumps(x))


def _record(name: str, real: list) -> None:
    """With DSCOURSE_RECORD_ZK=1, keep what the real server said (for machines without one)."""
    if os.environ.get("DSCOURSE_RECORD_ZK") != "1":
        return
    data = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    data[name] = real
    RECORD.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("name", list(conformance.CASES))
def test_case_matches_real_zookeeper(name: str, zk_hosts: str) -> None:
    real = _json(conformance.run_case(name, RealBackend(zk_hosts), f"/conformance-{uuid.uuid4().hex[:8]}/{name}"))
    sim = _json(conformance.run_case(name, conformance.SimBackend(seed=1), f"/conformance/{name}"))
    _record(name, real)
    assert sim == real


def test_recorded_observations_are_the_real_servers(zk_hosts: str) -> None:
    """The file the simulation is checked against offline says what this server says now."""
    recorded = json.loads(RECORD.read_text())
    for name in ("tx_rollback", "sequential_counter_after_delete", "watch_child_parent_deleted"):
        base = f"/recorded-{uuid.uuid4().hex[:8]}/{name}"
        assert _json(conformance.run_case(name, RealBackend(zk_hosts), base)) == recorded[name], name


def test_stat_fields_in_kazoo_order() -> None:
    states = pytest.importorskip("kazoo.protocol.states", reason="kazoo is not installed: pip install kazoo")
    from dscourse.zk import ZnodeStat
    assert ZnodeStat._fields == states.ZnodeStat._fields


def test_exception_names_are_kazoo_names() -> None:
    exceptions = pytest.importorskip("kazoo.exceptions", reason="kazoo is not installed: pip install kazoo")
    import dscourse.zk as zk
    for name in ("NoNodeError", "NodeExistsError", "BadVersionError", "NotEmptyError",
                 "NoChildrenForEphemeralsError", "BadArgumentsError", "RolledBackError", "SessionExpiredError",
                 "ConnectionLoss", "RuntimeInconsistency", "LockTimeout"):
        assert hasattr(exceptions, name), name
        assert getattr(zk, name).__name__ == name
        if hasattr(getattr(exceptions, name), "code") and hasattr(getattr(zk, name), "code"):
            assert getattr(exceptions, name).code == getattr(zk, name).code, name
