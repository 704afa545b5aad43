"""Real servers for the conformance tests: a standalone ZooKeeper on a free loopback port.

On a reader's machine without ZooKeeper (Debian's ``zookeeper`` package and a Java runtime)
or without ``kazoo``, these tests skip with one line saying how to enable them. In CI
``.ci/run`` installs the package and sets ``DSCOURSE_REAL_SERVERS=1``, which makes them
mandatory: a missing server is then a failure, not a skip.

The server is started with ``java`` directly (``ZooKeeperServerMain``) from the jars Debian
puts in ``/usr/share/java``, with a temporary dataDir, the admin server disabled, no root-only
paths, and is stopped by its process id at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import NoReturn

import pytest
import realservers

JARS = Path(os.environ.get("DSCOURSE_ZK_JARS", "/usr/share/java"))
NEEDED = ("zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-nop", "netty-handler", "netty-common",
          "netty-transport", "netty-buffer", "netty-codec", "netty-resolver", "netty-transport-native-epoll",
          "netty-transport-native-unix-common", "metrics-core", "commons-cli", "commons-io")
HOW = ("set up a real ZooKeeper to run them: `apt-get install zookeeper` (Debian/Ubuntu) and "
       "`pip install kazoo`; CI sets DSCOURSE_REAL_SERVERS=1 to make them mandatory")


def unavailable(reason: str) -> NoReturn:
    realservers.unavailable("ZooKeeper", reason, HOW)


def classpath() -> str | None:
    jars = [JARS / f"{name}.jar" for name in NEEDED]
    if not all(j.exists() for j in jars):
        return None
    return os.pathsep.join(str(j) for j in jars)


@pytest.fixture(scope="session")
def zk_hosts(tmp_path_factory: pytest.TempPathFactory):
    """``"127.0.0.1:<port>"`` of a standalone ZooKeeper started for this test session."""
    try:
        import kazoo.client  # noqa: F401
    except ImportError:
        unavailable("kazoo is not installed")
    java = shutil.which("java")
    cp = classpath()
    if java is None or cp is None:
        unavailable(f"no java or no ZooKeeper jars in {JARS}")
    from kazoo.client import KazooClient

    work = tmp_path_factory.mktemp("zookeeper")
    port = realservers.free_port()
    (work / "data").mkdir()
    cfg = work / "zoo.cfg"
    cfg.write_text(f"tickTime=2000\ndataDir={work / 'data'}\nclientPort={port}\n"
                   "clientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=40000\n")
    log = open(work / "server.log", "w")
    proc = subprocess.Popen([java, "-Xmx256m", "-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain",
                             str(cfg)], stdout=log, stderr=subprocess.STDOUT, cwd=work)
    hosts = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                unavailable(f"the server exited ({(work / 'server.log').read_text()[-500:]})")
            client = KazooClient(hosts=hosts)
            try:
                client.start(timeout=2)
                client.stop()
                client.close()
                break
            except Exception:  # noqa: BLE001 - any failure to connect means "not up yet"
                client.close()
                if time.monotonic() > deadline:
                    unavailable("the server did not accept connections within 60 s")
                time.sleep(0.3)
        yield hosts
    finally:
        realservers.stop(proc, log)
