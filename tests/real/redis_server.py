"""A real ``redis-server`` for the conformance tests, on a free loopback port in a temp dir.

Same contract as ``conftest.py``'s ZooKeeper: on a reader's machine without ``redis-server``
(Debian's ``redis-server`` package) the tests skip with one line saying how to enable them;
in CI ``.ci/run`` installs it and sets ``DSCOURSE_REAL_SERVERS=1``, and a missing server is
then a failure. The server runs without persistence (``--save ''``, no AOF) and is stopped by
its process id at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import NoReturn

import pytest
import realservers

HOW = ("install a real Redis to run them: `apt-get install redis-server` (Debian/Ubuntu); "
       "CI sets DSCOURSE_REAL_SERVERS=1 to make them mandatory")


def unavailable(reason: str) -> NoReturn:
    realservers.unavailable("Redis", reason, HOW)


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory):
    """The port of a ``redis-server`` started for this test session on 127.0.0.1."""
    try:
        import redis
    except ImportError:
        unavailable("redis-py is not installed (`pip install redis`)")
    exe = os.environ.get("DSCOURSE_REDIS_SERVER") or shutil.which("redis-server")
    if exe is None:
        unavailable("no redis-server on PATH")
    work = tmp_path_factory.mktemp("redis")
    port = realservers.free_port()
    log = open(work / "server.log", "w")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(work), "--daemonize", "no", "--protected-mode", "yes"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=work)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                unavailable(f"redis-server exited ({(work / 'server.log').read_text()[-500:]})")
            try:
                redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    unavailable("redis-server did not accept connections within 30 s")
                time.sleep(0.1)
        yield port
    finally:
        realservers.stop(proc, log)
