"""What the real-server fixtures share (``conftest.py``'s ZooKeeper, ``redis_server.py``'s Redis):
the rule that makes them mandatory in CI and a skip elsewhere, and a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
from typing import IO, NoReturn

import pytest


def required() -> bool:
    """CI (``.ci/run``) sets ``DSCOURSE_REAL_SERVERS=1``: a missing server is then a failure."""
    return os.environ.get("DSCOURSE_REAL_SERVERS") == "1"


def unavailable(server: str, reason: str, how: str) -> NoReturn:
    """Fail (in CI) or skip with one line saying how to enable the tests (elsewhere)."""
    if required():
        pytest.fail(f"DSCOURSE_REAL_SERVERS=1 but {reason}", pytrace=False)
    pytest.skip(f"no real {server} ({reason}): {how}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, log: IO[str]) -> None:
    """Stop a server this session started, by its process id (terminate, then kill)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
